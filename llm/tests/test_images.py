"""The image download: what reaches Gemini, and what never does (private addresses, huge or stalled
bodies)."""

from __future__ import annotations

import pytest

from llm.images import ImageUnavailable, fetch_image, sniff_mime_type
from llm.pinning import AddressRefused, PinnedBackend, build_client, is_public_address
from llm.service import generate_message_results
from llm.testing import ImageRoute

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
MB = 1024 * 1024


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (GIF, "image/gif"), (b"GIF87a....", "image/gif"),
     (WEBP, "image/webp"), (b"RIFF\x24\x00\x00\x00WAVEfmt ", None), (b"<html>", None),
     (b"hello, world", None), (b"", None), (b"\xff\xd8", None)],
)
def test_the_type_comes_from_the_bytes(data, mime_type):
    assert sniff_mime_type(data) == mime_type


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
     "169.254.1.1", "0.0.0.0", "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
     "::1", "::", "fd00:ec2::254", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
     "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "[::1]", "localhost", "not an address"],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(address)


def fetch(run, url, *, timeout=3.0, max_bytes=5 * MB, allowed_hosts=("127.0.0.1",)):
    return run(fetch_image(url, timeout=timeout, max_bytes=max_bytes, allowed_hosts=allowed_hosts))


def test_an_image_is_fetched(standin, run):
    image = fetch(run, standin.add_image("a.jpg", ImageRoute(body=JPEG, content_type="image/png")))

    assert (image.data, image.mime_type) == (JPEG, "image/jpeg")
    assert "data" not in repr(image) and "JFIF" not in repr(image)


def reason(run, url, **kwargs) -> str:
    with pytest.raises(ImageUnavailable) as caught:
        fetch(run, url, **kwargs)
    return caught.value.reason


def test_a_missing_image(standin, run):
    assert reason(run, standin.image_url("missing.jpg")) == "status_404"


def test_not_an_image(standin, run):
    url = standin.add_image("notes.jpg", ImageRoute(body=b"just some text\n", content_type="image/jpeg"))

    assert reason(run, url) == "not_an_image"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.jpg", "file:///etc/passwd", "data:image/png;base64,AAAA",
                                 "http://", "not a url"])
def test_only_http_urls(run, url, standin):
    assert reason(run, url) == "bad_url"


def test_a_stalled_body_is_cut_at_the_deadline(standin, run):
    url = standin.add_image("stall.jpg", ImageRoute(body=JPEG, size=MB, stall=True))

    # The body never ends on its own: the download's deadline cut it.
    assert reason(run, url, timeout=0.5) == "timeout"
    assert standin.wait_until(lambda s: s.image_hits[0].disconnected)


def test_a_slow_server_is_cut_at_the_deadline(standin, run):
    url = standin.add_image("slow.jpg", ImageRoute(body=JPEG, delay=30))

    # 30 s before the first byte: the download's deadline came first.
    assert reason(run, url, timeout=0.5) == "timeout"


def test_a_huge_body_is_refused_by_its_length(standin, run):
    url = standin.add_image("huge.jpg", ImageRoute(body=JPEG, size=50 * MB))

    assert reason(run, url, max_bytes=1 * MB) == "too_large"
    assert standin.wait_until(lambda s: s.image_hits[0].disconnected)
    assert standin.image_hits[0].bytes_sent < 10 * MB


def test_a_huge_body_without_length_is_stopped_early(standin, run):
    url = standin.add_image("huge.jpg", ImageRoute(body=JPEG, size=50 * MB, content_length=False))

    assert reason(run, url, max_bytes=1 * MB) == "too_large"
    assert standin.wait_until(lambda s: s.image_hits[0].disconnected)
    # The client hung up after about a megabyte; only socket buffers' worth more left the server.
    assert standin.image_hits[0].bytes_sent < 25 * MB


def test_the_cap_is_inclusive(standin, run):
    body = JPEG + bytes(1 * MB - len(JPEG))
    url = standin.add_image("exact.jpg", ImageRoute(body=body, content_length=False))

    assert len(fetch(run, url, max_bytes=1 * MB).data) == 1 * MB


def test_loopback_outside_the_allow_list_is_refused_before_connecting(standin, run):
    url = standin.add_image("a.jpg", ImageRoute(body=JPEG))

    assert reason(run, url, allowed_hosts=()) == "blocked_address"
    # localhost resolves to loopback: refused by its address, not its name.
    assert reason(run, standin.image_url("a.jpg", host="localhost"), allowed_hosts=()) == "blocked_address"
    assert standin.image_hits == []


