"""How a message attempt ends: Gemini's answer reduced to an outcome, and the result a caller keeps.

Plain types with no SDK behind them, so that `recommendations` can store and show outcomes without
importing the Gemini wrapper.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm.prompts import PROMPT_VERSION

if TYPE_CHECKING:
    from llm.facts import CoordiFacts
    from llm.store import Stored


class Outcome(enum.StrEnum):
    """How one message attempt ended; stored and logged as its value."""

    OK = "ok"
    NO_KEY = "no_key"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"
    BLOCKED = "blocked"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one call used, as Gemini's usageMetadata reports them (what is billed).

    `input` is the whole prompt (text and image; `cached` of them at the cached price, `image` of
    them the image's share); `thinking` is billed as output.
    """

    input: int = 0
    output: int = 0
    thinking: int = 0
    cached: int = 0
    image: int = 0

    def cost(self, prices: Prices) -> float:
        """Estimated US dollars at these prices."""
        return (
            (self.input - self.cached) * prices.input
            + self.cached * prices.cached
            + (self.output + self.thinking) * prices.output
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class Prices:
    """US dollars per million tokens (GEMINI_PRICE_*_PER_MTOK): for estimates only."""

    input: float
    output: float
    cached: float


@dataclass(frozen=True, slots=True)
class Answer:
    """The model's raw text when the call worked; `detail` is a short code safe to log.

    `reached`: the request went to Gemini (a call paid for, or refused). `verdict`: Gemini itself
    decided this outcome (an answer, an error status, a block, or a call that outlived its own
    timeout), so a failure may be remembered; a call we gave up on, one that never reached Gemini,
    or a "slow down" is not a verdict on the message. `overloaded`: Gemini said slow down (429,
    503), with `retry_after` seconds when it said how long.
    """

    outcome: Outcome
    text: str | None = None
    detail: str = ""
    reached: bool = False
    verdict: bool = False
    overloaded: bool = False
    retry_after: float | None = None
    # What the call used, when Gemini answered with usageMetadata.
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class MessageResult:
    """How the message for one outfit turned out: what to store, show and measure."""

    coordi_id: int
    text: str | None
    outcome: Outcome
    latency_ms: int
    # A short code saying why, for failures (e.g. "status_500", "too_long", "deadline"); never raw text.
    detail: str = ""
    # "sent" when the image went with the prompt, "none" without an image URL, else why not.
    image_status: str = "none"
    model: str = ""
    prompt_version: str = PROMPT_VERSION
    language: str = ""
    # "user": written for this reader; "shared": written for the outfit and gender, name put in here.
    scope: str = "user"
    # True when no call was made for this request: from the cache, or made by another request.
    cached: bool = False
    # True when the request went to Gemini (GeneratedMessage.reached_gemini: a call paid for).
    sent: bool = False
    # True when Gemini itself decided the outcome (Answer.verdict): only such failures are
    # remembered, for LLM_FAILURE_TTL_SECONDS.
    verdict: bool = False
    # Tokens the call used (None: no call, or Gemini did not say) and the image's bytes as sent.
    usage: Usage | None = None
    image_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Known:
    """What is already known of some outfits' messages for one reader, read in one look at the cache.

    `results`: the settled ones, by coordi id (a stored message, a failure Gemini gave that is still
    remembered, or, without a key, every outfit's `no_key`). `missing`: those still to be made, in
    the order given. `stored`: the cache's values, for generate_message_results (so it does not read
    the cache again).
    """

    results: Mapping[int, MessageResult]
    missing: tuple[CoordiFacts, ...]
    stored: Mapping[str, Stored]
