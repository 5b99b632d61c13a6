"""Respond first, in-process: `?messages=defer`, the poll (`/api/recommendations/messages`), the
background cap, and 501 where no event loop outlives the request (WSGI, Django's sync client).

The deferred pages run under Django's AsyncClient inside one async_to_sync call, whose event loop
lasts until the test has drained the background work, as uvicorn's would.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from prometheus_client import REGISTRY

from llm import store
from llm.config import Config
from llm.testing import Behaviour
from recommendations import background, services
from recommendations.api.fragments import fragment_facts, outfit_fragments
from recommendations.models import GeneratedMessage
from recommendations.selectors import catalogue_versions, user_facts

from .factories import make_coordi, make_user, token_for

URL = "/api/recommendations"
POLL = "/api/recommendations/messages"
pytestmark = pytest.mark.django_db(transaction=True)


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def statuses(body: dict, key: str = "outfits") -> dict[int, str]:
    return {entry["id"]: entry["llmMessageStatus"] for entry in body["data"][key]}


def test_defer_answers_at_once_and_polls_see_pending_turn_ready_without_new_calls(standin):
    coordis = [make_coordi() for _ in range(3)]
    ids = ",".join(str(coordi.id) for coordi in coordis)
    user = make_user(name="박서연")
    headers = bearer(user)
    standin.hold()

    async def defer_poll_reload():
        client = AsyncClient()
        deferred = (await client.get(URL, {"messages": "defer"}, headers=headers)).json()
        # Answered while Gemini could not have answered anything: every call is still held.
        held_then = len(standin.requests), standin.held
        polled_while_held = (await client.get(POLL, {"ids": ids}, headers=headers)).json()
        standin.release()
        assert await background.drain(timeout=30) == 0
        polled_after = (await client.get(POLL, {"ids": ids}, headers=headers)).json()
        reloaded = (await client.get(URL, headers=headers)).json()
        return deferred, held_then, polled_while_held, polled_after, reloaded

    deferred, held_then, polled_while_held, polled_after, reloaded = async_to_sync(defer_poll_reload)()

    every = {coordi.id for coordi in coordis}
    assert statuses(deferred) == dict.fromkeys(every, "pending")
    assert all(outfit["llmMessage"] is None for outfit in deferred["data"]["outfits"])
    assert held_then[1] <= held_then[0] <= 3  # nothing answered: at most held
    assert statuses(polled_while_held, "messages") == dict.fromkeys(every, "pending")
    assert statuses(polled_after, "messages") == dict.fromkeys(every, "ready")
    assert all("박서연" in entry["llmMessage"] for entry in polled_after["data"]["messages"])
    assert statuses(reloaded) == dict.fromkeys(every, "ready")
    assert {o["id"]: o["llmMessage"] for o in reloaded["data"]["outfits"]} == {
        m["id"]: m["llmMessage"] for m in polled_after["data"]["messages"]
    }
    # One call per outfit in all: the polls asked nothing, the reload came from the cache.
    assert len(standin.requests) == 3
    assert GeneratedMessage.objects.filter(user=user, outcome="ok", reached_gemini=True).count() == 3


def test_defer_fills_what_is_cached_and_pends_only_the_rest(client, standin):
    coordis = {make_coordi().id, make_coordi().id}
    user = make_user()
    # One outfit's message made by a page of one.
    [made] = client.get(URL, {"limit": 1}, headers=bearer(user)).json()["data"]["outfits"]
    [new] = coordis - {made["id"]}
    assert len(standin.requests) == 1
    headers = bearer(user)
    standin.hold()

    async def deferred():
        response = await AsyncClient().get(URL, {"messages": "defer"}, headers=headers)
        standin.release()
        assert await background.drain(timeout=30) == 0
        return response.json()

    body = async_to_sync(deferred)()

    assert statuses(body) == {made["id"]: "ready", new: "pending"}
    assert body["data"]["outfits"][0]["llmMessage"] == made["llmMessage"]
    assert len(standin.requests) == 2


def test_a_poll_never_calls_gemini_and_says_unavailable_for_what_nobody_is_making(client, standin):
    failing = make_coordi(description="막히는 코디 [blocked]")
    never_asked = make_coordi()
    standin.when("[blocked]", Behaviour("safety"))
    user = make_user()
    # The blocked outfit's failure is Gemini's verdict: remembered in the cache.
    client.get(URL, {"limit": 1}, headers=bearer(user))
    [asked] = standin.requests
    assert "[blocked]" in asked.prompt

    response = client.get(POLL, {"ids": f"{failing.id},{never_asked.id},987654"}, headers=bearer(user))

    assert response.status_code == 200
    assert response.json()["data"]["messages"] == [
        {"id": failing.id, "llmMessage": None, "llmMessageStatus": "unavailable"},
        {"id": never_asked.id, "llmMessage": None, "llmMessageStatus": "unavailable"},
        {"id": 987654, "llmMessage": None, "llmMessageStatus": "unavailable"},
    ]
    assert len(standin.requests) == 1  # the poll asked nothing


def test_a_poll_keeps_the_order_asked_and_drops_repeats(client, standin):
    first, second = make_coordi(), make_coordi()
    user = make_user()
    client.get(URL, headers=bearer(user))

    response = client.get(POLL, {"ids": f"{first.id},{second.id},{first.id}"}, headers=bearer(user))

    assert [entry["id"] for entry in response.json()["data"]["messages"]] == [first.id, second.id]
    assert statuses(response.json(), "messages") == {first.id: "ready", second.id: "ready"}


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ("", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("1,x", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("1,,2", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("-1", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("0", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("\u0661", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("9" * 19, "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        ("1, 2", "ids: a comma-separated list of outfit ids, e.g. 1,2,3."),
        (",".join(map(str, range(1, 52))), "ids: at most 50 ids."),
        (",".join(["7"] * 51), "ids: at most 50 ids."),  # the schema's maxItems counts repeats too
    ],
)
def test_a_bad_id_list_is_a_400_naming_ids(client, ids, message):
    response = client.get(POLL, {"ids": ids}, headers=bearer(make_user()))

    assert response.status_code == 400
    assert response.json() == {
        "success": False, "error": {"code": "VALIDATION_ERROR", "message": message},
    }  # fmt: skip


def test_a_poll_of_fifty_ids_is_answered(client, standin):
    response = client.get(POLL, {"ids": ",".join(map(str, range(1, 51)))}, headers=bearer(make_user()))

    assert response.status_code == 200
    assert len(response.json()["data"]["messages"]) == 50


def test_a_poll_without_ids_or_credentials_is_refused(client):
    assert client.get(POLL, headers=bearer(make_user())).json()["error"] == {
        "code": "VALIDATION_ERROR", "message": "ids: This field is required.",
    }  # fmt: skip
    unsigned = client.get(POLL, {"ids": "1"})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.skipif(not store.is_shared(), reason="another process's lock lives in Redis (CI sets CACHE_URL)")
def test_a_poll_sees_a_message_another_process_is_making(client, standin):
    coordi = make_coordi()
    user = make_user()
    facts = fragment_facts(outfit_fragments(catalogue_versions([coordi.id]))[coordi.id])
    key = Config.from_settings().key(facts, user_facts(user))
    # As another process takes it: a Redis lock, and no flight in this process.
    [held] = store._lock([key], 30).values()
    assert held is not None
    try:
        response = client.get(POLL, {"ids": str(coordi.id)}, headers=bearer(user))
    finally:
        held.release()
    after = client.get(POLL, {"ids": str(coordi.id)}, headers=bearer(user))

    assert statuses(response.json(), "messages") == {coordi.id: "pending"}
    assert statuses(after.json(), "messages") == {coordi.id: "unavailable"}
    assert standin.requests == []


def _refused() -> float:
    return REGISTRY.get_sample_value("recommendations_background_refused_total") or 0.0


def test_past_the_background_cap_new_messages_are_not_started_and_say_unavailable(standin, settings):
    settings.LLM_BACKGROUND_MAX = 2
    coordis = [make_coordi() for _ in range(3)]
    first, second = bearer(make_user()), bearer(make_user())
    refused_before = _refused()
    standin.hold()

    async def two_deferred_pages():
        client = AsyncClient()
        deferred = (await client.get(URL, {"messages": "defer"}, headers=first)).json()
        # Both allowed messages are being made: a second page may start none.
        meanwhile = (await client.get(URL, {"messages": "defer"}, headers=second)).json()
        standin.release()
        assert await background.drain(timeout=30) == 0
        return deferred, meanwhile

    deferred, meanwhile = async_to_sync(two_deferred_pages)()

    # The page's first two were started, the third was not.
    assert list(statuses(deferred).values()) == ["pending", "pending", "unavailable"]
    assert set(statuses(deferred)) == {coordi.id for coordi in coordis}
    assert set(statuses(meanwhile).values()) == {"unavailable"}
    assert len(standin.requests) == 2
    assert _refused() - refused_before == 1 + 3


@pytest.mark.parametrize(("path", "params"), [(URL, {"messages": "defer"}), (f"{URL}/stream", {})])
def test_without_an_event_loop_that_lasts_defer_and_stream_answer_501(client, standin, path, params):
    make_coordi()

    response = client.get(path, params, headers=bearer(make_user()))  # WSGI-style: a loop per request

    assert response.status_code == 501
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "NOT_IMPLEMENTED" and "ASGI server" in error["message"]
    assert standin.requests == []


def test_messages_must_be_wait_or_defer(client):
    response = client.get(URL, {"messages": "later"}, headers=bearer(make_user()))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR", "message": 'messages: "later" is not a valid choice.',
    }  # fmt: skip


def test_the_wait_mode_is_the_default_and_works_under_the_sync_client(client, standin):
    make_coordi()

    body = client.get(URL, {"messages": "wait"}, headers=bearer(make_user())).json()

    assert list(statuses(body).values()) == ["ready"]


def test_a_deferred_page_whose_work_fails_is_still_answered(standin, monkeypatch):
    make_coordi()
    headers = bearer(make_user())

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in the message work")

    monkeypatch.setattr(services, "generate_message_results", broken)

    async def deferred():
        response = await AsyncClient().get(URL, {"messages": "defer"}, headers=headers)
        await background.drain(timeout=30)
        return response

    response = async_to_sync(deferred)()

    assert response.status_code == 200
    assert list(statuses(response.json()).values()) == ["pending"]
