"""Gemini's "slow down" (429, 503): no calls for a while, then one probe, then traffic again.

When Gemini refuses for load or quota, every further call is refused too and only adds to the count
it holds against us. So a refusal pauses this process's calls for Gemini's `retryDelay` (or a short
backoff that doubles with each refusal in a row, capped); outfits meanwhile get no message at once.
When the pause ends, one call goes alone as a probe: its success lets traffic through again, another
refusal pauses longer. Other processes learn of a pause through the cache (llm.store keeps the
shared copy; `adopt` takes it in), so every worker and host holds off together.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

# The first pause without a retryDelay, doubled with each refusal in a row, and the longest pause.
BASE_SECONDS = 2.0
MAX_SECONDS = 60.0

PAUSES = Counter("llm_gemini_cooldowns_total", "Times Gemini said slow down (429, 503) and calls paused.")
REMAINING = Gauge("llm_gemini_cooldown_seconds", "Seconds left before calls to Gemini resume.")


class Permit(enum.Enum):
    """What a call about to be sent may do."""

    SEND = "send"
    PROBE = "probe"  # the one call sent after a pause, alone
    WAIT = "wait"  # paused, or a probe is out: do not send


@dataclass(frozen=True, slots=True)
class Shared:
    """A pause as other processes see it: until when (wall clock) and how many refusals in a row."""

    until: float
    strikes: int


class Cooldown:
    """This process's pause, shared by every event loop and thread of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0  # monotonic
        self._strikes = 0
        self._probing = False

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - time.monotonic())

    def permit(self) -> Permit:
        with self._lock:
            if time.monotonic() < self._until or self._probing:
                return Permit.WAIT
            if self._strikes:
                self._probing = True
                return Permit.PROBE
            return Permit.SEND

    def refused(self, *, retry_after: float | None) -> Shared:
        """Gemini said slow down: pause (longer than last time, at least as long as it asked)."""
        with self._lock:
            now = time.monotonic()
            # Refusals of calls sent together count as one: only a refusal outside a pause (the
            # first, or a probe's) makes the next pause longer.
            started = now >= self._until
            self._strikes += started
            backoff = BASE_SECONDS * 2 ** (max(1, self._strikes) - 1)
            pause = min(MAX_SECONDS, max(retry_after or 0.0, backoff))
            self._until = max(self._until, now + pause)
            self._probing = False
            shared = self._shared_locked()
        if started:
            PAUSES.inc()
        return shared

    def answered(self, permit: Permit) -> None:
        """A call sent under `permit` got another answer than slow down: a probe's ends the pause."""
        if permit is Permit.PROBE:
            with self._lock:
                self._strikes = 0
                self._probing = False

    def abandoned(self, permit: Permit) -> None:
        """A probe ended without telling anything (cancelled): the next call may probe."""
        if permit is Permit.PROBE:
            with self._lock:
                self._probing = False

    def adopt(self, shared: Shared) -> None:
        """Takes in another process's pause (read from the cache)."""
        left = shared.until - time.time()
        if left <= 0:
            return  # over: whoever probes first settles it
        with self._lock:
            self._until = max(self._until, time.monotonic() + left)
            self._strikes = max(self._strikes, shared.strikes)

    def _shared_locked(self) -> Shared:
        return Shared(until=time.time() + (self._until - time.monotonic()), strikes=self._strikes)


_cooldown = Cooldown()
REMAINING.set_function(lambda: _cooldown.remaining())


def cooldown() -> Cooldown:
    return _cooldown


def reset() -> None:
    """A fresh state (tests)."""
    global _cooldown
    _cooldown = Cooldown()
