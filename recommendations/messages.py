"""What a reader sees of an outfit's message: its text (`llmMessage`) and its status (`llmMessageStatus`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from llm.results import MessageResult


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
