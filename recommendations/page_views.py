"""Recommendation pages served, counted per day (UTC) for the cost figures (recommendations.costs).

Counted in memory by each process and added to PageViews at most every FLUSH_SECONDS, by work of
its own (its own connection, after the response), so a page costs no query for it; the ASGI
lifespan's shutdown writes what is left. `views = views + n`, so processes never overwrite each
other. Counts are written when a page comes FLUSH_SECONDS or more after the last write (an idle process
writes at shutdown; under WSGI, whose requests cannot outlive their response, only there). A crash
loses the counts since the last write: a denominator, not a user's data.
"""

from __future__ import annotations

import collections
import datetime
import logging
import threading
import time

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .connections import database_hop
from .models import PageViews

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
# A caller told to write that has not finished within this (its request failed before it started
# the write, or its client left first) no longer holds the counts back from the next caller.
STALE_FLUSH_SECONDS = 60.0

_lock = threading.Lock()
_counts: collections.Counter[datetime.date] = collections.Counter()
_flushed_at = time.monotonic()
_flushing_since: float | None = None  # when the caller now writing was told to


def count(*, can_flush: bool = True) -> bool:
    """One page served now; True when this caller is to write the counts (then call `flush`).
    `can_flush`: whether the caller can run a flush after its response (under ASGI); if not, the
    counts wait for a caller who can."""
    global _flushing_since
    with _lock:
        _counts[timezone.now().astimezone(datetime.UTC).date()] += 1
        now = time.monotonic()
        writing = _flushing_since is not None and now - _flushing_since < STALE_FLUSH_SECONDS
        due = can_flush and not writing and now - _flushed_at >= FLUSH_SECONDS
        if due:
            _flushing_since = now
        return due


def flush() -> int:
    """Adds the counts to PageViews (run in a thread hop that releases its connection); returns the
    views written. A database that fails keeps them for the next flush."""
    global _flushing_since, _flushed_at
    with _lock:
        left = dict(_counts)
        _counts.clear()
    written = 0
    try:
        for day in list(left):
            _add(day, left[day])
            written += left.pop(day)
    except DatabaseError:
        logger.warning("page views not written (%d kept for the next try)", sum(left.values()))
        with _lock:
            _counts.update(left)
    finally:
        with _lock:
            _flushing_since, _flushed_at = None, time.monotonic()
    return written


async def write() -> int:
    """`flush` in a thread hop of its own, from the event loop."""
    return await database_hop(flush)()


def _add(day: datetime.date, views: int) -> None:
    if PageViews.objects.filter(day=day).update(views=F("views") + views):
        return
    try:
        with transaction.atomic():
            PageViews.objects.create(day=day, views=views)
    except IntegrityError:  # another process created the day's row meanwhile
        PageViews.objects.filter(day=day).update(views=F("views") + views)


def pending() -> int:
    """Views counted here and not written yet."""
    with _lock:
        return sum(_counts.values())


def reset() -> None:
    """Forgets the counts not written and when they were last written (tests)."""
    global _flushing_since, _flushed_at
    with _lock:
        _counts.clear()
        _flushing_since, _flushed_at = None, time.monotonic()
