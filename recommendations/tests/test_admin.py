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

from recommendations.models import CoordiImage, GeneratedMessage, User

from .factories import make_coordi, make_user

pytestmark = pytest.mark.django_db

COORDIS = reverse("admin:recommendations_coordi_changelist")


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(
        email="admin@example.com", password="secret-password", name="운영자", gender="female"
    )
    client.force_login(user)
    return user


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
