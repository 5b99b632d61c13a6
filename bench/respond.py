"""`make bench`, respond-first part: the stream's first and last events, the deferred page, and the
calls one cold page costs when it is deferred, polled three times and reloaded. Run by bench.run
against its server (one worker, the stand-in answering after --latency seconds), each figure on
users who have never been seen (every message cold). Figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from llm.testing import GeminiStandIn

if TYPE_CHECKING:
    from bench.run import Table

STREAM = "/api/recommendations/stream?limit={limit}"
DEFER = "/api/recommendations?limit={limit}&messages=defer"
POLL = "/api/recommendations/messages?ids={ids}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stream_timings(base: str, token: str, limit: int) -> tuple[float, float, int]:
    """Seconds to the `outfits` event and to the last `message` event, and the messages received."""
    first = last = 0.0
    messages = 0
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await client.get("/healthz")  # the connection made before the clock starts
        started = time.perf_counter()
        async with client.stream("GET", STREAM.format(limit=limit), headers=bearer(token)) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line == "event: outfits":
                    first = time.perf_counter() - started
                elif line == "event: message":
                    last = time.perf_counter() - started
                    messages += 1
    return first, last, messages


async def defer_timings(
    base: str, tokens: list[str], limit: int, *, between: Callable[[], None] | None = None
) -> list[float]:
    """A deferred cold page per token, one after the other; `between()` runs after each (to let
    its messages be made before the next, or not: then each page competes with those before)."""
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await client.get("/healthz")  # the connection made before the clock starts
        for token in tokens:
            started = time.perf_counter()
            response = await client.get(DEFER.format(limit=limit), headers=bearer(token))
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            if between is not None:
                await asyncio.to_thread(between)
    return latencies


async def blocking_page(base: str, token: str, limit: int) -> float:
    """Seconds to a page that waits for every message (the default), its fragments already cached."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await client.get("/healthz")  # the connection made before the clock starts
        started = time.perf_counter()
        response = await client.get(f"/api/recommendations?limit={limit}", headers=bearer(token))
        elapsed = time.perf_counter() - started
        response.raise_for_status()
    return elapsed


async def defer_poll_reload(base: str, token: str, limit: int, *, latency: float) -> tuple[int, int]:
    """Defer, three polls spread over the page's time, a reload: the messages the reload served."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        page = (await client.get(DEFER.format(limit=limit), headers=bearer(token))).json()
        ids = ",".join(str(outfit["id"]) for outfit in page["data"]["outfits"])
        ready = 0
        for _ in range(3):
            await asyncio.sleep(latency * 1.2)
            polled = (await client.get(POLL.format(ids=ids), headers=bearer(token))).json()
            ready = sum(m["llmMessageStatus"] == "ready" for m in polled["data"]["messages"])
        reloaded = (await client.get(f"/api/recommendations?limit={limit}", headers=bearer(token))).json()
        served = sum(outfit["llmMessage"] is not None for outfit in reloaded["data"]["outfits"])
    return ready, served


def measure(
    base: str,
    tokens: list[str],
    standin: GeminiStandIn,
    table: Table,
    *,
    limit: int,
    latency: float,
    wait_idle: Callable[[], None],
) -> None:
    """`tokens`: fresh users (at least 15); `wait_idle()` returns once no message work is left."""
    first, last, messages = asyncio.run(stream_timings(base, tokens[0], limit))
    table.add("stream: time to outfits event", f"{first * 1000:.1f} ms", "target ≤ 50 ms")
    table.add("stream: time to last message event", f"{last * 1000:.1f} ms",
              f"{messages} messages; target ≤ 4,200 ms")  # fmt: skip
    wait_idle()
    deferred = asyncio.run(defer_timings(base, tokens[1:7], limit, between=wait_idle))
    table.add("defer, cold page: p50", f"{statistics.median(deferred) * 1000:.1f} ms",
              f"max {max(deferred) * 1000:.1f} ms; target ≤ 20 ms")  # fmt: skip
    crowded = asyncio.run(defer_timings(base, tokens[7:11], limit))
    table.add("  back to back (each behind the others' work)",
              f"{statistics.median(crowded) * 1000:.1f} ms", f"max {max(crowded) * 1000:.1f} ms")  # fmt: skip
    wait_idle()
    blocking = []
    for token in tokens[12:15]:
        blocking.append(asyncio.run(blocking_page(base, token, limit)))
        wait_idle()
    table.add("blocking cold page, a new reader: p50", f"{statistics.median(blocking) * 1000:.1f} ms",
              f"of {len(blocking)}, max {max(blocking) * 1000:.1f} ms; target ≤ 4,200 ms")  # fmt: skip
    calls = len(standin.requests)
    ready, served = asyncio.run(defer_poll_reload(base, tokens[11], limit, latency=latency))
    table.add("defer + 3 polls + reload: Gemini calls", str(len(standin.requests) - calls),
              f"last poll {ready} ready, reload {served} filled; target exactly {limit}")  # fmt: skip
