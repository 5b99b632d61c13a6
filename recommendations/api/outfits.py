"""The web client's outfit routes: likes (favorites), skips, views, the closet and virtual fitting
(the replaced service's shapes, in the envelope)."""

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from .. import services
from ..connections import database_hop
from ..models import Coordi, Item, User
from ..selectors import PageState, closet_page, favorites_state
from .errors import ApiError
from .outfit_serializers import (
    ClosetQuerySerializer,
    ClosetSerializer,
    FavoriteSerializer,
    FittingsSerializer,
    ListQuerySerializer,
    RemovedItemSerializer,
    SavedItemSerializer,
    SaveItemRequestSerializer,
    SkipSerializer,
    UnfavoriteSerializer,
    ViewRequestSerializer,
    ViewSerializer,
)
from .renderers import ORJSONRenderer
from .serializers import (
    ErrorSerializer,
    PageQuerySerializer,
    RecommendationsResponseSerializer,
    enveloped,
)
from .views import PageView, SignedInView, WriteView


def answer(data: Any, *, status: int = 200) -> HttpResponse:
    """`{"success": true, "data": ...}`, rendered here (a DRF Response would be rendered in a thread
    hop of its own)."""
    body = ORJSONRenderer().render({"success": True, "data": data})
    return HttpResponse(body, status=status, content_type=ORJSONRenderer.media_type)


def not_found(error: Coordi.DoesNotExist | Item.DoesNotExist) -> ApiError:
    return ApiError(404, "NOT_FOUND", str(error))


# --- Likes, skips and views ------------------------------------------------------------------------


class FavoriteView(WriteView):
    """POST/DELETE /api/outfits/{id}/favorite: like an outfit, or take the like back."""

    @extend_schema(
        description="Like the outfit (a skip of it becomes the like): it leaves the recommendations "
        "and joins the favorites. 409 `ALREADY_FAVORITED` when it is liked already, 404 `NOT_FOUND` "
        "for an unknown outfit.",
        request=None,
        responses={201: enveloped(FavoriteSerializer), 404: ErrorSerializer, 409: ErrorSerializer},
    )
    async def post(self, request: Request, outfit_id: int) -> HttpResponse:
        try:
            at = await database_hop(services.favorite_outfit)(user=self.user, coordi_id=outfit_id)
        except Coordi.DoesNotExist as error:
            raise not_found(error) from None
        except services.AlreadyFavorited as error:
            raise ApiError(409, "ALREADY_FAVORITED", str(error)) from None
        data = {"outfitId": outfit_id, "isFavorited": True, "favoritedAt": at}
        return answer(FavoriteSerializer(data).data, status=201)

    @extend_schema(
        description="Take the like back: the outfit leaves the favorites and is recommended again. "
        "404 `NOT_FAVORITED` when the user does not like it, `NOT_FOUND` for an unknown outfit.",
        request=None,
        responses={200: enveloped(UnfavoriteSerializer), 404: ErrorSerializer},
    )
    async def delete(self, request: Request, outfit_id: int) -> HttpResponse:
        try:
            at = await database_hop(services.unfavorite_outfit)(user=self.user, coordi_id=outfit_id)
        except Coordi.DoesNotExist as error:
            raise not_found(error) from None
        except services.NotFavorited as error:
            raise ApiError(404, "NOT_FAVORITED", str(error)) from None
        data = {"outfitId": outfit_id, "isFavorited": False, "unfavoritedAt": at}
        return answer(UnfavoriteSerializer(data).data)


class SkipView(WriteView):
    @extend_schema(
        description="Skip the outfit: it leaves the recommendations. A liked outfit stays liked "
        "(`isSkipped` false, `skippedAt` null); skipping again keeps the first skip. 404 `NOT_FOUND` "
        "for an unknown outfit.",
        request=None,
        responses={200: enveloped(SkipSerializer), 404: ErrorSerializer},
    )
    async def post(self, request: Request, outfit_id: int) -> HttpResponse:
        try:
            verdict = await database_hop(services.skip_outfit)(user=self.user, coordi_id=outfit_id)
        except Coordi.DoesNotExist as error:
            raise not_found(error) from None
        skipped = verdict.action == services.SKIP
        data = {
            "outfitId": outfit_id,
            "isSkipped": skipped,
            "skippedAt": verdict.created_at if skipped else None,
        }
        return answer(SkipSerializer(data).data)


class OutfitViewView(WriteView):
    def parse(self, request: Request) -> None:
        body = ViewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.body = body.validated_data

    @extend_schema(
        description="Record how long the user looked at the outfit (one record per call). 404 "
        "`NOT_FOUND` for an unknown outfit.",
        request=ViewRequestSerializer,
        responses={201: enveloped(ViewSerializer), 404: ErrorSerializer},
    )
    async def post(self, request: Request, outfit_id: int) -> HttpResponse:
        try:
            view = await database_hop(services.record_view)(
                user=self.user, coordi_id=outfit_id, duration_seconds=self.body["durationSeconds"]
            )
        except Coordi.DoesNotExist as error:
            raise not_found(error) from None
        data = {"outfitId": outfit_id, "durationSeconds": view.duration_seconds, "viewedAt": view.created_at}
        return answer(ViewSerializer(data).data, status=201)


