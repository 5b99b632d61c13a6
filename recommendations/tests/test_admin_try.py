"""The admin's "Try messages" page through Django's test client, against the Gemini stand-in: the
message a chosen customer would read on each chosen outfit, fresh or from the cache, its outcome,
image and prompt, problems said plainly, and at most 20 outfits tried."""

import html
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from llm.prompts import build_prompt
from llm.testing import Behaviour
from llm.testing.images import ImageRoute, picture
from recommendations.models import CoordiImage, GeneratedMessage
from recommendations.selectors import load_outfits, user_facts

from .factories import make_coordi, make_user

pytestmark = pytest.mark.django_db

TRY = reverse("admin:recommendations_coordi_try")
COORDIS = reverse("admin:recommendations_coordi_changelist")


@pytest.fixture
def minjun():
    return make_user(email="minjun@example.com", name="민준", gender="male")


def coordi_with_image(standin, **fields):
    """A coordi whose main image the stand-in serves (the factories' images are unreachable)."""
    coordi = make_coordi(images=1, main_image=0, **fields)
    url = standin.add_image(f"coordi-{coordi.id}.jpg", ImageRoute(body=picture(64, 64)))
    CoordiImage.objects.filter(coordi=coordi).update(image_url=url)
    return coordi


def try_page(client, customer, coordis, *, source="fresh"):
    return client.post(
        TRY, {"customer": customer.pk, "coordis": [coordi.id for coordi in coordis], "source": source}
    )


def shown_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def article(page: str, coordi_id: int) -> str:
    """One outfit's part of the page."""
    start = page.index(f'id="tried-{coordi_id}"')
    return page[start : page.index("</article>", start)]


def test_the_page_shows_each_outfit_with_the_message_the_customer_would_read(client, staff, minjun, standin):
    coordis = [coordi_with_image(standin, gender="male", description=f"코디 설명 {n}") for n in range(2)]

    response = try_page(client, minjun, coordis)

    assert response.status_code == 200
    page = response.content.decode()
    assert "As 민준 would read them" in page and "Male" in page
    assert len(standin.requests) == 2
    assert all("민준" in request.prompt for request in standin.requests)
    assert all(request.images for request in standin.requests)
    made = {message.coordi_id: message for message in GeneratedMessage.objects.filter(user=minjun)}
    assert set(made) == {coordi.id for coordi in coordis}  # recorded for the customer, as the API does
    for coordi in coordis:
        part = article(page, coordi.id)
        assert html.escape(made[coordi.id].text or "") in part
        assert f'src="{coordi.images.get().image_url}"' in part
        assert "Casual · Spring" in part
        assert "sent with the prompt" in part
        assert "Gemini, now" in part
        assert f"{made[coordi.id].latency_ms} ms" in part


def test_the_prompt_shown_is_the_one_sent(client, staff, minjun, standin):
    coordi = coordi_with_image(standin, description="린넨 셔츠 <b>와</b> 반바지")

    page = try_page(client, minjun, [coordi]).content.decode()

    [outfit] = load_outfits([coordi.id]).values()
    prompt = build_prompt(coordi=outfit.facts(), user=user_facts(minjun))
    [sent] = standin.requests
    assert prompt.text in sent.prompt
    part = article(page, coordi.id)
    assert f"<pre>{html.escape(prompt.text)}</pre>" in part
    assert f"<pre>{html.escape(prompt.system)}</pre>" in part
    assert "<details>" in part


def test_from_the_cache_no_call_is_made_and_fresh_asks_again(client, staff, minjun, standin):
    coordi = coordi_with_image(standin)
    first = try_page(client, minjun, [coordi]).content.decode()
    assert len(standin.requests) == 1

    cached = try_page(client, minjun, [coordi], source="cache").content.decode()
    assert len(standin.requests) == 1
    assert "the cache (no call made)" in article(cached, coordi.id)
    text = GeneratedMessage.objects.get().text or ""
    assert html.escape(text) in article(first, coordi.id) and html.escape(text) in article(cached, coordi.id)

    try_page(client, minjun, [coordi], source="fresh")
    assert len(standin.requests) == 2
    assert GeneratedMessage.objects.filter(user=minjun).count() == 2  # the cached look made no row


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        (Behaviour("rate_limited"), "rate limited: Gemini answered 429 (quota exhausted)"),
        (Behaviour("error"), "Gemini answered with an error (HTTP 500)"),
        (Behaviour("safety"), "Gemini blocked the message (SAFETY)"),
        (
            Behaviour("text", text="너무 길어요 " * 10 + "🌸"),
            "Gemini's answer was refused: longer than the 50 characters",
        ),
    ],
)
def test_a_failure_is_said_plainly(client, staff, minjun, standin, behaviour, said):
    coordi = coordi_with_image(standin)
    standin.set_default(behaviour)

    part = article(try_page(client, minjun, [coordi]).content.decode(), coordi.id)

    assert f"No message: {html.escape(said)}" in part


