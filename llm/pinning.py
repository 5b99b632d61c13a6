"""Connections pinned to checked addresses, for fetching what a URL names from outside.

A network backend resolves the host once, refuses the whole answer if any address is loopback,
private, link-local, reserved, multicast or a cloud metadata address, and connects to the very
address it checked (TLS still verifies and sends SNI for the host name), so a DNS answer cannot
change between the check and the connect. The backend sits under an httpcore connection pool that
an httpx transport of our own drives, all through the two libraries' public API (httpx's own
transport takes no network backend). Hosts in an allow-list skip the address check.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator

import httpcore
import httpx

_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """No connection was made: `reason` is a short code, safe to log ("blocked_address", "dns_error",
    "unix_socket")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Resolver = Callable[[str, int], Awaitable[list[str]]]


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
    # An INET or INET6 sockaddr: its first member is the address as a string.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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
                raise AddressRefused("dns_error") from None
        if not addresses:
            raise AddressRefused("dns_error")
        if not all(self._is_allowed_address(address) for address in addresses):
            raise AddressRefused("blocked_address")
        # Each checked address in turn; when none connects, the last one's error is the answer.
        for address in addresses[:-1]:
            with contextlib.suppress(httpcore.ConnectError, httpcore.ConnectTimeout):
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
        return await self._inner.connect_tcp(addresses[-1], port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix_socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncBaseTransport):
    """httpx's requests over an httpcore pool whose connections `backend` opens.

    httpx's own transport builds its pool without a network backend argument, so this one builds
    the pool itself: httpcore's pool and backends and httpx's transport interface are public API.
    """

    def __init__(
        self, *, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext, limits: httpx.Limits
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The pool is keyed by the URL's host, never by an address: a pooled connection is only
        # reused for the host name its certificate was verified for.
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = await self._pool.handle_async_request(core_request)
        if not isinstance(core_response.stream, AsyncIterable):  # never, from an async pool
            raise TypeError("httpcore's async pool returned a synchronous stream")
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        # Gives the connection back to the pool, or closes it if the body was not read to its end.
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


# httpcore's errors as the httpx errors of the same name, as httpx's own transport raises them.
_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
}


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        # The most specific match: the first of the error's classes that has a counterpart.
        for kind in type(error).__mro__:
            if kind in _HTTPX_ERRORS:
                raise _HTTPX_ERRORS[kind](str(error)) from error
        raise


def build_client(
    *, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    """A client whose every connection `backend` opens; TLS verifies with `ssl_context`, by default
    against httpx's bundled authorities (certifi), ignoring SSL_CERT_FILE and SSL_CERT_DIR."""
    if ssl_context is None:
        ssl_context = httpx.create_ssl_context(trust_env=False)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.AsyncClient(
        transport=_PinnedTransport(backend=backend, ssl_context=ssl_context, limits=limits),
        follow_redirects=False,
        # No proxies from the environment: the address check must see the real destination.
        trust_env=False,
        headers={"Accept": "image/jpeg, image/png, image/webp, image/gif;q=0.8, */*;q=0.1"},
    )
