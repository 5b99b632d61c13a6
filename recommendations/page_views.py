"""Recommendation pages served, counted per day (UTC) for the cost figures (recommendations.costs).

Counted in memory by each process and added to PageViews at most every FLUSH_SECONDS, by work of
its own (its own connection, after the response), so a page costs no query for it; the ASGI
lifespan's shutdown writes what is left. `views = views + n`, so processes never overwrite each
other. A crash loses at most FLUSH_SECONDS of counts: a denominator, not a user's data.
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

_lock = threading.Lock()
_counts: collections.Counter[datetime.date] = collections.Counter()
_flushed_at = time.monotonic()
_flushing = False


def count(*, can_flush: bool = True) -> bool:
    """One page served now; True when this caller is to write the counts (then call `flush`).
    `can_flush`: whether the caller can run a flush after its response (under ASGI); if not, the
    counts wait for a caller who can."""
    global _flushing
    with _lock:
        _counts[timezone.now().astimezone(datetime.UTC).date()] += 1
        due = can_flush and not _flushing and time.monotonic() - _flushed_at >= FLUSH_SECONDS
        _flushing = _flushing or due
        return due


def flush() -> int:
    """Adds the counts to PageViews (run in a thread hop that releases its connection); returns the
    views written. A database that fails keeps them for the next flush."""
    global _flushing, _flushed_at
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
            _flushing, _flushed_at = False, time.monotonic()
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
    global _flushing, _flushed_at
    with _lock:
        _counts.clear()
        _flushing, _flushed_at = False, time.monotonic()
