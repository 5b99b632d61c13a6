"""The message service's log lines (one per call, never the key) and its one Gemini client."""

from __future__ import annotations

import logging
import socket

from llm import gemini, limits
from llm.service import (
    generate_message,
    generate_message_results,
    reset,
)
from llm.testing import Behaviour


def test_one_log_line_per_call(standin, run, make_coordi, user, caplog):
    standin.for_coordi(2, Behaviour("rate_limited"))
    standin.for_coordi(3, Behaviour("text", text="no emoji here"))
    coordis = [make_coordi(1), make_coordi(2), make_coordi(3)]

    with caplog.at_level(logging.INFO, logger="llm"):
        run(generate_message_results(coordis, user))

    records = [r for r in caplog.records if r.name.startswith("llm") and r.levelno >= logging.INFO]
    assert len(records) == 3
    by_coordi = {r.coordi_id: r for r in records}
    assert set(by_coordi) == {1, 2, 3}
    assert [by_coordi[i].outcome for i in (1, 2, 3)] == ["ok", "rate_limited", "invalid"]
    for coordi_id, record in by_coordi.items():
        assert isinstance(record.latency_ms, int)
        message = record.getMessage()
        assert f"coordi={coordi_id} " in message
        assert f"outcome={record.outcome} " in message
        assert f"latency_ms={record.latency_ms} " in message


def test_no_key_is_one_line_for_all_the_outfits(standin, run, make_coordi, user, settings, caplog):
    settings.GOOGLE_API_KEY = ""

    with caplog.at_level(logging.INFO, logger="llm"):
        results = run(generate_message_results([make_coordi(4), make_coordi(5), make_coordi(6)], user))

    assert [result.outcome.value for result in results] == ["no_key"] * 3
    [record] = [r for r in caplog.records if r.name == "llm"]
    assert (record.outcome, record.messages, record.user_id) == ("no_key", 3, user.id)
    assert "GOOGLE_API_KEY is empty, 3 messages not made" in record.getMessage()


def test_the_key_never_reaches_the_logs(standin, run, make_coordi, user, settings, caplog):
    key = settings.GOOGLE_API_KEY
    settings.LLM_TIMEOUT_SECONDS = 1
    settings.LLM_IMAGE_ALLOWED_HOSTS = []
    # A proxy that echoes the request's headers into its error body, as some do.
    echo = f"upstream rejected request with x-goog-api-key: {key}"
    behaviours = [Behaviour("rate_limited", text=echo), Behaviour("error", text=echo),
                  Behaviour("hang"), Behaviour("safety"), Behaviour("block_reason"),
                  Behaviour("garbage")]
    for coordi_id, behaviour in enumerate(behaviours, start=1):
        standin.for_coordi(coordi_id, behaviour)
    coordis = [make_coordi(i, image_url=standin.image_url("x.png")) for i in range(1, 8)]

    with caplog.at_level(logging.DEBUG):
        results = run(generate_message_results(coordis, user))
        settings.GOOGLE_API_KEY = key + "-wrong"
        results += run(generate_message_results([make_coordi(8)], user))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            settings.GEMINI_BASE_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings.GOOGLE_API_KEY = key
        results += run(generate_message_results([make_coordi(9)], user))

    assert {r.outcome for r in results} >= {"ok", "rate_limited", "error", "timeout", "blocked"}
    assert caplog.records
    for record in caplog.records:
        assert key not in record.getMessage()
        assert key not in repr(record.__dict__)
    assert key not in caplog.text
    assert all(key not in repr(result) for result in results)


def test_the_client_is_built_once_and_again_when_the_key_changes(
    standin, run, make_coordi, user, settings
):
    key = settings.GOOGLE_API_KEY
    run(generate_message(make_coordi(), user))
    first = gemini._client
    run(generate_message(make_coordi(), user))
    assert gemini._client is first

    standin.api_key = None  # any key
    settings.GOOGLE_API_KEY = key + "-rotated"
    run(generate_message(make_coordi(), user))
    assert gemini._client is not first
    assert standin.requests[-1].api_key == key + "-rotated"

    reset()
    assert gemini._client is None
    assert limits.in_flight_limiter().active == 0


def test_an_answer_that_spells_out_the_key_is_refused(standin, run, make_coordi, user, settings, caplog):
    key = settings.GOOGLE_API_KEY
    standin.for_coordi(1, Behaviour("text", text=f"민지님, 키는 {key} 🌸"))
    standin.for_coordi(2, Behaviour("text", text=f"민지님 {chr(0x200B).join(key)} 🌸"))  # zero-width spaces
    standin.for_coordi(3, Behaviour("text", text="민지님, 봄 룩이에요 🌸"))

    with caplog.at_level(logging.INFO, logger="llm"):
        results = run(generate_message_results([make_coordi(1), make_coordi(2), make_coordi(3)], user))

    assert [(r.outcome.value, r.detail, r.text) for r in results[:2]] == [("invalid", "secret", None)] * 2
    assert results[2].text == "민지님, 봄 룩이에요 🌸"
    assert key not in caplog.text
