"""Plain DRF serializers over already-loaded plain values (no database access, no thread hops)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..messages import PENDING, MessageStatus, OutfitMessage
from ..models import Gender, Season, Style
from ..selectors import Outfit

# Bounds of a page: past MAX_PAGE every page is empty anyway (and the offset must fit the database's
# integers); MAX_LIMIT is the replaced service's.
MAX_PAGE = 1_000_000
MAX_LIMIT = 50


class DigitsIntegerField(serializers.IntegerField):
    """A query integer in plain ASCII digits only: DRF's IntegerField would also take `1_0`, `+1`,
    ` 1`, `1.0` and full-width digits (int() does)."""

    def to_internal_value(self, data: object) -> int:
        text = str(data)
        if not (text.isascii() and text.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(text)


class JSONIntegerField(serializers.IntegerField):
    """A JSON integer, as the schema says: not a string of digits, a boolean or a float (DRF's
    IntegerField takes "12", 12.0 and, through int(), more)."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class LiteralBooleanField(serializers.BooleanField):
    """A query boolean spelt `true` or `false`, as the schema says (DRF also takes 1, yes, on...)."""

    def to_internal_value(self, data: object) -> bool:
        if data in ("true", "false", True, False):
            return data in ("true", True)
        self.fail("invalid", input=data)


class PageQuerySerializer(serializers.Serializer):
    """The query of a page (GET /api/recommendations and its stream); described by the schema. A
    parameter given blank (`?page=`) is refused, as the schema says, not taken as absent (DRF's way
    with form fields)."""

    page = DigitsIntegerField(
        min_value=1, max_value=MAX_PAGE, default=1, help_text="1-based page number"
    )
    limit = DigitsIntegerField(
        min_value=1, max_value=MAX_LIMIT, default=20, help_text="outfits per page"
    )
    refresh = LiteralBooleanField(
        default=False, help_text="staff only (else 403): new messages, not the stored ones"
    )

    def to_internal_value(self, data: Any) -> Any:
        names: list[str] = list(self.fields)  # (the stubs iterate a BindingDict as its fields)
        blank = [name for name in names if name in data and data[name] == ""]
        if blank:
            raise serializers.ValidationError({name: ["This field may not be blank."] for name in blank})
        return super().to_internal_value(data)


class RecommendationsQuerySerializer(PageQuerySerializer):
    messages = serializers.ChoiceField(
        choices=["wait", "defer"], default="wait",
        help_text="wait: for every message, or until the server's response deadline; defer: "
        "answer at once, the messages not made yet pending (then poll "
        "/api/recommendations/messages); defer needs the ASGI server (else 501)",
    )  # fmt: skip


# At most this many outfits in one GET /api/recommendations/messages; an id has at most 18 digits.
MAX_POLLED_IDS = 50
MAX_ID = 10**18 - 1


# The poll's `ids` in the OpenAPI schema (sent comma-separated: form style, not exploded).
MESSAGE_IDS_SCHEMA = {
    "type": "array",
    "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "minItems": 1,
    "maxItems": MAX_POLLED_IDS,
}


@extend_schema_field(MESSAGE_IDS_SCHEMA)
class MessageIdsField(serializers.Field):
    """Comma-separated coordi ids, e.g. `1,2,3` (OpenAPI's form style, not exploded): at most
    MAX_POLLED_IDS positive integers in plain digits, without spaces; a repeat is answered once."""

    default_error_messages = {
        "invalid": "a comma-separated list of outfit ids, e.g. 1,2,3.",
        "too_many": f"at most {MAX_POLLED_IDS} ids.",
    }

    def to_internal_value(self, data: object) -> list[int]:
        parts = str(data).split(",")
        if not all(part.isascii() and part.isdigit() and len(part) <= 18 for part in parts):
            self.fail("invalid")
        if len(parts) > MAX_POLLED_IDS:
            self.fail("too_many")
        ids = list(dict.fromkeys(int(part) for part in parts))
        if 0 in ids:
            self.fail("invalid")
        return ids

    def to_representation(self, value: list[int]) -> str:
        return ",".join(map(str, value))


