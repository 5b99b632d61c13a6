"""The web client's account routes: sign-up, sign-in, sign-out, me, onboarding and the profile photo
(the replaced service's shapes, in the envelope)."""

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..connections import database_hop
from ..selectors import account, onboarding_options
from .account_serializers import (
    AccountSerializer,
    MessageResponseSerializer,
    OnboardedUserSerializer,
    OptionsDataSerializer,
    OptionsResponseSerializer,
    PhotoDeletedDataSerializer,
    PhotoDeletedResponseSerializer,
    PhotoStoredDataSerializer,
    PhotoStoredResponseSerializer,
    PhotoUploadSerializer,
    PreferencesRequestSerializer,
    PreferencesResponseSerializer,
    SignedInDataSerializer,
    SignedInResponseSerializer,
    SignupRequestSerializer,
    UserResponseSerializer,
    checked_photo,
)
from .errors import ApiError
from .serializers import ErrorSerializer, TokenRequestSerializer
from .views import CredentialsView, SignedInView, WriteView


def signed_in_response(request: Request, signed_in: services.SignedIn, *, status: int) -> Response:
    """Sign-up's and sign-in's answer: the token and the user."""
    data = SignedInDataSerializer(signed_in, context={"request": request}).data
    return Response({"success": True, "data": data}, status=status)


class SignupView(CredentialsView):
    description = (
        "Sign up: a new user, signed in at once (`data.token` for `Authorization: Bearer <token>`). "
        "The email is unique in any case (409 `EMAIL_EXISTS`); the password has at least 8 "
        "characters; `gender` is male or female. Attempts whose body is valid are rate limited per "
        "client address, with sign-in (429)."
    )
    credentials_serializer = SignupRequestSerializer

    @extend_schema(
        description=description,
        request=SignupRequestSerializer,
        responses={201: SignedInResponseSerializer, 409: ErrorSerializer},
    )
    async def post(self, request: Request) -> Response:
        try:
            signed_in = await database_hop(services.sign_up)(**self.credentials)
        except services.EmailTaken:
            raise ApiError(409, "EMAIL_EXISTS", "A user with this email address already exists.") from None
        return signed_in_response(request, signed_in, status=201)


class LoginView(CredentialsView):
    description = (
        "Sign in: an email (any case) and password in, the user's API token and the user out (the "
        "token made on first sign-in; the same one after). 401 `INVALID_CREDENTIALS` when they "
        "sign no one in. Attempts whose body is valid are rate limited per client address (429)."
    )
    credentials_serializer = TokenRequestSerializer

    @extend_schema(
        description=description,
        request=TokenRequestSerializer,
        responses={200: SignedInResponseSerializer, 401: ErrorSerializer},
    )
    async def post(self, request: Request) -> Response:
        signed_in = await database_hop(services.sign_in)(request=request._request, **self.credentials)
        if signed_in is None:
            raise ApiError(401, "INVALID_CREDENTIALS", "Invalid email or password.")
        return signed_in_response(request, signed_in, status=200)


class LogoutView(WriteView):
    description = (
        "Sign out: the user's API token is deleted, so it answers 401 from now on, on every client "
        "holding it (signing in again makes a new one)."
    )

    @extend_schema(description=description, request=None, responses={200: MessageResponseSerializer})
    async def post(self, request: Request) -> Response:
        await database_hop(services.sign_out)(user=self.user)
        return Response({"success": True, "data": {"message": "Signed out."}})


class MeView(SignedInView):
    description = (
        "The signed-in user: profile, preferred hashtags (by id) and sample outfits (in the order "
        "chosen), and whether onboarding is done."
    )

    def read(self, request: Request, **kwargs: Any) -> None:
        self.account = account(self.user)

    @extend_schema(description=description, responses={200: UserResponseSerializer})
    async def get(self, request: Request) -> Response:
        user = AccountSerializer(self.account, context={"request": request}).data
        return Response({"success": True, "data": {"user": user}})


class PreferenceOptionsView(SignedInView):
    description = (
        "What onboarding offers: every hashtag (by id), and up to 20 sample outfits of the user's "
        "gender, newest first."
    )

    def read(self, request: Request, **kwargs: Any) -> None:
        self.options = onboarding_options(self.user)

    @extend_schema(description=description, responses={200: OptionsResponseSerializer})
    async def get(self, request: Request) -> Response:
        return Response({"success": True, "data": OptionsDataSerializer(self.options).data})


