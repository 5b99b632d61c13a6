"""The web client's account routes: sign-up, sign-in, sign-out, me, onboarding and the profile photo
(the replaced service's shapes, in the envelope)."""

from typing import Any

from adrf.views import APIView
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..connections import database_hop, release
from ..models import User
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
from .throttling import CacheTolerantScopedRateThrottle, WriteRateThrottle


def _signed_in(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # IsAuthenticated lets only a signed-in user this far
        raise exceptions.NotAuthenticated()
    return user


class CredentialsView(APIView):
    """Sign-up and sign-in, as POST /api/auth/token: no session (so no CSRF), and attempts counted
    per client address (scope `auth`, AUTH_THROTTLE_RATE) once the body is valid."""

    credentials_serializer: type[serializers.Serializer]
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [CacheTolerantScopedRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request: Request) -> str:
        # Without an authenticator DRF would turn a failed sign-in into a 403; it is a 401.
        return "Bearer"

    def check_throttles(self, request: Request) -> None:
        """Counted in initial(), once the body is valid: a malformed body or a wrong method is not
        an attempt, and must not lock the client out."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # In adrf's thread: the body read and checked, then the attempt counted, off the loop.
        super().initial(request, *args, **kwargs)
        if request.method != "POST":
            return  # 405 next
        credentials = self.credentials_serializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        self.credentials = credentials.validated_data
        super().check_throttles(request)

    def signed_in(self, request: Request, signed_in: services.SignedIn, *, status: int) -> Response:
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
        return self.signed_in(request, signed_in, status=201)


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
        return self.signed_in(request, signed_in, status=200)


class LogoutView(APIView):
    description = (
        "Sign out: the user's API token is deleted, so it answers 401 from now on, on every client "
        "holding it (signing in again makes a new one)."
    )
    throttle_classes = [WriteRateThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
        finally:
            release()  # the write is a hop of its own

    @extend_schema(description=description, request=None, responses={200: MessageResponseSerializer})
    async def post(self, request: Request) -> Response:
        await database_hop(services.sign_out)(user=_signed_in(request))
        return Response({"success": True, "data": {"message": "Signed out."}})


class MeView(APIView):
    description = (
        "The signed-in user: profile, preferred hashtags (by id) and sample outfits (in the order "
        "chosen), and whether onboarding is done."
    )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # One hop (adrf runs initial() in a thread): sign-in and the user's preferences.
        try:
            super().initial(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                self.account = account(_signed_in(request))
        finally:
            release()

    @extend_schema(description=description, responses={200: UserResponseSerializer})
    async def get(self, request: Request) -> Response:
        user = AccountSerializer(self.account, context={"request": request}).data
        return Response({"success": True, "data": {"user": user}})


class PreferenceOptionsView(APIView):
    description = (
        "What onboarding offers: every hashtag (by id), and up to 20 sample outfits of the user's "
        "gender, newest first."
    )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                self.options = onboarding_options(_signed_in(request))
        finally:
            release()

    @extend_schema(description=description, responses={200: OptionsResponseSerializer})
    async def get(self, request: Request) -> Response:
        return Response({"success": True, "data": OptionsDataSerializer(self.options).data})


class PreferencesView(APIView):
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
    throttle_classes = [WriteRateThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
        finally:
            release()
        if request.method == "POST":
            choice = PreferencesRequestSerializer(data=request.data)
            choice.is_valid(raise_exception=True)
            self.choice = choice.validated_data

    @extend_schema(
        description=description,
        request=PreferencesRequestSerializer,
        responses={200: PreferencesResponseSerializer},
    )
    async def post(self, request: Request) -> Response:
        user = _signed_in(request)
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


class ProfilePhotoView(APIView):
    description = (
        "The user's profile photo (`profileImageUrl`). POST: multipart, field `photo`, a JPG or PNG "
        "(as its bytes say, whatever its name or content type) of at most 10 MB, replacing any "
        "earlier one: 400 `FILE_TOO_LARGE` past 10 MB (or past the pixel limit), "
        "`INVALID_FILE_FORMAT` for anything else, a missing `photo` field included. DELETE: no "
        "photo any more (also when there was none)."
    )
    throttle_classes = [WriteRateThrottle]
    # Multipart only: Django keeps an upload past FILE_UPLOAD_MAX_MEMORY_SIZE in a temporary file,
    # and DATA_UPLOAD_MAX_MEMORY_SIZE does not count files, so a 10 MB photo reaches the checks.
    parser_classes = [MultiPartParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
        finally:
            release()
        if request.method == "POST":
            # Still in adrf's thread: the multipart body parsed and the image checked by Pillow.
            self.photo, self.extension = checked_photo(request.data)

    @extend_schema(
        description=description,
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={200: PhotoStoredResponseSerializer},
    )
    async def post(self, request: Request) -> Response:
        stored = await database_hop(services.replace_profile_photo)(
            user=_signed_in(request), photo=self.photo, extension=self.extension
        )
        data = {"photoUrl": request.build_absolute_uri(stored.url), "createdAt": stored.created_at}
        return Response({"success": True, "data": PhotoStoredDataSerializer(data).data})

    @extend_schema(description=description, responses={200: PhotoDeletedResponseSerializer})
    async def delete(self, request: Request) -> Response:
        deleted_at = await database_hop(services.remove_profile_photo)(user=_signed_in(request))
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
