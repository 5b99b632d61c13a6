"""Images made ready to send, kept by URL in each process for a while and made once at a time.

An outfit shown to many readers has one main image: in the `user` scope each reader's call sends it,
and without this each call downloaded and decoded it again (a 5 MB photo per call; under a busy page
the decodes queued past their timeout and most calls went without their image). Here the first
call for an image downloads and downscales it; calls for the same image meanwhile wait for that one,
and later ones take the kept copy (at most KEPT images and KEPT_BYTES of them, each for at most
KEEP_SECONDS: an image behind a URL seldom changes, and an outfit's new image is a new URL). Only
images made ready are kept; a failure is shared with the calls waiting for it, then forgotten.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from llm.images import Image

KEPT = 256  # images
KEPT_BYTES = 32 * 1024 * 1024  # and their bytes: ~100 KB each at 768 px, far more at LLM_IMAGE_MAX_SIDE 4096
KEEP_SECONDS = 300.0

_kept: OrderedDict[Hashable, tuple[float, Image]] = OrderedDict()
_kept_lock = threading.Lock()
# Images being made, per event loop (a task belongs to its loop).
_making: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[Image]]]
_making = weakref.WeakKeyDictionary()


async def ready_image(key: Hashable, make: Callable[[], Awaitable[Image]]) -> tuple[Image, bool]:
    """The image for `key`, and whether it was reused (kept, or made by a call in progress) rather
    than made by `make` for this call. Raises what `make` raises."""
    kept = _kept_copy(key)
    if kept is not None:
        return kept, True
    making = _making.setdefault(asyncio.get_running_loop(), {})
    task = making.get(key)
    reused = task is not None
    if task is None:
        task = asyncio.ensure_future(_make_and_keep(key, make))
        making[key] = task
        task.add_done_callback(lambda done: _landed(making, key, done))
    # Shielded: a caller that stops waiting (its page cut short) must not cancel the others' image.
    return await asyncio.shield(task), reused


def reset() -> None:
    """Forgets every kept image (tests; a settings change)."""
    with _kept_lock:
        _kept.clear()


async def _make_and_keep(key: Hashable, make: Callable[[], Awaitable[Image]]) -> Image:
    image = await make()
    with _kept_lock:
        _kept[key] = (time.monotonic() + KEEP_SECONDS, image)
        _kept.move_to_end(key)
        held = sum(len(kept.data) for _, kept in _kept.values())
        # The oldest go first; the one just made stays, however large.
        while len(_kept) > 1 and (len(_kept) > KEPT or held > KEPT_BYTES):
            held -= len(_kept.popitem(last=False)[1][1].data)
    return image


def _landed(making: dict[Hashable, asyncio.Task[Image]], key: Hashable, done: asyncio.Task[Image]) -> None:
    if making.get(key) is done:
        del making[key]
    if not done.cancelled():
        # Read, so an image whose callers all stopped waiting logs no "exception never retrieved".
        done.exception()


def _kept_copy(key: Hashable) -> Image | None:
    with _kept_lock:
        entry = _kept.get(key)
        if entry is None:
            return None
        expires, image = entry
        if expires <= time.monotonic():
            del _kept[key]
            return None
        _kept.move_to_end(key)
        return image
