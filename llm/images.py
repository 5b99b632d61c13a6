"""Safe download of an outfit's image for the prompt: public addresses only, bounded in time and size.

Every connection goes to an address checked when it was resolved (llm.pinning), redirects are
followed by hand, each hop through the same check, and the whole download has one deadline and one
size cap. Hosts in LLM_IMAGE_ALLOWED_HOSTS skip the address check (the demo serves its images from
127.0.0.1).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from llm.pinning import AddressRefused, PinnedBackend, build_client

MAX_REDIRECTS = 3


@dataclass(frozen=True, slots=True)
class Image:
    """Image bytes and the MIME type their signature says they are; after llm.downscale, also their
    pixel size and how many bytes the download had (0 when unknown)."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int = 0
    height: int = 0
    original_bytes: int = 0


class ImageUnavailable(Exception):
    """The image cannot be used; `reason` is a short code, safe to log (no bytes, no query string)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def fetch_image(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    allowed_hosts: Iterable[str] = (),
    client: httpx.AsyncClient | None = None,
) -> Image:
    """The image at `url`, or ImageUnavailable: `timeout` bounds the whole download, redirects included.

    The download goes through this loop's shared client for `allowed_hosts`, or through `client`
    (one from build_client, say with a test's own certificate authority; its backend then decides
    which hosts and addresses are allowed).
    """
    if client is None:
        client = _client(frozenset(host.lower() for host in allowed_hosts))
    try:
        # httpx's own timeouts are per connect/read; a drip-fed body needs a deadline on the whole.
        async with asyncio.timeout(timeout):
            return await _download(client, url, max_bytes=max_bytes, timeout=timeout)
    except TimeoutError:
        raise ImageUnavailable("timeout") from None
    except AddressRefused as error:
        raise ImageUnavailable(error.reason) from None
    except httpx.HTTPError as error:
        raise ImageUnavailable(f"http_error:{type(error).__name__}") from None
    except OSError as error:
        raise ImageUnavailable(f"os_error:{type(error).__name__}") from None


def sniff_mime_type(data: bytes) -> str | None:
    """The image type by its signature; headers and file names are not trusted."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# One client per event loop (its pooled connections belong to that loop) and allow-list.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[frozenset[str], httpx.AsyncClient]]
_clients = weakref.WeakKeyDictionary()
_clients_lock = threading.Lock()


def _client(allowed_hosts: frozenset[str]) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    with _clients_lock:
        per_loop = _clients.setdefault(loop, {})
        client = per_loop.get(allowed_hosts)
        if client is None:
            client = build_client(backend=PinnedBackend(allowed_hosts=allowed_hosts))
            per_loop[allowed_hosts] = client
        return client


def prepare(allowed_hosts: Iterable[str]) -> None:
    """Builds the running loop's client ahead of the first image (the ASGI lifespan's start-up)."""
    _client(frozenset(host.lower() for host in allowed_hosts))


async def aclose() -> None:
    """Closes the running loop's clients (at shutdown, or at the end of a test's loop)."""
    with _clients_lock:
        per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        await client.aclose()


def reset() -> None:
    """Forgets every client (tests); connections close as their loops' clients are collected."""
    with _clients_lock:
        _clients.clear()


async def _download(client: httpx.AsyncClient, url: str, *, max_bytes: int, timeout: float) -> Image:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        raise ImageUnavailable("bad_url") from None
    for _ in range(MAX_REDIRECTS + 1):
        if target.scheme not in ("http", "https") or not target.host:
            raise ImageUnavailable("bad_url")
        async with client.stream("GET", target, timeout=timeout) as response:
            if response.is_redirect:
                location = response.headers.get("location", "")
                try:
                    target = target.join(location)
                except httpx.InvalidURL:
                    raise ImageUnavailable("bad_redirect") from None
                continue
            if response.status_code != 200:
                raise ImageUnavailable(f"status_{response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ImageUnavailable("too_large")
            data = bytearray()
            # Decoded bytes are counted, so a compressed body cannot grow past the cap either.
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise ImageUnavailable("too_large")
        mime_type = sniff_mime_type(bytes(data[:16]))
        if mime_type is None:
            raise ImageUnavailable("not_an_image")
        return Image(data=bytes(data), mime_type=mime_type)
    raise ImageUnavailable("too_many_redirects")
