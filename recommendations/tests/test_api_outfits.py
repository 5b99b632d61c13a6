"""The web client's outfit routes through Django's test client: likes, skips, views, the favorites
list, their payloads field by field, every error code, sign-in and the write throttle."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations.api import fragments
from recommendations.api.throttling import WriteRateThrottle
from recommendations.models import CoordiView, UserClosetItem, UserCoordiInteraction

from .factories import make_coordi, make_user, token_for

pytestmark = pytest.mark.django_db

FAVORITES = "/api/outfits/favorites"
# Past every id the database holds: a 404, never a 500.
HUGE_IDS = [2**63, 10**30]


@pytest.fixture
def user():
    return make_user(name="김민지", gender="female")


def favorite(outfit_id):
    return f"/api/outfits/{outfit_id}/favorite"


def z(moment: datetime) -> str:
    """A timestamp as the API writes it (DRF's DateTimeField: ISO 8601, UTC as Z)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def error_of(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert list(body["error"]) == ["code", "message"]
    assert body["error"]["code"] == code
    return body["error"]["message"]


def verdicts(user):
    return list(UserCoordiInteraction.objects.filter(user=user).values_list("coordi_id", "action"))


# --- POST/DELETE /api/outfits/{id}/favorite -------------------------------------------------------


def test_a_like_answers_201_field_by_field_and_is_stored(client, user, auth):
    coordi = make_coordi()
    before = timezone.now()

    response = client.post(favorite(coordi.id), headers=auth)

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["success", "data"]
    assert body["success"] is True
    assert list(body["data"]) == ["outfitId", "isFavorited", "favoritedAt"]
    like = UserCoordiInteraction.objects.get(user=user, coordi=coordi)
    assert like.action == "like"
    assert before <= like.created_at <= timezone.now()
    assert body["data"] == {"outfitId": coordi.id, "isFavorited": True, "favoritedAt": z(like.created_at)}
    assert body["data"]["favoritedAt"].endswith("Z")


def test_a_second_like_is_409_already_favorited_and_one_row(client, user, auth):
    coordi = make_coordi()
    first = client.post(favorite(coordi.id), headers=auth)

    second = client.post(favorite(coordi.id), headers=auth)

    assert first.status_code == 201
    assert error_of(second, 409, "ALREADY_FAVORITED") == f"Outfit {coordi.id} is already a favorite."
    assert verdicts(user) == [(coordi.id, "like")]


def test_a_skipped_outfit_liked_later_becomes_a_like(client, user, auth):
    coordi = make_coordi()
    skip = UserCoordiInteraction.objects.create(
        user=user, coordi=coordi, action="skip", created_at=timezone.now() - timedelta(days=3)
    )

    response = client.post(favorite(coordi.id), headers=auth)

    assert response.status_code == 201
    [like] = UserCoordiInteraction.objects.filter(user=user)
    assert (like.pk, like.action) == (skip.pk, "like")
    # When it was liked, not when it was skipped: the favorites list is ordered by it.
    assert like.created_at > skip.created_at
    assert response.json()["data"]["favoritedAt"] == z(like.created_at)


def test_another_users_like_is_not_this_users(client, user, auth):
    coordi = make_coordi()
    UserCoordiInteraction.objects.create(user=make_user(), coordi=coordi, action="like")

    assert client.post(favorite(coordi.id), headers=auth).status_code == 201
    assert verdicts(user) == [(coordi.id, "like")]


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize("outfit_id", [999_999, *HUGE_IDS])
def test_liking_or_unliking_an_unknown_outfit_is_404_not_found(client, user, auth, method, outfit_id):
    response = getattr(client, method)(favorite(outfit_id), headers=auth)

    assert error_of(response, 404, "NOT_FOUND") == f"No outfit with id {outfit_id}."
    assert verdicts(user) == []


def test_unliking_answers_200_field_by_field_and_deletes_the_like(client, user, auth):
    coordi, kept = make_coordi(), make_coordi()
    for liked in (coordi, kept):
        UserCoordiInteraction.objects.create(user=user, coordi=liked, action="like")
    before = timezone.now()

    response = client.delete(favorite(coordi.id), headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert list(body["data"]) == ["outfitId", "isFavorited", "unfavoritedAt"]
    assert body["data"]["outfitId"] == coordi.id
    assert body["data"]["isFavorited"] is False
    assert z(before) <= body["data"]["unfavoritedAt"] <= z(timezone.now())
    assert verdicts(user) == [(kept.id, "like")]


def test_unliking_an_outfit_not_liked_is_404_not_favorited(client, user, auth):
    never, skipped = make_coordi(), make_coordi()
    UserCoordiInteraction.objects.create(user=user, coordi=skipped, action="skip")
    UserCoordiInteraction.objects.create(user=make_user(), coordi=never, action="like")

    assert error_of(client.delete(favorite(never.id), headers=auth), 404, "NOT_FAVORITED") == (
        f"Outfit {never.id} is not a favorite."
    )
    error_of(client.delete(favorite(skipped.id), headers=auth), 404, "NOT_FAVORITED")
    # The skip stays a skip; the other user's like stays theirs.
    assert verdicts(user) == [(skipped.id, "skip")]
    assert UserCoordiInteraction.objects.filter(coordi=never, action="like").count() == 1


def test_a_like_taken_back_can_be_given_again(client, user, auth):
    coordi = make_coordi()
    assert client.post(favorite(coordi.id), headers=auth).status_code == 201
    assert client.delete(favorite(coordi.id), headers=auth).status_code == 200

    assert client.post(favorite(coordi.id), headers=auth).status_code == 201
    assert verdicts(user) == [(coordi.id, "like")]


# --- POST /api/outfits/{id}/skip ------------------------------------------------------------------


def skip(outfit_id):
    return f"/api/outfits/{outfit_id}/skip"


def test_a_skip_answers_200_field_by_field_and_is_stored(client, user, auth):
    coordi = make_coordi()

    response = client.post(skip(coordi.id), headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert list(body["data"]) == ["outfitId", "isSkipped", "skippedAt"]
    stored = UserCoordiInteraction.objects.get(user=user, coordi=coordi)
    assert stored.action == "skip"
    assert body["data"] == {"outfitId": coordi.id, "isSkipped": True, "skippedAt": z(stored.created_at)}


def test_skipping_twice_is_the_first_skip(client, user, auth):
    coordi = make_coordi()
    first = client.post(skip(coordi.id), headers=auth).json()

    second = client.post(skip(coordi.id), headers=auth)

    assert second.status_code == 200
    assert second.json() == first
    assert verdicts(user) == [(coordi.id, "skip")]


def test_a_liked_outfit_skipped_stays_liked(client, user, auth):
    coordi = make_coordi()
    client.post(favorite(coordi.id), headers=auth)

    response = client.post(skip(coordi.id), headers=auth)

    assert response.status_code == 200
    assert response.json()["data"] == {"outfitId": coordi.id, "isSkipped": False, "skippedAt": None}
    assert verdicts(user) == [(coordi.id, "like")]


@pytest.mark.parametrize("outfit_id", [999_999, *HUGE_IDS])
def test_skipping_an_unknown_outfit_is_404(client, user, auth, outfit_id):
    assert error_of(client.post(skip(outfit_id), headers=auth), 404, "NOT_FOUND") == (
        f"No outfit with id {outfit_id}."
    )
    assert verdicts(user) == []


# --- POST /api/outfits/{id}/view ------------------------------------------------------------------


def view(outfit_id):
    return f"/api/outfits/{outfit_id}/view"


@pytest.mark.parametrize("seconds", [0, 12, 3.25, 86_400])
def test_a_view_answers_201_field_by_field_and_is_stored(client, user, auth, seconds):
    coordi = make_coordi()

    response = client.post(view(coordi.id), {"durationSeconds": seconds}, "application/json", headers=auth)

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    [stored] = CoordiView.objects.all()
    assert (stored.user, stored.coordi, stored.duration_seconds) == (user, coordi, seconds)
    assert body["data"] == {
        "outfitId": coordi.id, "durationSeconds": float(seconds), "viewedAt": z(stored.created_at),
    }  # fmt: skip


def test_each_view_is_a_record_of_its_own(client, user, auth):
    coordi = make_coordi()
    for seconds in (1, 2):
        client.post(view(coordi.id), {"durationSeconds": seconds}, "application/json", headers=auth)

    assert sorted(CoordiView.objects.values_list("duration_seconds", flat=True)) == [1.0, 2.0]
    # A view is not a verdict: the outfit is still recommended.
    assert verdicts(user) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"durationSeconds": None},
        {"durationSeconds": -0.5},
        {"durationSeconds": 86_400.5},
        {"durationSeconds": "12"},
        {"durationSeconds": "NaN"},
        {"durationSeconds": True},
        {"durationSeconds": [1]},
    ],
)
def test_a_bad_duration_is_400_naming_it(client, user, auth, body):
    coordi = make_coordi()

    response = client.post(view(coordi.id), body, "application/json", headers=auth)

    assert error_of(response, 400, "VALIDATION_ERROR").startswith("durationSeconds: ")
    assert not CoordiView.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [b'{"durationSeconds": NaN}', b'{"durationSeconds": 1e999}', b'{"durationSeconds": 1', b"12", b"[]"],
)
def test_a_body_that_is_not_a_json_object_is_400(client, user, auth, raw):
    coordi = make_coordi()

    response = client.post(view(coordi.id), raw, "application/json", headers=auth)

    error_of(response, 400, "VALIDATION_ERROR")
    assert not CoordiView.objects.exists()


