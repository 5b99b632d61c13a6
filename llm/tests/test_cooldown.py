"""Gemini's "slow down", the time limits that are ours, and cancellation: what is sent, paused,
remembered and left behind."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from llm import cooldown, limits, store
from llm.cooldown import Permit
from llm.facts import UserFacts
from llm.service import generate_message_results
from llm.testing import Behaviour
from recommendations.tests.servers import RedisServer, needs_redis_server, poll


def readers(count: int) -> list[UserFacts]:
    return [UserFacts(id=100 + n, name=f"사용자{n}", gender="female") for n in range(count)]


def pauses() -> float:
    return REGISTRY.get_sample_value("llm_gemini_cooldowns_total") or 0.0


def test_a_429_storm_stops_the_calls_until_gemini_says(standin, run, make_coordi):
    standin.set_default(Behaviour("rate_limited", retry_delay=30))
    coordis = [make_coordi() for _ in range(20)]
    before = pauses()

    pages = [run(generate_message_results(coordis, reader)) for reader in readers(10)]

    # The first wave of the first page was out before the first refusal came back; nothing after.
    assert len(standin.requests) == 10
    assert all(result.text is None for page in pages for result in page)
    assert sum(result.sent for page in pages for result in page) == 10
    skipped = [result for page in pages for result in page if not result.sent]
    assert {(r.outcome, r.detail) for r in skipped} == {("rate_limited", "cooldown")}
    assert 29 < cooldown.cooldown().remaining() <= 30  # Gemini's retryDelay
    assert pauses() > before


def test_a_refusal_is_not_remembered_and_messages_come_back_after_a_probe(
    standin, run, make_coordi, user
):
    standin.set_default(Behaviour("rate_limited"))  # no retryDelay: the shortest backoff
    coordis = [make_coordi() for _ in range(5)]
    first = run(generate_message_results(coordis, user))
    assert all(r.outcome == "rate_limited" and not r.verdict for r in first)

    assert poll(lambda: cooldown.cooldown().remaining() == 0, timeout=cooldown.BASE_SECONDS + 5)
    standin.set_default(Behaviour("ok"))
    calls = len(standin.requests)
    probe = run(generate_message_results(coordis, user))
    # One call alone; the others wait for its answer without a call of their own.
    assert len(standin.requests) == calls + 1
    assert sum(r.text is not None for r in probe) == 1
    assert cooldown.cooldown().permit() is Permit.SEND

    after = run(generate_message_results(coordis, user))
    assert all(r.text for r in after)  # nothing was remembered of the refusals
    assert len(standin.requests) == calls + 5


def test_an_overloaded_model_pauses_too_and_a_second_refusal_pauses_longer(
    standin, run, make_coordi, user
):
    standin.set_default(Behaviour("overloaded"))
    run(generate_message_results([make_coordi()], user))
    first = cooldown.cooldown().remaining()
    assert 0 < first <= cooldown.BASE_SECONDS

    assert poll(lambda: cooldown.cooldown().remaining() == 0, timeout=cooldown.BASE_SECONDS + 5)
    [probe] = run(generate_message_results([make_coordi()], user))

    assert probe.detail == "status_503" and probe.sent
    assert cooldown.BASE_SECONDS < cooldown.cooldown().remaining() <= 2 * cooldown.BASE_SECONDS


def test_our_own_slot_wait_is_not_remembered_as_a_failure(standin, run, make_coordi, user, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.2
    settings.LLM_MAX_IN_FLIGHT = 1
    coordis = [make_coordi(), make_coordi()]
    limiter = limits.in_flight_limiter()
    run(limiter.acquire(limit=1))  # every slot of the process taken
    try:
        waited = run(generate_message_results(coordis, user))
    finally:
        limiter.release()

    assert [(r.outcome, r.detail, r.sent, r.verdict) for r in waited] == [
        ("timeout", "no_slot", False, False)
    ] * 2
    assert standin.requests == []
    later = run(generate_message_results(coordis, user))
    assert all(r.text for r in later) and not any(r.cached for r in later)


def test_a_call_has_its_own_timeout_so_a_second_wave_is_not_cut(
    standin, run, make_coordi, user, settings
):
    # Two waves of 2 s each, a call may take 3 s: the old shared deadline cut the second wave at
    # 3 s and remembered the cuts as Gemini's failures.
    settings.LLM_TIMEOUT_SECONDS = 3
    settings.LLM_MAX_CONCURRENCY = 2
    standin.latency = 2.0
    coordis = [make_coordi() for _ in range(4)]

    results = run(generate_message_results(coordis, user))

    assert [r.outcome for r in results] == ["ok"] * 4
    assert all(r.text for r in results)


def test_a_call_that_outlives_its_own_timeout_is_remembered(standin, run, make_coordi, user, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    coordi = make_coordi()
    standin.for_coordi(coordi.id, Behaviour("hang"))

    [result] = run(generate_message_results([coordi], user))
    [again] = run(generate_message_results([coordi], user))

    assert (result.outcome, result.detail, result.sent, result.verdict) == (
        "timeout", "call_timeout", True, True
    )
    assert again.cached and again.outcome == "timeout"  # Gemini's own slowness: remembered
    assert len(standin.requests) == 1


@needs_redis_server
def test_other_processes_hold_off_too(standin, run, make_coordi, settings):
    with RedisServer() as redis_server:
        settings.CACHES = {
            "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_server.url,
                        "OPTIONS": {"SOCKET_TIMEOUT": 1, "SOCKET_CONNECT_TIMEOUT": 1}}
        }  # fmt: skip
        standin.set_default(Behaviour("rate_limited", retry_delay=30))
        coordis = [make_coordi() for _ in range(3)]
        a, b = readers(2)
        run(generate_message_results(coordis, a))
        assert cooldown.Shared.from_value(cache.get(store.PAUSE_KEY)) is not None
        calls = len(standin.requests)

        cooldown.reset()  # another process: it has heard nothing itself
        results = run(generate_message_results(coordis, b))

        assert len(standin.requests) == calls
        assert {r.detail for r in results} == {"cooldown"}
        assert cooldown.cooldown().remaining() > 25


def test_a_late_refusal_of_a_call_sent_before_the_pause_changes_nothing():
    pause = cooldown.Cooldown()
    early, late = pause.permit(), pause.permit()  # two calls out together
    assert pause.refused(early, retry_after=None) is not None
    until = pause.remaining()

    assert pause.refused(late, retry_after=None) is None  # already accounted for
    assert until - 0.1 < pause.remaining() <= until


def test_one_probe_at_a_time_and_its_answer_decides(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cooldown.time, "monotonic", lambda: clock[0])
    pause = cooldown.Cooldown()
    pause.refused(pause.permit(), retry_after=None)
    assert pause.permit() is Permit.WAIT
    clock[0] += cooldown.BASE_SECONDS

    probe = pause.permit()
    assert (probe, pause.permit()) == (Permit.PROBE, Permit.WAIT)
    pause.refused(probe, retry_after=None)  # refused again: twice as long
    assert pause.remaining() == 2 * cooldown.BASE_SECONDS
    clock[0] += 2 * cooldown.BASE_SECONDS

    probe = pause.permit()
    pause.abandoned(probe)  # cancelled: the next call probes instead
    probe = pause.permit()
    assert probe is Permit.PROBE
    pause.answered(probe)
    assert [pause.permit(), pause.permit()] == [Permit.SEND, Permit.SEND]


def test_another_hosts_pause_is_never_longer_than_a_pause_can_be():
    pause = cooldown.Cooldown()

    pause.adopt(cooldown.Shared(until=time.time() + 3600, strikes=1))  # a clock an hour ahead

    assert pause.remaining() <= cooldown.MAX_SECONDS


@pytest.fixture(autouse=True)
def _no_pause_left_behind():
    yield
    cooldown.reset()


def test_a_page_cancelled_with_a_call_out_keeps_what_was_made_and_leaves_no_flight_behind(
    standin, run, make_coordi, user
):
    made, hung = make_coordi(), make_coordi()
    standin.for_coordi(hung.id, Behaviour("hang"))

    async def cancelled_once_one_settled():
        settled = asyncio.Event()
        page = asyncio.ensure_future(
            generate_message_results([made, hung], user, on_result=lambda result: settled.set())
        )
        await settled.wait()
        page.cancel()  # the other call still out (Ctrl-C, a caller that stopped)
        with contextlib.suppress(asyncio.CancelledError):
            await page

    run(cancelled_once_one_settled())
    standin.reset()  # no hang any more
    again = run(generate_message_results([made, hung], user))

    # The message made was stored although its page never ended; the other is made anew, not a
    # wait on a flight nobody will land.
    assert [(result.coordi_id, bool(result.text), result.cached) for result in again] == [
        (made.id, True, True), (hung.id, True, False)
    ]
    assert len(standin.requests) == 1
