"""GET /api/recommendations through Django's test client: payload, order, filters, paging, errors."""

import random

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations.api import fragments
from recommendations.models import UserClosetItem, UserCoordiInteraction
from recommendations.recommenders import RecommendationPage

from .factories import make_coordi, make_user

URL = "/api/recommendations"
pytestmark = pytest.mark.django_db


class ShuffledRecommender:
    """Every coordi, in a shuffled order that is neither by id nor by date (seeded, repeatable)."""

    def recommend(self, user, *, offset, limit):
        from recommendations.models import Coordi

        ids = sorted(Coordi.objects.values_list("id", flat=True))
        random.Random(42).shuffle(ids)
        return RecommendationPage(coordi_ids=tuple(ids[offset : offset + limit]), total=len(ids))


@pytest.fixture
def everything_recommender(settings):
    settings.RECOMMENDER = f"{__name__}.ShuffledRecommender"


@pytest.fixture
def user():
    return make_user(name="김민지", gender="female")


def get(client, auth, **params):
    return client.get(URL, params, headers=auth)


def test_payload_field_by_field(client, user, auth):
    coordi = make_coordi(gender="female", style="street", season="fall", description="가을 스트릿 룩")
    images = list(coordi.images.order_by("position"))
    entries = list(coordi.coordi_items.select_related("item").order_by("position"))
    UserClosetItem.objects.create(user=user, item=entries[1].item)

    response = get(client, auth)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is True
    assert body["data"]["pagination"] == {
        "currentPage": 1,
        "totalPages": 1,
        "totalItems": 1,
        "hasNext": False,
        "hasPrev": False,
    }
    [outfit] = body["data"]["outfits"]
    assert list(outfit) == [
        "id", "imageUrl", "gender", "season", "style", "description",
        "isFavorited", "llmMessage", "llmMessageStatus", "items", "createdAt",
    ]  # fmt: skip
    assert outfit["id"] == coordi.id
    assert outfit["imageUrl"] == images[1].image_url  # the main one, not the first
    assert (outfit["gender"], outfit["season"], outfit["style"]) == ("female", "fall", "street")
    assert outfit["description"] == "가을 스트릿 룩"
    assert outfit["isFavorited"] is False
    assert outfit["llmMessage"] is None
    assert outfit["llmMessageStatus"] == "unavailable"  # no GOOGLE_API_KEY in the tests
    assert outfit["createdAt"] == coordi.created_at.isoformat().replace("+00:00", "Z")
    assert outfit["items"] == [
        {
            "id": entry.item.id,
            "category": entry.item.category,
            "brand": entry.item.brand,
            "name": entry.item.name,
            "price": entry.item.price,
            "imageUrl": entry.item.images.get(position=0).image_url,
            "purchaseUrl": entry.item.purchase_url,
            "isSaved": entry.item == entries[1].item,
        }
        for entry in entries
    ]


def test_image_url_falls_back_to_the_first_image_then_null(client, auth):
    without_main = make_coordi(images=3, main_image=None, minutes_ago=1)
    without_images = make_coordi(images=0, minutes_ago=2)

    outfits = get(client, auth).json()["data"]["outfits"]

    assert outfits[0]["id"] == without_main.id
    assert outfits[0]["imageUrl"] == without_main.images.get(position=0).image_url
    assert outfits[1]["id"] == without_images.id
    assert outfits[1]["imageUrl"] is None


def test_the_recommenders_order_is_kept(client, auth, everything_recommender):
    coordis = [make_coordi() for _ in range(12)]
    expected = ShuffledRecommender().recommend(None, offset=0, limit=50).coordi_ids
    assert list(expected) != sorted(c.id for c in coordis)

    first = get(client, auth, limit=7).json()["data"]["outfits"]
    second = get(client, auth, limit=7, page=2).json()["data"]["outfits"]

    assert [o["id"] for o in first + second] == list(expected)


def test_default_recommender_shows_the_users_gender_newest_first(client, auth):
    older = make_coordi(gender="female", minutes_ago=30)
    newer = make_coordi(gender="female", minutes_ago=10)
    make_coordi(gender="male", minutes_ago=5)

    outfits = get(client, auth).json()["data"]["outfits"]

    assert [o["id"] for o in outfits] == [newer.id, older.id]
    assert {o["gender"] for o in outfits} == {"female"}


def test_liked_and_skipped_coordis_are_not_recommended(client, user, auth):
    liked, skipped, fresh = make_coordi(), make_coordi(), make_coordi()
    UserCoordiInteraction.objects.create(user=user, coordi=liked, action="like")
    UserCoordiInteraction.objects.create(user=user, coordi=skipped, action="skip")
    # Another user's verdicts change nothing for this one.
    other = make_user()
    UserCoordiInteraction.objects.create(user=other, coordi=fresh, action="skip")

    body = get(client, auth).json()["data"]

    assert [o["id"] for o in body["outfits"]] == [fresh.id]
    assert body["pagination"]["totalItems"] == 1


