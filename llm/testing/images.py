"""The stand-in's image host: what `GET /images/<name>` serves, and a record of every request for one."""

from __future__ import annotations

import asyncio
import io
import random
import threading
from dataclasses import dataclass
from typing import Any

import PIL.Image

from .asgi import read_body, send_raw, set_on_disconnect, wait_for_disconnect


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
    # Image requests being served when this one arrived, itself included.
    at_once: int = 1


class ImageHost:
    """Routes by name and the hits they received; thread-safe, served on the stand-in's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, ImageRoute] = {}
        self._hits: list[ImageHit] = []

    def add(self, name: str, route: ImageRoute) -> None:
        with self._lock:
            self._routes[name] = route

    def reset(self) -> None:
        with self._lock:
            self._routes = {}
            self._hits = []

    @property
    def hits(self) -> list[ImageHit]:
        """Copies: a hit still being served goes on changing."""
        with self._lock:
            return [
                ImageHit(h.name, h.host, h.bytes_sent, h.disconnected, h.finished, h.at_once)
                for h in self._hits
            ]

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any, name: str) -> None:
        await read_body(receive)
        headers = dict(scope["headers"])
        hit = ImageHit(name=name, host=headers.get(b"host", b"").decode("latin-1"))
        with self._lock:
            route = self._routes.get(name)
            hit.at_once += sum(not (h.finished or h.disconnected) for h in self._hits)
            self._hits.append(hit)
        if route is None:
            await send_raw(send, 404, b"not found", b"text/plain")
            hit.finished = True
            return
        if route.delay and await wait_for_disconnect(receive, route.delay):
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
        watcher = asyncio.ensure_future(set_on_disconnect(receive, disconnected))
        try:
            sent = 0
            while sent < total:
                if disconnected.is_set():
                    hit.disconnected = True
                    return
                chunk = _chunk(route, sent, min(route.chunk_size, total - sent))
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


def _chunk(route: ImageRoute, offset: int, length: int) -> bytes:
    head = route.body[offset:offset + length]
    return head + bytes(length - len(head))


def picture(width: int = 8, height: int = 8, *, format: str = "JPEG", color: str = "teal",
            **save: Any) -> bytes:
    """A real, decodable image of one colour, as `format` (Pillow's name), saved with `save`
    (`alpha=True`: a transparent PNG or WebP)."""
    mode = "RGBA" if format in ("PNG", "WEBP") and save.pop("alpha", False) else "RGB"
    out = io.BytesIO()
    PIL.Image.new(mode, (width, height), color).save(out, format, **save)
    return out.getvalue()


def phone_photo(width: int = 3024, height: int = 4032, *, seed: int = 0, quality: int = 95) -> bytes:
    """A JPEG as heavy as a phone's: smooth colour fields under sensor-like noise. At the default
    12 MP and quality 95 it is about 5.0 MB (under the default LLM_IMAGE_MAX_BYTES)."""
    rng = random.Random(seed)
    coarse = (max(1, width // 32), max(1, height // 32))
    fields = PIL.Image.frombytes("RGB", coarse, rng.randbytes(coarse[0] * coarse[1] * 3))
    fields = fields.resize((width, height), PIL.Image.Resampling.BICUBIC)
    noise = PIL.Image.effect_noise((width, height), 20).convert("RGB")
    out = io.BytesIO()
    PIL.Image.blend(fields, noise, 0.2).save(out, "JPEG", quality=quality)
    return out.getvalue()
