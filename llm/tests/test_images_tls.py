"""Images over https through the pinned connection: TLS still sends and verifies the host's name while
the connection goes to the address that was checked, whatever DNS answers afterwards."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
import trustme

from llm.images import ImageUnavailable, fetch_image
from llm.pinning import system_resolve

from .tls import IMAGE_HOST, WAIT_SECONDS, ImageServer, Reply, pinned_client, resolve_to

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
OTHER_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(255, -1, -1)) * 8
TIMEOUT = 5.0
MB = 1024 * 1024


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def servers() -> Iterator[Callable[..., ImageServer]]:
    """Starts image servers that stop at the test's end."""
    with contextlib.ExitStack() as stack:
        yield lambda reply, **kwargs: stack.enter_context(ImageServer(reply, **kwargs))


@pytest.fixture
def clients(run) -> Iterator[Callable[[httpx.AsyncClient], httpx.AsyncClient]]:
    """Closes the clients it is given at the test's end, on the loop they were used on."""
    opened: list[httpx.AsyncClient] = []

    def keep(client: httpx.AsyncClient) -> httpx.AsyncClient:
        opened.append(client)
        return client

    yield keep
    for client in opened:
        run(client.aclose())


def fetch(run, url: str, *, client: httpx.AsyncClient | None = None, **kwargs) -> bytes:
    return run(fetch_image(url, timeout=TIMEOUT, max_bytes=5 * MB, client=client, **kwargs)).data


def reason(run, url: str, **kwargs) -> str:
    with pytest.raises(ImageUnavailable) as caught:
        fetch(run, url, **kwargs)
    return caught.value.reason


def test_an_https_image_comes_through_the_pinned_connection(run, authority, servers, clients):
    server = servers(Reply(body=JPEG), certificate=authority.issue_cert(IMAGE_HOST))
    lookups: list[str] = []
    client = clients(pinned_client(authority, resolve=resolve_to("127.0.0.1", lookups)))

    assert fetch(run, server.url(host=IMAGE_HOST), client=client) == JPEG

    assert lookups == [IMAGE_HOST]
    connection = server.only_connection()
    # Connected to the checked address, while TLS and the request still name the host.
    assert connection.local_address == "127.0.0.1"
    assert connection.server_name == IMAGE_HOST
    assert connection.requests[0].host == f"{IMAGE_HOST}:{server.port}"


def test_a_certificate_for_another_name_is_refused(run, authority, servers, clients):
    server = servers(Reply(body=JPEG), certificate=authority.issue_cert("other.test"))
    client = clients(pinned_client(authority))

    assert reason(run, server.url(host=IMAGE_HOST), client=client) == "http_error:ConnectError"

    connection = server.only_connection(ended=True)
    assert connection.server_name == IMAGE_HOST
    assert connection.tls_error is not None
    assert connection.requests == []


def test_a_certificate_from_an_untrusted_authority_is_refused(run, authority, servers, clients):
    server = servers(Reply(body=JPEG), certificate=trustme.CA().issue_cert(IMAGE_HOST))
    client = clients(pinned_client(authority))

    assert reason(run, server.url(host=IMAGE_HOST), client=client) == "http_error:ConnectError"

    connection = server.only_connection(ended=True)
    assert (connection.server_name, connection.requests) == (IMAGE_HOST, [])
    assert connection.tls_error is not None


def test_the_shared_client_does_not_trust_a_test_authority(run, authority, servers):
    # What production uses: only the test's own clients are given the test authority.
    server = servers(Reply(body=JPEG), certificate=authority.issue_cert("127.0.0.1"))

    assert reason(run, server.url(), allowed_hosts=["127.0.0.1"]) == "http_error:ConnectError"

    connection = server.only_connection(ended=True)
    assert connection.tls_error is not None
    assert connection.requests == []


def test_a_connection_verified_for_one_name_is_not_reused_for_another(run, authority, servers, clients):
    # Both names resolve to the same address; the pool must not treat them as one destination.
    server = servers(Reply(body=JPEG), certificate=authority.issue_cert(IMAGE_HOST))
    client = clients(pinned_client(authority))

    assert fetch(run, server.url(host=IMAGE_HOST), client=client) == JPEG
    assert reason(run, server.url(host="other.test"), client=client) == "http_error:ConnectError"

    first, second = server.connections
    assert second.ended.wait(WAIT_SECONDS)
    assert (first.server_name, second.server_name) == (IMAGE_HOST, "other.test")
    assert second.requests == []


@pytest.fixture
def twin_servers(authority, servers) -> tuple[ImageServer, ImageServer]:
    """The same name's certificate on 127.0.0.1 and on 127.0.0.2, at one port, each with its own image."""
    certificate = authority.issue_cert(IMAGE_HOST)
    for _ in range(5):
        first = servers(Reply(body=JPEG), certificate=certificate)
        try:
            second = servers(
                Reply(body=OTHER_JPEG), host="127.0.0.2", port=first.port, certificate=certificate
            )
        except OSError:
            continue
        return first, second
    pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")


def test_the_connection_goes_to_the_checked_address_when_dns_changes_its_answer(
    run, authority, twin_servers, clients, monkeypatch
):
    """DNS rebinding: the name's first answer is checked and allowed, every later one points elsewhere."""
    first, second = twin_servers
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        # anyio asks by the name's bytes, asyncio by its text.
        name = host.decode("ascii") if isinstance(host, bytes) else host
        if name != IMAGE_HOST:
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(name)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    # Under the module's own resolver, which asks the loop, which asks getaddrinfo.
    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    client = clients(pinned_client(authority, resolve=system_resolve))

    assert fetch(run, first.url(host=IMAGE_HOST), client=client) == JPEG

    assert lookups == [IMAGE_HOST]
    assert first.only_connection().server_name == IMAGE_HOST
    assert second.connections == []