class MessagesQuerySerializer(serializers.Serializer):
    ids = MessageIdsField(help_text=f"comma-separated outfit ids, at most {MAX_POLLED_IDS}, e.g. 1,2,3")


_STATUS_FIELD = serializers.ChoiceField(
    choices=[status.value for status in MessageStatus],
    help_text="ready: the message is there; pending: being made (listen or ask again); "
    "unavailable: it could not be made (llmMessage is null).",
)


class OutfitItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    brand = serializers.CharField()
    name = serializers.CharField()
    price = serializers.IntegerField()
    imageUrl = serializers.CharField(source="image_url", allow_null=True)
    purchaseUrl = serializers.CharField(source="purchase_url")
    isSaved = serializers.BooleanField(source="is_saved")


class OutfitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    imageUrl = serializers.CharField(source="image_url", allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices)
    season = serializers.ChoiceField(choices=Season.choices)
    # A declared field: DRF's metaclass takes it off the class, so Field.style is not overridden.
    style = serializers.ChoiceField(choices=Style.choices)  # type: ignore[assignment]
    description = serializers.CharField()
    isFavorited = serializers.BooleanField(source="is_favorited")
    llmMessage = serializers.SerializerMethodField()
    llmMessageStatus = serializers.SerializerMethodField()
    items = OutfitItemSerializer(many=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def _message(self, outfit: Outfit) -> OutfitMessage:
        # By coordi id; an outfit with none given is pending (a fragment's placeholder).
        return self.context["messages"].get(outfit.id, PENDING)

    def get_llmMessage(self, outfit: Outfit) -> str | None:
        return self._message(outfit).text

    @extend_schema_field(_STATUS_FIELD)
    def get_llmMessageStatus(self, outfit: Outfit) -> str:
        return self._message(outfit).status.value


class OutfitMessageSerializer(serializers.Serializer):
    """One outfit's message as it stands: a `message` event of the stream, an entry of the poll."""

    id = serializers.IntegerField()
    llmMessage = serializers.CharField(allow_null=True)
    llmMessageStatus = _STATUS_FIELD


class MessagesDataSerializer(serializers.Serializer):
    messages = OutfitMessageSerializer(many=True)


class MessagesResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = MessagesDataSerializer()  # type: ignore[assignment]  # a declared field, as below


class PaginationSerializer(serializers.Serializer):
    currentPage = serializers.IntegerField(source="page")
    totalPages = serializers.IntegerField(source="total_pages")
    totalItems = serializers.IntegerField(source="total")
    hasNext = serializers.BooleanField(source="has_next")
    hasPrev = serializers.BooleanField(source="has_prev")


class RecommendationsDataSerializer(serializers.Serializer):
    outfits = OutfitSerializer(many=True)
    pagination = PaginationSerializer(source="*")


class RecommendationsResponseSerializer(serializers.Serializer):
    """The 200 body; used to describe the endpoint in the OpenAPI schema."""

    success = serializers.BooleanField()
    # Declared fields, taken off the class by DRF's metaclass: Serializer.data is not overridden.
    data = RecommendationsDataSerializer()  # type: ignore[assignment]


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(
        trim_whitespace=False, min_length=1, max_length=4096, style={"input_type": "password"}
    )


class TokenDataSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = TokenDataSerializer()  # type: ignore[assignment]  # a declared field, as above


def enveloped(data: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The 200/201 body around `data` (`{"success": true, "data": ...}`), for the schema: named after
    it (FavoriteSerializer: FavoriteResponse; SignedInDataSerializer: SignedInResponse)."""
    name = data.__name__.removesuffix("Serializer").removesuffix("Data") + "ResponseSerializer"
    return type(name, (serializers.Serializer,), {"success": serializers.BooleanField(), "data": data()})


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = ErrorDetailSerializer()
