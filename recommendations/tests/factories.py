"""Small builders for catalogue rows in tests (plain functions; no factory library needed)."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Model
from rest_framework.authtoken.models import Token

from recommendations.models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    Item,
    ItemImage,
    User,
)

_sequence = itertools.count(1)
BASE_TIME = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
# Nothing listens on the discard port: an image fetch fails at once, with no DNS look-up to wait on.
IMAGE_HOST = "http://127.0.0.1:9"


def make_user(*, email: str | None = None, name: str = "김민지", gender: str = "female", **fields) -> User:
    n = next(_sequence)
    return User.objects.create_user(
        email=email or f"user{n}@example.com", password="secret-password", name=name, gender=gender, **fields
    )


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def make_item(*, category: str = "top", images: int = 1, **fields) -> Item:
    n = next(_sequence)
    item = Item.objects.create(
        name=fields.pop("name", f"코튼 니트 {n}"),
        category=category,
        brand=fields.pop("brand", "모노"),
        price=fields.pop("price", 39000),
        purchase_url=fields.pop("purchase_url", f"https://shop.example.com/items/{n}"),
        **fields,
    )
    for position in range(images):
        ItemImage.objects.create(
            item=item, image_url=f"{IMAGE_HOST}/items/{item.pk}-{position}.jpg", position=position
        )
    return item


def make_coordi(
    *,
    gender: str = "female",
    style: str = "casual",
    season: str = "spring",
    description: str = "봄 산책에 어울리는 니트와 와이드 데님",
    minutes_ago: int | None = None,
    images: int = 2,
    main_image: int | None = 1,
    items: int = 2,
) -> Coordi:
    n = next(_sequence)
    created_at = BASE_TIME - timedelta(minutes=n if minutes_ago is None else minutes_ago)
    coordi = Coordi.objects.create(
        gender=gender, style=style, season=season, description=description, created_at=created_at
    )
    for position in range(images):
        CoordiImage.objects.create(
            coordi=coordi,
            image_url=f"{IMAGE_HOST}/coordis/{coordi.pk}-{position}.jpg",
            is_main=position == main_image,
            position=position,
        )
    for position, category in zip(range(items), itertools.cycle(["top", "bottom", "outer"])):
        CoordiItem.objects.create(coordi=coordi, item=make_item(category=category), position=position)
    return coordi


def edit(instance: Model, **changes: Any) -> None:
    """Sets these fields and saves: an edit as the admin makes it (signals sent)."""
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.save()