@pytest.mark.parametrize("outfit_id", [999_999, *HUGE_IDS])
def test_viewing_an_unknown_outfit_is_404(client, auth, outfit_id):
    response = client.post(view(outfit_id), {"durationSeconds": 3}, "application/json", headers=auth)

    assert error_of(response, 404, "NOT_FOUND") == f"No outfit with id {outfit_id}."
    assert not CoordiView.objects.exists()


# --- GET /api/outfits/favorites -------------------------------------------------------------------


def like_at(user, coordi, minutes_ago: int) -> None:
    UserCoordiInteraction.objects.create(
        user=user, coordi=coordi, action="like",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )  # fmt: skip


def favorites(client, auth, **params):
    response = client.get(FAVORITES, params, headers=auth)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    return body["data"]


def test_the_favorites_are_the_recommendations_outfits_liked_newest_like_first(client, user, auth):
    # Created in one order, liked in another: the list follows the likes.
    older_outfit, newer_outfit = make_coordi(minutes_ago=30), make_coordi(minutes_ago=5)
    not_liked = make_coordi()
    shown = {o["id"]: o for o in client.get("/api/recommendations", headers=auth).json()["data"]["outfits"]}
    saved_item = older_outfit.items.order_by("id").last()
    assert saved_item is not None
    UserClosetItem.objects.create(user=user, item=saved_item)
    like_at(user, newer_outfit, minutes_ago=20)
    like_at(user, older_outfit, minutes_ago=1)

    data = favorites(client, auth)

    assert list(data) == ["outfits", "pagination"]
    assert [o["id"] for o in data["outfits"]] == [older_outfit.id, newer_outfit.id]
    assert not_liked.id not in {o["id"] for o in data["outfits"]}
    for outfit in data["outfits"]:
        # The recommendations page's outfit, field by field and in its order, now liked.
        expected = shown[outfit["id"]]
        assert list(outfit) == list(expected)
        assert outfit["isFavorited"] is True
        assert {**outfit, "isFavorited": False, "items": None} == {**expected, "items": None}
        assert [{**item, "isSaved": False} for item in outfit["items"]] == expected["items"]
        assert (outfit["llmMessage"], outfit["llmMessageStatus"]) == (None, "unavailable")  # no key
    saved = [(o["id"], i["id"]) for o in data["outfits"] for i in o["items"] if i["isSaved"]]
    assert saved == [(older_outfit.id, saved_item.id)]
    assert data["pagination"] == {
        "currentPage": 1, "totalPages": 1, "totalItems": 2, "hasNext": False, "hasPrev": False,
    }  # fmt: skip


