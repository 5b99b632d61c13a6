"""Which coordis a user sees, in which order: an interface, named by the RECOMMENDER setting, and
the default, the replaced service's rule."""

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from . import page_sql
from .models import User


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
        # In SQL, one query (recommendations.page_sql says why), its ORM twin is the tests' reference.
        ids, total = page_sql.newest_for_gender(user.pk, user.gender, offset=offset, limit=limit)
        return RecommendationPage(coordi_ids=tuple(ids), total=total)


@lru_cache(maxsize=4)
def _recommender(dotted_path: str) -> Recommender:
    return import_string(dotted_path)()


def get_recommender() -> Recommender:
    """The recommender the RECOMMENDER setting names."""
    return _recommender(settings.RECOMMENDER)
