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
# A timestamp, not a countdown: it holds in multi-process mode (the latest of the live workers).
PAUSED_UNTIL = Gauge(
    "llm_gemini_paused_until_seconds", "Unix time until which calls to Gemini pause (0: not paused).",
    multiprocess_mode="livemax",
)


class Permit(enum.Enum):
    """What a call about to be sent may do."""

    SEND = "send"
    PROBE = "probe"  # the one call sent after a pause, alone
    WAIT = "wait"  # paused, or a probe is out: do not send


@dataclass(frozen=True, slots=True)
class Shared:
    """A pause as other processes see it: until when (wall clock) and how many refusals in a row.

    Kept in the cache as a plain tuple (`as_value`), so that any version of the code reads it.
    """

    until: float
    strikes: int

    def as_value(self) -> tuple[float, int]:
        return (self.until, self.strikes)

    @classmethod
    def from_value(cls, value: object) -> Shared | None:
        if isinstance(value, tuple) and len(value) == 2:
            until, strikes = value
            if isinstance(until, (int, float)) and isinstance(strikes, int):
                return cls(float(until), strikes)
        return None


class Cooldown:
    """This process's pause, shared by every event loop and thread of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0  # monotonic
        self._strikes = 0  # refusals in a row, counting one per pause
        self._probing = False

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - time.monotonic())

    def permit(self) -> Permit:
        """Whether a call may go now; take it right before sending (a PROBE must be reported on)."""
        with self._lock:
            if time.monotonic() < self._until or self._probing:
                return Permit.WAIT
            if self._strikes:
                self._probing = True
                return Permit.PROBE
            return Permit.SEND

    def refused(self, permit: Permit, *, retry_after: float | None) -> Shared | None:
        """Gemini said slow down to a call sent under `permit`: pause, longer than last time and at
        least as long as it asked. Returns the pause to share, or None when the refusal tells
        nothing new: a call sent before the pause began, answered late, is already accounted for."""
        with self._lock:
            if permit is Permit.PROBE:
                self._probing = False
            elif self._strikes:
                return None
            self._strikes += 1
            backoff = BASE_SECONDS * 2 ** (self._strikes - 1)
            pause = min(MAX_SECONDS, max(retry_after or 0.0, backoff))
            self._until = max(self._until, time.monotonic() + pause)
            shared = self._shared_locked()
        PAUSES.inc()
        PAUSED_UNTIL.set(shared.until)
        return shared

    def answered(self, permit: Permit) -> None:
        """A call sent under `permit` got another answer than slow down: a probe's ends the pause."""
        if permit is Permit.PROBE:
            with self._lock:
                self._strikes = 0
                self._probing = False
            PAUSED_UNTIL.set(0)

    def abandoned(self, permit: Permit) -> None:
        """A probe ended without telling anything (cancelled, never sent): the next call may probe."""
        if permit is Permit.PROBE:
            with self._lock:
                self._probing = False

    def adopt(self, shared: Shared) -> None:
        """Takes in another process's pause (read from the cache)."""
        # Another host's clock may be ahead: never longer than a pause can be.
        left = min(MAX_SECONDS, shared.until - time.time())
        if left <= 0:
            return  # over: whoever probes first settles it
        with self._lock:
            self._until = max(self._until, time.monotonic() + left)
            self._strikes = max(self._strikes, shared.strikes)
        PAUSED_UNTIL.set(time.time() + left)

    def _shared_locked(self) -> Shared:
        return Shared(until=time.time() + (self._until - time.monotonic()), strikes=self._strikes)


_cooldown = Cooldown()


def cooldown() -> Cooldown:
    return _cooldown


def reset() -> None:
    """A fresh state (tests)."""
    global _cooldown
    _cooldown = Cooldown()
    PAUSED_UNTIL.set(0)
