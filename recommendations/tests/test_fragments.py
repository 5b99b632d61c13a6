"""The fast read path: cached outfit fragments give the same JSON as a fresh read, whatever is edited."""

import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from recommendations import signals
from recommendations.api.serializers import OutfitSerializer, PaginationSerializer
from recommendations.messages import MessageStatus, OutfitMessage
from recommendations.models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    Item,
    ItemImage,
    UserClosetItem,
    UserCoordiInteraction,
)
from recommendations.selectors import recommendation_page

from .factories import make_coordi, make_item, make_user, token_for

URL = "/api/recommendations"
pytestmark = pytest.mark.django_db


def fast(client, user, limit=50):
    response = client.get(URL, {"limit": limit}, headers={"Authorization": f"Bearer {token_for(user)}"})
    assert response.status_code == 200
    return response.json()["data"]


def reference(user, limit=50):
    """The same page read straight from the database and serialized by DRF: no fragment involved."""
    page = recommendation_page(user, page=1, limit=limit)
    # No key in the tests: every message unavailable.
    messages = {outfit.id: OutfitMessage(None, MessageStatus.UNAVAILABLE) for outfit in page.outfits}
    data = {
        "outfits": OutfitSerializer(page.outfits, many=True, context={"messages": messages}).data,
        "pagination": PaginationSerializer(page).data,
    }
    return json.loads(json.dumps(data))


def versions():
    return dict(Coordi.objects.values_list("id", "catalogue_version"))


@pytest.fixture
def catalogue():
    """Three coordis; the second and third share an item."""
    a, b, c = (make_coordi(minutes_ago=n, items=2, images=2) for n in (1, 2, 3))
    shared = b.items.first()
    assert shared is not None
    CoordiItem.objects.create(coordi=c, item=shared, position=5)
    return a, b, c, shared


# Each edit, and the coordis (by index in `catalogue`) whose fragment it must invalidate.
EDITS = {
    "save the coordi": (lambda a, b, c, shared: a.save(), {0}),
    "edit its description": (lambda a, b, c, shared: _save(a, description="겨울 코트 룩"), {0}),
    "edit one of its images": (
        lambda a, b, c, shared: _save(a.images.first(), image_url="http://127.0.0.1:9/new.jpg"),
        {0},
    ),
    "add an image": (
        lambda a, b, c, shared: CoordiImage.objects.create(coordi=a, image_url="http://127.0.0.1:9/x.jpg"),
        {0},
    ),
    "delete an image": (lambda a, b, c, shared: a.images.first().delete(), {0}),
    "add an item through the relation": (
        lambda a, b, c, shared: a.items.add(make_item(), through_defaults={"position": 7}),
        {0},
    ),
    "remove an item through the relation": (lambda a, b, c, shared: a.items.remove(a.items.first()), {0}),
    "clear an item's coordis": (lambda a, b, c, shared: shared.coordis.clear(), {1, 2}),
    "add a coordi to an item through the relation": (
        lambda a, b, c, shared: shared.coordis.add(a, through_defaults={"position": 9}),
        {0},
    ),
    "remove a coordi from an item through the relation": (
        lambda a, b, c, shared: shared.coordis.remove(b),
        {1},
    ),
    "clear a coordi's items": (lambda a, b, c, shared: c.items.clear(), {2}),
    "delete a coordi item": (lambda a, b, c, shared: a.coordi_items.first().delete(), {0}),
    "edit a shared item": (lambda a, b, c, shared: _save(shared, price=12000), {1, 2}),
    "delete a shared item": (lambda a, b, c, shared: shared.delete(), {1, 2}),
    "edit a shared item's image": (
        lambda a, b, c, shared: _save(shared.images.first(), image_url="http://127.0.0.1:9/i.jpg"),
        {1, 2},
    ),
    "add an image to a shared item": (
        lambda a, b, c, shared: ItemImage.objects.create(item=shared, image_url="http://127.0.0.1:9/j.jpg"),
        {1, 2},
    ),
    "an item in no coordi": (lambda a, b, c, shared: _save(make_item(), price=1000), set()),
    # Another model's many-to-many, whose row ids happen to be the coordi's: not an outfit's edit.
    "an unrelated many-to-many change": (
        lambda a, b, c, shared: Group.objects.create(pk=a.pk, name="merchandisers").permissions.add(
            *Permission.objects.all()[:1]
        ),
        set(),
    ),
}


def _save(instance, **changes):
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.save()


