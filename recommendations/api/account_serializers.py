"""Serializers of the account routes (recommendations/api/accounts.py): the bodies they accept, with
the replaced service's error codes, and the shapes they answer, over plain values (selectors)."""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import PIL.Image
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Gender, Season, Style
from ..selectors import Account
from .errors import ApiError
from .serializers import JSONIntegerField, enveloped

# The password rule is a length only, not Django's AUTH_PASSWORD_VALIDATORS (similarity, common and
# all-digit passwords): the web client makes accounts itself, with passwords of its own making, and
# a stricter rule than the replaced service's could refuse them.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 4096  # as sign-in's: hashing a huge password is work for nothing

MIN_HASHTAGS, MAX_HASHTAGS = 3, 10
SAMPLE_OUTFITS_CHOSEN = 5

MAX_PHOTO_BYTES = 10 * 1024 * 1024
# What Pillow reads the bytes as (never the file's name or content type), and the name it is kept as.
PHOTO_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else: DRF's CharField would also take 0 or true, as "0" or "True"."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# Said in the schema too (as `pattern`), so that it describes exactly what is accepted: no NUL
# character (DRF refuses them; PostgreSQL cannot store them), and for a name something not blank.
# Whitespace spelt out: `\s` differs between Python's engine and the ECMA one JSON Schema names
# (Python's takes U+001C to U+001F and U+0085, ECMA's U+FEFF); this is both sets.
_WHITESPACE = (
    r"\t\n\u000b\f\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\ufeff"
)
NO_NUL = RegexValidator(r"^[^\u0000]*$", "Null characters are not allowed.")
NOT_BLANK = RegexValidator(
    rf"^[^\u0000]*[^\u0000{_WHITESPACE}][^\u0000]*$", "This field may not be blank."
)


def _password_field() -> serializers.CharField:
    return StrictCharField(
        trim_whitespace=False, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
        validators=[NO_NUL], style={"input_type": "password"},
    )  # fmt: skip


class SignupRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = _password_field()
    # As given, not trimmed: the schema's lengths and pattern are then the rule exactly.
    name = StrictCharField(max_length=100, trim_whitespace=False, validators=[NOT_BLANK])
    gender = serializers.ChoiceField(choices=Gender.choices)


def _ids_schema(*, min_items: int, max_items: int) -> dict[str, Any]:
    return {
        "type": "array", "items": {"type": "integer", "minimum": 1},
        "minItems": min_items, "maxItems": max_items, "uniqueItems": True,
    }  # fmt: skip


@extend_schema_field(_ids_schema(min_items=MIN_HASHTAGS, max_items=MAX_HASHTAGS))
class HashtagIdsField(serializers.ListField):
    child = JSONIntegerField()


@extend_schema_field(_ids_schema(min_items=SAMPLE_OUTFITS_CHOSEN, max_items=SAMPLE_OUTFITS_CHOSEN))
class OutfitIdsField(serializers.ListField):
    child = JSONIntegerField()


class PreferencesRequestSerializer(serializers.Serializer):
    # (No docstring: drf-spectacular would publish it.) A body that is not an object, or lists that
    # are not lists of JSON integers, are VALIDATION_ERROR; then, in this order, the replaced
    # service's codes: the number of hashtags, the number of outfits, an id twice in one list
    # (checked here, without the database), then ids naming nothing (services.choose_preferences).

    hashtagIds = HashtagIdsField(help_text=f"{MIN_HASHTAGS} to {MAX_HASHTAGS} hashtag ids")
    sampleOutfitIds = OutfitIdsField(help_text=f"exactly {SAMPLE_OUTFITS_CHOSEN} outfit ids")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        hashtag_ids, outfit_ids = attrs["hashtagIds"], attrs["sampleOutfitIds"]
        if len(hashtag_ids) < MIN_HASHTAGS:
            raise ApiError(400, "INSUFFICIENT_HASHTAGS", f"Choose at least {MIN_HASHTAGS} hashtags.")
        if len(hashtag_ids) > MAX_HASHTAGS:
            raise ApiError(400, "TOO_MANY_HASHTAGS", f"Choose at most {MAX_HASHTAGS} hashtags.")
        if len(outfit_ids) < SAMPLE_OUTFITS_CHOSEN:
            raise ApiError(
                400, "INSUFFICIENT_OUTFITS", f"Choose exactly {SAMPLE_OUTFITS_CHOSEN} sample outfits."
            )
        if len(outfit_ids) > SAMPLE_OUTFITS_CHOSEN:
            raise ApiError(
                400, "TOO_MANY_OUTFITS", f"Choose exactly {SAMPLE_OUTFITS_CHOSEN} sample outfits."
            )
        for field, ids in (("hashtagIds", hashtag_ids), ("sampleOutfitIds", outfit_ids)):
            repeated = _repeated(ids)
            if repeated:
                raise ApiError(
                    400, "DUPLICATE_ID", f"{field}: {', '.join(map(str, repeated))} given more than once."
                )
        return attrs


def _repeated(ids: Sequence[int]) -> list[int]:
    return [pk for pk, count in Counter(ids).items() if count > 1]


@extend_schema_field({"type": "string", "format": "binary"})
class PhotoField(serializers.FileField):
    pass


