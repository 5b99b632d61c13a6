"""The closet and virtual-fitting routes through Django's test client: payloads field by field, order,
filter, counts, every error code, the query count."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations.models import ItemImage, UserClosetItem

from .factories import make_item, make_user
from .test_api_outfits import HUGE_IDS, error_of, z

pytestmark = pytest.mark.django_db

CLOSET = "/api/closet"
ITEMS = "/api/closet/items"


@pytest.fixture
def user():
    return make_user()


def save_at(user, item, minutes_ago: int) -> UserClosetItem:
    return UserClosetItem.objects.create(
        user=user, item=item, created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def closet(client, auth, **params):
    response = client.get(CLOSET, params, headers=auth)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    return body["data"]


# --- GET /api/closet ------------------------------------------------------------------------------


def test_the_closet_field_by_field_newest_saved_first(client, user, auth):
    # Items made in one order, saved in another: the closet follows the saves.
    top = make_item(category="top", name="코튼 니트", brand="모노", price=39000, images=0)
    outer = make_item(category="outer", images=0)
    # The first image by position, whatever order the images were made in.
    for position in (2, 0, 1):
        url = f"http://127.0.0.1:9/top-{position}.jpg"
        ItemImage.objects.create(item=top, image_url=url, position=position)
    save_at(user, outer, minutes_ago=1)
    save_at(user, top, minutes_ago=5)
    save_at(make_user(), make_item(), minutes_ago=0)  # someone else's closet

    data = closet(client, auth)

    assert list(data) == ["items", "pagination", "categoryCounts"]
    assert data["items"] == [
        {
            "id": outer.id, "category": "outer", "name": outer.name, "brand": outer.brand,
            "price": outer.price, "imageUrl": None, "purchaseUrl": outer.purchase_url,
        },
        {
            "id": top.id, "category": "top", "name": "코튼 니트", "brand": "모노", "price": 39000,
            "imageUrl": "http://127.0.0.1:9/top-0.jpg", "purchaseUrl": top.purchase_url,
        },
    ]  # fmt: skip
    assert [list(item) for item in data["items"]] == [
        ["id", "category", "name", "brand", "price", "imageUrl", "purchaseUrl"]
    ] * 2
    assert data["pagination"] == {
        "currentPage": 1, "totalPages": 1, "totalItems": 2, "hasNext": False, "hasPrev": False,
    }  # fmt: skip
    assert data["categoryCounts"] == {"top": 1, "bottom": 0, "outer": 1}


def test_a_category_filters_the_items_and_not_the_counts(client, user, auth):
    saved = {category: [make_item(category=category) for _ in range(n)]
             for category, n in (("top", 3), ("bottom", 1), ("outer", 2))}  # fmt: skip
    for minutes, item in enumerate(item for items in saved.values() for item in items):
        save_at(user, item, minutes)

    by_category = {category: closet(client, auth, category=category) for category in ("all", "top", "outer")}

    assert [i["id"] for i in by_category["top"]["items"]] == [i.id for i in saved["top"]]
    assert [i["id"] for i in by_category["outer"]["items"]] == [i.id for i in saved["outer"]]
    assert len(by_category["all"]["items"]) == 6
    assert [data["pagination"]["totalItems"] for data in by_category.values()] == [6, 3, 2]
    assert all(data["categoryCounts"] == {"top": 3, "bottom": 1, "outer": 2} for data in by_category.values())
    assert closet(client, auth) == by_category["all"]  # all by default


def test_closet_pagination(client, user, auth):
    items = [make_item(category="bottom") for _ in range(5)]
    for minutes, item in enumerate(items):
        save_at(user, item, minutes)

    pages = [closet(client, auth, category="bottom", page=page, limit=2) for page in (1, 2, 3, 4)]

    assert [[i["id"] for i in page["items"]] for page in pages] == [
        [items[0].id, items[1].id], [items[2].id, items[3].id], [items[4].id], [],
    ]  # fmt: skip
    assert [page["pagination"] for page in pages] == [
        {"currentPage": p, "totalPages": 3, "totalItems": 5, "hasNext": p < 3, "hasPrev": p > 1}
        for p in (1, 2, 3, 4)
    ]


def test_an_empty_closet(client, auth):
    assert closet(client, auth) == {
        "items": [],
        "pagination": {
            "currentPage": 1, "totalPages": 0, "totalItems": 0, "hasNext": False, "hasPrev": False,
        },
        "categoryCounts": {"top": 0, "bottom": 0, "outer": 0},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"category": "shoes"}, "category"),
        ({"category": "TOP"}, "category"),
        ({"category": ""}, "category"),
        ({"page": 0}, "page"),
        ({"limit": 51}, "limit"),
        ({"limit": "1.0"}, "limit"),
    ],
)
def test_bad_closet_parameters_are_400_naming_them(client, auth, params, parameter):
    response = client.get(CLOSET, params, headers=auth)

    assert error_of(response, 400, "VALIDATION_ERROR").startswith(f"{parameter}: ")


def test_the_closet_query_count_does_not_grow_with_the_page(client, user, auth):
    for minutes in range(10):
        save_at(user, make_item(images=3), minutes)

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            data = closet(client, auth, **params)
        assert len(data["items"]) == params["limit"]
        assert all(item["imageUrl"] for item in data["items"])
        return len(captured)

    # token; the counts by category; the page with each item's first image
    assert [queries(limit=2), queries(limit=10), queries(limit=10, category="top")] == [3, 3, 3]


# --- POST /api/closet/items -----------------------------------------------------------------------


def save(client, auth, body):
    return client.post(ITEMS, body, "application/json", headers=auth)


def test_a_save_answers_201_field_by_field_and_is_stored(client, user, auth):
    item = make_item()

    response = save(client, auth, {"itemId": item.id})

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    [entry] = UserClosetItem.objects.filter(user=user)
    assert entry.item == item
    assert body["data"] == {"message": f"Item {item.id} saved to the closet.", "savedAt": z(entry.created_at)}
    assert closet(client, auth)["items"][0]["id"] == item.id


def test_a_second_save_is_409_already_saved_and_one_row(client, user, auth):
    item = make_item()
    save(client, auth, {"itemId": item.id})

    response = save(client, auth, {"itemId": item.id})

    assert error_of(response, 409, "ALREADY_SAVED") == f"Item {item.id} is already in the closet."
    assert UserClosetItem.objects.filter(user=user).count() == 1


def test_another_users_save_is_not_this_users(client, user, auth):
    item = make_item()
    UserClosetItem.objects.create(user=make_user(), item=item)

    assert save(client, auth, {"itemId": item.id}).status_code == 201


@pytest.mark.parametrize("item_id", [999_999, 2**63 - 1])
def test_saving_an_unknown_item_is_404_not_found(client, user, auth, item_id):
    response = save(client, auth, {"itemId": item_id})

    assert error_of(response, 404, "NOT_FOUND") == f"No item with id {item_id}."
    assert not UserClosetItem.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"itemId": None}, {"itemId": "5"}, {"itemId": True}, {"itemId": 5.0}, {"itemId": 0},
     {"itemId": -1}, {"itemId": 2**63}, {"itemId": [5]}, {"item_id": 5}],
)  # fmt: skip
def test_a_bad_item_id_is_400_naming_it(client, user, auth, body):
    make_item()  # id 5 or not, the body is refused before any look-up

    assert error_of(save(client, auth, body), 400, "VALIDATION_ERROR").startswith("itemId: ")
    assert not UserClosetItem.objects.exists()


# --- DELETE /api/closet/items/{itemId} ------------------------------------------------------------


def test_a_removal_answers_200_field_by_field(client, user, auth):
    item, kept = make_item(), make_item()
    for saved in (item, kept):
        UserClosetItem.objects.create(user=user, item=saved)
    before = timezone.now()

    response = client.delete(f"{ITEMS}/{item.id}", headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert list(body["data"]) == ["message", "deletedAt"]
    assert body["data"]["message"] == f"Item {item.id} removed from the closet."
    assert z(before) <= body["data"]["deletedAt"] <= z(timezone.now())
    assert list(UserClosetItem.objects.filter(user=user).values_list("item_id", flat=True)) == [kept.id]


def test_removing_an_item_not_saved_is_404_not_saved(client, user, auth):
    item = make_item()
    UserClosetItem.objects.create(user=make_user(), item=item)

    response = client.delete(f"{ITEMS}/{item.id}", headers=auth)

    assert error_of(response, 404, "NOT_SAVED") == f"Item {item.id} is not in the closet."
    assert UserClosetItem.objects.count() == 1  # the other user's stays


@pytest.mark.parametrize("item_id", [999_999, *HUGE_IDS])
def test_removing_an_unknown_item_is_404_not_found(client, auth, item_id):
    response = client.delete(f"{ITEMS}/{item_id}", headers=auth)

    assert error_of(response, 404, "NOT_FOUND") == f"No item with id {item_id}."


# --- Virtual fitting ------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "page"), [({}, 1), ({"page": 3, "limit": 5}, 3)])
def test_the_fittings_are_always_none(client, auth, params, page):
    response = client.get("/api/virtual-fitting", params, headers=auth)

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {
            "fittings": [],
            "pagination": {
                "currentPage": page, "totalPages": 0, "totalItems": 0, "hasNext": False,
                "hasPrev": page > 1,
            },
        },
    }  # fmt: skip


def test_bad_fittings_parameters_are_400(client, auth):
    response = client.get("/api/virtual-fitting", {"limit": 0}, headers=auth)

    assert error_of(response, 400, "VALIDATION_ERROR").startswith("limit: ")


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/virtual-fitting"), ("get", "/api/virtual-fitting/job-1"),
     ("get", "/api/virtual-fitting/3fa85f64-5717-4562-b3fc-2c963f66afa6")],
)  # fmt: skip
def test_making_a_fitting_is_501_not_implemented(client, auth, method, path):
    response = getattr(client, method)(path, headers=auth)

    assert error_of(response, 501, "NOT_IMPLEMENTED") == "Virtual fitting is not available on this server."
