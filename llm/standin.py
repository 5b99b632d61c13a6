"""A local stand-in for the Gemini REST API (plus a tiny image host), for tests and the benchmark.

It speaks `POST /{v1,v1beta}/models/{model}:generateContent` as Google does, misbehaves on demand
(slow, 429, 500, hang, blocked, garbage, any text) and records what it received. It is a raw ASGI app
served by uvicorn on its own event loop in a background thread, so a test's event loop, the SDK's
and the server's never mix.

    with GeminiStandIn(api_key="fake") as standin:
        standin.when("coordi-3", Behaviour("hang"))
        ...  # point GEMINI_BASE_URL at standin.base_url
        standin.requests[0].prompt

Run `python -m llm.standin --port 8090 --latency 2.0` for the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

# What Google answers when the model is unknown, the key wrong, the quota spent or the server sick.
_GENERATE_PATH = re.compile(r"^/(v1|v1beta)/models/([^/:]+):generateContent$")
_NAME_LINE = re.compile(r"^name: ?(.*)$", re.MULTILINE)
KINDS = frozenset(
    {"ok", "text", "rate_limited", "overloaded", "error", "hang", "safety", "block_reason", "garbage",
     "empty"}
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the stand-in answers one generateContent request.

    kind: ok (a valid message with the user's name), text (`text` verbatim as the model's answer),
    rate_limited (429 RESOURCE_EXHAUSTED), overloaded (503 UNAVAILABLE, "the model is overloaded"),
    error (500), hang (no answer until the client disconnects), safety (finishReason SAFETY, no
    parts), block_reason (promptFeedback.blockReason), garbage (a non-JSON 200), empty (a STOP
    candidate with no parts). `delay` is added to the server's latency. With rate_limited,
    overloaded and error, `text` replaces the error's message; `retry_delay` (seconds) adds Google's
    RetryInfo detail to a 429 or 503, as Gemini's quota errors carry it.
    """

    kind: str = "ok"
    delay: float = 0.0
    text: str | None = None
    retry_delay: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown behaviour {self.kind!r}; one of {sorted(KINDS)}")


