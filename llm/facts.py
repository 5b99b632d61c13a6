"""The plain, immutable values the llm app works on: no ORM object ever crosses into it."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """One piece of an outfit as the prompt names it; never its price."""

    category: str
    brand: str
    name: str


@dataclass(frozen=True, slots=True)
class CoordiFacts:
    """What a message is written from: the outfit's facts and its main image."""

    id: int
    style: str
    season: str
    gender: str
    description: str
    image_url: str | None
    # Moves whenever the outfit is edited (its updated_at, ISO 8601); part of the message's cache key.
    version: str = ""
    # In the outfit's order; empty for callers that have no items to give.
    items: tuple[ItemFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class UserFacts:
    """Who a message is written for."""

    id: int
    name: str
    gender: str