@pytest.fixture
def receivers_disconnected():
    """Every receiver of recommendations.signals disconnected; the test connects them again."""
    receivers: list[Callable[..., None]] = [
        signals._coordi_saved, signals._coordi_part_changed, signals._item_changed,
        signals._item_image_changed, signals._coordi_items_changed,
    ]  # fmt: skip
    senders: list[type[Model]] = [Coordi, CoordiImage, CoordiItem, Item, ItemImage, Coordi.items.through]
    for signal in (post_save, post_delete, m2m_changed):
        for receiver in receivers:
            for sender in senders:
                signal.disconnect(receiver, sender=sender)
    yield
    signals.connect()


@pytest.mark.parametrize("edit", list(EDITS))
def test_each_kind_of_edit_moves_exactly_the_versions_it_should(catalogue, edit, receivers_disconnected):
    signals.connect()  # what the app's ready() does: each edit below needs its receiver
    coordis = catalogue[:3]
    before = versions()

    change, expected = EDITS[edit]
    change(*catalogue)

    after = versions()
    moved = {index for index, coordi in enumerate(coordis) if before[coordi.pk] != after.get(coordi.pk)}
    assert moved == expected


@pytest.mark.parametrize("edit", list(EDITS))
def test_after_each_kind_of_edit_the_page_is_the_fresh_page(client, catalogue, edit):
    user = make_user()
    fast(client, user)  # every fragment cached

    EDITS[edit][0](*catalogue)

    assert fast(client, user) == reference(user)


def test_a_like_or_a_closet_save_shows_on_the_next_request(client):
    user = make_user()
    coordi = make_coordi()
    item = coordi.items.first()
    assert item is not None
    first = fast(client, user)["outfits"][0]
    assert first["isFavorited"] is False and not any(i["isSaved"] for i in first["items"])

    UserClosetItem.objects.create(user=user, item=item)
    saved = fast(client, user)["outfits"][0]
    assert {i["id"]: i["isSaved"] for i in saved["items"]}[item.id] is True

    UserCoordiInteraction.objects.create(user=user, coordi=coordi, action="like")
    assert fast(client, user)["outfits"] == []  # the default recommender hides liked coordis


def test_fragments_are_shared_by_readers_and_not_rebuilt(client, django_assert_num_queries):
    for _ in range(5):
        make_coordi()
    first, second = make_user(), make_user()
    headers = {"Authorization": f"Bearer {token_for(second)}"}
    fast(client, first)

    # token; count, ids, versions with likes, closet entries: no catalogue read for the second reader
    with django_assert_num_queries(4):
        assert len(client.get(URL, headers=headers).json()["data"]["outfits"]) == 5


def test_an_unreachable_cache_still_serves_the_page(client, settings):
    make_coordi()
    user = make_user()
    expected = reference(user)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }

    assert fast(client, user) == expected


class BrokenCache(LocMemCache):
    """A cache that answers with errors that are not a lost connection (those are logged quietly)."""

    def get_many(self, keys: Any, version: Any = None) -> Any:
        raise RuntimeError("cache says no")

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        raise RuntimeError("cache says no")


class RecordingCache(LocMemCache):
    """A cache that remembers the timeout of every set_many."""

    timeouts: ClassVar[list[Any]] = []

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        self.timeouts.append(timeout)
        return super().set_many(data, timeout=timeout, version=version)


def test_a_failing_cache_is_logged_and_the_page_still_served(client, settings, caplog):
    make_coordi()
    user = make_user()
    expected = reference(user)
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.BrokenCache"}}

    with caplog.at_level(logging.WARNING, logger="recommendations.api.fragments"):
        assert fast(client, user) == expected

    assert [r.getMessage() for r in caplog.records if r.name == "recommendations.api.fragments"] == [
        "outfit fragments unreadable (RuntimeError): read from the database",
        "outfit fragments unwritable (RuntimeError)",
    ]


def test_fragments_are_kept_for_their_ttl(client, settings):
    settings.OUTFIT_FRAGMENT_TTL_SECONDS = 1234
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.RecordingCache"}}
    RecordingCache.timeouts.clear()
    make_coordi()

    fast(client, make_user())

    assert RecordingCache.timeouts == [1234]


# --- random edits, property-based ------------------------------------------------------------------