def test_skips_and_other_users_likes_are_not_favorites(client, user, auth):
    liked, skipped, theirs = make_coordi(), make_coordi(), make_coordi()
    like_at(user, liked, 1)
    UserCoordiInteraction.objects.create(user=user, coordi=skipped, action="skip")
    UserCoordiInteraction.objects.create(user=make_user(), coordi=theirs, action="like")

    data = favorites(client, auth)

    assert [o["id"] for o in data["outfits"]] == [liked.id]
    assert data["pagination"]["totalItems"] == 1


def test_favorites_pagination(client, user, auth):
    coordis = [make_coordi(items=1, images=1) for _ in range(7)]
    for minutes, coordi in enumerate(coordis):
        like_at(user, coordi, minutes)

    pages = [favorites(client, auth, page=page, limit=3) for page in (1, 2, 3, 4)]

    assert [[o["id"] for o in page["outfits"]] for page in pages] == [
        [c.id for c in coordis[0:3]], [c.id for c in coordis[3:6]], [coordis[6].id], [],
    ]  # fmt: skip
    assert [page["pagination"] for page in pages] == [
        {"currentPage": p, "totalPages": 3, "totalItems": 7, "hasNext": p < 3, "hasPrev": p > 1}
        for p in (1, 2, 3, 4)
    ]


def test_no_favorites(client, auth):
    assert favorites(client, auth) == {
        "outfits": [],
        "pagination": {
            "currentPage": 1, "totalPages": 0, "totalItems": 0, "hasNext": False, "hasPrev": False,
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"page": 0}, "page"), ({"page": "x"}, "page"), ({"limit": 51}, "limit"), ({"limit": ""}, "limit")],
)
def test_bad_favorites_parameters_are_400_naming_them(client, auth, params, parameter):
    response = client.get(FAVORITES, params, headers=auth)

    assert error_of(response, 400, "VALIDATION_ERROR").startswith(f"{parameter}: ")