class FavoritesView(PageView):
    """GET /api/outfits/favorites: the recommendations page's read path and messages, over the
    user's likes (newest first) instead of the recommender's page."""

    description = (
        "The outfits the signed-in user liked, newest like first, in the shape of "
        "`GET /api/recommendations` (each with its items, `isSaved` and `llmMessage`; the response "
        "waits for the messages at most the server's response deadline)."
    )

    def read_state(self, user: User, *, page: int, limit: int) -> PageState:
        return favorites_state(user, page=page, limit=limit)

    @extend_schema(
        description=description,
        parameters=[PageQuerySerializer],
        responses={200: RecommendationsResponseSerializer, 403: ErrorSerializer},
    )
    async def get(self, request: Request) -> HttpResponse:
        messages = await self.start_messages().settled(timeout=settings.LLM_RESPONSE_DEADLINE_SECONDS)
        return answer(self.page_data(messages))


# --- The closet ------------------------------------------------------------------------------------


class ClosetView(SignedInView):
    @extend_schema(
        description="The items the signed-in user saved, newest first, of one category or all, with "
        "the count of each category (whatever the filter).",
        parameters=[ClosetQuerySerializer],
        responses={200: enveloped(ClosetSerializer)},
    )
    async def get(self, request: Request) -> HttpResponse:
        return answer(ClosetSerializer(self.page).data)

    def read(self, request: Request, **kwargs: Any) -> None:
        query = ClosetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        category = query.validated_data["category"]
        self.page = closet_page(
            self.user, category=None if category == "all" else category,
            page=query.validated_data["page"], limit=query.validated_data["limit"],
        )  # fmt: skip


class ClosetItemsView(WriteView):
    def parse(self, request: Request) -> None:
        body = SaveItemRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.body = body.validated_data

    @extend_schema(
        description="Save an item to the closet. 409 `ALREADY_SAVED` when it is there already, 404 "
        "`NOT_FOUND` for an unknown item.",
        request=SaveItemRequestSerializer,
        responses={201: enveloped(SavedItemSerializer), 404: ErrorSerializer, 409: ErrorSerializer},
    )
    async def post(self, request: Request) -> HttpResponse:
        item_id = self.body["itemId"]
        try:
            at = await database_hop(services.save_item)(user=self.user, item_id=item_id)
        except Item.DoesNotExist as error:
            raise not_found(error) from None
        except services.AlreadySaved as error:
            raise ApiError(409, "ALREADY_SAVED", str(error)) from None
        data = {"message": f"Item {item_id} saved to the closet.", "savedAt": at}
        return answer(SavedItemSerializer(data).data, status=201)


class ClosetItemView(WriteView):
    @extend_schema(
        description="Take an item out of the closet. 404 `NOT_SAVED` when it is not there, "
        "`NOT_FOUND` for an unknown item.",
        request=None,
        responses={200: enveloped(RemovedItemSerializer), 404: ErrorSerializer},
    )
    async def delete(self, request: Request, item_id: int) -> HttpResponse:
        try:
            at = await database_hop(services.remove_item)(user=self.user, item_id=item_id)
        except Item.DoesNotExist as error:
            raise not_found(error) from None
        except services.NotSaved as error:
            raise ApiError(404, "NOT_SAVED", str(error)) from None
        data = {"message": f"Item {item_id} removed from the closet.", "deletedAt": at}
        return answer(RemovedItemSerializer(data).data)


# --- Virtual fitting (not made by this service) ----------------------------------------------------

NO_FITTING = "Virtual fitting is not available on this server."


class FittingsView(SignedInView):
    @extend_schema(
        operation_id="virtual_fitting_list",
        description="The user's virtual fittings: always none, this service makes no fittings.",
        parameters=[ListQuerySerializer],
        responses={200: enveloped(FittingsSerializer)},
    )
    async def get(self, request: Request) -> HttpResponse:
        return answer(FittingsSerializer(self.none).data)

    @extend_schema(
        description="Start a virtual fitting: not implemented here (501 `NOT_IMPLEMENTED`).",
        request=None,
        responses={501: ErrorSerializer},
    )
    async def post(self, request: Request) -> HttpResponse:
        raise ApiError(501, "NOT_IMPLEMENTED", NO_FITTING)

    def read(self, request: Request, **kwargs: Any) -> None:
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, limit = query.validated_data["page"], query.validated_data["limit"]
        self.none = {
            "fittings": [],
            "pagination": PageState(page=page, limit=limit, total=0, versions={},
                                    favorited=frozenset(), saved=frozenset()),
        }  # fmt: skip


class FittingJobView(SignedInView):
    @extend_schema(
        operation_id="virtual_fitting_job_retrieve",
        description="A virtual fitting's job: not implemented here (501 `NOT_IMPLEMENTED`).",
        responses={501: ErrorSerializer},
    )
    async def get(self, request: Request, job_id: str) -> HttpResponse:
        raise ApiError(501, "NOT_IMPLEMENTED", NO_FITTING)


urlpatterns: list[URLPattern] = [
    path("outfits/favorites", FavoritesView.as_view(), name="outfit-favorites"),
    path("outfits/<int:outfit_id>/favorite", FavoriteView.as_view(), name="outfit-favorite"),
    path("outfits/<int:outfit_id>/skip", SkipView.as_view(), name="outfit-skip"),
    path("outfits/<int:outfit_id>/view", OutfitViewView.as_view(), name="outfit-view"),
    path("closet", ClosetView.as_view(), name="closet"),
    path("closet/items", ClosetItemsView.as_view(), name="closet-items"),
    path("closet/items/<int:item_id>", ClosetItemView.as_view(), name="closet-item"),
    path("virtual-fitting", FittingsView.as_view(), name="virtual-fittings"),
    path("virtual-fitting/<str:job_id>", FittingJobView.as_view(), name="virtual-fitting-job"),
]
