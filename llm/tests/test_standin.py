"""The stand-in itself: Google's paths and errors, and the command line the benchmark runs."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from llm.testing import Behaviour, GeminiStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def body(text: str = "name: 수아\nhello", image: bytes | None = None, *, urlsafe: bool = True) -> dict:
    parts: list[dict] = [{"text": text}]
    if image is not None:
        encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
        parts.append({"inlineData": {"mimeType": "image/png", "data": encode(image).decode()}})
    return {"contents": [{"role": "user", "parts": parts}],
            "systemInstruction": {"parts": [{"text": "rules"}]},
            "generationConfig": {"maxOutputTokens": 10}}


@pytest.fixture
def server():
    with GeminiStandIn(api_key="k") as standin:
        yield standin


def test_answers_like_gemini(server):
    response = httpx.post(f"{server.base_url}/v1beta/models/gemini-2.5-flash:generateContent",
                          json=body(), headers={"x-goog-api-key": "k"})

    assert response.status_code == 200
    payload = response.json()
    assert payload["candidates"][0]["content"]["parts"][0]["text"] == "수아님, 오늘 딱 어울리는 코디예요 ✨"
    assert payload["candidates"][0]["finishReason"] == "STOP"
    assert payload["modelVersion"] == "gemini-2.5-flash"
    assert payload["usageMetadata"]["totalTokenCount"] > 0
    [request] = server.requests
    assert (request.api_version, request.model, request.api_key) == ("v1beta", "gemini-2.5-flash", "k")
    assert request.system_instruction == "rules"
    assert request.generation_config == {"maxOutputTokens": 10}


@pytest.mark.parametrize("urlsafe", [True, False])
def test_records_images_in_either_base64_alphabet(server, urlsafe):
    image = bytes(range(256)) * 3  # has bytes that encode to + / and - _

    httpx.post(f"{server.base_url}/v1/models/m:generateContent",
               json=body(image=image, urlsafe=urlsafe), headers={"x-goog-api-key": "k"})

    assert server.requests[0].images[0].data == image


@pytest.mark.parametrize(
    ("headers", "path", "status", "google_status"),
    [
        ({}, "/v1/models/m:generateContent", 403, "PERMISSION_DENIED"),
        ({"x-goog-api-key": "wrong"}, "/v1/models/m:generateContent", 401, "UNAUTHENTICATED"),
        ({"x-goog-api-key": "k"}, "/v2/models/m:generateContent", 404, "NOT_FOUND"),
    ],
)
def test_refuses_like_gemini(server, headers, path, status, google_status):
    response = httpx.post(f"{server.base_url}{path}", json=body(), headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["status"] == google_status
    assert server.requests == []


def test_behaviour_by_request_number_and_match(server):
    server.at_request(2, Behaviour("rate_limited"))
    server.when("special", Behaviour("text", text="hi ✨"))
    url = f"{server.base_url}/v1/models/m:generateContent"

    def post(text: str) -> httpx.Response:
        return httpx.post(url, json=body(text), headers={"x-goog-api-key": "k"})

    assert post("plain").status_code == 200
    assert post("special").status_code == 429
    assert post("special").json()["candidates"][0]["content"]["parts"][0]["text"] == "hi ✨"
    with pytest.raises(ValueError, match="unknown behaviour 'nonsense'"):
        Behaviour("nonsense")


def test_the_command_line_serves_until_stopped():
    process = subprocess.Popen(
        [sys.executable, "-m", "llm.testing", "--port", "0", "--latency", "0.01"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.post(f"{base_url}/v1/models/gemini-2.5-flash:generateContent",
                              json=body(), headers={"x-goog-api-key": "any"}, timeout=10)
        assert response.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
