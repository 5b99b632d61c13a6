"""Writes: the operations that change data."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import DatabaseError
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from llm.facts import CoordiFacts, UserFacts
from llm.results import MessageResult, Outcome
from llm.service import generate_message_results
from llm.store import Stored

from . import background
from .connections import database_hop
from .messages import PENDING, OutfitMessage
from .models import GeneratedMessage

logger = logging.getLogger(__name__)


def issue_token(*, request: HttpRequest | None, email: str, password: str) -> str | None:
    """The API token of the user these credentials sign in, created on first use; None if they don't."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        return None
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def record_messages(*, user_id: int, results: Sequence[MessageResult]) -> int:
    """Keeps a GeneratedMessage for each call this request made, in one INSERT; returns the count.

    Results served from the cache, made by another request, or not attempted (no key) are skipped.
    """
    rows = [
        GeneratedMessage(
            coordi_id=result.coordi_id,
            user_id=user_id,
            text=result.text,
            outcome=result.outcome.value,
            detail=result.detail[:60],
            model=result.model,
            prompt_version=result.prompt_version,
            scope=result.scope,
            latency_ms=result.latency_ms,
            reached_gemini=result.sent,
        )
        for result in results
        if _called_here(result)
    ]
    if not rows:
        return 0
    try:
        GeneratedMessage.objects.bulk_create(rows)
    except DatabaseError:
        # An outfit deleted meanwhile, a database hiccup: the page is served all the same.
        logger.warning("could not record %d generated messages", len(rows), exc_info=True)
        return 0
    return len(rows)


def _called_here(result: MessageResult) -> bool:
    """Whether this request made the attempt: not from the cache or another request, not keyless."""
    return not result.cached and result.outcome is not Outcome.NO_KEY


async def outfit_messages(
    coordis: Sequence[CoordiFacts],
    user: UserFacts,
    *,
    use_cache: bool = True,
    stored: Mapping[str, Stored] | None = None,
) -> dict[int, OutfitMessage]:
    """The page's messages by coordi id, each call recorded; those not settled in time are pending.

    The work runs in a background task (recommendations.background), not in the request: if the
    client goes away, or the page stops waiting at LLM_RESPONSE_DEADLINE_SECONDS, the calls go on
    (each within its own bounds), reach the cache and are recorded as if the client had waited.
    """
    settled: dict[int, OutfitMessage] = {}

    def landed(result: MessageResult) -> None:
        settled[result.coordi_id] = OutfitMessage.of(result)

    task = background.start(
        _messages_and_record(coordis, user, use_cache=use_cache, stored=stored, on_result=landed),
        name=f"messages for user {user.id}",
    )
    with contextlib.suppress(TimeoutError):  # the rest lands in the cache for the next page
        await asyncio.wait_for(asyncio.shield(task), timeout=settings.LLM_RESPONSE_DEADLINE_SECONDS)
    return {coordi.id: settled.get(coordi.id, PENDING) for coordi in coordis}


async def _messages_and_record(
    coordis: Sequence[CoordiFacts],
    user: UserFacts,
    *,
    use_cache: bool,
    stored: Mapping[str, Stored] | None,
    on_result: Callable[[MessageResult], None],
) -> None:
    results = await generate_message_results(
        coordis, user, use_cache=use_cache, stored=stored, on_result=on_result
    )
    if any(_called_here(result) for result in results):
        await database_hop(record_messages)(user_id=user.id, results=results)

