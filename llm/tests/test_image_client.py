"""The image client's own settings, as the service builds it (llm.pinning.build_client with its
defaults): what it asks for, and that it trusts no certificate authority the environment names."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
import trustme

from llm.images import ImageUnavailable, fetch_image
from llm.pinning import PinnedBackend, build_client

from .tls import IMAGE_HOST, ImageServer, Reply, resolve_to

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


@pytest.fixture
def servers() -> Iterator[Callable[..., ImageServer]]:
    with contextlib.ExitStack() as stack:
        yield lambda reply, **kwargs: stack.enter_context(ImageServer(reply, **kwargs))


def default_client() -> httpx.AsyncClient:
    """build_client as the service calls it: its default TLS context, a backend allowing loopback."""
    backend = PinnedBackend(resolve=resolve_to("127.0.0.1"), is_allowed_address=lambda a: a == "127.0.0.1")
    return build_client(backend=backend)


async def fetched(url: str) -> bytes:
    async with default_client() as client:
        return (await fetch_image(url, timeout=5, max_bytes=1 << 20, client=client)).data


def test_it_asks_for_images(run, servers):
    server = servers(Reply(body=JPEG))

    assert run(fetched(server.url())) == JPEG

    [request] = server.only_connection().requests
    assert request.accept == "image/jpeg, image/png, image/webp, image/gif;q=0.8, */*;q=0.1"


def test_a_certificate_authority_named_in_the_environment_is_not_trusted(run, servers, monkeypatch, tmp_path):
    authority = trustme.CA()
    server = servers(Reply(body=JPEG), certificate=authority.issue_cert(IMAGE_HOST))
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))

    with pytest.raises(ImageUnavailable) as caught:
        run(fetched(server.url(host=IMAGE_HOST)))

    assert caught.value.reason == "http_error:ConnectError"
    assert server.only_connection(ended=True).tls_error is not None


def test_it_keeps_twenty_idle_connections_for_the_next_page(run, servers):
    # A page fetches its images at once. The host holds every answer until all 25 requests are in:
    # 25 connections; of those the pool keeps 20 open, so the next page's 25 open 5 more.
    gate = threading.Event()
    server = servers(Reply(body=JPEG), gate=gate)

    async def page(client: httpx.AsyncClient, connections: int) -> bool:
        fetches = [
            asyncio.ensure_future(fetch_image(server.url(), timeout=10, max_bytes=1 << 20, client=client))
            for _ in range(25)
        ]
        opened = await _until(lambda: len(server.connections) == connections, timeout=10)
        gate.set()
        await asyncio.gather(*fetches)
        gate.clear()
        return opened

    async def pages() -> list[bool]:
        async with default_client() as client:
            return [await page(client, 25), await page(client, 30)]

    assert run(pages()) == [True, True]
    assert len(server.connections) == 30
    assert sorted(len(connection.requests) for connection in server.connections) == [1] * 10 + [2] * 20


async def _until(predicate: Callable[[], bool], *, timeout: float) -> bool:
    """Polls `predicate` (the server's threads change what it reads) until true, `timeout` s at most."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True
