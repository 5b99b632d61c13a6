"""The HTTP API: thin async views that validate, call one selector or service, and serialize."""

import time
from collections.abc import Mapping
from typing import Any

from adrf.views import APIView
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from prometheus_client import Histogram
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from llm.service import being_made, known_messages

from .. import background, page_views, services
from ..connections import database_hop, release
from ..messages import UNAVAILABLE, OutfitMessage, current_messages
from ..models import User
from ..selectors import PageState, catalogue_versions, page_state, user_facts
from .examples import MESSAGES_EXAMPLE, PAGE_EXAMPLE, TOKEN_EXAMPLE, TOKEN_REQUEST_EXAMPLE
from .fragments import fragment_facts, outfit_fragments, render_outfit
from .renderers import ORJSONRenderer
from .serializers import (
    MAX_POLLED_IDS,
    MESSAGE_IDS_SCHEMA,
    ErrorSerializer,
    MessagesQuerySerializer,
    MessagesResponseSerializer,
    PageQuerySerializer,
    PaginationSerializer,
    RecommendationsQuerySerializer,
    RecommendationsResponseSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from .throttling import CacheTolerantScopedRateThrottle, WriteRateThrottle

PAGE_SECONDS = Histogram(
    "recommendations_page_seconds",
    "Time to answer GET /api/recommendations once signed in (read, messages, serialization).",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 12, 20),
)


class NeedsASGI(exceptions.APIException):
    status_code = 501
    default_code = "not_implemented"
    default_detail = (
        "This needs the ASGI server (uvicorn config.asgi:application): its messages are made after "
        "the response, on an event loop that lasts."
    )


def on_lasting_loop(request: Request) -> bool:
    """Whether work may outlive this response: under ASGI (uvicorn) yes; under WSGI, or Django's
    synchronous test client, each request's event loop ends with it."""
    return isinstance(request._request, ASGIRequest)


class PageView(APIView):
    """A page of recommendations: one thread hop (adrf runs initial() in a thread) for every database
    read (auth and the user's page state), the outfit fragments' get_many (the missing ones made
    there too) and the messages already made for this reader (one get_many); what is left for the
    event loop is making the missing messages. Subclasses say how a page's messages are answered."""

    query_serializer: type[serializers.Serializer] = PageQuerySerializer
    # Whether the view's messages outlive its response (then WSGI cannot serve it).
    outlives_response = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.started = time.perf_counter()
        try:
            super().initial(request, *args, **kwargs)
            if request.method not in ("GET", "HEAD"):
                return  # answered 405 next, without reading anything
            user = request.user
            if not isinstance(user, User):  # IsAuthenticated lets only a signed-in user this far
                raise exceptions.NotAuthenticated()
            query = self.query_serializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            self.query = query.validated_data
            if self.query["refresh"] and not user.is_staff:
                raise exceptions.PermissionDenied("refresh: fresh messages are for staff only.")
            if self.outlives_response and not on_lasting_loop(request):
                raise NeedsASGI()
            self.state = self.read_state(user, page=self.query["page"], limit=self.query["limit"])
            self.views_due = page_views.count(can_flush=on_lasting_loop(request))
        finally:
            # The page then waits on the cache and Gemini: its pooled connection goes back now.
            release()
        # Still in this hop: the outfits' cached fragments (the missing ones made here), and the
        # messages already made for this reader.
        self.fragments = outfit_fragments(self.state.versions)
        self.shown = [coordi_id for coordi_id in self.state.versions if coordi_id in self.fragments]
        self.reader = user_facts(user)
        facts = [fragment_facts(self.fragments[coordi_id]) for coordi_id in self.shown]
        self.known = known_messages(facts, self.reader, use_cache=not self.query["refresh"])

    def read_state(self, user: User, *, page: int, limit: int) -> PageState:
        """Which outfits the page shows, with what depends on the reader (in initial()'s hop): the
        recommender's page here; another list of outfits (the favorites) says its own."""
        return page_state(user, page=page, limit=limit)

    def start_messages(self) -> services.PageMessages:
        """The page's messages: those known, and the rest set in the making (plain values only past
        this line: the llm app never sees a model instance)."""
        if self.views_due:
            # After the response, on a connection of its own.
            background.start(page_views.write(), name="page views")
        return services.PageMessages(self.known, self.reader, use_cache=not self.query["refresh"])

    def page_data(self, messages: Mapping[int, OutfitMessage]) -> dict[str, Any]:
        """The JSON endpoint's `data`: the fragments merged with this reader's parts."""
        state, fragments = self.state, self.fragments
        outfits = [
            render_outfit(
                fragments[coordi_id],
                favorited=coordi_id in state.favorited,
                saved=state.saved,
                message=messages[coordi_id],
            )
            for coordi_id in self.shown
        ]
        return {"outfits": outfits, "pagination": PaginationSerializer(state).data}