def test_is_favorited_and_is_saved_are_this_users(client, user, auth, everything_recommender):
    liked, skipped, plain = make_coordi(), make_coordi(), make_coordi()
    UserCoordiInteraction.objects.create(user=user, coordi=liked, action="like")
    UserCoordiInteraction.objects.create(user=user, coordi=skipped, action="skip")
    saved_item, liked_item = plain.items.first(), liked.items.first()
    assert saved_item is not None and liked_item is not None
    UserClosetItem.objects.create(user=user, item=saved_item)
    other = make_user()
    UserCoordiInteraction.objects.create(user=other, coordi=plain, action="like")
    UserClosetItem.objects.create(user=other, item=liked_item)

    outfits = {o["id"]: o for o in get(client, auth).json()["data"]["outfits"]}

    assert {i: o["isFavorited"] for i, o in outfits.items()} == {
        liked.id: True,
        skipped.id: False,
        plain.id: False,
    }
    saved = {item["id"] for o in outfits.values() for item in o["items"] if item["isSaved"]}
    assert saved == {saved_item.id}


def test_pagination(client, auth):
    for minutes in range(45):
        make_coordi(minutes_ago=minutes, items=1, images=1)

    first = get(client, auth, page=1, limit=20).json()["data"]
    middle = get(client, auth, page=2, limit=20).json()["data"]
    last = get(client, auth, page=3, limit=20).json()["data"]
    past_the_end = get(client, auth, page=4, limit=20).json()["data"]

    assert first["pagination"] == {
        "currentPage": 1, "totalPages": 3, "totalItems": 45, "hasNext": True, "hasPrev": False,
    }  # fmt: skip
    assert middle["pagination"] == {
        "currentPage": 2, "totalPages": 3, "totalItems": 45, "hasNext": True, "hasPrev": True,
    }  # fmt: skip
    assert last["pagination"] == {
        "currentPage": 3, "totalPages": 3, "totalItems": 45, "hasNext": False, "hasPrev": True,
    }  # fmt: skip
    assert [len(p["outfits"]) for p in (first, middle, last)] == [20, 20, 5]
    ids = [o["id"] for p in (first, middle, last) for o in p["outfits"]]
    assert len(set(ids)) == 45
    assert past_the_end["outfits"] == []
    assert past_the_end["pagination"]["currentPage"] == 4
    assert past_the_end["pagination"]["hasNext"] is False


def test_defaults_are_page_1_and_20_per_page(client, auth):
    for _ in range(21):
        make_coordi(items=1, images=1)

    body = get(client, auth).json()["data"]

    assert len(body["outfits"]) == 20
    assert body["pagination"]["currentPage"] == 1
    assert body["pagination"]["totalPages"] == 2


def test_no_recommendations_at_all(client, auth):
    body = get(client, auth).json()

    assert body == {
        "success": True,
        "data": {
            "outfits": [],
            "pagination": {
                "currentPage": 1, "totalPages": 0, "totalItems": 0, "hasNext": False, "hasPrev": False,
            },  # fmt: skip
        },
    }


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": 0}, "page"),
        ({"page": -3}, "page"),
        ({"page": "x"}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"limit": "abc"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, auth, params, parameter):
    response = get(client, auth, **params)

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["message"].startswith(f"{parameter}: ")


def test_the_query_count_does_not_grow_with_the_page(client, user, auth):
    for _ in range(50):
        make_coordi(items=3, images=2)

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = get(client, auth, limit=limit)
        assert len(response.json()["data"]["outfits"]) == limit
        return len(captured)

    cold, warm = {}, {}
    for limit in (1, 20, 50):
        cache.clear()  # every outfit fragment missing, here and in this process
        fragments.in_memory.clear()
        cold[limit] = queries(limit)
        warm[limit] = queries(limit)  # every fragment cached

    # token; ids with the total; versions with likes and closet entries in one
    assert warm == {1: 3, 20: 3, 50: 3}
    # + coordis, their images, their items, the items' images: for the missing fragments only
    assert cold == {1: 7, 20: 7, 50: 7}


def test_unknown_api_paths_answer_the_envelope(client, auth):
    response = client.get("/api/nope", headers=auth)

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": {"code": "NOT_FOUND", "message": "Not found."}}


def test_wrong_method_answers_the_envelope(client, auth, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):  # the token; no page read for a method we refuse
        response = client.post(URL + "?limit=abc", headers=auth)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_unexpected_error_is_a_json_500_without_traceback(client, auth, settings):
    settings.RECOMMENDER = "recommendations.tests.test_api.BrokenRecommender"

    response = get(client, auth)

    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred."},
    }


class BrokenRecommender:
    def recommend(self, user, *, offset, limit):
        raise RuntimeError("the recommender's secret internals")
