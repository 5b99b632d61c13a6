"""Reads: one page of recommendations, with everything it shows, in a fixed number of queries.

The rows come back as plain frozen values; nothing past this module touches a model instance, and
the `llm` app gets only the facts it needs (llm.facts).
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch

from llm.facts import CoordiFacts, UserFacts

from .models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    ItemImage,
    User,
    UserClosetItem,
    UserCoordiInteraction,
)
from .recommenders import get_recommender


@dataclass(frozen=True, slots=True)
class OutfitItem:
    id: int
    category: str
    brand: str
    name: str
    price: int
    image_url: str | None
    purchase_url: str
    is_saved: bool


@dataclass(frozen=True, slots=True)
class Outfit:
    id: int
    image_url: str | None
    gender: str
    season: str
    style: str
    description: str
    is_favorited: bool
    items: tuple[OutfitItem, ...]
    created_at: datetime
    updated_at: datetime

    def facts(self) -> CoordiFacts:
        return CoordiFacts(
            id=self.id,
            style=self.style,
            season=self.season,
            gender=self.gender,
            description=self.description,
            image_url=self.image_url,
            version=self.updated_at.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class OutfitPage:
    outfits: tuple[Outfit, ...]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit)

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def user_facts(user: User) -> UserFacts:
    return UserFacts(id=user.pk, name=user.name, gender=user.gender)


def _first_image_url(images) -> str | None:
    return images[0].image_url if images else None


def recommendation_page(user: User, *, page: int, limit: int) -> OutfitPage:
    """The user's page of outfits, in the recommender's order, with isFavorited / isSaved."""
    recommended = get_recommender().recommend(user, offset=(page - 1) * limit, limit=limit)
    if not recommended.coordi_ids:
        return OutfitPage(outfits=(), page=page, limit=limit, total=recommended.total)

    coordis = (
        Coordi.objects.filter(id__in=recommended.coordi_ids)
        .only("id", "gender", "season", "style", "description", "created_at", "updated_at")
        .annotate(
            is_favorited=Exists(
                UserCoordiInteraction.objects.filter(
                    user=user, coordi=OuterRef("pk"), action=UserCoordiInteraction.Action.LIKE
                )
            )
        )
        .prefetch_related(
            # Main image first, then by position: the first one is the outfit's imageUrl.
            Prefetch(
                "images",
                queryset=CoordiImage.objects.only("id", "coordi_id", "image_url").order_by(
                    "-is_main", "position", "id"
                ),
            ),
            Prefetch(
                "coordi_items",
                queryset=CoordiItem.objects.select_related("item")
                .only(
                    "id",
                    "coordi_id",
                    "item__id",
                    "item__name",
                    "item__category",
                    "item__brand",
                    "item__price",
                    "item__purchase_url",
                )
                .annotate(
                    is_saved=Exists(
                        UserClosetItem.objects.filter(user=user, item_id=OuterRef("item_id"))
                    )
                )
                .order_by("position", "id")
                .prefetch_related(
                    Prefetch(
                        "item__images",
                        queryset=ItemImage.objects.only("id", "item_id", "image_url").order_by(
                            "position", "id"
                        ),
                    )
                ),
            ),
        )
    )
    by_id = {
        coordi.id: Outfit(
            id=coordi.id,
            image_url=_first_image_url(coordi.images.all()),
            gender=coordi.gender,
            season=coordi.season,
            style=coordi.style,
            description=coordi.description,
            is_favorited=coordi.is_favorited,
            items=tuple(
                OutfitItem(
                    id=entry.item.id,
                    category=entry.item.category,
                    brand=entry.item.brand,
                    name=entry.item.name,
                    price=entry.item.price,
                    image_url=_first_image_url(entry.item.images.all()),
                    purchase_url=entry.item.purchase_url,
                    is_saved=entry.is_saved,
                )
                for entry in coordi.coordi_items.all()
            ),
            created_at=coordi.created_at,
            updated_at=coordi.updated_at,
        )
        for coordi in coordis
    }
    # The recommender's order, exactly; an id deleted since it was recommended is dropped.
    outfits = tuple(by_id[coordi_id] for coordi_id in recommended.coordi_ids if coordi_id in by_id)
    return OutfitPage(outfits=outfits, page=page, limit=limit, total=recommended.total)
