"""What a like, a skip or a save does to the very next recommendations page (and what it must not do:
discard the outfit's cached fragment or message), and two of the same write at once."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from recommendations.api.fragments import fragment_key
from recommendations.models import Coordi, UserClosetItem, UserCoordiInteraction

from .factories import make_coordi, make_user, token_for

PAGE = "/api/recommendations"


def page(client, auth):
    response = client.get(PAGE, headers=auth)
    assert response.status_code == 200
    return {outfit["id"]: outfit for outfit in response.json()["data"]["outfits"]}


def versions(*coordis):
    return dict(Coordi.objects.filter(pk__in=[c.pk for c in coordis]).values_list("pk", "catalogue_version"))


@pytest.mark.django_db
def test_a_like_a_skip_and_a_save_show_on_the_next_page_keeping_fragments_and_messages(standin):
    client, user = Client(), make_user(name="이하은", gender="female")
    auth = {"Authorization": f"Bearer {token_for(user)}"}
    liked, skipped, kept = (make_coordi(description=f"코디 {n}", minutes_ago=n) for n in range(3))
    before = page(client, auth)
    assert list(before) == [liked.id, skipped.id, kept.id]
    assert all(o["llmMessageStatus"] == "ready" for o in before.values())
    assert len(standin.requests) == 3
    item = kept.items.order_by("id").first()
    assert item is not None
    shown_versions = versions(liked, skipped, kept)

    assert client.post(f"/api/outfits/{liked.id}/favorite", headers=auth).status_code == 201
    assert client.post(f"/api/outfits/{skipped.id}/skip", headers=auth).status_code == 200
    saved = client.post("/api/closet/items", {"itemId": item.id}, "application/json", headers=auth)
    assert saved.status_code == 201
    after = page(client, auth)

    # Liked and skipped outfits leave the page; the saved item is marked.
    assert list(after) == [kept.id]
    assert {i["id"]: i["isSaved"] for i in after[kept.id]["items"]} == {
        i["id"]: i["id"] == item.id for i in before[kept.id]["items"]
    }
    # Nothing else changed: not the fragment (its version and cache entry), not the message.
    assert {**after[kept.id], "items": None} == {**before[kept.id], "items": None}
    assert versions(liked, skipped, kept) == shown_versions
    for coordi_id, version in shown_versions.items():
        assert cache.get(fragment_key(coordi_id, version)) is not None
    assert len(standin.requests) == 3

    # The favorites show the message made on the recommendations page, with the item saved too.
    [favorite] = client.get("/api/outfits/favorites", headers=auth).json()["data"]["outfits"]
    assert favorite["id"] == liked.id
    assert favorite["isFavorited"] is True
    assert (favorite["llmMessage"], favorite["llmMessageStatus"]) == (before[liked.id]["llmMessage"], "ready")
    assert len(standin.requests) == 3

    # A like taken back, an item taken out: back on the page as it was, still without a new message.
    assert client.delete(f"/api/outfits/{liked.id}/favorite", headers=auth).status_code == 200
    assert client.delete(f"/api/closet/items/{item.id}", headers=auth).status_code == 200
    again = page(client, auth)
    assert again == {liked.id: before[liked.id], kept.id: before[kept.id]}
    assert versions(liked, skipped, kept) == shown_versions
    assert len(standin.requests) == 3


# --- Two writes at once ---------------------------------------------------------------------------


def at_once(requests: list) -> list[int]:
    """Sends these (method, path, body, headers) from threads of their own, released together; their
    statuses in the order given. Each thread has its own client and database connection."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int | None] = [None] * len(requests)

    def send(index: int, method: str, path: str, body: dict, headers: dict) -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = getattr(client, method)(path, body, "application/json", headers=headers)
            statuses[index] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n, *request)) for n, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(status is not None for status in statuses), statuses
    return statuses  # type: ignore[return-value]


ROUNDS = 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skipped_first", [False, True])
def test_two_likes_at_once_make_one_row_and_one_409(skipped_first):
    user = make_user()
    auth = {"Authorization": f"Bearer {token_for(user)}"}
    coordis = [make_coordi(items=1, images=1) for _ in range(ROUNDS)]
    if skipped_first:
        for coordi in coordis:
            UserCoordiInteraction.objects.create(user=user, coordi=coordi, action="skip")

    for coordi in coordis:
        statuses = at_once([("post", f"/api/outfits/{coordi.id}/favorite", {}, auth)] * 2)

        assert sorted(statuses) == [201, 409]
        assert list(UserCoordiInteraction.objects.filter(user=user, coordi=coordi).values_list("action")) == [
            ("like",)
        ]


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_make_one_row_and_one_409():
    user = make_user()
    auth = {"Authorization": f"Bearer {token_for(user)}"}
    items = [make_coordi(items=1, images=0).items.get() for _ in range(ROUNDS)]

    for item in items:
        statuses = at_once([("post", "/api/closet/items", {"itemId": item.id}, auth)] * 2)

        assert sorted(statuses) == [201, 409]
        assert UserClosetItem.objects.filter(user=user, item=item).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_like_and_a_skip_at_once_end_as_a_like():
    user = make_user()
    auth = {"Authorization": f"Bearer {token_for(user)}"}
    coordis = [make_coordi(items=1, images=1) for _ in range(ROUNDS)]

    for coordi in coordis:
        statuses = at_once([
            ("post", f"/api/outfits/{coordi.id}/favorite", {}, auth),
            ("post", f"/api/outfits/{coordi.id}/skip", {}, auth),
        ])  # fmt: skip

        # Whichever came first, the like wins and both are answered.
        assert statuses == [201, 200]
        assert list(UserCoordiInteraction.objects.filter(user=user, coordi=coordi).values_list("action")) == [
            ("like",)
        ]
