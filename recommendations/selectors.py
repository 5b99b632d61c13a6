"""Reads: one page of recommendations, in a fixed number of queries, as plain values.

The page is read in two parts. `page_state` is what depends on the user (the recommender's ids, the
coordis' catalogue versions, likes, closet entries): two small statements on every request, in SQL
(recommendations.page_sql).
`load_outfits` is the catalogue part, read with prefetch_related only for outfits whose cached
fragment (recommendations.api.fragments) is missing. Nothing past this module touches a model instance,
and the `llm` app gets only the facts it needs (llm.facts).
"""

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery, Window

from llm.facts import CoordiFacts, ItemFacts, UserFacts

from . import page_sql
from .models import (
    Category,
    Coordi,
    CoordiImage,
    CoordiItem,
    Hashtag,
    ItemImage,
    User,
    UserClosetItem,
    UserCoordiInteraction,
    UserPreferredCoordi,
    UserPreferredHashtag,
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
    is_saved: bool = False


@dataclass(frozen=True, slots=True)
class Outfit:
    id: int
    image_url: str | None
    gender: str
    season: str
    style: str
    description: str
    items: tuple[OutfitItem, ...]
    created_at: datetime
    updated_at: datetime
    catalogue_version: int
    is_favorited: bool = False

    def facts(self) -> CoordiFacts:
        return CoordiFacts(
            id=self.id,
            style=self.style,
            season=self.season,
            gender=self.gender,
            description=self.description,
            image_url=self.image_url,
            version=self.updated_at.isoformat(),
            items=tuple(
                ItemFacts(category=item.category, brand=item.brand, name=item.name) for item in self.items
            ),
        )

    def for_user(self, *, favorited: Collection[int], saved: Collection[int]) -> "Outfit":
        """This outfit as one user sees it: their like and their closet marked."""
        return replace(
            self,
            is_favorited=self.id in favorited,
            items=tuple(replace(item, is_saved=item.id in saved) for item in self.items),
        )


@dataclass(frozen=True, slots=True)
class PageState:
    """What a page needs that depends on the user; small, read on every request."""

    page: int
    limit: int
    total: int
    # The coordis to show, in the recommender's order, with their catalogue versions.
    versions: dict[int, int]
    favorited: frozenset[int]
    saved: frozenset[int]

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit)

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


@dataclass(frozen=True, slots=True)
class OutfitPage:
    """A page of outfits as one user sees them (what the DRF serializers describe)."""

    outfits: tuple[Outfit, ...]
    page: int
    limit: int
    total: int

    total_pages = PageState.total_pages
    has_next = PageState.has_next
    has_prev = PageState.has_prev


def user_facts(user: User) -> UserFacts:
    return UserFacts(id=user.pk, name=user.name, gender=user.gender)


def page_state(user: User, *, page: int, limit: int) -> PageState:
    """The recommender's page of ids, their versions, and this user's likes and saved items on it.

    Two queries whatever the page size (the default recommender's): ids with the total, then
    versions with likes and the closet entries in one; in SQL (recommendations.page_sql says why).
    """
    recommended = get_recommender().recommend(user, offset=(page - 1) * limit, limit=limit)
    ids = recommended.coordi_ids
    if not ids:
        return PageState(page=page, limit=limit, total=recommended.total, versions={},
                         favorited=frozenset(), saved=frozenset())  # fmt: skip
    found, saved = page_sql.reader_state(user.pk, ids)
    return PageState(
        page=page,
        limit=limit,
        total=recommended.total,
        # The recommender's order, exactly; an id deleted since it was recommended is dropped.
        versions={coordi_id: found[coordi_id][0] for coordi_id in ids if coordi_id in found},
        favorited=frozenset(coordi_id for coordi_id, (_, liked) in found.items() if liked),
        saved=saved,
    )


def saved_items(user: User, coordi_ids: Iterable[int]) -> frozenset[int]:
    """The items of these coordis that the user saved to their closet, in one query."""
    return page_sql.saved_items(user.pk, list(coordi_ids))


def recommendation_count(user: User) -> int:
    """How many outfits the user's recommendations hold, every page together (the default
    recommender counts them in one query)."""
    return get_recommender().recommend(user, offset=0, limit=0).total


def catalogue_versions(coordi_ids: Iterable[int]) -> dict[int, int]:
    """The catalogue versions of those of these coordis that exist, by id, in one query."""
    return dict(Coordi.objects.filter(id__in=list(coordi_ids)).values_list("id", "catalogue_version"))


