"""What a reader sees of an outfit's message: its text (`llmMessage`) and its status (`llmMessageStatus`)."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from llm.results import Known, MessageResult


class MessageStatus(enum.StrEnum):
    # The message is there.
    READY = "ready"
    # Being made: listen (the stream) or ask again (GET /api/recommendations/messages).
    PENDING = "pending"
    # It could not be made: no key, a failure, a block, an invalid answer, a pause.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class OutfitMessage:
    text: str | None
    status: MessageStatus

    @classmethod
    def of(cls, result: MessageResult) -> OutfitMessage:
        """A settled result: ready with its text, or unavailable."""
        if result.text is None:
            return cls(None, MessageStatus.UNAVAILABLE)
        return cls(result.text, MessageStatus.READY)


# Not settled yet: its generation goes on and lands in the cache.
PENDING = OutfitMessage(None, MessageStatus.PENDING)
# Not made, and nobody is making it.
UNAVAILABLE = OutfitMessage(None, MessageStatus.UNAVAILABLE)


def current_messages(known: Known, making: Collection[int]) -> dict[int, OutfitMessage]:
    """Messages as they stand, by coordi id: those known settled, those someone is `making` pending,
    and the rest unavailable (not in the cache and nobody making them: nothing to wait for; a page
    asks Gemini again)."""
    messages = {coordi.id: PENDING if coordi.id in making else UNAVAILABLE for coordi in known.missing}
    messages.update({coordi_id: OutfitMessage.of(result) for coordi_id, result in known.results.items()})
    return messages