edit_steps = st.lists(
    st.tuples(
        st.sampled_from([
            "coordi", "coordi_image", "new_coordi_image", "drop_coordi_image", "main_image",
            "item", "item_image", "new_item_image", "drop_item_image", "add_item", "drop_item",
            "like", "skip", "unlike", "save", "unsave",
        ]),
        st.integers(min_value=0, max_value=99),
        st.text(alphabet="가나다abc 123", min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip


def _apply(kind: str, pick: int, text: str, user) -> None:
    coordis = list(Coordi.objects.order_by("id"))
    coordi = coordis[pick % len(coordis)]
    items = list(Item.objects.order_by("id"))
    item = items[pick % len(items)]
    if kind == "coordi":
        _save(coordi, description=text, style=["casual", "street", "sporty", "minimal"][pick % 4])
    elif kind == "coordi_image" and coordi.images.exists():
        _save(coordi.images.order_by("id")[pick % coordi.images.count()], image_url=f"http://h/{text}.jpg")
    elif kind == "new_coordi_image":
        CoordiImage.objects.create(coordi=coordi, image_url=f"http://h/{text}.jpg", position=pick % 5)
    elif kind == "drop_coordi_image" and coordi.images.exists():
        coordi.images.order_by("id")[0].delete()
    elif kind == "main_image" and coordi.images.exists():
        coordi.images.filter(is_main=True).update(is_main=False)  # a bulk write: signals don't see it …
        _save(coordi.images.order_by("-id").first(), is_main=True)  # … but this save does
    elif kind == "item":
        _save(item, name=text, price=1000 + pick)
    elif kind == "item_image" and item.images.exists():
        _save(item.images.order_by("id").first(), image_url=f"http://h/i-{text}.jpg")
    elif kind == "new_item_image":
        ItemImage.objects.create(item=item, image_url=f"http://h/i-{text}.jpg", position=pick % 3)
    elif kind == "drop_item_image" and item.images.exists():
        item.images.order_by("id")[0].delete()
    elif kind == "add_item" and not coordi.items.filter(pk=item.pk).exists():
        coordi.items.add(item, through_defaults={"position": pick % 4})
    elif kind == "drop_item" and coordi.coordi_items.exists():
        coordi.coordi_items.order_by("id")[0].delete()
    elif kind in ("like", "skip"):
        UserCoordiInteraction.objects.update_or_create(user=user, coordi=coordi, defaults={"action": kind})
    elif kind == "unlike":
        UserCoordiInteraction.objects.filter(user=user, coordi=coordi).delete()
    elif kind == "save":
        UserClosetItem.objects.get_or_create(user=user, item=item)
    elif kind == "unsave":
        UserClosetItem.objects.filter(user=user, item=item).delete()


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(edit_steps, min_size=1, max_size=3))
def test_random_edits_never_serve_a_stale_fragment(client, batches):
    with transaction.atomic():  # each example starts from the same database, rolled back after
        cache.clear()
        user = make_user()
        for n in range(6):
            make_coordi(minutes_ago=n, items=2 + n % 2, images=1 + n % 3)
        assert fast(client, user) == reference(user)
        for batch in batches:
            for kind, pick, text in batch:
                _apply(kind, pick, text, user)
            assert fast(client, user) == reference(user)
        transaction.set_rollback(True)


def test_refresh_outfit_fragments_after_a_bulk_write(client):
    from io import StringIO

    from django.core.management import call_command

    coordi = make_coordi()
    user = make_user()
    fast(client, user)
    Item.objects.filter(coordis=coordi).update(name="몰래 바뀐 이름")  # sends no signal
    assert fast(client, user) != reference(user)  # as the README warns

    out = StringIO()
    call_command("refresh_outfit_fragments", stdout=out)

    assert fast(client, user) == reference(user)
    assert out.getvalue().startswith("1 outfit fragments")


def test_seed_demo_on_another_port_is_seen_through_the_fragments(client, settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from recommendations.models import User

    settings.DEMO_STATIC_DIR = tmp_path
    call_command("seed_demo", "--coordis", "4", "--base-url", "http://127.0.0.1:8000", stdout=StringIO())
    demo = User.objects.get(email="demo@example.com")
    assert fast(client, demo)["outfits"][0]["imageUrl"].startswith("http://127.0.0.1:8000/")

    call_command("seed_demo", "--coordis", "4", "--base-url", "http://127.0.0.1:8123", stdout=StringIO())

    outfits = fast(client, demo)["outfits"]
    assert outfits and all(o["imageUrl"].startswith("http://127.0.0.1:8123/") for o in outfits)
    assert all(i["imageUrl"].startswith("http://127.0.0.1:8123/") for o in outfits for i in o["items"])


def test_an_added_item_moves_the_version_once_it_is_there(catalogue):
    # A reader between the move and the rows would cache the old outfit under the new version.
    a = catalogue[0]
    seen: dict[str, int] = {}

    def watch(sender, instance, action, **kwargs):
        seen[action] = Coordi.objects.get(pk=a.pk).catalogue_version

    before = versions()[a.pk]
    m2m_changed.connect(watch, sender=Coordi.items.through)  # after the app's own receiver
    try:
        a.items.add(make_item(), through_defaults={"position": 7})
    finally:
        m2m_changed.disconnect(watch, sender=Coordi.items.through)

    assert seen["pre_add"] == before
    assert seen["post_add"] != before
    assert seen["post_add"] == versions()[a.pk]