class RecommendationsView(PageView):
    """The page as JSON, with every message (or those ready at LLM_RESPONSE_DEADLINE_SECONDS), or,
    with `?messages=defer`, at once with the messages not made yet pending."""

    description = (
        "The outfits recommended to the signed-in user, in the recommender's order, each with its "
        "items and `llmMessage`: a short sentence written for this user (`null` when it could not "
        "be made). By default the response waits for the page's messages (at most the server's "
        "response deadline); with `messages=defer` it answers at once, the messages not made yet "
        "`pending`: poll `/api/recommendations/messages`, or use `/api/recommendations/stream`."
    )  # for API users: OPTIONS and the schema show it (the docstring is for us)
    query_serializer = RecommendationsQuerySerializer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Known before the page is read: a deferred page under WSGI would lose its work.
        self.outlives_response = request.query_params.get("messages") == "defer"
        super().initial(request, *args, **kwargs)

    @extend_schema(
        description=description,
        parameters=[RecommendationsQuerySerializer],
        responses={200: RecommendationsResponseSerializer, 403: ErrorSerializer, 501: ErrorSerializer},
        examples=[PAGE_EXAMPLE],
    )
    async def get(self, request: Request) -> HttpResponse:
        messages = self.start_messages()
        if self.query["messages"] == "defer":
            answer = await messages.claimed()
        else:
            answer = await messages.settled(timeout=settings.LLM_RESPONSE_DEADLINE_SECONDS)
        body = {"success": True, "data": self.page_data(answer)}
        PAGE_SECONDS.observe(time.perf_counter() - self.started)
        # Rendered here: Django would render a DRF Response in a thread, one more hop per page.
        return HttpResponse(ORJSONRenderer().render(body), content_type=ORJSONRenderer.media_type)


class MessagesView(APIView):
    """GET /api/recommendations/messages?ids=1,2,3: these outfits' messages for this reader as they
    stand, from the cache (and whether someone is making them): for clients that poll after a
    deferred page. Never starts a Gemini call, never waits. An id the catalogue does not have is
    unavailable."""

    description = (
        "These outfits' messages for the signed-in user as they stand, in the order asked (a "
        "repeated id once): `ready` with its text, `pending` while it is being made (ask again), "
        "`unavailable` when it could not be made or the outfit is unknown. For clients that poll "
        "after `GET /api/recommendations?messages=defer`; it never waits."
    )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # One hop (adrf runs initial() in a thread): sign-in, the outfits' versions and fragments,
        # the cache and the locks; the connection goes back at its end.
        try:
            super().initial(request, *args, **kwargs)
            if request.method not in ("GET", "HEAD"):
                return
            user = request.user
            if not isinstance(user, User):
                raise exceptions.NotAuthenticated()
            query = MessagesQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            self.ids = query.validated_data["ids"]
            versions = catalogue_versions(self.ids)
        finally:
            release()
        fragments = outfit_fragments(versions)
        facts = [fragment_facts(fragment) for fragment in fragments.values()]
        reader = user_facts(user)
        known = known_messages(facts, reader)
        self.found = current_messages(known, being_made(known.missing, reader))

    @extend_schema(
        description=description,
        parameters=[
            OpenApiParameter(
                "ids", MESSAGE_IDS_SCHEMA, required=True, style="form", explode=False,
                description=f"comma-separated outfit ids, at most {MAX_POLLED_IDS}, e.g. 1,2,3",
            ),
        ],
        responses={200: MessagesResponseSerializer},
        examples=[MESSAGES_EXAMPLE],
    )  # fmt: skip
    async def get(self, request: Request) -> HttpResponse:
        entries = [
            {"id": coordi_id, "llmMessage": message.text, "llmMessageStatus": message.status.value}
            for coordi_id in self.ids
            for message in [self.found.get(coordi_id, UNAVAILABLE)]
        ]
        body = {"success": True, "data": {"messages": entries}}
        return HttpResponse(ORJSONRenderer().render(body), content_type=ORJSONRenderer.media_type)