def test_fresh_messages_on_the_favorites_are_for_staff_only(client, auth):
    error_of(client.get(FAVORITES, {"refresh": "true"}, headers=auth), 403, "FORBIDDEN")


def test_the_favorites_query_count_does_not_grow_with_the_page(client, user, auth):
    from django.core.cache import cache

    for minutes in range(10):
        like_at(user, make_coordi(items=3, images=2), minutes)
        UserClosetItem.objects.create(user=user, item=make_coordi(items=1).items.get())

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(favorites(client, auth, limit=limit)["outfits"]) == limit
        return len(captured)

    cold, warm = {}, {}
    for limit in (2, 10):
        cache.clear()  # every outfit fragment missing, here and in this process
        fragments.in_memory.clear()
        cold[limit] = queries(limit)
        warm[limit] = queries(limit)

    # token; likes with versions and the total, closet entries
    assert warm == {2: 3, 10: 3}
    # + coordis, their images, their items, the items' images: for the missing fragments only
    assert cold == {2: 7, 10: 7}


def test_favorites_wait_for_their_messages_and_reuse_them(client, user, auth, standin):
    liked = [make_coordi(description=f"좋아요 누른 코디 {n}") for n in range(2)]
    for minutes, coordi in enumerate(liked):
        like_at(user, coordi, minutes)

    first = favorites(client, auth)["outfits"]
    again = favorites(client, auth)["outfits"]

    assert [o["llmMessageStatus"] for o in first] == ["ready", "ready"]
    assert all("김민지" in o["llmMessage"] for o in first)
    # Made once per outfit; the second list reads them (and the fragments) from the cache.
    assert sorted(r.prompt.count("좋아요 누른 코디") for r in standin.requests) == [1, 1]
    assert len(standin.requests) == 2
    assert again == first


# --- Signed in, throttled -------------------------------------------------------------------------

ROUTES = [
    ("post", "/api/outfits/1/favorite"),
    ("delete", "/api/outfits/1/favorite"),
    ("get", FAVORITES),
    ("post", "/api/outfits/1/skip"),
    ("post", "/api/outfits/1/view"),
    ("get", "/api/closet"),
    ("post", "/api/closet/items"),
    ("delete", "/api/closet/items/1"),
    ("get", "/api/virtual-fitting"),
    ("post", "/api/virtual-fitting"),
    ("get", "/api/virtual-fitting/job-1"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Token nope"])
def test_every_route_is_401_unauthorized_without_a_valid_token(client, method, path, header):
    coordi = make_coordi()
    path = path.replace("/1/", f"/{coordi.id}/")
    headers = {"Authorization": header} if header else {}

    response = getattr(client, method)(path, headers=headers)

    error_of(response, 401, "UNAUTHORIZED")
    assert not UserCoordiInteraction.objects.exists()


WRITES = [
    ("post", "/api/outfits/{coordi}/favorite", {}),
    ("delete", "/api/outfits/{coordi}/favorite", {}),
    ("post", "/api/outfits/{coordi}/skip", {}),
    ("post", "/api/outfits/{coordi}/view", {"durationSeconds": 2}),
    ("post", "/api/closet/items", {"itemId": 0}),
    ("delete", "/api/closet/items/{item}", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_every_write_is_throttled_per_user_429_in_the_envelope(client, user, auth, monkeypatch, method, path,
                                                               body):  # fmt: skip
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"write": "2/minute"})
    coordi = make_coordi()
    path = path.format(coordi=coordi.id, item=coordi.items.order_by("id")[0].id)

    def send(headers):
        return getattr(client, method)(path, body, "application/json", headers=headers)

    answered = [send(auth).status_code for _ in range(2)]
    throttled = send(auth)

    assert 429 not in answered
    assert error_of(throttled, 429, "RATE_LIMITED").startswith("Request was throttled.")
    assert int(throttled["Retry-After"]) > 0
    # Per user: another user is not throttled by this one's writes.
    assert send({"Authorization": f"Bearer {token_for(make_user())}"}).status_code != 429


def test_the_writes_share_one_budget_and_reads_are_not_counted(client, user, auth, monkeypatch):
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"write": "2/minute"})
    first, second = make_coordi(), make_coordi()

    assert client.post(favorite(first.id), headers=auth).status_code == 201
    for _ in range(3):
        assert client.get(FAVORITES, headers=auth).status_code == 200
        assert client.get("/api/closet", headers=auth).status_code == 200
    assert client.post(skip(second.id), headers=auth).status_code == 200

    error_of(client.post(favorite(second.id), headers=auth), 429, "RATE_LIMITED")
