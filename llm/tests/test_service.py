"""generate_message(s) with the real google-genai SDK on the wire, against the local stand-in."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from llm import gemini
from llm.facts import UserFacts
from llm.prompts import PROMPT_VERSION
from llm.results import Outcome
from llm.service import (
    MessageResult,
    generate_message,
    generate_message_results,
    generate_messages,
    reset,
)
from llm.testing import Behaviour, ImageRoute, picture

PNG = picture(40, 30, format="PNG")


def thinking_budget(config: dict) -> int | None:
    # google-genai 3.6.1 sends thinkingConfig's field in snake_case; Gemini's JSON parser takes both.
    thinking = config.get("thinkingConfig") or {}
    return thinking.get("thinkingBudget", thinking.get("thinking_budget"))


def test_the_prompt_carries_the_outfit_and_the_user(standin, run, make_coordi, user):
    coordi = make_coordi(7, style="street", season="fall", description="Oversized hoodie, cargo pants")

    text = run(generate_message(coordi, user))

    assert text == "민지님, 오늘 딱 어울리는 코디예요 ✨"
    [request] = standin.requests
    assert request.api_version == "v1"
    assert request.model == "gemini-2.5-flash"
    assert request.api_key == standin.api_key
    assert "name: 민지" in request.prompt
    assert "style: 스트릿 (street)" in request.prompt
    assert "season: 가을 (fall)" in request.prompt
    assert "Oversized hoodie, cargo pants" in request.prompt
    assert "gender: 여성 (female)" in request.prompt
    # The rules travel as the system instruction, not inside the user's turn.
    assert "50자 이내" in request.system_instruction
    assert "50자" not in request.prompt
    assert request.images == ()


def test_generation_config_on_the_wire(standin, run, make_coordi, user, settings):
    settings.GEMINI_MAX_OUTPUT_TOKENS = 77

    run(generate_message(make_coordi(), user))

    [request] = standin.requests
    assert thinking_budget(request.generation_config) == 0
    assert request.generation_config["maxOutputTokens"] == 77
    assert request.generation_config["candidateCount"] == 1
    # The call's own deadline, in whole seconds, as the SDK passes it on.
    assert 1 <= int(request.headers["x-server-timeout"]) <= 10


def test_thinking_budget_follows_the_setting(standin, run, make_coordi, user, settings):
    settings.GEMINI_THINKING_BUDGET = 128

    run(generate_message(make_coordi(), user))

    assert thinking_budget(standin.requests[0].generation_config) == 128


def test_the_image_is_typed_by_its_bytes_and_arrives_as_a_jpeg_of_its_size(standin, run, make_coordi, user):
    # The server lies about the type; the bytes say PNG, and Pillow reads them as one.
    url = standin.add_image("look.png", ImageRoute(body=PNG, content_type="text/plain"))

    [result] = run(generate_message_results([make_coordi(image_url=url)], user))

    assert result.outcome == "ok" and result.image_status == "sent"
    [request] = standin.requests
    [image] = request.images
    assert image.mime_type == "image/jpeg" and image.data.startswith(b"\xff\xd8\xff")
    assert (image.width, image.height) == (40, 30)
    assert result.image_bytes == len(image.data)


def test_english_messages(standin, run, make_coordi, user, settings):
    settings.LLM_MESSAGE_LANGUAGE = "en"

    [result] = run(generate_message_results([make_coordi()], user))

    assert result.text == "민지, this look was made for you ✨"
    assert result.language == "en"
    assert "English" in standin.requests[0].system_instruction


def test_no_key_means_no_request_and_no_client(standin, run, make_coordi, user, settings):
    settings.GOOGLE_API_KEY = ""
    reset()
    coordis = [make_coordi(image_url=standin.add_image("a.png", ImageRoute(body=PNG)))
               for _ in range(3)]

    results = run(generate_message_results(coordis, user))

    assert [r.outcome for r in results] == ["no_key"] * 3
    assert all(r.text is None for r in results)
    assert standin.requests == []
    assert standin.image_hits == []
    assert gemini._client is None


def test_messages_by_coordi_id(standin, run, make_coordi, user):
    first, second = make_coordi(1), make_coordi(2)
    standin.for_coordi(2, Behaviour("error"))

    messages = run(generate_messages([first, second, first], user))

    assert messages == {1: "민지님, 오늘 딱 어울리는 코디예요 ✨", 2: None}
    # The duplicate was asked for once.
    assert len(standin.requests) == 2


def test_an_empty_page_makes_no_call(standin, run, user):
    assert run(generate_messages([], user)) == {}
    assert standin.requests == []


def test_result_fields(standin, run, make_coordi, user):
    [result] = run(generate_message_results([make_coordi(5)], user))

    assert isinstance(result, MessageResult)
    assert result.coordi_id == 5
    assert result.outcome is Outcome.OK
    assert result.model == "gemini-2.5-flash"
    assert result.prompt_version == PROMPT_VERSION
    assert result.latency_ms >= 0
    assert result.detail == ""


def test_at_most_max_concurrency_calls_at_once(standin, run, make_coordi, user):
    standin.latency = 0.3
    coordis = [make_coordi() for _ in range(20)]

    results = run(generate_message_results(coordis, user))

    assert [r.outcome for r in results] == ["ok"] * 20
    assert len(standin.requests) == 20
    assert standin.peak_in_flight == 10


def test_in_flight_cap_across_concurrent_pages(standin, run, make_coordi, user, settings):
    settings.LLM_MAX_IN_FLIGHT = 3
    standin.latency = 0.15

    async def two_pages():
        return await asyncio.gather(
            generate_messages([make_coordi() for _ in range(6)], user),
            generate_messages([make_coordi() for _ in range(6)], user),
        )

    pages = run(two_pages())

    assert all(text is not None for page in pages for text in page.values())
    assert standin.peak_in_flight == 3


def test_in_flight_cap_across_event_loops_in_threads(standin, make_coordi, user, settings):
    settings.LLM_MAX_IN_FLIGHT = 3
    standin.latency = 0.15
    pages: list[dict] = []

    def page() -> None:
        pages.append(asyncio.run(generate_messages([make_coordi() for _ in range(6)], user)))

    threads = [threading.Thread(target=page) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(pages) == 2
    assert all(text is not None for page in pages for text in page.values())
    assert standin.peak_in_flight == 3


@pytest.mark.parametrize(
    ("behaviour", "outcome", "detail"),
    [
        (Behaviour("rate_limited"), "rate_limited", "status_429"),
        (Behaviour("error"), "error", "status_500"),
        (Behaviour("safety"), "blocked", "finish_SAFETY"),
        (Behaviour("block_reason"), "blocked", "block_reason_SAFETY"),
        (Behaviour("garbage"), "error", "JSONDecodeError"),
        (Behaviour("empty"), "invalid", "empty"),
        (Behaviour("text", text="민지님, " + "정말 잘 어울리는 코디" * 5 + " ✨"), "invalid", "too_long"),
        (Behaviour("text", text="민지님, 오늘 코디 정말 잘 어울려요"), "invalid", "no_emoji"),
        (Behaviour("text", text="민지님, 좋아요 ✨\n다른 코디도 보세요 👀"), "invalid", "multiline"),
    ],
    ids=lambda value: getattr(value, "kind", None) or str(value),
)
def test_a_fault_costs_only_its_own_outfit(standin, run, make_coordi, user, behaviour, outcome, detail):
    coordis = [make_coordi(1), make_coordi(2), make_coordi(3)]
    standin.for_coordi(2, behaviour)

    results = run(generate_message_results(coordis, user))

    assert [r.outcome for r in results] == ["ok", outcome, "ok"]
    assert results[1].text is None
    assert results[1].detail == detail
    assert results[0].text and results[2].text


def test_quotes_and_markdown_are_stripped(standin, run, make_coordi, user):
    standin.set_default(Behaviour("text", text='  **"민지님, 봄 산책에 딱이에요 🌸"**\n'))

    assert run(generate_message(make_coordi(), user)) == "민지님, 봄 산책에 딱이에요 🌸"


def test_a_hang_is_cut_at_the_deadline_and_the_connection_closed(
    standin, run, make_coordi, user, settings
):
    settings.LLM_TIMEOUT_SECONDS = 1
    standin.for_coordi(2, Behaviour("hang"))
    coordis = [make_coordi(1), make_coordi(2), make_coordi(3)]

    results = run(generate_message_results(coordis, user))

    # The hang never ends on its own: the call's own timeout cut it.
    assert [(r.outcome, r.detail) for r in results] == [("ok", ""), ("timeout", "call_timeout"), ("ok", "")]
    assert results[1].text is None
    assert results[1].latency_ms >= 900
    # The stand-in sees the client hang up: nothing of the call keeps running.
    assert standin.wait_until(lambda s: s.disconnects == 1 and s.in_flight == 0)


def test_calls_that_cannot_start_before_the_deadline_time_out(
    standin, run, make_coordi, user, settings
):
    settings.LLM_TIMEOUT_SECONDS = 1.5
    settings.LLM_MAX_CONCURRENCY = 1
    standin.latency = 0.3
    coordis = [make_coordi() for _ in range(10)]

    results = run(generate_message_results(coordis, user))

    outcomes = [r.outcome for r in results]
    assert outcomes[0] == "ok"
    assert outcomes[-1] == "timeout"
    assert all(r.text is None for r in results if r.outcome == "timeout")
    # Late calls never reached the server; the one running at the deadline was cut.
    assert len(standin.requests) < 10
    assert standin.wait_until(lambda s: s.in_flight == 0)


def test_a_refused_connection_is_an_error(standin, run, make_coordi, user, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{closed_port}"

    results = run(generate_message_results([make_coordi(), make_coordi()], user))

    assert [r.outcome for r in results] == ["error", "error"]
    assert all(r.detail == "ConnectError" for r in results)
    # Nothing reached Gemini: no call paid for, nothing remembered.
    assert not any(r.sent or r.verdict for r in results)


def test_a_wrong_key_is_an_error(standin, run, make_coordi, user, settings):
    settings.GOOGLE_API_KEY = "not-the-key"

    [result] = run(generate_message_results([make_coordi()], user))

    assert (result.outcome, result.detail) == ("error", "status_401")


def test_a_nameless_user_still_gets_a_message(standin, run, make_coordi):
    nameless = UserFacts(id=8, name="", gender="male")

    [result] = run(generate_message_results([make_coordi()], nameless))

    assert result.outcome == "ok"
    assert "name: 고객" in standin.requests[0].prompt