class PhotoUploadSerializer(serializers.Serializer):
    # The multipart body, for the schema; the file itself is checked by checked_photo().
    photo = PhotoField(help_text="a JPG or PNG image, at most 10 MB")


def checked_photo(data: object) -> tuple[UploadedFile, str]:
    """The uploaded `photo` of a multipart body and the extension it is kept under (jpg or png), or
    an ApiError: FILE_TOO_LARGE past MAX_PHOTO_BYTES or the pixel limit, INVALID_FILE_FORMAT for
    anything that is not a whole JPEG or PNG (a missing `photo` field, or a text field in its place,
    included). Blocking work (Pillow): run it in a thread."""
    photo = data.get("photo") if isinstance(data, Mapping) else None
    if not isinstance(photo, UploadedFile):
        raise ApiError(400, "INVALID_FILE_FORMAT", "photo: a JPG or PNG file is required.")
    if photo.size is None or photo.size > MAX_PHOTO_BYTES:
        raise ApiError(400, "FILE_TOO_LARGE", "photo: at most 10 MB (10,485,760 bytes).")
    try:
        with PIL.Image.open(photo, formats=tuple(PHOTO_EXTENSIONS)) as image:
            width, height = image.size
            # From the header, before a pixel is decoded: a small file can hold a huge image.
            if width * height > settings.LLM_IMAGE_MAX_PIXELS:
                raise _too_many_pixels()
            image_format = image.format
            image.verify()
    except ApiError:
        raise
    except PIL.Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except Exception:  # noqa: BLE001 - Pillow's ways (OSError, SyntaxError, struct.error, ...) of
        # saying the bytes are not a whole image of the formats asked for
        raise ApiError(400, "INVALID_FILE_FORMAT", "photo: a JPG or PNG image is required.") from None
    finally:
        photo.seek(0)
    return photo, PHOTO_EXTENSIONS[str(image_format)]


def _too_many_pixels() -> ApiError:
    return ApiError(
        400, "FILE_TOO_LARGE", f"photo: at most {settings.LLM_IMAGE_MAX_PIXELS:,} pixels."
    )


# --- Responses -------------------------------------------------------------------------------------


class TagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PreferredOutfitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    # A declared field: DRF's metaclass takes it off the class, so Field.style is not overridden.
    style = serializers.ChoiceField(choices=Style.choices)  # type: ignore[assignment]
    season = serializers.ChoiceField(choices=Season.choices)
    gender = serializers.ChoiceField(choices=Gender.choices)
    description = serializers.CharField()
    mainImageUrl = serializers.CharField(source="main_image_url", allow_null=True)
    preferredAt = serializers.DateTimeField(source="preferred_at")


class AccountSerializer(serializers.Serializer):
    # `data.user`: needs the request in its context, for the photo's absolute URL.

    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    gender = serializers.ChoiceField(choices=Gender.choices)
    profileImageUrl = serializers.SerializerMethodField()
    preferredTags = TagSerializer(source="preferred_tags", many=True)
    preferredCoordis = PreferredOutfitSerializer(source="preferred_outfits", many=True)
    hasCompletedOnboarding = serializers.BooleanField(source="has_completed_onboarding")
    createdAt = serializers.DateTimeField(source="created_at")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_profileImageUrl(self, account: Account) -> str | None:
        if account.profile_photo_url is None:
            return None
        return self.context["request"].build_absolute_uri(account.profile_photo_url)


class UserDataSerializer(serializers.Serializer):
    user = AccountSerializer()


UserResponseSerializer = enveloped(UserDataSerializer)


class SignedInDataSerializer(serializers.Serializer):
    user = AccountSerializer(source="account")
    token = serializers.CharField()


SignedInResponseSerializer = enveloped(SignedInDataSerializer)


class MessageDataSerializer(serializers.Serializer):
    message = serializers.CharField()


MessageResponseSerializer = enveloped(MessageDataSerializer)


class SampleOutfitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    imageUrl = serializers.CharField(source="image_url", allow_null=True)
    style = serializers.ChoiceField(choices=Style.choices)  # type: ignore[assignment]
    season = serializers.ChoiceField(choices=Season.choices)


class OptionsDataSerializer(serializers.Serializer):
    hashtags = TagSerializer(many=True)
    sampleOutfits = SampleOutfitSerializer(source="sample_outfits", many=True)


OptionsResponseSerializer = enveloped(OptionsDataSerializer)


class OnboardedUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    hasCompletedOnboarding = serializers.BooleanField()


class PreferencesDataSerializer(serializers.Serializer):
    message = serializers.CharField()
    user = OnboardedUserSerializer()


PreferencesResponseSerializer = enveloped(PreferencesDataSerializer)


class PhotoStoredDataSerializer(serializers.Serializer):
    photoUrl = serializers.URLField()
    createdAt = serializers.DateTimeField()


PhotoStoredResponseSerializer = enveloped(PhotoStoredDataSerializer)


class PhotoDeletedDataSerializer(serializers.Serializer):
    message = serializers.CharField()
    deletedAt = serializers.DateTimeField()


PhotoDeletedResponseSerializer = enveloped(PhotoDeletedDataSerializer)