@dataclass(frozen=True, slots=True)
class RecordedImage:
    """An inline image part as it arrived, base64 decoded."""

    mime_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One generateContent request as the stand-in received it."""

    api_version: str
    model: str
    api_key: str | None
    prompt: str
    system_instruction: str
    images: tuple[RecordedImage, ...]
    generation_config: dict[str, Any]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImageRoute:
    """What `GET /images/<name>` serves.

    `size` streams that many bytes (`body` first, then zeros) in `chunk_size` pieces instead of
    `body` alone; `stall` sends the headers and the first chunk, then nothing until the client gives
    up; `location` makes it a redirect (with `status` 302 by default).
    """

    body: bytes = b""
    content_type: str = "image/jpeg"
    status: int = 200
    delay: float = 0.0
    stall: bool = False
    size: int | None = None
    chunk_size: int = 64 * 1024
    content_length: bool = True
    location: str | None = None


@dataclass(slots=True)
class ImageHit:
    """One image request: who it was for and how much of the body went out before it ended."""

    name: str
    host: str
    bytes_sent: int = 0
    disconnected: bool = False
    finished: bool = False


@dataclass(slots=True)
class _State:
    default: Behaviour = field(default_factory=Behaviour)
    by_request: dict[int, Behaviour] = field(default_factory=dict)
    by_match: list[tuple[str | re.Pattern[str], Behaviour]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    request_count: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    disconnects: int = 0
    images: dict[str, ImageRoute] = field(default_factory=dict)
    image_hits: list[ImageHit] = field(default_factory=list)
    # While set and not open, generateContent requests wait at it (hold/release).
    gate: asyncio.Event | None = None
    held: int = 0


class GeminiStandIn:
    """The server: start()/stop() (or a with block), behaviour setters, and thread-safe records."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = "standin-key",
        latency: float = 0.0,
        jitter: float = 0.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        # None accepts any non-empty key (the benchmark does not care which).
        self.api_key = api_key
        self.latency = latency
        # Each answer's latency drawn from latency × (1 ± jitter), the same draws on every run.
        self.jitter = jitter
        self._random = random.Random(0)
        self._initial = (api_key, latency)
        self._lock = threading.Lock()
        self._state = _State()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> GeminiStandIn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            interface="asgi3",
            http="h11",
            ws="none",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="gemini-standin", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Gemini stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        # Hung requests would otherwise hold the shutdown for timeout_graceful_shutdown.
        self._server.force_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> GeminiStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def image_url(self, name: str, *, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}/images/{name}"

    # --- behaviours -------------------------------------------------------------------------------
    def set_default(self, behaviour: Behaviour) -> None:
        """Answer every request not matched otherwise like this."""
        with self._lock:
            self._state.default = behaviour

    def when(self, match: str | re.Pattern[str], behaviour: Behaviour) -> None:
        """Answer requests whose prompt contains `match` (a string or a regex) like this.

        The first rule set wins.
        """
        with self._lock:
            self._state.by_match.append((match, behaviour))

    def for_coordi(self, coordi_id: int, behaviour: Behaviour) -> None:
        """Matches `coordi-<id>` in the prompt (not `coordi-<id>0`): tests put it in the description."""
        self.when(re.compile(rf"\bcoordi-{coordi_id}(?!\d)"), behaviour)

    def at_request(self, number: int, behaviour: Behaviour) -> None:
        """Answer the `number`-th generateContent request (1-based, since reset) like this."""
        with self._lock:
            self._state.by_request[number] = behaviour

    def hold(self) -> None:
        """From now on, generateContent requests are recorded, then wait until `release()` (or until
        their client disconnects) before their latency and answer: calls in flight, on demand."""
        with self._lock:
            self._state.gate = asyncio.Event()

    def release(self) -> None:
        """Lets every held request (and those to come) go on."""
        with self._lock:
            gate, self._state.gate = self._state.gate, None
        if gate is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(gate.set)

    def add_image(self, name: str, route: ImageRoute) -> str:
        """Serve `route` at /images/<name>; returns its URL."""
        with self._lock:
            self._state.images[name] = route
        return self.image_url(name)

    def reset(self) -> None:
        """Forget behaviours, records, counters and images; back to the initial key and latency."""
        self.release()  # nobody stays held by a test that is over
        with self._lock:
            self._state = _State()
            self.api_key, self.latency = self._initial

    # --- records ----------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._state.in_flight

    @property
    def held(self) -> int:
        """generateContent requests waiting at the gate now (see hold)."""
        with self._lock:
            return self._state.held

    @property
    def peak_in_flight(self) -> int:
        with self._lock:
            return self._state.peak_in_flight

    @property
    def disconnects(self) -> int:
        """generateContent requests whose client gave up before the answer."""
        with self._lock:
            return self._state.disconnects

    @property
    def image_hits(self) -> list[ImageHit]:
        with self._lock:
            return [
                ImageHit(h.name, h.host, h.bytes_sent, h.disconnected, h.finished)
                for h in self._state.image_hits
            ]

    def wait_until(self, predicate: Any, *, timeout: float = 5.0) -> bool:
        """Poll `predicate(self)` until true or `timeout`; the server notices disconnects late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return bool(predicate(self))

    # --- the ASGI app -----------------------------------------------------------------------------
    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self._loop = asyncio.get_running_loop()
        path = scope["path"]
        if scope["method"] == "GET" and path.startswith("/images/"):
            await self._serve_image(scope, receive, send, path.removeprefix("/images/"))
            return
        body = await _read_body(receive)
        match = _GENERATE_PATH.match(path)
        if match is None:
            await _send_json(send, 404, _google_error(404, "NOT_FOUND", f"Path {path} not found."))
            return
        if scope["method"] != "POST":
            await _send_json(send, 405, _google_error(405, "METHOD_NOT_ALLOWED", "Use POST."))
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("x-goog-api-key") or _query_key(scope)
        if not key:
            await _send_json(send, 403, _google_error(
                403, "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity)."
                " Please use API Key or other form of API consumer identity to call this API.",
            ))
            return
        if self.api_key is not None and key != self.api_key:
            await _send_json(send, 401, _google_error(
                401, "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."
            ))
            return
        try:
            payload = json.loads(body)
        except ValueError:
            await _send_json(send, 400, _google_error(
                400, "INVALID_ARGUMENT", "Invalid JSON payload received."
            ))
            return
        record = _record(match.group(1), match.group(2), key, headers, payload)
        with self._lock:
            state = self._state
            state.request_count += 1
            state.requests.append(record)
            behaviour = _choose(state, state.request_count, record.prompt)
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            latency = self.latency * (1 + self.jitter * self._random.uniform(-1, 1))
            gate = state.gate
            state.held += gate is not None
        gone = False
        if gate is not None:
            gone = await _wait_for_gate(receive, gate)
            with self._lock:
                state.held -= 1
        # A refusal ("slow down") comes at once, as Google's do; the model's latency is for answers.
        refused = behaviour.kind in ("rate_limited", "overloaded")
        wait = None if behaviour.kind == "hang" else (0 if refused else latency) + behaviour.delay
        gone = gone or await _wait_for_disconnect(receive, wait)
        with self._lock:
            # Counted out before the answer goes: the client cannot start its next call before that.
            if state is self._state:
                state.in_flight -= 1
                state.disconnects += gone
        if gone:
            return
        status, response = _answer(behaviour, record)
        if isinstance(response, bytes):
            await _send_raw(send, status, response, b"text/html; charset=UTF-8")
        else:
            await _send_json(send, status, response)

    async def _serve_image(self, scope: dict[str, Any], receive: Any, send: Any, name: str) -> None:
        await _read_body(receive)
        headers = dict(scope["headers"])
        hit = ImageHit(name=name, host=headers.get(b"host", b"").decode("latin-1"))
        with self._lock:
            route = self._state.images.get(name)
            self._state.image_hits.append(hit)
        if route is None:
            await _send_raw(send, 404, b"not found", b"text/plain")
            hit.finished = True
            return
        if route.delay and await _wait_for_disconnect(receive, route.delay):
            hit.disconnected = True
            return
        if route.location is not None:
            status = route.status if 300 <= route.status < 400 else 302
            await send({
                "type": "http.response.start", "status": status,
                "headers": [(b"location", route.location.encode()), (b"content-length", b"0")],
            })
            await send({"type": "http.response.body", "body": b""})
            hit.finished = True
            return
        total = route.size if route.size is not None else len(route.body)
        response_headers = [(b"content-type", route.content_type.encode())]
        if route.content_length:
            response_headers.append((b"content-length", str(total).encode()))
        await send({"type": "http.response.start", "status": route.status, "headers": response_headers})
        # A watcher notices the client hanging up, since uvicorn drops writes after that silently.
        disconnected = asyncio.Event()
        watcher = asyncio.ensure_future(_set_on_disconnect(receive, disconnected))
        try:
            sent = 0
            while sent < total:
                if disconnected.is_set():
                    hit.disconnected = True
                    return
                chunk = _image_chunk(route, sent, min(route.chunk_size, total - sent))
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
                hit.bytes_sent = sent
                if route.stall:
                    await disconnected.wait()
                    hit.disconnected = True
                    return
                # Lets the watcher run between chunks; uvicorn's send does not yield by itself.
                await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": b""})
            hit.finished = True
        finally:
            watcher.cancel()


def _choose(state: _State, number: int, prompt: str) -> Behaviour:
    if number in state.by_request:
        return state.by_request[number]
    for match, behaviour in state.by_match:
        if match.search(prompt) if isinstance(match, re.Pattern) else match in prompt:
            return behaviour
    return state.default


def _record(
    api_version: str, model: str, key: str, headers: dict[str, str], payload: dict[str, Any]
) -> RecordedRequest:
    texts: list[str] = []
    images: list[RecordedImage] = []
    for content in payload.get("contents") or []:
        for part in content.get("parts") or []:
            if "text" in part:
                texts.append(part["text"])
            inline = part.get("inlineData") or part.get("inline_data")
            if inline:
                images.append(RecordedImage(
                    mime_type=inline.get("mimeType") or inline.get("mime_type") or "",
                    data=_b64decode(inline.get("data") or ""),
                ))
    system = payload.get("systemInstruction") or payload.get("system_instruction") or {}
    system_text = "\n".join(p.get("text", "") for p in system.get("parts") or [])
    return RecordedRequest(
        api_version=api_version,
        model=model,
        api_key=key,
        prompt="\n".join(texts),
        system_instruction=system_text,
        images=tuple(images),
        generation_config=payload.get("generationConfig") or {},
        headers=headers,
        body=payload,
    )


def _b64decode(data: str) -> bytes:
    # The SDK sends the URL-safe alphabet; other clients send the standard one.
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _answer(behaviour: Behaviour, record: RecordedRequest) -> tuple[int, dict[str, Any] | bytes]:
    usage = {"promptTokenCount": 57, "candidatesTokenCount": 14, "totalTokenCount": 71,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 57}]}
    kind = behaviour.kind
    if kind == "rate_limited":
        return 429, _google_error(
            429, "RESOURCE_EXHAUSTED", behaviour.text
            or "You exceeded your current quota, please check your plan and billing details.",
            retry_delay=behaviour.retry_delay,
        )
    if kind == "overloaded":
        return 503, _google_error(
            503, "UNAVAILABLE", behaviour.text or "The model is overloaded. Please try again later.",
            retry_delay=behaviour.retry_delay,
        )
    if kind == "error":
        return 500, _google_error(
            500, "INTERNAL", behaviour.text or "An internal error has occurred. Please retry or"
            " report in https://developers.generativeai.google/guide/troubleshooting",
        )
    if kind == "garbage":
        return 200, b"<html><body>502 Bad Gateway (upstream hiccup)</body></html>"
    if kind == "block_reason":
        return 200, {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]},
            "usageMetadata": usage, "modelVersion": record.model,
        }
    if kind == "safety":
        return 200, {
            "candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM"}]}],
            "usageMetadata": usage, "modelVersion": record.model,
        }
    if kind == "empty":
        parts: list[dict[str, str]] = []
    elif kind == "text":
        parts = [{"text": behaviour.text or ""}]
    else:
        parts = [{"text": _message_for(record)}]
    return 200, {
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": usage,
        "modelVersion": record.model,
        "responseId": f"standin-{id(record):x}",
    }


def _message_for(record: RecordedRequest) -> str:
    found = _NAME_LINE.search(record.prompt)
    name = found.group(1).strip() if found else ""
    if not name and "{name}" in record.system_instruction:
        name = "{name}"  # the shared scope: a placeholder the server fills in per reader
    if "English" in record.system_instruction:
        return f"{name}, this look was made for you ✨" if name else "This look was made for you ✨"
    return f"{name}님, 오늘 딱 어울리는 코디예요 ✨" if name else "오늘 딱 어울리는 코디예요 ✨"


def _image_chunk(route: ImageRoute, offset: int, length: int) -> bytes:
    head = route.body[offset:offset + length]
    return head + bytes(length - len(head))


def _query_key(scope: dict[str, Any]) -> str | None:
    for pair in scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        if name == "key" and value:
            return value
    return None


def _google_error(
    code: int, status: str, message: str, *, retry_delay: float | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if retry_delay is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay:g}s"},
        ]
    return {"error": error}


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _wait_for_disconnect(receive: Any, seconds: float | None) -> bool:
    """Sleeps `seconds` (None: forever); True as soon as the client disconnects."""
    if seconds is not None and seconds <= 0:
        return False
    waiter = asyncio.ensure_future(receive())
    done, _ = await asyncio.wait({waiter}, timeout=seconds)
    if waiter in done:
        return waiter.result()["type"] == "http.disconnect"
    waiter.cancel()
    return False


async def _wait_for_gate(receive: Any, gate: asyncio.Event) -> bool:
    """Waits for the gate to open; True (at once) if the client disconnects first."""
    waiter = asyncio.ensure_future(receive())
    opened = asyncio.ensure_future(gate.wait())
    done, _ = await asyncio.wait({waiter, opened}, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        opened.cancel()
        return waiter.result()["type"] == "http.disconnect"
    waiter.cancel()
    return False


async def _set_on_disconnect(receive: Any, event: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    event.set()


async def _send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    await _send_raw(send, status, json.dumps(payload, ensure_ascii=False).encode(),
                    b"application/json; charset=UTF-8")


async def _send_raw(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m llm.standin", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with GeminiStandIn(host=args.host, port=args.port, api_key=args.api_key,
                       latency=args.latency) as standin:
        print(standin.base_url, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
