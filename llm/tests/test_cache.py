"""Messages paid for once: cache keys, failure memory, single-flight, the rate limit, the shared scope."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache

from llm import scopes
from llm.config import Config
from llm.facts import UserFacts
from llm.service import generate_message_results
from llm.testing import Behaviour


def texts(results):
    return [result.text for result in results]


def test_a_cached_message_costs_no_call(standin, run, make_coordi, user):
    coordis = [make_coordi() for _ in range(3)]

    first = run(generate_message_results(coordis, user))
    second = run(generate_message_results(coordis, user))

    assert len(standin.requests) == 3
    assert all(text for text in texts(first))
    assert texts(second) == texts(first)
    assert [r.cached for r in first] == [False] * 3
    assert [r.cached for r in second] == [True] * 3


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda coordi, user: (replace(coordi, version="2026-11-26T10:00:00+00:00"), user),
                     id="the outfit was edited"),
        pytest.param(lambda coordi, user: (replace(coordi, image_url="https://img.example/2.jpg"), user),
                     id="its main image changed"),
        pytest.param(lambda coordi, user: (coordi, replace(user, name="서연")), id="the reader renamed"),
    ],
)  # fmt: skip
def test_what_changes_the_message_changes_the_key(standin, run, make_coordi, user, settings, change):
    settings.LLM_IMAGE_ALLOWED_HOSTS = []  # the changed image URL is never fetched: it is not public
    coordi = make_coordi()
    run(generate_message_results([coordi], user))

    changed_coordi, changed_user = change(coordi, user)
    [result] = run(generate_message_results([changed_coordi], changed_user))

    assert len(standin.requests) == 2
    assert result.cached is False


def test_a_new_prompt_version_or_model_is_a_new_message(
    standin, run, make_coordi, user, settings, monkeypatch
):
    coordi = make_coordi()
    run(generate_message_results([coordi], user))

    monkeypatch.setattr(scopes, "PROMPT_VERSION", "2099-01-01.1")
    run(generate_message_results([coordi], user))
    settings.GEMINI_MODEL = "gemini-2.5-flash-lite"
    run(generate_message_results([coordi], user))
    run(generate_message_results([coordi], user))

    assert len(standin.requests) == 3


def test_the_key_starts_with_coordi_and_user(settings, make_coordi, user):
    settings.LLM_MESSAGE_SCOPE = "user"
    coordi = make_coordi(42)

    key = Config.from_settings().key(coordi, user)

    assert key.startswith(f"llm_message:42:{user.id}:{scopes.PROMPT_VERSION}:{settings.GEMINI_MODEL}:")


class RecordingCache(LocMemCache):
    """The local-memory cache, remembering what each set_many stored and for how long."""

    writes: ClassVar[list[tuple[list[str], Any]]] = []

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        self.writes.append((sorted(data), timeout))
        return super().set_many(data, timeout=timeout, version=version)


def test_a_failure_is_remembered_for_its_short_ttl_only(standin, run, make_coordi, user, settings):
    settings.LLM_FAILURE_TTL_SECONDS = 7
    settings.LLM_CACHE_TTL_SECONDS = 3600
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.RecordingCache"}}
    RecordingCache.writes.clear()
    standin.set_default(Behaviour("error"))
    coordi = make_coordi()
    key = Config.from_settings().key(coordi, user)
    ttls = RecordingCache.writes

    [first] = run(generate_message_results([coordi], user))
    [remembered] = run(generate_message_results([coordi], user))
    assert (first.outcome, remembered.outcome, remembered.cached) == ("error", "error", True)
    assert len(standin.requests) == 1
    assert ttls == [([key], 7)]  # the failure's TTL, not the message's

    # Once it has expired, Gemini is asked again.
    cache.delete(key)
    standin.set_default(Behaviour("ok"))
    [after] = run(generate_message_results([coordi], user))

    assert len(standin.requests) == 2
    assert after.text and after.cached is False
    assert ttls[-1] == ([key], 3600)


def test_a_call_that_never_reached_gemini_is_not_remembered(standin, run, make_coordi, user, settings):
    settings.LLM_RATE_LIMIT = "1/minute"
    coordis = [make_coordi(), make_coordi()]
    first = run(generate_message_results(coordis, user))
    assert sorted(r.outcome for r in first) == ["ok", "rate_limited"]

    settings.LLM_RATE_LIMIT = ""
    second = run(generate_message_results(coordis, user))

    assert all(texts(second))
    assert len(standin.requests) == 2


def test_calls_over_the_rate_limit_are_not_sent(standin, run, make_coordi, user, settings):
    settings.LLM_RATE_LIMIT = "3/minute"
    coordis = [make_coordi() for _ in range(5)]

    results = run(generate_message_results(coordis, user))

    assert [r.outcome for r in results].count("ok") == 3
    limited = [r for r in results if r.outcome == "rate_limited"]
    assert len(limited) == 2
    assert all(r.text is None and r.sent is False for r in limited)
    assert len(standin.requests) == 3


def test_five_identical_pages_at_once_make_one_call_per_outfit(standin, run, make_coordi, user):
    standin.latency = 0.3
    coordis = [make_coordi() for _ in range(4)]

    async def five_pages():
        return await asyncio.gather(*(generate_message_results(coordis, user) for _ in range(5)))

    pages = run(five_pages())

    assert len(standin.requests) == 4
    assert all(texts(page) == texts(pages[0]) and all(texts(page)) for page in pages)
    # One page made the calls; the four others waited for them.
    assert sorted(sum(not r.cached for r in page) for page in pages) == [0, 0, 0, 0, 4]


def test_single_flight_holds_across_event_loops_in_threads(standin, make_coordi, user):
    standin.latency = 0.3
    coordis = [make_coordi() for _ in range(4)]
    pages = []

    def one_page():
        pages.append(asyncio.run(generate_message_results(coordis, user)))

    threads = [threading.Thread(target=one_page) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(pages) == 5
    assert len(standin.requests) == 4
    assert all(all(texts(page)) for page in pages)


def test_waiting_for_another_requests_call_ends_at_the_deadline(standin, run, make_coordi, user, settings):
    settings.LLM_TIMEOUT_SECONDS = 1
    standin.set_default(Behaviour("hang"))
    coordi = make_coordi()

    async def two_pages():
        return await asyncio.gather(
            generate_message_results([coordi], user), generate_message_results([coordi], user)
        )

    pages = run(two_pages())

    # The call hangs for good: both pages ended at the deadline, one of them waiting on the other.
    assert [page[0].outcome for page in pages] == ["timeout", "timeout"]
    assert len(standin.requests) == 1


def test_an_unreachable_cache_costs_the_cache_only(standin, run, make_coordi, user, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    coordis = [make_coordi(), make_coordi()]

    results = run(generate_message_results(coordis, user))

    assert all(texts(results))
    assert len(standin.requests) == 2


def test_staff_can_bypass_the_cache(standin, run, make_coordi, user):
    coordi = make_coordi()
    run(generate_message_results([coordi], user))

    [fresh] = run(generate_message_results([coordi], user, use_cache=False))
    [again] = run(generate_message_results([coordi], user))

    assert len(standin.requests) == 2
    assert fresh.cached is False
    assert again.cached is True and again.text == fresh.text


class TestSharedScope:
    @pytest.fixture(autouse=True)
    def _shared(self, standin, settings):  # after the stand-in fixture has set the defaults
        settings.LLM_MESSAGE_SCOPE = "shared"

    def test_readers_of_one_gender_share_one_call_and_see_their_own_names(
        self, standin, run, make_coordi
    ):
        coordis = [make_coordi() for _ in range(3)]
        minji = UserFacts(id=1, name="민지", gender="female")
        seoyeon = UserFacts(id=2, name="서연", gender="female")

        for_minji = run(generate_message_results(coordis, minji))
        for_seoyeon = run(generate_message_results(coordis, seoyeon))

        assert len(standin.requests) == 3
        assert all(text.startswith("민지님, ") for text in texts(for_minji))
        assert all(text.startswith("서연님, ") for text in texts(for_seoyeon))
        assert all(r.scope == "shared" for r in for_minji + for_seoyeon)

    def test_no_prompt_carries_a_name(self, standin, run, make_coordi):
        coordis = [make_coordi() for _ in range(2)]
        readers = [UserFacts(id=1, name="민지", gender="female"), UserFacts(id=3, name="준호", gender="male")]

        for reader in readers:
            run(generate_message_results(coordis, reader))

        assert len(standin.requests) == 4  # one per outfit and gender
        for request in standin.requests:
            assert "민지" not in request.prompt and "준호" not in request.prompt
            assert "name:" not in request.prompt
            assert "{name}" in request.system_instruction

    def test_a_name_that_would_break_the_rules_gets_the_nameless_form(self, standin, run, make_coordi):
        long_name = UserFacts(id=9, name="가" * 45, gender="female")

        [result] = run(generate_message_results([make_coordi()], long_name))

        assert result.text == "오늘 딱 어울리는 코디예요 ✨"

    def test_a_template_without_the_placeholder_is_refused(self, standin, run, make_coordi):
        standin.set_default(Behaviour("text", text="오늘 딱 어울리는 코디예요 ✨"))

        reader = UserFacts(id=1, name="민지", gender="female")
        [result] = run(generate_message_results([make_coordi()], reader))

        assert (result.outcome, result.detail, result.text) == ("invalid", "placeholder", None)
