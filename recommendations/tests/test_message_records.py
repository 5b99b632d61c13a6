"""Through the API: GeneratedMessage records, the staff-only refresh, and the shared scope."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from llm.prompts import PROMPT_VERSION
from llm.service import known_messages
from llm.testing import Behaviour
from recommendations import background, services
from recommendations.messages import PENDING
from recommendations.models import GeneratedMessage
from recommendations.selectors import recommendation_page, user_facts

from .factories import make_coordi, make_user, token_for

URL = "/api/recommendations"


def page(client, user, **params):
    response = client.get(URL, params, headers={"Authorization": f"Bearer {token_for(user)}"})
    return response


async def outfit_messages(outfits, user):
    """A page's messages as the JSON endpoint waits for them (until LLM_RESPONSE_DEADLINE_SECONDS)."""
    reader = user_facts(user)
    known = await sync_to_async(known_messages)([o.facts() for o in outfits], reader)
    return await services.PageMessages(known, reader).settled(
        timeout=settings.LLM_RESPONSE_DEADLINE_SECONDS
    )


@pytest.mark.django_db
def test_each_call_is_recorded_once(client, standin):
    user = make_user(name="박서연")
    good, blocked = make_coordi(description="좋은 코디"), make_coordi(description="막히는 코디 [blocked]")
    standin.when("[blocked]", Behaviour("safety"))

    shown = {o["id"]: o["llmMessage"] for o in page(client, user).json()["data"]["outfits"]}
    page(client, user)  # cached: no new call, no new row

    rows = {row.coordi_id: row for row in GeneratedMessage.objects.all()}
    assert set(rows) == {good.id, blocked.id}
    assert rows[good.id].text == shown[good.id] and rows[good.id].outcome == "ok"
    assert rows[blocked.id].text is None and rows[blocked.id].outcome == "blocked"
    for row in rows.values():
        assert row.user_id == user.id
        assert (row.model, row.prompt_version, row.scope) == ("gemini-2.5-flash", PROMPT_VERSION, "user")
        assert 0 <= row.latency_ms < 10_000


@pytest.mark.django_db
def test_nothing_is_recorded_without_a_key(client, standin, settings):
    settings.GOOGLE_API_KEY = ""
    make_coordi()

    page(client, make_user())

    assert not GeneratedMessage.objects.exists()


@pytest.mark.django_db
def test_staff_can_ask_for_fresh_messages(client, standin):
    staff = make_user(is_staff=True)
    make_coordi()
    page(client, staff)

    response = page(client, staff, refresh="true")

    assert response.status_code == 200
    assert len(standin.requests) == 2
    assert GeneratedMessage.objects.count() == 2


@pytest.mark.django_db
def test_clients_cannot_bypass_the_cache(client, standin):
    make_coordi()

    response = page(client, make_user(), refresh="true")

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "FORBIDDEN",
        "message": "refresh: fresh messages are for staff only.",
    }
    assert standin.requests == []


@pytest.mark.django_db(transaction=True)
def test_calls_are_recorded_when_the_client_has_gone_away(standin):
    standin.hold()
    user = make_user()
    coordis = [make_coordi() for _ in range(3)]
    outfits = recommendation_page(user, page=1, limit=20).outfits
    assert {o.id for o in outfits} == {c.id for c in coordis}

    async def client_leaves_midway():
        request = asyncio.ensure_future(
            outfit_messages(outfits, user)
        )
        # Every call is at Gemini when the client hangs up.
        assert await asyncio.to_thread(standin.wait_until, lambda server: server.held == 3)
        request.cancel()  # what Django's ASGI handler does when the client disconnects
        with pytest.raises(asyncio.CancelledError):
            await request
        assert background.running() == 1
        standin.release()
        assert await background.drain(timeout=30) == 0

    async_to_sync(client_leaves_midway)()

    rows = GeneratedMessage.objects.filter(user=user)
    assert [(row.outcome, row.reached_gemini) for row in rows] == [("ok", True)] * 3
    assert len(standin.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_a_page_that_stops_waiting_leaves_its_messages_to_be_made(standin, settings):
    settings.LLM_RESPONSE_DEADLINE_SECONDS = 0.01
    standin.hold()
    user = make_user()
    coordis = [make_coordi() for _ in range(3)]
    outfits = recommendation_page(user, page=1, limit=20).outfits

    async def page_then_drain():
        messages = await outfit_messages(outfits, user)
        # Answered at the deadline while Gemini still held every call.
        assert messages == {c.id: PENDING for c in coordis}
        assert await asyncio.to_thread(standin.wait_until, lambda server: server.held == 3)
        standin.release()
        assert await background.drain(timeout=30) == 0
        return await outfit_messages(outfits, user)

    later = async_to_sync(page_then_drain)()

    assert all(later[c.id].text and later[c.id].status == "ready" for c in coordis)  # from the cache
    assert len(standin.requests) == 3
    assert GeneratedMessage.objects.filter(user=user, outcome="ok", reached_gemini=True).count() == 3


@pytest.mark.django_db
def test_shared_scope_one_call_per_outfit_and_gender(client, standin, settings):
    settings.LLM_MESSAGE_SCOPE = "shared"
    coordis = [make_coordi(gender="female") for _ in range(3)]
    minji, seoyeon = make_user(name="민지"), make_user(name="서연")

    for_minji = page(client, minji).json()["data"]["outfits"]
    for_seoyeon = page(client, seoyeon).json()["data"]["outfits"]

    assert len(standin.requests) == len(coordis)
    assert all(o["llmMessage"].startswith("민지님, ") for o in for_minji)
    assert all(o["llmMessage"].startswith("서연님, ") for o in for_seoyeon)
    assert not any("민지" in r.prompt or "서연" in r.prompt for r in standin.requests)


@pytest.mark.django_db(transaction=True)
def test_a_page_that_stops_waiting_shows_the_messages_already_made(standin, settings):
    settings.LLM_RESPONSE_DEADLINE_SECONDS = 1.0
    user = make_user()
    quick, stuck = make_coordi(), make_coordi(description="오래 걸리는 코디 [stuck]")
    standin.when("[stuck]", Behaviour("hang"))
    outfits = recommendation_page(user, page=1, limit=20).outfits

    async def page():
        messages = await outfit_messages(outfits, user)
        await background.drain(timeout=0)  # the hung call: cancelled, as a shutdown would
        return messages

    messages = async_to_sync(page)()

    assert messages[quick.id].text and messages[quick.id].status == "ready"
    assert messages[stuck.id] == PENDING