def load_outfits(coordi_ids: Iterable[int]) -> dict[int, Outfit]:
    """The catalogue part of these outfits, by id, in four queries whatever their number."""
    coordis = (
        Coordi.objects.filter(id__in=list(coordi_ids))
        .only("id", "gender", "season", "style", "description", "created_at", "updated_at",
              "catalogue_version")  # fmt: skip
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
                .only("id", "coordi_id", "item__id", "item__name", "item__category", "item__brand",
                      "item__price", "item__purchase_url")  # fmt: skip
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
    return {
        coordi.id: Outfit(
            id=coordi.id,
            image_url=_first_image_url(coordi.images.all()),
            gender=coordi.gender,
            season=coordi.season,
            style=coordi.style,
            description=coordi.description,
            items=tuple(
                OutfitItem(
                    id=entry.item.id,
                    category=entry.item.category,
                    brand=entry.item.brand,
                    name=entry.item.name,
                    price=entry.item.price,
                    image_url=_first_image_url(entry.item.images.all()),
                    purchase_url=entry.item.purchase_url,
                )
                for entry in coordi.coordi_items.all()
            ),
            created_at=coordi.created_at,
            updated_at=coordi.updated_at,
            catalogue_version=coordi.catalogue_version,
        )
        for coordi in coordis
    }


def recommendation_page(user: User, *, page: int, limit: int) -> OutfitPage:
    """The user's page read straight from the database (no cached fragment): for commands, the
    admin and as the reference the fast path is tested against."""
    state = page_state(user, page=page, limit=limit)
    loaded = load_outfits(state.versions)
    outfits = tuple(
        loaded[coordi_id].for_user(favorited=state.favorited, saved=state.saved)
        for coordi_id in state.versions
        if coordi_id in loaded
    )
    return OutfitPage(outfits=outfits, page=page, limit=limit, total=state.total)


def _first_image_url(images: QuerySet[CoordiImage] | QuerySet[ItemImage]) -> str | None:
    return images[0].image_url if images else None


# --- Accounts: sign-up, sign-in, onboarding, the profile photo (reads) -----------------------------


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class PreferredOutfit:
    """A sample outfit the user chose at onboarding, as `preferredCoordis` shows it."""

    id: int
    style: str
    season: str
    gender: str
    description: str
    main_image_url: str | None
    preferred_at: datetime


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the web client sees them (`data.user` of sign-up, sign-in and me)."""

    id: int
    email: str
    name: str
    gender: str
    # As the storage names it (relative with the local disk): the view makes it absolute.
    profile_photo_url: str | None
    preferred_tags: tuple[Tag, ...]
    preferred_outfits: tuple[PreferredOutfit, ...]
    has_completed_onboarding: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SampleOutfit:
    id: int
    image_url: str | None
    style: str
    season: str


@dataclass(frozen=True, slots=True)
class OnboardingOptions:
    hashtags: tuple[Tag, ...]
    sample_outfits: tuple[SampleOutfit, ...]


# The replaced service's number of sample outfits offered at onboarding.
SAMPLE_OUTFITS = 20



def _main_images() -> QuerySet[CoordiImage]:
    """A coordi's images, the main one first, then by position: the first is its imageUrl."""
    return CoordiImage.objects.only("id", "coordi_id", "image_url").order_by("-is_main", "position", "id")


def account(user: User) -> Account:
    """The user with their preferences, in three queries whatever their number: hashtags by id,
    outfits in the order chosen, the outfits' images."""
    tags = UserPreferredHashtag.objects.filter(user=user).select_related("hashtag").order_by("hashtag_id")
    outfits = (
        UserPreferredCoordi.objects.filter(user=user)
        .select_related("coordi")
        .only("id", "created_at", "coordi__id", "coordi__style", "coordi__season", "coordi__gender",
              "coordi__description")  # fmt: skip
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("coordi__images", queryset=_main_images()))
    )
    return Account(
        id=user.pk,
        email=user.email,
        name=user.name,
        gender=user.gender,
        profile_photo_url=user.profile_photo.url if user.profile_photo else None,
        preferred_tags=tuple(Tag(id=entry.hashtag.id, name=entry.hashtag.name) for entry in tags),
        preferred_outfits=tuple(
            PreferredOutfit(
                id=entry.coordi.id,
                style=entry.coordi.style,
                season=entry.coordi.season,
                gender=entry.coordi.gender,
                description=entry.coordi.description,
                main_image_url=_first_image_url(entry.coordi.images.all()),
                preferred_at=entry.created_at,
            )
            for entry in outfits
        ),
        has_completed_onboarding=user.has_completed_onboarding,
        created_at=user.date_joined,
    )


