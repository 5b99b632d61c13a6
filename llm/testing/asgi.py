"""The few ASGI moves the stand-in's two endpoints share: read a body, answer, notice a hang-up."""

from __future__ import annotations

import asyncio
import json
from typing import Any


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def wait_for_disconnect(receive: Any, seconds: float | None) -> bool:
    """Sleeps `seconds` (None: forever); True as soon as the client disconnects."""
    if seconds is not None and seconds <= 0:
        return False
    waiter = asyncio.ensure_future(receive())
    done, _ = await asyncio.wait({waiter}, timeout=seconds)
    if waiter in done:
        return waiter.result()["type"] == "http.disconnect"
    waiter.cancel()
    return False


async def wait_for_gate(receive: Any, gate: asyncio.Event) -> bool:
    """Waits for the gate to open; True (at once) if the client disconnects first."""
    waiter = asyncio.ensure_future(receive())
    opened = asyncio.ensure_future(gate.wait())
    done, _ = await asyncio.wait({waiter, opened}, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        opened.cancel()
        return waiter.result()["type"] == "http.disconnect"
    waiter.cancel()
    return False


async def set_on_disconnect(receive: Any, event: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    event.set()


async def send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    await send_raw(send, status, json.dumps(payload, ensure_ascii=False).encode(),
                   b"application/json; charset=UTF-8")


async def send_raw(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
