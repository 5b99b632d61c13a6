"""An image shown with many messages is downloaded and downscaled once, not once per call."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from llm import prepared
from llm.facts import UserFacts
from llm.images import Image, ImageUnavailable
from llm.service import generate_message_results
from llm.testing import ImageRoute, picture

OTHER_READER = UserFacts(id=8, name="서연", gender="female")


def images_counted(result: str) -> float:
    return REGISTRY.get_sample_value("llm_images_total", {"result": result}) or 0.0


def test_readers_of_the_same_outfit_share_one_download(standin, run, make_coordi, user):
    url = standin.add_image("shared.png", ImageRoute(body=picture(30, 40, format="PNG")))
    outfit = make_coordi(image_url=url)
    reused_before = images_counted("reused")

    first = run(generate_message_results([outfit], user))
    second = run(generate_message_results([outfit], OTHER_READER))

    assert [r.image_status for r in first + second] == ["sent", "sent"]
    assert len(standin.image_hits) == 1
    assert [[(i.width, i.height) for i in r.images] for r in standin.requests] == [[(30, 40)]] * 2
    assert images_counted("reused") == reused_before + 1


def test_outfits_of_one_page_with_one_image_download_it_once(standin, run, make_coordi, user):
    url = standin.add_image("same.png", ImageRoute(body=picture(format="PNG"), delay=0.2))

    results = run(generate_message_results([make_coordi(image_url=url) for _ in range(4)], user))

    assert [r.image_status for r in results] == ["sent"] * 4
    assert len(standin.image_hits) == 1
    assert all(len(request.images) == 1 for request in standin.requests)


def test_a_failure_is_not_kept(standin, run, make_coordi, user):
    url = standin.add_image("later.png", ImageRoute(status=404))
    outfit = make_coordi(image_url=url)

    [missing] = run(generate_message_results([outfit], user))
    standin.add_image("later.png", ImageRoute(body=picture(format="PNG")))
    [found] = run(generate_message_results([outfit], OTHER_READER))

    assert (missing.image_status, found.image_status) == ("status_404", "sent")
    assert len(standin.image_hits) == 2


def test_an_image_made_smaller_another_way_is_made_again(standin, run, make_coordi, user, settings):
    url = standin.add_image("big.png", ImageRoute(body=picture(400, 200, format="PNG")))
    outfit = make_coordi(image_url=url)

    run(generate_message_results([outfit], user))
    settings.LLM_IMAGE_MAX_SIDE = 100
    run(generate_message_results([outfit], OTHER_READER))

    assert [(r.images[0].width, r.images[0].height) for r in standin.requests] == [(400, 200), (100, 50)]


def test_an_image_from_a_host_no_longer_allowed_is_not_reused(standin, run, make_coordi, user, settings):
    url = standin.add_image("local.png", ImageRoute(body=picture(format="PNG")))
    outfit = make_coordi(image_url=url)

    [allowed] = run(generate_message_results([outfit], user))
    settings.LLM_IMAGE_ALLOWED_HOSTS = []  # the stand-in's loopback address is refused again
    [refused] = run(generate_message_results([outfit], OTHER_READER))

    assert allowed.image_status == "sent"
    assert refused.image_status not in ("sent", "none")
    assert [len(r.images) for r in standin.requests] == [1, 0]


IMAGE = Image(data=b"jpeg", mime_type="image/jpeg", width=1, height=1)


def test_a_caller_that_stops_waiting_does_not_cancel_the_others(run):
    release = asyncio.Event()
    made = []

    async def make() -> Image:
        made.append(1)
        await release.wait()
        return IMAGE

    async def two_callers() -> tuple[bool, tuple[Image, bool]]:
        first = asyncio.ensure_future(prepared.ready_image("k", make))
        second = asyncio.ensure_future(prepared.ready_image("k", make))
        await asyncio.sleep(0)  # both are waiting on the one task
        first.cancel()
        release.set()
        return (await asyncio.gather(first, return_exceptions=True))[0].__class__ is asyncio.CancelledError, (
            await second
        )

    first_cancelled, (image, reused) = run(two_callers())

    assert first_cancelled and (image, reused) == (IMAGE, True) and made == [1]
    assert run(prepared.ready_image("k", make)) == (IMAGE, True) and made == [1]


def test_a_failure_reaches_every_waiter(run):
    async def refuse() -> Image:
        await asyncio.sleep(0)
        raise ImageUnavailable("undecodable")

    async def two_callers() -> list[BaseException | tuple[Image, bool]]:
        calls = [prepared.ready_image("bad", refuse) for _ in range(2)]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    outcomes = run(two_callers())

    assert [getattr(o, "reason", None) for o in outcomes] == ["undecodable", "undecodable"]


def test_at_most_kept_images_for_at_most_keep_seconds(run, monkeypatch):
    made: list[str] = []

    def maker(key: str):
        async def make() -> Image:
            made.append(key)
            return IMAGE
        return make

    monkeypatch.setattr(prepared, "KEPT", 2)
    for key in ("a", "b", "a", "c", "a", "b"):
        run(prepared.ready_image(key, maker(key)))
    # a b (a reused, so b is the oldest) c evicts b; a reused; b made again, evicting c.
    assert made == ["a", "b", "c", "b"]

    monkeypatch.setattr(prepared, "KEPT", 100)
    monkeypatch.setattr(prepared, "KEPT_BYTES", 2 * len(IMAGE.data))
    prepared.reset()
    for key in ("x", "y", "z", "x"):
        run(prepared.ready_image(key, maker(key)))
    assert made[-4:] == ["x", "y", "z", "x"]  # two images' bytes: z pushed x out

    monkeypatch.setattr(prepared, "KEEP_SECONDS", 0.0)
    prepared.reset()
    run(prepared.ready_image("a", maker("a")))
    run(prepared.ready_image("a", maker("a")))
    assert made[-2:] == ["a", "a"]


@pytest.fixture(autouse=True)
def _nothing_kept():
    prepared.reset()