def onboarding_options(user: User) -> OnboardingOptions:
    """Every hashtag by id, and up to SAMPLE_OUTFITS outfits of the user's gender (every gender
    for a user without one), newest first as the default recommender orders them: three queries."""
    coordis = Coordi.objects.all()
    if user.gender:
        coordis = coordis.filter(gender=user.gender)
    samples = (
        coordis.order_by("-created_at", "-id")
        .only("id", "style", "season")
        .prefetch_related(
            Prefetch("images", queryset=_main_images())
        )[:SAMPLE_OUTFITS]
    )
    return OnboardingOptions(
        hashtags=tuple(Tag(id=tag.id, name=tag.name) for tag in Hashtag.objects.order_by("id")),
        sample_outfits=tuple(
            SampleOutfit(
                id=coordi.id,
                image_url=_first_image_url(coordi.images.all()),
                style=coordi.style,
                season=coordi.season,
            )
            for coordi in samples
        ),
    )


# --- Likes, skips, views and the closet (reads) ----------------------------------------------------


def favorites_state(user: User, *, page: int, limit: int) -> PageState:
    """A page of the user's liked outfits, newest like first, as page_state gives the recommender's:
    the same fragments, messages and payload follow (GET /api/outfits/favorites).

    Two queries whatever the page size: the likes with their coordis' versions and the total (a page
    past the end counts them instead), and the closet entries among their items.
    """
    likes = UserCoordiInteraction.objects.filter(user=user, action=UserCoordiInteraction.Action.LIKE)
    offset = (page - 1) * limit
    rows = list(
        likes.order_by("-created_at", "-id")
        .annotate(total=Window(Count("id")))
        .values_list("coordi_id", "coordi__catalogue_version", "total")[offset : offset + limit]
    )
    if not rows:
        return PageState(page=page, limit=limit, total=likes.count(), versions={},
                         favorited=frozenset(), saved=frozenset())  # fmt: skip
    versions = {coordi_id: version for coordi_id, version, _ in rows}
    return PageState(
        page=page,
        limit=limit,
        total=rows[0][2],
        versions=versions,
        favorited=frozenset(versions),
        saved=saved_items(user, versions),
    )


@dataclass(frozen=True, slots=True)
class ClosetEntry:
    """An item in a user's closet, as GET /api/closet shows it."""

    id: int
    category: str
    name: str
    brand: str
    price: int
    image_url: str | None
    purchase_url: str
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class ClosetPage:
    items: tuple[ClosetEntry, ...]
    page: int
    limit: int
    # Of the category asked for (every category for None).
    total: int
    # Of every category, whatever was asked for.
    category_counts: dict[str, int]

    total_pages = PageState.total_pages
    has_next = PageState.has_next
    has_prev = PageState.has_prev


def closet_page(user: User, *, category: str | None, page: int, limit: int) -> ClosetPage:
    """A page of the user's closet, newest saved first, of one category (None: all), with the count
    of each category. Two queries whatever the page size: the counts (the total is theirs), the
    page with each item's first image."""
    entries = UserClosetItem.objects.filter(user=user)
    found = dict(
        entries.order_by().values("item__category").annotate(n=Count("id")).values_list("item__category", "n")
    )
    counts = {name: found.get(name, 0) for name in Category.values}
    shown = entries.filter(item__category=category) if category else entries
    first_image = (
        ItemImage.objects.filter(item_id=OuterRef("item_id")).order_by("position", "id").values("image_url")
    )
    offset = (page - 1) * limit
    rows = (
        shown.order_by("-created_at", "-id")
        .annotate(image_url=Subquery(first_image[:1]))
        .values_list("item_id", "item__category", "item__name", "item__brand", "item__price",
                     "image_url", "item__purchase_url", "created_at")[offset : offset + limit]
    )  # fmt: skip
    return ClosetPage(
        items=tuple(ClosetEntry(*row) for row in rows),
        page=page,
        limit=limit,
        total=counts[category] if category else sum(counts.values()),
        category_counts=counts,
    )
