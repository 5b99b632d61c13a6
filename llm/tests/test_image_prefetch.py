"""A page's images are fetched as soon as the page is known, outside the Gemini slots: a second
wave of calls finds its images ready instead of fetching them after the first wave ends."""

from __future__ import annotations

import asyncio

from llm.service import generate_message_results
from llm.testing import ImageRoute, picture

PNG = picture(format="PNG")


def test_every_image_is_fetched_while_the_first_call_still_holds_the_only_slot(
    standin, run, make_coordi, user, settings
):
    settings.LLM_MAX_CONCURRENCY = 1
    coordis = [
        make_coordi(image_url=standin.add_image(f"look-{n}.png", ImageRoute(body=PNG))) for n in range(3)
    ]
    standin.hold()

    async def page():
        making = asyncio.ensure_future(generate_message_results(coordis, user))
        assert await asyncio.to_thread(standin.wait_until, lambda s: s.held == 1, timeout=10)
        fetched_meanwhile = await asyncio.to_thread(
            standin.wait_until, lambda s: sum(hit.finished for hit in s.image_hits) == 3, timeout=10
        )
        held_meanwhile = standin.held
        standin.release()
        return fetched_meanwhile, held_meanwhile, await making

    fetched_meanwhile, held_meanwhile, results = run(page())

    # All three images were downloaded while one call, alone in its slot, was at Gemini.
    assert fetched_meanwhile and held_meanwhile == 1
    assert [(r.outcome, r.image_status) for r in results] == [("ok", "sent")] * 3
    assert [[image.mime_type for image in r.images] for r in standin.requests] == [["image/jpeg"]] * 3
    assert len(standin.image_hits) == 3  # each image fetched once


def test_images_are_fetched_as_many_at_once_as_calls_in_page_order(standin, run, make_coordi, user, settings):
    settings.LLM_MAX_CONCURRENCY = 2
    # The first two answer slowly: the next two start only as one of them ends.
    routes = [ImageRoute(body=PNG, delay=0.3), ImageRoute(body=PNG, delay=0.3), ImageRoute(body=PNG),
              ImageRoute(body=PNG)]  # fmt: skip
    coordis = [
        make_coordi(image_url=standin.add_image(f"order-{n}.png", route)) for n, route in enumerate(routes)
    ]

    results = run(generate_message_results(coordis, user))

    assert [r.image_status for r in results] == ["sent"] * 4
    hits = standin.image_hits
    assert {hit.name for hit in hits[:2]} == {"order-0.png", "order-1.png"}
    assert {hit.name for hit in hits[2:]} == {"order-2.png", "order-3.png"}
    assert max(hit.at_once for hit in hits) == 2
