"""GET /api/recommendations/stream in-process (Django's AsyncClient): the events, their order and
content, the heartbeat, and the errors answered before a stream starts. Against a real server
(uvicorn, clients that hang up, PostgreSQL's pool): test_production_stream.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from llm.testing import Behaviour
from recommendations import background, services

from .factories import make_coordi, make_user, token_for

URL = "/api/recommendations"
STREAM = f"{URL}/stream"
pytestmark = pytest.mark.django_db(transaction=True)


def parse(raw: bytes) -> list[tuple[str, Any]]:
    """Server-Sent Events as (event, data) pairs; a comment line is ("comment", its text)."""
    events: list[tuple[str, Any]] = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        if block.startswith(":"):
            events.append(("comment", block[1:].strip()))
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def read_stream(headers, *, params=None, on_chunk=None):
    """The response and every chunk it streamed; `on_chunk(chunk)` is called as each arrives."""
    response = await AsyncClient().get(STREAM, params or {}, headers=headers)
    chunks = []
    async for chunk in response.streaming_content:  # type: ignore[attr-defined]
        chunks.append(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
    assert await background.drain(timeout=30) == 0
    return response, chunks


def test_the_page_then_each_pending_message_in_the_order_they_land_then_done(client, standin, settings):
    settings.LLM_TIMEOUT_SECONDS = 1
    # Shown in this order (make_coordi makes each one older than the one before).
    cached = make_coordi()
    quick = make_coordi()
    slow = make_coordi(description="늦게 끝나는 코디 [slow]")
    user = make_user(name="박서연")
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    standin.when("[slow]", Behaviour("hang"))  # cut at its own timeout: lands last, unavailable
    [first] = client.get(URL, {"limit": 1}, headers=headers).json()["data"]["outfits"]
    assert first["id"] == cached.id and first["llmMessageStatus"] == "ready"

    response, chunks = async_to_sync(read_stream)(headers)
    page = client.get(URL, headers=headers).json()["data"]  # every message settled by now

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    events = parse(b"".join(chunks))
    assert [name for name, _ in events] == ["outfits", "message", "message", "done"]
    outfits = events[0][1]
    # The JSON endpoint's page, with the messages as they stood: the cached one, the rest pending.
    assert outfits["pagination"] == page["pagination"]
    without_messages = [
        {key: value for key, value in outfit.items() if not key.startswith("llmMessage")}
        for outfit in outfits["outfits"]
    ]
    assert without_messages == [
        {key: value for key, value in outfit.items() if not key.startswith("llmMessage")}
        for outfit in page["outfits"]
    ]
    assert [(o["id"], o["llmMessageStatus"]) for o in outfits["outfits"]] == [
        (cached.id, "ready"), (quick.id, "pending"), (slow.id, "pending"),
    ]  # fmt: skip
    assert outfits["outfits"][0]["llmMessage"] == first["llmMessage"]
    assert events[1] == ("message", {
        "id": quick.id, "llmMessage": page["outfits"][1]["llmMessage"], "llmMessageStatus": "ready",
    })  # fmt: skip
    assert "박서연" in events[1][1]["llmMessage"]
    assert events[2] == ("message", {"id": slow.id, "llmMessage": None, "llmMessageStatus": "unavailable"})
    assert events[3] == ("done", {})
    assert len(standin.requests) == 3  # the cached one was not asked again


def test_a_heartbeat_while_nothing_lands(standin, settings):
    settings.STREAM_HEARTBEAT_SECONDS = 0.01
    coordi = make_coordi()
    headers = {"Authorization": f"Bearer {token_for(make_user())}"}
    standin.hold()

    def release_after_a_heartbeat(chunk: bytes) -> None:
        if chunk.startswith(b":"):
            standin.release()

    _, chunks = async_to_sync(read_stream)(headers, on_chunk=release_after_a_heartbeat)

    events = parse(b"".join(chunks))
    names = [name for name, _ in events]
    assert names[0] == "outfits"
    assert names[-2:] == ["message", "done"]
    # Only heartbeats between the page and its message, which waited for one.
    assert set(names[1:-2]) == {"comment"}
    assert all(data == "heartbeat" for name, data in events if name == "comment")
    assert events[-2][1]["id"] == coordi.id and events[-2][1]["llmMessageStatus"] == "ready"


def test_a_page_with_nothing_to_make_is_the_page_then_done(standin, settings):
    settings.GOOGLE_API_KEY = ""
    coordi = make_coordi()
    headers = {"Authorization": f"Bearer {token_for(make_user())}"}

    _, chunks = async_to_sync(read_stream)(headers)

    events = parse(b"".join(chunks))
    assert [name for name, _ in events] == ["outfits", "done"]
    [outfit] = events[0][1]["outfits"]
    assert (outfit["id"], outfit["llmMessage"]) == (coordi.id, None)
    assert outfit["llmMessageStatus"] == "unavailable"
    assert standin.requests == []


@pytest.mark.parametrize(
    ("params", "signed_in", "status", "code"),
    [
        ({}, False, 401, "UNAUTHORIZED"),
        ({"limit": "0"}, True, 400, "VALIDATION_ERROR"),
        ({"page": "x"}, True, 400, "VALIDATION_ERROR"),
        ({"refresh": "true"}, True, 403, "FORBIDDEN"),
    ],
)
def test_an_error_before_the_stream_is_the_json_envelope(standin, params, signed_in, status, code):
    # What EventSource sends: it accepts only text/event-stream.
    headers = {"Accept": "text/event-stream"}
    if signed_in:
        headers["Authorization"] = f"Bearer {token_for(make_user())}"

    response = async_to_sync(AsyncClient().get)(STREAM, params, headers=headers)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == code
    assert standin.requests == []


def test_work_that_fails_leaves_its_outfits_unavailable_and_the_stream_ends(standin, monkeypatch, caplog):
    coordi = make_coordi()
    headers = {"Authorization": f"Bearer {token_for(make_user())}"}

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in the message work")

    monkeypatch.setattr(services, "generate_message_results", broken)

    _, chunks = async_to_sync(read_stream)(headers)

    events = parse(b"".join(chunks))
    assert [name for name, _ in events] == ["outfits", "message", "done"]
    assert events[0][1]["outfits"][0]["llmMessageStatus"] == "pending"
    assert events[1][1] == {"id": coordi.id, "llmMessage": None, "llmMessageStatus": "unavailable"}
    assert "background messages for user" in caplog.text  # the failure is logged