def test_redirects_are_followed_and_checked_at_every_hop(standin, run):
    final = standin.add_image("final.jpg", ImageRoute(body=JPEG))
    first = standin.add_image("first.jpg", ImageRoute(location="/images/final.jpg"))

    assert fetch(run, first).data == JPEG

    # A hop to a name that is not on the allow list but resolves to loopback.
    sneaky = standin.add_image("sneaky.jpg", ImageRoute(location=final.replace("127.0.0.1", "localhost")))
    assert reason(run, sneaky) == "blocked_address"
    scheme = standin.add_image("scheme.jpg", ImageRoute(location="file:///etc/passwd"))
    assert reason(run, scheme) == "bad_url"


def test_redirects_are_limited(standin, run):
    for hop in range(5):
        standin.add_image(f"hop{hop}.jpg", ImageRoute(location=f"/images/hop{hop + 1}.jpg", status=301))
    standin.add_image("hop5.jpg", ImageRoute(body=JPEG))

    assert reason(run, standin.image_url("hop0.jpg")) == "too_many_redirects"
    assert len(standin.image_hits) == 4
    assert fetch(run, standin.image_url("hop2.jpg")).data == JPEG


def test_the_connection_goes_to_the_address_that_was_checked(standin, run):
    """A name resolved once, checked, and connected to by that address (DNS cannot switch it)."""
    standin.add_image("pinned.jpg", ImageRoute(body=JPEG))
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    async def get() -> bytes:
        backend = PinnedBackend(resolve=resolve, is_allowed_address=lambda address: address == "127.0.0.1")
        async with build_client(backend=backend) as client:
            response = await client.get(f"http://images.invalid:{standin.port}/images/pinned.jpg")
            return response.content

    assert run(get()) == JPEG
    assert lookups == ["images.invalid"]
    # The request still named the original host.
    assert standin.image_hits[0].host == f"images.invalid:{standin.port}"


def test_one_bad_address_in_the_answer_refuses_them_all(standin, run):
    standin.add_image("pinned.jpg", ImageRoute(body=JPEG))

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "127.0.0.2"]

    async def get() -> None:
        backend = PinnedBackend(resolve=resolve, is_allowed_address=lambda address: address == "127.0.0.1")
        async with build_client(backend=backend) as client:
            await client.get(f"http://images.invalid:{standin.port}/images/pinned.jpg")

    with pytest.raises(AddressRefused, match="blocked_address"):
        run(get())
    assert standin.image_hits == []


@pytest.mark.parametrize(
    ("route", "image_status", "settings_update"),
    [
        (None, "status_404", {}),
        (ImageRoute(body=JPEG, size=MB, stall=True), "timeout", {"LLM_IMAGE_TIMEOUT_SECONDS": 0.5}),
        (ImageRoute(body=JPEG, size=50 * MB, content_length=False), "too_large", {"LLM_IMAGE_MAX_BYTES": MB}),
        (ImageRoute(body=b"plain text, not a picture"), "not_an_image", {}),
        (ImageRoute(body=JPEG), "blocked_address", {"LLM_IMAGE_ALLOWED_HOSTS": []}),
    ],
    ids=["404", "stall", "50MB", "text", "loopback"],
)
def test_without_a_usable_image_the_message_goes_text_only(
    standin, run, make_coordi, user, settings, route, image_status, settings_update
):
    for name, value in settings_update.items():
        setattr(settings, name, value)
    url = standin.add_image("look.jpg", route) if route else standin.image_url("look.jpg")
    coordis = [make_coordi(image_url=url), make_coordi()]

    results = run(generate_message_results(coordis, user))

    assert [r.outcome for r in results] == ["ok", "ok"]
    assert results[0].image_status == image_status
    assert all(request.images == () for request in standin.requests)
    assert len(standin.requests) == 2


def test_a_stalled_image_leaves_time_for_the_message(standin, run, make_coordi, user, settings):
    # The image has its own budget; the call's starts when the image is given up.
    settings.LLM_TIMEOUT_SECONDS = 2
    settings.LLM_IMAGE_TIMEOUT_SECONDS = 0.3
    url = standin.add_image("stall.jpg", ImageRoute(body=JPEG, stall=True, size=MB))

    [result] = run(generate_message_results([make_coordi(image_url=url)], user))

    assert (result.outcome, result.image_status) == ("ok", "timeout")


def test_the_pinned_backend_opens_no_unix_socket(run):
    backend = PinnedBackend(allowed_hosts=frozenset())

    with pytest.raises(AddressRefused) as refused:
        run(backend.connect_unix_socket("/var/run/docker.sock"))

    assert refused.value.reason == "unix_socket"


def test_the_pinned_backend_sleeps_as_its_inner_backend(run):
    # httpcore's retries wait through the backend; a wait that breaks would fail every retry.
    assert run(PinnedBackend(allowed_hosts=frozenset()).sleep(0.001)) is None
