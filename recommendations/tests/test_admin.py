"""The admin through Django's test client: every page answers, messages are read-only, the coordi list
costs a fixed number of queries, and staff can try fresh messages on coordis."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from recommendations.models import (
    CoordiImage,
    CoordiItem,
    GeneratedMessage,
    UserClosetItem,
    UserCoordiInteraction,
)

from .factories import make_coordi, make_item, make_user

pytestmark = pytest.mark.django_db

COORDIS = reverse("admin:recommendations_coordi_changelist")


def record(coordi, user, *, text="서연님, 봄 산책 룩이에요 🌸", outcome="ok", minutes=0):
    return GeneratedMessage.objects.create(
        coordi=coordi, user=user, text=text, outcome=outcome, model="gemini-2.5-flash",
        prompt_version="v3", latency_ms=420, created_at=timezone.now() - timedelta(minutes=minutes),
    )


def test_every_changelist_answers(client, staff):
    coordi = make_coordi()
    record(coordi, make_user())

    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_generated_messages_are_read_only(client, staff):
    message = record(make_coordi(), make_user(), text="서연님, " + "아주 " * 30 + "멋진 룩이에요 🌸")

    assert client.get(reverse("admin:recommendations_generatedmessage_add")).status_code == 403
    change = reverse("admin:recommendations_generatedmessage_change", args=[message.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert message.text in page.content.decode()  # in full on its own page
    assert 'name="text"' not in page.content.decode()  # no form field
    assert client.post(change, {"text": "고쳐 쓴 메시지"}).status_code == 403
    listed = client.get(reverse("admin:recommendations_generatedmessage_changelist")).content.decode()
    assert message.text not in listed  # shortened in the list


def test_only_a_superuser_may_delete_generated_messages(client, staff):
    message = record(make_coordi(), make_user())
    clerk = make_user(is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(codename__in=["view_generatedmessage", "delete_generatedmessage"])
    )
    delete = reverse("admin:recommendations_generatedmessage_delete", args=[message.pk])

    client.force_login(clerk)
    assert client.get(delete).status_code == 403
    client.force_login(staff)
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not GeneratedMessage.objects.exists()


def test_generated_messages_are_searchable_by_coordi_user_and_text(client, staff):
    coordi, other = make_coordi(), make_coordi()
    record(coordi, make_user(email="seoyeon@example.com"), text="서연님 봄 룩 🌸")
    record(other, make_user(email="minji@example.com"), text="민지님 겨울 룩 ❄️")
    url = reverse("admin:recommendations_generatedmessage_changelist")

    def found(term: str) -> int:
        return client.get(url, {"q": term}).context["cl"].result_count

    assert found(str(coordi.id)) == 1
    assert found("minji@") == 1
    assert found("겨울") == 1
    assert found("nothing-like-this") == 0


def test_the_coordi_list_costs_the_same_queries_for_10_or_30_coordis(client, staff):
    for _ in range(10):
        make_coordi()
    with CaptureQueriesContext(connection) as ten:
        assert client.get(COORDIS).status_code == 200
    for _ in range(20):
        make_coordi()
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(COORDIS)

    assert len(response.context["cl"].result_list) == 30
    assert len(thirty) == len(ten)


def test_the_coordi_list_shows_the_main_image_escaped(client, staff):
    coordi = make_coordi(images=2, main_image=1)
    odd = make_coordi(images=0)
    CoordiImage.objects.create(coordi=odd, image_url='http://127.0.0.1:9/a.jpg?"><script>x', position=0)

    page = client.get(COORDIS).content.decode()

    assert f'<img src="http://127.0.0.1:9/coordis/{coordi.id}-1.jpg" height="60"' in page
    assert "&quot;&gt;&lt;script&gt;x" in page
    assert '"><script>x' not in page


def test_the_coordi_page_shows_its_latest_ten_messages_newest_first(client, staff):
    coordi = make_coordi()
    reader = make_user()
    for minutes in range(12):
        record(coordi, reader, text=f"메시지 {minutes:02d} <b>굵게</b> 🌸", minutes=minutes)

    page = client.get(reverse("admin:recommendations_coordi_change", args=[coordi.id])).content.decode()

    shown = [minutes for minutes in range(12) if f"메시지 {minutes:02d} " in page]
    assert shown == list(range(10))
    assert page.index("메시지 00") < page.index("메시지 09")
    assert "&lt;b&gt;굵게&lt;/b&gt;" in page and "<b>굵게</b>" not in page


def test_the_coordi_list_shows_item_counts_latest_messages_and_filters_by_having_one(client, staff):
    with_one = make_coordi(items=3, description="린넨 셔츠와 슬랙스로 완성한 " + "아주 긴 설명 " * 20)
    without = make_coordi(items=0)
    failed_only = make_coordi(items=1)
    reader = make_user()
    record(with_one, reader, text="예전 메시지 🌸", minutes=10)
    record(with_one, reader, text="최근 메시지 🌿", minutes=1)
    record(with_one, reader, text=None, outcome="error", minutes=0)  # newest, but no message
    record(failed_only, reader, text=None, outcome="timeout")

    response = client.get(COORDIS)
    rows = {coordi.id: coordi for coordi in response.context["cl"].result_list}
    page = response.content.decode()

    assert (rows[with_one.id].items_count, rows[without.id].items_count) == (3, None)
    assert rows[with_one.id].latest_text == "최근 메시지 🌿"
    assert rows[failed_only.id].latest_text is None
    assert "최근 메시지 🌿" in page and "예전 메시지" not in page
    assert with_one.description not in page  # shortened in the list
    assert with_one.description[:40] in page

    def listed(has_message: str) -> set[int]:
        found = client.get(COORDIS, {"has_message": has_message}).context["cl"].result_list
        return {coordi.id for coordi in found}

    assert listed("yes") == {with_one.id}
    assert listed("no") == {without.id, failed_only.id}


def test_the_coordi_page_previews_its_images_and_items(client, staff):
    coordi = make_coordi(images=2, items=0)
    item = make_item(category="outer", brand="노스페이스", name="눕시 패딩", price=329000)
    CoordiItem.objects.create(coordi=coordi, item=item, position=0)

    page = client.get(reverse("admin:recommendations_coordi_change", args=[coordi.id])).content.decode()

    for image in coordi.images.all():
        assert f'<img src="{image.image_url}" height="60"' in page
    assert f'<img src="{item.images.get().image_url}" height="48"' in page
    for shown in ("노스페이스", "눕시 패딩", "Outer", "329,000"):
        assert f"<p>{shown}</p>" in page, shown
    assert 'data-model-name="coordiitem"' in page and 'data-field-name="item"' in page  # autocomplete


def test_the_coordi_page_costs_the_same_queries_for_2_or_8_items(client, staff):
    def queries(items: int) -> int:
        coordi = make_coordi(items=items)
        url = reverse("admin:recommendations_coordi_change", args=[coordi.id])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries(2) == queries(8)


def test_the_message_list_shows_messages_whole_and_filters_by_customer(client, staff):
    seoyeon = make_user(email="seoyeon@example.com", name="서연", gender="female")
    coordi = make_coordi()
    message = record(coordi, seoyeon, text="서연님, 햇살 좋은 봄날 산책길에 딱 맞는 니트 코디예요 🌸")
    record(coordi, make_user(email="minji@example.com"), text="민지님 겨울 룩 ❄️")
    url = reverse("admin:recommendations_generatedmessage_changelist")

    page = client.get(url).content.decode()
    assert message.text in page  # not shortened: a message is at most 50 characters
    assert "서연 (Female)" in page

    def listed(**query: str) -> set[int]:
        return {row.pk for row in client.get(url, query).context["cl"].result_list}

    assert listed(customer="SEOYEON@example.com") == {message.pk}
    assert listed(customer="nobody@example.com") == set()
    filtered = client.get(url, {"customer": "seoyeon@example.com", "outcome__exact": "ok"}).content.decode()
    assert 'name="outcome__exact" value="ok"' in filtered  # the email box keeps the other filters


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ({"outcome__exact": "error"}, "error"),
        ({"model__exact": "gemini-2.5-pro"}, "pro"),
        ({"prompt_version__exact": "v9"}, "v9"),
        ({"scope__exact": "shared"}, "shared"),
    ],
)
def test_the_message_list_filters_by_outcome_model_prompt_and_scope(client, staff, query, kept):
    coordi, reader = make_coordi(), make_user()
    rows = {
        "plain": record(coordi, reader),
        "error": GeneratedMessage.objects.create(
            coordi=coordi, user=reader, text=None, outcome="error", model="gemini-2.5-flash",
            prompt_version="v3", latency_ms=10,
        ),
        "pro": GeneratedMessage.objects.create(
            coordi=coordi, user=reader, text="프로 🌸", outcome="ok", model="gemini-2.5-pro",
            prompt_version="v3", latency_ms=10,
        ),
        "v9": GeneratedMessage.objects.create(
            coordi=coordi, user=reader, text="v9 🌸", outcome="ok", model="gemini-2.5-flash",
            prompt_version="v9", latency_ms=10,
        ),
        "shared": GeneratedMessage.objects.create(
            coordi=coordi, user=reader, text="같이 🌸", outcome="ok", model="gemini-2.5-flash",
            prompt_version="v3", scope="shared", latency_ms=10,
        ),
    }  # fmt: skip
    url = reverse("admin:recommendations_generatedmessage_changelist")

    found = client.get(url, query).context["cl"].result_list

    assert [row.pk for row in found] == [rows[kept].pk]


def test_a_message_page_shows_the_outfit_the_customer_and_the_prompt_version(client, staff):
    coordi = make_coordi(images=2, main_image=1)
    minjun = make_user(email="minjun@example.com", name="민준", gender="male")
    message = record(coordi, minjun)

    page = client.get(reverse("admin:recommendations_generatedmessage_change", args=[message.pk]))
    content = page.content.decode()

    assert f"<title>ok message for minjun@example.com on coordi #{coordi.id}" in content
    assert f'<img src="http://127.0.0.1:9/coordis/{coordi.id}-1.jpg" height="120"' in content
    assert reverse("admin:recommendations_coordi_change", args=[coordi.id]) in content
    assert "민준 (Male)" in content and "minjun@example.com" in content
    assert "v3" in content


def test_the_index_says_where_to_start_and_lists_the_catalogue_before_accounts(client, staff):
    response = client.get(reverse("admin:index"))
    page = response.content.decode()

    labels = [app["app_label"] for app in response.context["app_list"]]
    assert labels.index("recommendations") == 0
    assert labels.index("authtoken") > labels.index("auth")
    assert "Start here" in page
    assert page.index("Start here") < page.index('class="app-recommendations')


def make_rows(count: int) -> None:
    """`count` rows in every admin list: coordis with images and items, users, their likes, closet
    entries and messages."""
    for _ in range(count):
        coordi = make_coordi(images=2, items=2)
        reader = make_user()
        record(coordi, reader)
        item = coordi.items.get(coordi_items__position=0)
        UserCoordiInteraction.objects.create(user=reader, coordi=coordi, action="like")
        UserClosetItem.objects.create(user=reader, item=item)
        Token.objects.create(user=reader)


@pytest.mark.parametrize("model", [model for model in admin.site._registry], ids=lambda model: model.__name__)
def test_every_list_costs_the_same_queries_as_rows_grow(client, staff, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    make_rows(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    make_rows(9)
    with CaptureQueriesContext(connection) as more:
        response = client.get(url)

    assert response.context["cl"].result_count > 3 or model._meta.model_name == "group"
    assert len(more) == len(few), [query["sql"] for query in more.captured_queries]
