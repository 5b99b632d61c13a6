"""The fast read path: cached outfit fragments give the same JSON as a fresh read, whatever is edited."""

import logging
from typing import Any, ClassVar

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from recommendations.api import fragments
from recommendations.models import (
    Coordi,
    CoordiImage,
    Item,
    ItemImage,
    UserClosetItem,
    UserCoordiInteraction,
)

from .factories import edit, make_coordi, make_user, token_for
from .pages import URL, fast, reference

pytestmark = pytest.mark.django_db


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

    # token; ids with the total; versions with likes and closet entries: no catalogue read for the
    # second reader
    with django_assert_num_queries(3):
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


class CountingCache(LocMemCache):
    """A cache that counts the outfit fragments asked of it."""

    fragment_reads: ClassVar[list[int]] = []

    def get_many(self, keys: Any, version: Any = None) -> Any:
        self.fragment_reads.append(sum(1 for key in keys if key.startswith("outfit_fragment:")))
        return super().get_many(keys, version=version)


@pytest.fixture
def counting_cache(settings):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.CountingCache"}}
    CountingCache.fragment_reads.clear()
    return CountingCache.fragment_reads


def test_a_warm_page_reads_its_fragments_from_this_process_memory(client, counting_cache):
    for _ in range(3):
        make_coordi()
    reader, saver = make_user(), make_user()
    first = fast(client, reader)
    assert counting_cache == [3]  # missing: read from the database, kept in the cache and here

    # Another reader, with a saved item: the shared fragments are not changed by their page.
    UserClosetItem.objects.create(user=saver, item=Item.objects.order_by("id")[0])
    assert any(item["isSaved"] for outfit in fast(client, saver)["outfits"] for item in outfit["items"])
    assert fast(client, reader) == first
    assert counting_cache == [3]  # the cache was not asked again

    # Another process (nothing in its memory) reads them from the cache, not from the database.
    fragments.in_memory.clear()
    headers = {"Authorization": f"Bearer {token_for(reader)}"}
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, {"limit": 50}, headers=headers).json()["data"] == first
    assert counting_cache == [3, 3]
    assert len(captured) == 3  # token, ids, versions with likes and closet: no catalogue read
    assert fast(client, reader) == first
    assert counting_cache == [3, 3]  # and kept in memory from there


def test_without_memory_entries_every_page_reads_the_cache(client, counting_cache, settings):
    settings.OUTFIT_FRAGMENT_MEMORY_ENTRIES = 0
    for _ in range(2):
        make_coordi()
    user = make_user()

    first = fast(client, user)
    assert fast(client, user) == first
    assert counting_cache == [2, 2]


def test_fragments_in_memory_are_bounded_by_count_and_age(settings):
    settings.OUTFIT_FRAGMENT_MEMORY_ENTRIES = 2
    settings.OUTFIT_FRAGMENT_TTL_SECONDS = 60
    now = [0.0]
    memory = fragments.InMemory(timer=lambda: now[0])
    memory.set_many({"a": {"n": 1}, "b": {"n": 2}})
    assert memory.get_many(["a"]) == {"a": {"n": 1}}  # a is now the most recently used
    memory.set_many({"c": {"n": 3}})
    assert memory.get_many(["a", "b", "c"]) == {"a": {"n": 1}, "c": {"n": 3}}  # b went

    now[0] = 59.0
    assert memory.get_many(["c"]) == {"c": {"n": 3}}
    now[0] = 61.0
    assert memory.get_many(["a", "c"]) == {}

    settings.OUTFIT_FRAGMENT_MEMORY_ENTRIES = 1
    memory.set_many({"d": {"n": 4}})
    assert memory.get_many(["d"]) == {"d": {"n": 4}}


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
        edit(coordi, description=text, style=["casual", "street", "sporty", "minimal"][pick % 4])
    elif kind == "coordi_image" and coordi.images.exists():
        edit(coordi.images.order_by("id")[pick % coordi.images.count()], image_url=f"http://h/{text}.jpg")
    elif kind == "new_coordi_image":
        CoordiImage.objects.create(coordi=coordi, image_url=f"http://h/{text}.jpg", position=pick % 5)
    elif kind == "drop_coordi_image" and coordi.images.exists():
        coordi.images.order_by("id")[0].delete()
    elif kind == "main_image" and coordi.images.exists():
        coordi.images.filter(is_main=True).update(is_main=False)  # a bulk write: signals don't see it …
        edit(coordi.images.order_by("-id")[0], is_main=True)  # … but this save does
    elif kind == "item":
        edit(item, name=text, price=1000 + pick)
    elif kind == "item_image" and item.images.exists():
        edit(item.images.order_by("id")[0], image_url=f"http://h/i-{text}.jpg")
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
        fragments.in_memory.clear()
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