class SignedInView(APIView):
    """A route of the signed-in user (the web client's): sign-in and throttles in adrf's thread hop
    (initial()), with a GET's reads (`read`); the connection goes back at its end, before the
    handler awaits anything. Then, still in that thread but without a connection, a write's body is
    checked (`parse`: JSON, multipart, an image's bytes). The handler's writes are hops of their own
    (database_hop)."""

    user: User

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
            user = request.user
            if not isinstance(user, User):  # IsAuthenticated lets only a signed-in user this far
                raise exceptions.NotAuthenticated()
            self.user = user
            if request.method in ("GET", "HEAD"):
                self.read(request, **kwargs)
        finally:
            release()
        # Only for a method the view answers: any other is a 405 next, whatever its body.
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.method in self.allowed_methods:
            self.parse(request)

    def read(self, request: Request, **kwargs: Any) -> None:
        """A GET's database reads, in initial()'s hop."""

    def parse(self, request: Request) -> None:
        """A write's body, checked in initial()'s thread once the connection went back."""


class WriteView(SignedInView):
    """A signed-in route that writes: throttled per user (API_WRITE_THROTTLE_RATE)."""

    throttle_classes = [WriteRateThrottle]


class CredentialsView(APIView):
    """Routes that take credentials (sign-in, sign-up): no session (so no CSRF), and attempts counted
    per client address (scope `auth`, AUTH_THROTTLE_RATE) once the body is valid: a malformed body
    or a wrong method is not an attempt at the credentials, and must not lock the client out."""

    credentials_serializer: type[serializers.Serializer]
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [CacheTolerantScopedRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request: Request) -> str:
        # Without an authenticator DRF would turn a failed sign-in into a 403; it is a 401.
        return "Bearer"

    def check_throttles(self, request: Request) -> None:
        """Counted in initial(), once the body is valid."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # In adrf's thread: the body is read and checked, then the attempt counted, off the loop.
        super().initial(request, *args, **kwargs)
        if request.method != "POST":
            return  # 405 next
        credentials = self.credentials_serializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        self.credentials = credentials.validated_data
        super().check_throttles(request)


class TokenView(CredentialsView):
    """Email and password in, the user's API token out."""

    description = (
        "Sign in: an email (any case) and password in, the user's API token out, for "
        "`Authorization: Bearer <token>`. Attempts whose body is valid are rate limited per client "
        "address (429)."
    )
    credentials_serializer = TokenRequestSerializer

    @extend_schema(
        description=description,
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 401: ErrorSerializer},
        examples=[TOKEN_REQUEST_EXAMPLE, TOKEN_EXAMPLE],
    )
    async def post(self, request: Request) -> Response:
        key = await database_hop(services.issue_token)(request=request._request, **self.credentials)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid email or password.")
        return Response({"success": True, "data": {"token": key}})
