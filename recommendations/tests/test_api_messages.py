"""llmMessage through the API, against the Gemini stand-in: filled, isolated per outfit, optional."""

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from llm.testing import Behaviour, ImageRoute, picture
from recommendations import background
from recommendations.models import CoordiImage, CoordiItem

from .factories import make_coordi, make_item, make_user

URL = "/api/recommendations"
pytestmark = pytest.mark.django_db

PNG = picture(12, 16, format="PNG")


@pytest.fixture
def user():
    return make_user(name="박서연", gender="female")


def outfits(client, auth, **params):
    response = client.get(URL, params, headers=auth)
    assert response.status_code == 200
    return response.json()["data"]["outfits"]


def test_every_outfit_gets_its_message_written_from_its_facts(client, auth, standin):
    coordis = [
        make_coordi(style="street", season="winter", description=f"패딩과 카고 팬츠 룩 {n}")
        for n in range(3)
    ]

    shown = outfits(client, auth)

    assert len(standin.requests) == 3
    assert all(outfit["llmMessage"] and "박서연" in outfit["llmMessage"] for outfit in shown)
    assert [outfit["llmMessageStatus"] for outfit in shown] == ["ready"] * 3
    prompts = sorted(request.prompt for request in standin.requests)
    for coordi, prompt in zip(sorted(coordis, key=lambda c: c.description), prompts, strict=True):
        assert coordi.description in prompt
        assert "박서연" in prompt
        assert "street" in prompt and "winter" in prompt


def test_the_items_reach_the_prompt_in_order_and_their_prices_never(client, auth, standin):
    coordi = make_coordi(items=0, description="주말 나들이 룩 #니트 #에디터_김하늘 #모노신상")
    for position, (category, name, price) in enumerate(
        [("outer", "울 블레이저", 129000), ("top", "코튼 셔츠", 49000), ("bottom", "와이드 슬랙스", 69000)]
    ):
        item = make_item(category=category, name=name, brand="모노", price=price)
        CoordiItem.objects.create(coordi=coordi, item=item, position=position)

    outfits(client, auth)

    [request] = standin.requests
    listed = [
        "- 아우터 (outer): 모노 울 블레이저",
        "- 상의 (top): 모노 코튼 셔츠",
        "- 하의 (bottom): 모노 와이드 슬랙스",
    ]
    assert "\n".join(["items:", *listed, "</data>"]) in request.prompt
    assert "description: 주말 나들이 룩 #니트\n" in request.prompt
    assert not any(str(price) in request.prompt for price in (129000, 49000, 69000, "129,000"))


def test_the_main_image_goes_to_gemini(client, auth, standin):
    coordi = make_coordi(images=1, main_image=0)
    url = standin.add_image("main.png", ImageRoute(body=PNG, content_type="image/png"))
    CoordiImage.objects.filter(coordi=coordi).update(image_url=url)

    outfits(client, auth)

    [request] = standin.requests
    [image] = request.images
    # Re-encoded on its way (llm.downscale), at its own size.
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 12, 16)


def test_one_outfits_failure_costs_only_that_outfits_message(client, auth, standin):
    faults = {
        "safety": Behaviour("safety"),
        "error": Behaviour("error"),
        "rate_limited": Behaviour("rate_limited"),
        "garbage": Behaviour("garbage"),
        "block_reason": Behaviour("block_reason"),
        "too_long": Behaviour("text", text="서연님, " + "정말 " * 30 + "멋져요 🌸"),
    }
    failing = {}
    for fault, behaviour in faults.items():
        coordi = make_coordi(description=f"문제가 생기는 코디 [{fault}]")
        standin.when(f"[{fault}]", behaviour)
        failing[coordi.id] = fault
    healthy = {make_coordi(description=f"멀쩡한 코디 {n}").id for n in range(4)}

    page = outfits(client, auth)
    shown = {outfit["id"]: outfit["llmMessage"] for outfit in page}
    statuses = {outfit["id"]: outfit["llmMessageStatus"] for outfit in page}

    assert {coordi_id for coordi_id, message in shown.items() if message is None} == set(failing)
    assert {coordi_id for coordi_id, message in shown.items() if message} == healthy
    # Each failure says so; none is left pending in the blocking mode.
    assert statuses == {coordi_id: "unavailable" if coordi_id in failing else "ready" for coordi_id in shown}


def test_a_hung_gemini_is_cut_at_the_deadline_and_the_page_is_served(client, auth, standin, settings):
    settings.LLM_TIMEOUT_SECONDS = 1
    standin.set_default(Behaviour("hang"))
    make_coordi()
    make_coordi()

    shown = outfits(client, auth)

    assert [(outfit["llmMessage"], outfit["llmMessageStatus"]) for outfit in shown] == [
        (None, "unavailable")
    ] * 2
    assert standin.wait_until(lambda server: server.disconnects == 2, timeout=10)


def test_without_a_key_no_call_is_made_and_messages_are_null(client, auth, standin, settings):
    settings.GOOGLE_API_KEY = ""
    make_coordi()

    shown = outfits(client, auth)

    assert (shown[0]["llmMessage"], shown[0]["llmMessageStatus"]) == (None, "unavailable")
    assert standin.requests == []


def test_messages_cost_one_insert_when_made_and_no_query_when_cached(client, auth, standin, settings):
    for _ in range(5):
        make_coordi()
    settings.GOOGLE_API_KEY = ""
    outfits(client, auth)  # the outfit fragments cached: only the messages differ below
    with CaptureQueriesContext(connection) as without:
        outfits(client, auth)
    settings.GOOGLE_API_KEY = standin.api_key

    with CaptureQueriesContext(connection) as cold:
        assert all(outfit["llmMessage"] for outfit in outfits(client, auth))
    with CaptureQueriesContext(connection) as warm:
        assert all(outfit["llmMessage"] for outfit in outfits(client, auth))

    inserts = [q["sql"] for q in cold.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "recommendations_generatedmessage" in inserts[0]
    assert len(cold) == len(without) + 1
    assert len(warm) == len(without)
    assert len(standin.requests) == 5


@pytest.mark.django_db(transaction=True)
def test_at_the_deadline_the_page_says_which_messages_are_still_pending(auth, standin, settings):
    settings.LLM_RESPONSE_DEADLINE_SECONDS = 1.0
    quick, stuck = make_coordi(), make_coordi(description="오래 걸리는 코디 [stuck]")
    standin.when("[stuck]", Behaviour("hang"))

    async def page_then_drain():
        response = await AsyncClient().get(URL, headers=auth)
        await background.drain(timeout=0)  # the hung call: cancelled, as a shutdown would
        return response.json()["data"]["outfits"]

    shown = {outfit["id"]: outfit for outfit in async_to_sync(page_then_drain)()}

    assert shown[quick.id]["llmMessageStatus"] == "ready" and shown[quick.id]["llmMessage"]
    assert (shown[stuck.id]["llmMessageStatus"], shown[stuck.id]["llmMessage"]) == ("pending", None)
