"""Writes the demo catalogue, the two accounts and the demo user's activity: only what is missing.

Demo rows are found again by natural keys, so no model needs a field for the demo: users by email,
items by purchase URL (which ends in the item's slug), coordis by gender and description (unique per
gender by construction, see catalogue.py). Picture URLs name database ids, as the served files do.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.authtoken.models import Token

from recommendations.models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    Hashtag,
    Item,
    ItemImage,
    User,
    UserClosetItem,
    UserCoordiInteraction,
    UserPreferredCoordi,
    UserPreferredHashtag,
)
from recommendations.signals import bump_coordis, bump_coordis_holding

from .catalogue import CoordiSpec, DemoActivity, ItemSpec
from .images import coordi_image_names, item_image_names
from .vocabulary import FEMALE, MALE

DEMO_EMAIL, DEMO_PASSWORD, DEMO_NAME = "demo@example.com", "demo-password", "김민지"
ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_NAME = "admin@example.com", "admin-password", "관리자"
# Keeps every `IN (...)` under SQLite's bound-parameter limit, whatever --coordis asks for.
LOOKUP_CHUNK = 500

T = TypeVar("T")
Image = TypeVar("Image", CoordiImage, ItemImage)


@dataclass
class Tally:
    created: int = 0
    existing: int = 0


@dataclass
class SeedResult:
    tallies: dict[str, Tally] = field(default_factory=dict)
    coordi_ids: dict[int, int] = field(default_factory=dict)  # spec index -> Coordi id
    item_ids: dict[str, int] = field(default_factory=dict)  # spec slug -> Item id
    urls_rewritten: int = 0
    token: str = ""


def demo_image_url(base_url: str, name: str) -> str:
    return f"{base_url}{demo_url_path()}{name}"


def demo_url_path() -> str:
    """/static/demo/: where DEMO_STATIC_DIR / "demo" is served."""
    static = urlsplit(settings.STATIC_URL).path.strip("/")
    return f"/{static}/demo/" if static else "/demo/"


def seed(
    *,
    items: Sequence[ItemSpec],
    coordis: Sequence[CoordiSpec],
    activity: DemoActivity,
    base_url: str,
) -> SeedResult:
    """Create what is missing in one transaction; point every demo picture URL at `base_url`."""
    result = SeedResult()
    with transaction.atomic():
        demo = _seed_users(result)
        _seed_items(result, items, base_url)
        _seed_coordis(result, coordis, base_url)
        _seed_activity(result, demo, activity)
        _seed_onboarding(result, demo, activity)
        result.urls_rewritten = _point_images_at(base_url)
        token, _ = Token.objects.get_or_create(user=demo)
        result.token = token.key
    return result


def _seed_users(result: SeedResult) -> User:
    tally = result.tallies["users"] = Tally()
    accounts = (
        (DEMO_EMAIL, DEMO_PASSWORD, {"name": DEMO_NAME, "gender": FEMALE}),
        # The admin is a man so that signing in as each account shows each half of the catalogue.
        (
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
            {"name": ADMIN_NAME, "gender": MALE, "is_staff": True, "is_superuser": True},
        ),
    )
    users = []
    for email, password, fields in accounts:
        user = User.objects.filter(email=email).first()
        if user is None:
            # The password is set only here: a re-run must not undo a password the user changed.
            user = User.objects.create_user(email, password, **fields)
            tally.created += 1
        else:
            tally.existing += 1
        users.append(user)
    return users[0]


def _seed_items(result: SeedResult, items: Sequence[ItemSpec], base_url: str) -> None:
    found = _lookup(Item.objects.all(), "purchase_url", [spec.purchase_url for spec in items])
    by_url = {url: pk for pk, url in found}
    missing = [spec for spec in items if spec.purchase_url not in by_url]
    existing_ids = list(by_url.values())
    created = Item.objects.bulk_create(
        Item(
            name=spec.name,
            category=spec.category,
            brand=spec.brand.name,
            price=spec.price,
            purchase_url=spec.purchase_url,
        )
        for spec in missing
    )
    images = [
        ItemImage(item=item, image_url=demo_image_url(base_url, name), position=position)
        for spec, item in zip(missing, created, strict=True)
        for position, name in enumerate(item_image_names(item.pk, spec.image_count))
    ]
    ItemImage.objects.bulk_create(images)

    by_url.update((item.purchase_url, item.pk) for item in created)
    result.item_ids = {spec.slug: by_url[spec.purchase_url] for spec in items}
    result.tallies["items"] = Tally(created=len(created), existing=len(existing_ids))
    result.tallies["item images"] = Tally(
        created=len(images), existing=_count(ItemImage.objects.all(), "item_id", existing_ids)
    )


def _seed_coordis(result: SeedResult, coordis: Sequence[CoordiSpec], base_url: str) -> None:
    descriptions = [spec.description for spec in coordis]
    found = _lookup(Coordi.objects.all(), "description", descriptions, "gender", "created_at")
    by_key = {(gender, description): (pk, created_at) for pk, description, gender, created_at in found}
    existing = {
        spec.index: by_key[spec.gender, spec.description]
        for spec in coordis
        if (spec.gender, spec.description) in by_key
    }
    missing = [spec for spec in coordis if spec.index not in existing]

    # Ages count back from the newest demo coordi; taking it from a coordi already there keeps a larger
    # --coordis run in the same timeline as the first run.
    anchor: datetime = timezone.now().replace(second=0, microsecond=0)
    for spec in coordis:
        if spec.index in existing:
            anchor = existing[spec.index][1] + spec.age
            break

    created = Coordi.objects.bulk_create(
        Coordi(
            gender=spec.gender,
            season=spec.season,
            style=spec.style,
            description=spec.description,
            created_at=anchor - spec.age,
        )
        for spec in missing
    )
    links = [
        CoordiItem(coordi=coordi, item_id=result.item_ids[item.slug], position=position)
        for spec, coordi in zip(missing, created, strict=True)
        for position, item in enumerate(spec.items)
    ]
    images = [
        CoordiImage(
            coordi=coordi,
            image_url=demo_image_url(base_url, name),
            is_main=position == 0,
            position=position,
        )
        for spec, coordi in zip(missing, created, strict=True)
        for position, name in enumerate(coordi_image_names(coordi.pk, spec.image_count))
    ]
    CoordiItem.objects.bulk_create(links)
    CoordiImage.objects.bulk_create(images)

    result.coordi_ids = {index: pk for index, (pk, _) in existing.items()}
    result.coordi_ids.update(
        (spec.index, coordi.pk) for spec, coordi in zip(missing, created, strict=True)
    )
    existing_ids = [pk for pk, _ in existing.values()]
    result.tallies["coordis"] = Tally(created=len(created), existing=len(existing_ids))
    result.tallies["coordi images"] = Tally(
        created=len(images), existing=_count(CoordiImage.objects.all(), "coordi_id", existing_ids)
    )
    result.tallies["coordi items"] = Tally(
        created=len(links), existing=_count(CoordiItem.objects.all(), "coordi_id", existing_ids)
    )


def _seed_activity(result: SeedResult, demo: User, activity: DemoActivity) -> None:
    wanted = {result.coordi_ids[index]: UserCoordiInteraction.Action.LIKE for index in activity.likes}
    wanted.update(
        {result.coordi_ids[index]: UserCoordiInteraction.Action.SKIP for index in activity.skips}
    )
    # A verdict the user changed since (a like turned into a skip) is theirs: leave it.
    done = set(demo.coordi_interactions.filter(coordi_id__in=wanted).values_list("coordi_id", flat=True))
    UserCoordiInteraction.objects.bulk_create(
        UserCoordiInteraction(user=demo, coordi_id=coordi_id, action=action)
        for coordi_id, action in wanted.items()
        if coordi_id not in done
    )
    result.tallies["likes and skips"] = Tally(created=len(wanted) - len(done), existing=len(done))

    item_ids = [result.item_ids[slug] for slug in activity.closet]
    saved = set(demo.closet_items.filter(item_id__in=item_ids).values_list("item_id", flat=True))
    UserClosetItem.objects.bulk_create(
        UserClosetItem(user=demo, item_id=item_id) for item_id in item_ids if item_id not in saved
    )
    result.tallies["closet items"] = Tally(created=len(item_ids) - len(saved), existing=len(saved))


def _seed_onboarding(result: SeedResult, demo: User, activity: DemoActivity) -> None:
    """The demo user onboarded (hashtags and sample outfits chosen), once: a choice they made since,
    through the API, is theirs."""
    tally = result.tallies["onboarding"] = Tally()
    if demo.has_completed_onboarding:
        tally.existing += 1
        return
    now = timezone.now()
    UserPreferredHashtag.objects.filter(user=demo).delete()
    UserPreferredCoordi.objects.filter(user=demo).delete()
    UserPreferredHashtag.objects.bulk_create(
        UserPreferredHashtag(user=demo, hashtag=hashtag, created_at=now)
        for hashtag in Hashtag.objects.filter(name__in=activity.hashtags)
    )
    UserPreferredCoordi.objects.bulk_create(
        UserPreferredCoordi(user=demo, coordi_id=result.coordi_ids[index], created_at=now)
        for index in activity.preferred
    )
    User.objects.filter(pk=demo.pk).update(has_completed_onboarding=True)
    demo.has_completed_onboarding = True
    tally.created += 1


def _point_images_at(base_url: str) -> int:
    """Rewrite demo picture URLs made for another host or port (`make run PORT=8123`); count them."""
    path = demo_url_path()
    # bulk_update sends no signals: move the outfits' versions so no cached fragment keeps old URLs.
    coordi_images = _repoint(CoordiImage, base_url, path)
    bump_coordis({image.coordi_id for image in coordi_images})
    item_images = _repoint(ItemImage, base_url, path)
    bump_coordis_holding({image.item_id for image in item_images})
    return len(coordi_images) + len(item_images)


def _repoint(model: type[Image], base_url: str, path: str) -> list[Image]:
    """The model's demo pictures whose URL names another base, rewritten to `base_url` (bulk_update)."""
    stale = []
    others = model.objects.filter(image_url__contains=path).exclude(image_url__startswith=base_url + path)
    for image in others:
        image.image_url = base_url + image.image_url[image.image_url.index(path) :]
        stale.append(image)
    model.objects.bulk_update(stale, ["image_url"], batch_size=LOOKUP_CHUNK)
    return stale


def _lookup(queryset: QuerySet[Any], key: str, values: Sequence[str], *fields: str) -> list[tuple]:
    """(pk, key, *fields) of the rows whose `key` is one of `values`, in chunks."""
    rows: list[tuple] = []
    for chunk in _chunks(values):
        rows.extend(queryset.filter(**{f"{key}__in": chunk}).values_list("pk", key, *fields))
    return rows


def _count(queryset: QuerySet[Any], key: str, values: Sequence[int]) -> int:
    return sum(queryset.filter(**{f"{key}__in": chunk}).count() for chunk in _chunks(values))


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]