def test_without_a_key_the_page_says_gemini_is_not_configured(client, staff, minjun, standin, settings):
    settings.GOOGLE_API_KEY = ""
    coordi = coordi_with_image(standin)

    part = article(try_page(client, minjun, [coordi]).content.decode(), coordi.id)

    assert "No message: Gemini is not configured: GOOGLE_API_KEY is empty" in part
    assert standin.requests == []


def test_an_image_that_cannot_be_fetched_is_said_and_the_message_made_without_it(
    client, staff, minjun, standin, settings
):
    settings.LLM_IMAGE_TIMEOUT_SECONDS = 0.3
    coordi = make_coordi(images=1, main_image=0)
    stalls = ImageRoute(body=picture(64, 64), size=1_000_000, chunk_size=1024, stall=True)
    url = standin.add_image("stalls.jpg", stalls)
    CoordiImage.objects.filter(coordi=coordi).update(image_url=url)

    part = article(try_page(client, minjun, [coordi]).content.decode(), coordi.id)

    assert "the image could not be fetched: timeout" in part
    [sent] = standin.requests
    assert not sent.images
    assert html.escape(GeneratedMessage.objects.get().text or "") in part


def test_more_than_twenty_outfits_the_first_twenty_are_tried_and_the_page_says_so(
    client, staff, minjun, standin
):
    coordis = [make_coordi(images=0, items=0) for _ in range(22)]

    response = try_page(client, minjun, coordis)

    assert shown_messages(response) == [("warning", "22 outfits were chosen: the first 20 were tried.")]
    assert len(standin.requests) == 20
    tried = set(GeneratedMessage.objects.values_list("coordi_id", flat=True))
    assert tried == {coordi.id for coordi in coordis[:20]}  # the first 20 in the order given


def test_the_list_action_opens_the_page_with_the_chosen_outfits(client, staff, standin):
    coordis = [make_coordi(description=f"골라 둔 코디 {n}") for n in range(3)]

    response = client.post(
        COORDIS,
        {"action": "try_messages", "index": "0", "_selected_action": [coordi.id for coordi in coordis[:2]]},
    )

    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == TRY
    page = client.get(response.url).content.decode()
    for coordi in coordis[:2]:
        assert f'<option value="{coordi.id}" selected>' in page
    assert f'<option value="{coordis[2].id}"' not in page
    assert standin.requests == []  # nothing is paid for until a customer is chosen and sent
    assert parse_qs(target.query)["chosen"] == ["2"]


def test_the_action_on_more_than_twenty_warns_before_anything_is_tried(client, staff, standin):
    coordis = [make_coordi(images=0, items=0) for _ in range(23)]

    response = client.post(
        COORDIS, {"action": "try_messages", "index": "0", "_selected_action": [c.id for c in coordis]},
        follow=True,
    )  # fmt: skip

    assert ("warning", "23 outfits were chosen: the first 20 will be tried.") in shown_messages(response)
    assert response.content.decode().count(" selected>") == 20
    assert standin.requests == []


def test_the_coordi_page_and_the_index_link_to_the_page(client, staff):
    coordi = make_coordi()

    change = client.get(reverse("admin:recommendations_coordi_change", args=[coordi.id])).content.decode()
    index = client.get(reverse("admin:index")).content.decode()

    assert f'href="{TRY}?coordis={coordi.id}"' in change
    assert f'href="{TRY}"' in index


def test_the_customer_is_chosen_with_the_admins_autocomplete(client, staff, minjun):
    page = client.get(TRY).content.decode()
    assert 'data-ajax--url="/admin/autocomplete/"' in page
    assert 'data-model-name="generatedmessage"' in page and 'data-field-name="user"' in page

    found = client.get(
        "/admin/autocomplete/",
        {"term": "민준", "app_label": "recommendations", "model_name": "generatedmessage",
         "field_name": "user"},
    ).json()

    assert found["results"] == [{"id": str(minjun.pk), "text": "minjun@example.com"}]


def test_a_bad_form_is_shown_again_with_its_errors_and_nothing_is_tried(client, staff, standin):
    response = client.post(TRY, {"customer": "999999", "coordis": ["abc", "\uff11"], "source": "sometimes"})

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="errorlist') >= 2
    assert standin.requests == []


def test_staff_who_may_not_see_users_cannot_try(client, staff):
    clerk = make_user(is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename="view_coordi"))
    client.force_login(clerk)

    assert client.get(TRY).status_code == 403
    client.logout()
    assert client.get(TRY).status_code == 302  # to the sign-in page


def test_the_outfits_are_shown_in_the_order_chosen(client, staff, minjun, standin):
    coordis = [make_coordi(images=0, items=0) for _ in range(3)]
    chosen = [coordis[2], coordis[0], coordis[1]]

    page = try_page(client, minjun, chosen).content.decode()

    shown = sorted(chosen, key=lambda coordi: page.index(f'id="tried-{coordi.id}"'))
    assert shown == chosen
