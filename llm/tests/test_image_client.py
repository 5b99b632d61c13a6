"""The image client's own settings, as the service builds it (llm.pinning.build_client with its
defaults): what it asks for, and that it trusts no certificate authority the environment names."""

from __future__ import annotations

import contextlib
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
