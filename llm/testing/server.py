"""GeminiStandIn: the server's lifecycle on its own thread, the behaviours it is told, what it recorded."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from .asgi import read_body, send_json, send_raw, wait_for_disconnect, wait_for_gate
from .images import ImageHit, ImageHost, ImageRoute
from .wire import Behaviour, RecordedRequest, Refusal, answer, read_request


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
        self._images = ImageHost()
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
        self._images.add(name, route)
        return self.image_url(name)

    def reset(self) -> None:
        """Forget behaviours, records, counters and images; back to the initial key and latency."""
        self.release()  # nobody stays held by a test that is over
        with self._lock:
            self._state = _State()
            self._images.reset()
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
        return self._images.hits

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
            await self._images.serve(scope, receive, send, path.removeprefix("/images/"))
            return
        request = read_request(
            method=scope["method"],
            path=path,
            raw_headers=scope["headers"],
            query_string=scope.get("query_string", b""),
            body=await read_body(receive),
            api_key=self.api_key,
        )
        if isinstance(request, Refusal):
            await send_json(send, request.status, request.body)
            return
        await self._generate(request, receive, send)

    async def _generate(self, record: RecordedRequest, receive: Any, send: Any) -> None:
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
            gone = await wait_for_gate(receive, gate)
            with self._lock:
                state.held -= 1
        # A refusal ("slow down") comes at once, as Google's do; the model's latency is for answers.
        refused = behaviour.kind in ("rate_limited", "overloaded")
        wait = None if behaviour.kind == "hang" else (0 if refused else latency) + behaviour.delay
        gone = gone or await wait_for_disconnect(receive, wait)
        with self._lock:
            # Counted out before the answer goes: the client cannot start its next call before that.
            if state is self._state:
                state.in_flight -= 1
                state.disconnects += gone
        if gone:
            return
        status, response = answer(behaviour, record)
        if isinstance(response, bytes):
            await send_raw(send, status, response, b"text/html; charset=UTF-8")
        else:
            await send_json(send, status, response)


def _choose(state: _State, number: int, prompt: str) -> Behaviour:
    if number in state.by_request:
        return state.by_request[number]
    for match, behaviour in state.by_match:
        if match.search(prompt) if isinstance(match, re.Pattern) else match in prompt:
            return behaviour
    return state.default
