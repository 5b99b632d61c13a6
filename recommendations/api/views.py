"""The HTTP API: thin async views that validate, call one selector or service, and serialize."""

import time
from typing import Any

from adrf.views import APIView
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from prometheus_client import Histogram
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from llm.service import stored_messages

from .. import services
from ..connections import database_hop, release
from ..models import User
from ..selectors import page_state, user_facts
from .fragments import fragment_facts, outfit_fragments, render_outfit
from .renderers import ORJSONRenderer
from .serializers import (
    ErrorSerializer,
    PageQuerySerializer,
    PaginationSerializer,
    RecommendationsResponseSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from .throttling import CacheTolerantScopedRateThrottle

PAGE_SECONDS = Histogram(
    "recommendations_page_seconds",
    "Time to answer GET /api/recommendations once signed in (read, messages, serialization).",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 12, 20),
)


class RecommendationsView(APIView):
    """A page: one thread hop for every database read (auth and the user's page state) and the
    outfit fragments' get_many (the missing ones made there too), the messages (one get_many when
    cached), then the fragments merged with this reader's parts and rendered by orjson."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # adrf runs initial() in a thread: authenticate, check, then read what the page needs of the
        # database in that same hop. What is left in get() is cache and network, on the event loop.
        self.started = time.perf_counter()
        try:
            super().initial(request, *args, **kwargs)
            if request.method not in ("GET", "HEAD"):
                return  # answered 405 next, without reading anything
            user = request.user
            if not isinstance(user, User):  # IsAuthenticated lets only a signed-in user this far
                raise exceptions.NotAuthenticated()
            query = PageQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            self.query = query.validated_data
            if self.query["refresh"] and not user.is_staff:
                raise exceptions.PermissionDenied("refresh: fresh messages are for staff only.")
            self.state = page_state(user, page=self.query["page"], limit=self.query["limit"])
        finally:
            # The page then waits on the cache and Gemini: its pooled connection goes back now.
            release()
        # Still in this hop: the outfits' cached fragments (the missing ones made here), and the
        # messages already made for this reader.
        self.fragments = outfit_fragments(self.state.versions)
        self.shown = [coordi_id for coordi_id in self.state.versions if coordi_id in self.fragments]
        self.facts = [fragment_facts(self.fragments[coordi_id]) for coordi_id in self.shown]
        self.reader = user_facts(user)
        self.stored = None if self.query["refresh"] else stored_messages(self.facts, self.reader)

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="1-based page number (default 1)"),
            OpenApiParameter("limit", int, description="outfits per page, 1 to 50 (default 20)"),
            OpenApiParameter(
                "refresh", bool, description="staff only: new messages, not the stored ones"
            ),
        ],
        responses={200: RecommendationsResponseSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
    )
    async def get(self, request: Request) -> HttpResponse:
        state, fragments, shown = self.state, self.fragments, self.shown
        # Plain values only past this line: the llm app never sees a model instance.
        messages = await services.outfit_messages(
            self.facts, self.reader, use_cache=not self.query["refresh"], stored=self.stored
        )
        outfits = [
            render_outfit(
                fragments[coordi_id],
                favorited=coordi_id in state.favorited,
                saved=state.saved,
                message=messages[coordi_id],
            )
            for coordi_id in shown
        ]
        pagination = PaginationSerializer(state).data
        body = {"success": True, "data": {"outfits": outfits, "pagination": pagination}}
        PAGE_SECONDS.observe(time.perf_counter() - self.started)
        # Rendered here: Django would render a DRF Response in a thread, one more hop per page.
        return HttpResponse(ORJSONRenderer().render(body), content_type=ORJSONRenderer.media_type)


class TokenView(APIView):
    """Email and password in, the user's API token out."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [CacheTolerantScopedRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request: Request) -> str:
        # Without an authenticator DRF would turn a failed sign-in into a 403; it is a 401.
        return "Bearer"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
    )
    async def post(self, request: Request) -> Response:
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        key = await database_hop(services.issue_token)(
            request=request._request, **credentials.validated_data
        )
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid email or password.")
        return Response({"success": True, "data": {"token": key}})
