"""Which coordis a user sees, in which order: an interface, named by the RECOMMENDER setting, and
the default, the replaced service's rule."""

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.db.models import Count, Window
from django.utils.module_loading import import_string

from .models import Coordi, User, UserCoordiInteraction


@dataclass(frozen=True, slots=True)
class RecommendationPage:
    """One page of coordi ids, in the order to show them, and how many there are in all."""

    coordi_ids: tuple[int, ...]
    total: int


class Recommender(Protocol):
    def recommend(self, user: User, *, offset: int, limit: int) -> RecommendationPage:
        """Return at most `limit` ids starting at `offset` of this user's ordered recommendations."""
        ...


class NewestForGender:
    """Coordis of the user's gender (all of them when the user has none), without those the user
    liked or skipped, newest first."""

    def recommend(self, user: User, *, offset: int, limit: int) -> RecommendationPage:
        coordis = Coordi.objects.exclude(
            id__in=UserCoordiInteraction.objects.filter(user=user).values("coordi_id")
        )
        if user.gender:
            coordis = coordis.filter(gender=user.gender)
        # The page and the total in one query (the total counted before the page is cut out of it);
        # a page past the end has no row to carry it, and asks again.
        rows = list(
            coordis.order_by("-created_at", "-id")
            .annotate(total=Window(Count("id")))
            .values_list("id", "total")[offset : offset + limit]
        )
        total = rows[0][1] if rows else coordis.count()
        return RecommendationPage(coordi_ids=tuple(coordi_id for coordi_id, _ in rows), total=total)


@lru_cache(maxsize=4)
def _recommender(dotted_path: str) -> Recommender:
    return import_string(dotted_path)()


def get_recommender() -> Recommender:
    """The recommender the RECOMMENDER setting names."""
    return _recommender(settings.RECOMMENDER)
