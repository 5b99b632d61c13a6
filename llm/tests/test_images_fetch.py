"""The size cap on the wire: a declared length over it is refused before any of the body is read, a body
that grows past it is cut. In the clear through the shared client, and over TLS through a pinned one."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterator

import pytest
import trustme

from llm.images import ImageUnavailable, fetch_image

from .tls import IMAGE_HOST, ImageServer, Reply, pinned_client

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
CAP = 1024 * 1024
# Only a failing test waits this long: a client that reads what it should refuse.
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(params=["http", "https"])
def scheme(request) -> str:
    return request.param


@pytest.fixture
def serve(scheme, authority) -> Iterator[Callable[[Reply], ImageServer]]:
    """Starts image servers, in the clear or over TLS as the scheme says, that stop at the test's end."""
    certificate = authority.issue_cert(IMAGE_HOST) if scheme == "https" else None
    with contextlib.ExitStack() as stack:
        yield lambda reply: stack.enter_context(ImageServer(reply, certificate=certificate))


@pytest.fixture
def fetch(scheme, authority, run) -> Iterator[Callable[[ImageServer], bytes]]:
    """Fetches the server's image under the cap: http as production does, https pinned to 127.0.0.1."""
    client = pinned_client(authority) if scheme == "https" else None
    host = IMAGE_HOST if scheme == "https" else None

    def fetch(server: ImageServer) -> bytes:
        image = run(fetch_image(
            server.url(host=host), timeout=TIMEOUT, max_bytes=CAP, allowed_hosts=["127.0.0.1"], client=client
        ))
        return image.data

    yield fetch
    if client is not None:
        run(client.aclose())


def reason(fetch: Callable[[ImageServer], bytes], server: ImageServer) -> str:
    with pytest.raises(ImageUnavailable) as caught:
        fetch(server)
    return caught.value.reason


def test_a_declared_length_over_the_cap_is_refused_unread(serve, fetch):
    # The headers promise one byte too many and no body follows: a client that began reading would
    # wait for it until its deadline.
    server = serve(Reply(declared_length=CAP + 1))

    assert reason(fetch, server) == "too_large"

    connection = server.only_connection(ended=True)
    assert connection.hung_up
    assert connection.body_bytes_sent == 0


def test_a_declared_length_at_the_cap_is_read(serve, fetch):
    body = JPEG + bytes(CAP - len(JPEG))
    server = serve(Reply(body=body))

    assert fetch(server) == body


def test_a_body_cut_short_by_the_server_is_an_http_error(serve, fetch):
    # Raised while the body streams: still an error of httpx's family, which fetch_image reports.
    server = serve(Reply(body=JPEG, declared_length=len(JPEG) + 1, close_early=True))

    assert reason(fetch, server) == "http_error:RemoteProtocolError"


BODIES_WITHOUT_A_TRUE_LENGTH = {
    "chunked": Reply(body=JPEG, framing="chunked", endless=True),
    "until_closed": Reply(body=JPEG, framing="close", endless=True),
    # The Content-Length is true of the compressed bytes (a few kB) and says nothing of the image.
    "gzip": Reply(
        body=gzip.compress(JPEG + bytes(8 * CAP)),
        headers=(("Content-Type", "image/jpeg"), ("Content-Encoding", "gzip")),
    ),
}


@pytest.mark.parametrize("reply", BODIES_WITHOUT_A_TRUE_LENGTH.values(), ids=BODIES_WITHOUT_A_TRUE_LENGTH)
def test_a_body_that_grows_past_the_cap_is_cut(serve, fetch, reply):
    server = serve(reply)

    assert reason(fetch, server) == "too_large"

    connection = server.only_connection(ended=True)
    if reply.endless:
        # The client hung up mid-body, long before the server would have stopped.
        assert connection.hung_up
        assert connection.body_bytes_sent < 64 * CAP
