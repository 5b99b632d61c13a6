"""Outfit fragments: the catalogue part of each outfit's API JSON, made once and cached.

A fragment is everything the API shows of an outfit except what depends on the reader (isFavorited,
llmMessage and llmMessageStatus, the items' isSaved), rendered by the API's own serializer and
cached under the coordi's id and catalogue version (Coordi.catalogue_version, moved by
recommendations/signals.py on any edit), so an edited outfit is never served from an old fragment.
A page reads its fragments in one get_many; only the missing ones are read from the database
(prefetch_related) and stored, in the same hop.

A fragment never changes under its key, so each process also keeps the ones it read lately in its
own memory (OUTFIT_FRAGMENT_MEMORY_ENTRIES, at most OUTFIT_FRAGMENT_TTL_SECONDS each, as in the
cache): a warm page then reads none from Redis, nor unpickles them. Fragments are shared between
requests there: nothing may change one (render_outfit makes new dicts).
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping

import orjson
from cachetools import TTLCache
from django.conf import settings
from django.core.cache import cache

from llm.facts import CoordiFacts
from llm.store import log_cache_error

from ..connections import release
from ..messages import OutfitMessage
from ..selectors import Outfit, load_outfits
from .serializers import OutfitSerializer

logger = logging.getLogger(__name__)

# Part of every key: bump it when a fragment's shape changes, and old fragments are never read.
FRAGMENT_SCHEMA = 4  # 4: the facts carry the items (CoordiFacts.items)

Fragment = dict  # {"json": <the outfit's catalogue JSON>, "facts": <its CoordiFacts, for the messages>}


def fragment_key(coordi_id: int, version: int) -> str:
    return f"outfit_fragment:{FRAGMENT_SCHEMA}:{coordi_id}:{version}"


class InMemory:
    """This process's fragments by key: the most recently used, each for the cache's TTL at most.
    Its own lock: the hops of several requests read it at once."""

    def __init__(self, *, timer: Callable[[], float] = time.monotonic) -> None:
        self._timer = timer
        self._lock = threading.Lock()
        self._entries: TTLCache[str, Fragment] | None = None
        self._shape: tuple[int, int] | None = None

    def _current(self) -> TTLCache[str, Fragment] | None:
        # Made on first use, and anew when the settings change (tests override them).
        shape = (settings.OUTFIT_FRAGMENT_MEMORY_ENTRIES, settings.OUTFIT_FRAGMENT_TTL_SECONDS)
        if shape != self._shape:
            self._shape = shape
            entries, seconds = shape
            self._entries = TTLCache(maxsize=entries, ttl=seconds, timer=self._timer) if entries > 0 else None
        return self._entries

    def get_many(self, keys: list[str]) -> dict[str, Fragment]:
        with self._lock:
            entries = self._current()
            if entries is None:
                return {}
            return {key: fragment for key in keys if (fragment := entries.get(key)) is not None}

    def set_many(self, fragments: Mapping[str, Fragment]) -> None:
        with self._lock:
            entries = self._current()
            if entries is not None:
                entries.update(fragments)

    def clear(self) -> None:
        with self._lock:
            if self._entries is not None:
                self._entries.clear()


in_memory = InMemory()


def make_fragment(outfit: Outfit) -> Fragment:
    data = OutfitSerializer(outfit, context={"messages": {}}).data
    # Plain dicts and lists (not DRF's ReturnDict): smaller to pickle, faster to read back.
    return {"json": orjson.loads(orjson.dumps(data)), "facts": outfit.facts()}


def outfit_fragments(versions: Mapping[int, int]) -> dict[int, Fragment]:
    """The fragments of these coordis (id → catalogue version), from the cache or made now.

    Sync, for the request's one thread hop (the view calls it there, after the page's queries and
    with the connection given back); the missing ones are read from the database, whose connection
    is given back at once. A coordi deleted since its version was read has none.
    """
    if not versions:
        return {}
    keys = {coordi_id: fragment_key(coordi_id, version) for coordi_id, version in versions.items()}
    found = in_memory.get_many(list(keys.values()))
    if len(found) < len(keys):
        from_cache = _read([key for key in keys.values() if key not in found])
        in_memory.set_many(from_cache)
        found.update(from_cache)
    fragments = {coordi_id: found[key] for coordi_id, key in keys.items() if key in found}
    missing = [coordi_id for coordi_id in keys if coordi_id not in fragments]
    if missing:
        try:
            fragments.update(_make_and_store(missing))
        finally:
            release()
    return fragments


def _read(keys: list[str]) -> dict[str, Fragment]:
    try:
        return cache.get_many(keys)
    except Exception as error:  # noqa: BLE001 - without the cache, the page is read from the database
        log_cache_error(logger, "outfit fragments unreadable (%s): read from the database", error)
        return {}


def _make_and_store(coordi_ids: list[int]) -> dict[int, Fragment]:
    outfits = load_outfits(coordi_ids)
    fragments = {coordi_id: make_fragment(outfit) for coordi_id, outfit in outfits.items()}
    # Under the version read with the data, which is at least as new as the page's.
    keyed = {fragment_key(o.id, o.catalogue_version): fragments[o.id] for o in outfits.values()}
    in_memory.set_many(keyed)
    try:
        cache.set_many(keyed, timeout=settings.OUTFIT_FRAGMENT_TTL_SECONDS)
    except Exception as error:  # noqa: BLE001
        log_cache_error(logger, "outfit fragments unwritable (%s)", error)
    return fragments


def fragment_facts(fragment: Fragment) -> CoordiFacts:
    """What the llm app needs of an outfit: Outfit.facts(), kept in the fragment when it was made."""
    return fragment["facts"]


def render_outfit(
    fragment: Fragment, *, favorited: bool, saved: frozenset[int], message: OutfitMessage
) -> dict:
    """The outfit's JSON for one reader: the fragment with their like, message and saved items."""
    outfit = fragment["json"]
    # Overriding keys keeps their place: the payload's field order is the serializer's.
    return {
        **outfit,
        "isFavorited": favorited,
        "llmMessage": message.text,
        "llmMessageStatus": message.status.value,
        "items": [{**item, "isSaved": item["id"] in saved} for item in outfit["items"]],
    }
