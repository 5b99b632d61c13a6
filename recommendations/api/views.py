"""The HTTP API: thin async views that validate, call one selector or service, and serialize."""

from adrf.views import APIView
from asgiref.sync import sync_to_async
from drf_spectacular.utils import OpenApiParameter, extend_schema
from prometheus_client import Histogram
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from .. import services
from ..selectors import recommendation_page, user_facts
from .serializers import (
    ErrorSerializer,
    PageQuerySerializer,
    RecommendationsDataSerializer,
    RecommendationsResponseSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)

PAGE_SECONDS = Histogram(
    "recommendations_page_seconds",
    "Time to answer GET /api/recommendations once signed in (read, messages, serialization).",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 12, 20),
)


class RecommendationsView(APIView):
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
    async def get(self, request: Request) -> Response:
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["refresh"] and not request.user.is_staff:
            raise exceptions.PermissionDenied("refresh: fresh messages are for staff only.")
        with PAGE_SECONDS.time():
            return await self._page(request, **query.validated_data)

    async def _page(self, request: Request, *, page: int, limit: int, refresh: bool) -> Response:
        loaded = await sync_to_async(recommendation_page)(request.user, page=page, limit=limit)
        # Plain values only past this line: the llm app never sees a model instance.
        messages = await services.outfit_messages(
            [outfit.facts() for outfit in loaded.outfits],
            user_facts(request.user),
            use_cache=not refresh,
        )
        data = RecommendationsDataSerializer(loaded, context={"messages": messages}).data
        return Response({"success": True, "data": data})


class TokenView(APIView):
    """Email and password in, the user's API token out."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
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
        key = await sync_to_async(services.issue_token)(
            request=request._request, **credentials.validated_data
        )
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid email or password.")
        return Response({"success": True, "data": {"token": key}})