class PreferencesView(WriteView):
    description = (
        "Onboarding: the user's hashtags (3 to 10) and sample outfits (exactly 5), replacing any "
        "earlier choice; the user is then onboarded. Checked in this order, the first failure "
        "answered: the body's shape (an object with two lists of integers, else "
        "`VALIDATION_ERROR`); the number of hashtags (`INSUFFICIENT_HASHTAGS`, `TOO_MANY_HASHTAGS`); "
        "the number of outfits (`INSUFFICIENT_OUTFITS`, `TOO_MANY_OUTFITS`), each list counted as "
        "sent; an id twice in one list (`DUPLICATE_ID`); a hashtag id that names none, zero and "
        "negative ids included (`INVALID_HASHTAG_ID`); an outfit id that names none "
        "(`INVALID_OUTFIT_ID`). Nothing is changed unless all pass."
    )

    def parse(self, request: Request) -> None:
        choice = PreferencesRequestSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        self.choice = choice.validated_data

    @extend_schema(
        description=description,
        request=PreferencesRequestSerializer,
        responses={200: PreferencesResponseSerializer},
    )
    async def post(self, request: Request) -> Response:
        user = self.user
        try:
            await database_hop(services.choose_preferences)(
                user=user, hashtag_ids=self.choice["hashtagIds"], coordi_ids=self.choice["sampleOutfitIds"]
            )
        except services.UnknownHashtags as error:
            raise ApiError(400, "INVALID_HASHTAG_ID", f"No hashtag with id {_listed(error.ids)}.") from None
        except services.UnknownOutfits as error:
            raise ApiError(400, "INVALID_OUTFIT_ID", f"No outfit with id {_listed(error.ids)}.") from None
        onboarded = OnboardedUserSerializer({"id": user.pk, "hasCompletedOnboarding": True}).data
        return Response({"success": True, "data": {"message": "Preferences saved.", "user": onboarded}})


def _listed(ids: list[int]) -> str:
    return ", ".join(map(str, ids))


class ProfilePhotoView(WriteView):
    description = (
        "The user's profile photo (`profileImageUrl`). POST: multipart, field `photo`, a JPG or PNG "
        "(as its bytes say, whatever its name or content type) of at most 10 MB, replacing any "
        "earlier one: 400 `FILE_TOO_LARGE` past 10 MB (or past the pixel limit), "
        "`INVALID_FILE_FORMAT` for anything else, a missing `photo` field included. DELETE: no "
        "photo any more (also when there was none)."
    )
    # Multipart only: Django keeps an upload past FILE_UPLOAD_MAX_MEMORY_SIZE in a temporary file,
    # and DATA_UPLOAD_MAX_MEMORY_SIZE does not count files, so a 10 MB photo reaches the checks.
    parser_classes = [MultiPartParser]

    def parse(self, request: Request) -> None:
        if request.method == "POST":
            # In adrf's thread, off the loop: the multipart body parsed and the image checked by Pillow.
            self.photo, self.extension = checked_photo(request.data)

    @extend_schema(
        description=description,
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={200: PhotoStoredResponseSerializer},
    )
    async def post(self, request: Request) -> Response:
        stored = await database_hop(services.replace_profile_photo)(
            user=self.user, photo=self.photo, extension=self.extension
        )
        data = {"photoUrl": request.build_absolute_uri(stored.url), "createdAt": stored.created_at}
        return Response({"success": True, "data": PhotoStoredDataSerializer(data).data})

    @extend_schema(description=description, responses={200: PhotoDeletedResponseSerializer})
    async def delete(self, request: Request) -> Response:
        deleted_at = await database_hop(services.remove_profile_photo)(user=self.user)
        data = {"message": "Profile photo deleted.", "deletedAt": deleted_at}
        return Response({"success": True, "data": PhotoDeletedDataSerializer(data).data})


urlpatterns: list[URLPattern] = [
    path("auth/signup", SignupView.as_view(), name="auth-signup"),
    path("auth/login", LoginView.as_view(), name="auth-login"),
    path("auth/logout", LogoutView.as_view(), name="auth-logout"),
    path("auth/me", MeView.as_view(), name="auth-me"),
    path("users/preferences/options", PreferenceOptionsView.as_view(), name="preference-options"),
    path("users/preferences", PreferencesView.as_view(), name="preferences"),
    path("users/profile-photo", ProfilePhotoView.as_view(), name="profile-photo"),
]
