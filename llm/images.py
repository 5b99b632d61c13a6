"""Safe download of an outfit's image for the prompt: public addresses only, bounded in time and size.

The address check is pinned to the connection: a network backend resolves the host once, refuses
the whole answer if any address is loopback, private, link-local, reserved, multicast or a cloud
metadata address, and connects to the very address it checked (TLS still verifies and sends SNI for
the host name), so a DNS answer cannot change between the check and the connect. Redirects are
followed by hand, each hop going through the same check. Hosts in LLM_IMAGE_ALLOWED_HOSTS skip the
address check (the demo serves its images from 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import httpcore
import httpx

MAX_REDIRECTS = 3
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class Image:
    """Downloaded image bytes and the MIME type their signature says they are."""

    data: bytes = field(repr=False)
    mime_type: str


class ImageUnavailable(Exception):
    """The image cannot be used; `reason` is a short code, safe to log (no bytes, no query string)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def fetch_image(
    url: str, *, timeout: float, max_bytes: int, allowed_hosts: Iterable[str] = ()
) -> Image:
    """The image at `url`, or ImageUnavailable: `timeout` bounds the whole download, redirects included."""
    client = _client(frozenset(host.lower() for host in allowed_hosts))
    try:
        # httpx's own timeouts are per connect/read; a drip-fed body needs a deadline on the whole.
        async with asyncio.timeout(timeout):
            return await _download(client, url, max_bytes=max_bytes, timeout=timeout)
    except TimeoutError:
        raise ImageUnavailable("timeout") from None
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


def is_public_address(address: str) -> bool:
    """Whether connecting to `address` reaches the public internet and nothing of ours."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 goes where the IPv4 address goes.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _METADATA_ADDRESSES:
        return False
    return ip.is_global and not ip.is_multicast


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, through the running loop's getaddrinfo."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to checked addresses, and to exactly the address it checked."""

    def __init__(
        self,
        *,
        allowed_hosts: frozenset[str] = frozenset(),
        resolve: Resolver = system_resolve,
        is_allowed_address: Callable[[str], bool] = is_public_address,
    ) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allowed_hosts = allowed_hosts
        self._resolve = resolve
        self._is_allowed_address = is_allowed_address

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.lower().strip("[]") in self._allowed_hosts:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            try:
                addresses = await self._resolve(host, port)
            except OSError:
                raise ImageUnavailable("dns_error") from None
        if not addresses:
            raise ImageUnavailable("dns_error")
        if not all(self._is_allowed_address(address) for address in addresses):
            raise ImageUnavailable("blocked_address")
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise ImageUnavailable("unix_socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, backend: httpcore.AsyncNetworkBackend, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx offers no network_backend argument; the pool it built is unused and replaced here.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def build_client(*, backend: httpcore.AsyncNetworkBackend) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.AsyncClient(
        transport=_PinnedTransport(backend=backend, limits=limits),
        follow_redirects=False,
        # No proxies from the environment: the address check must see the real destination.
        trust_env=False,
        headers={"Accept": "image/jpeg, image/png, image/webp, image/gif;q=0.8, */*;q=0.1"},
    )


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
