"""Onboarding through Django's test client: GET /api/users/preferences/options and
POST /api/users/preferences (the validation table, its order, re-onboarding, the throttle)."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import UserRateThrottle

from recommendations.models import Hashtag, User, UserPreferredCoordi, UserPreferredHashtag
from recommendations.selectors import SAMPLE_OUTFITS, onboarding_options

from .factories import make_coordi, make_user, token_for
from .servers import on_postgresql

pytestmark = pytest.mark.django_db

OPTIONS = "/api/users/preferences/options"
PREFERENCES = "/api/users/preferences"
ME = "/api/auth/me"
HASHTAGS = ["#캐주얼", "#미니멀", "#스트리트", "#스포티", "#편안한", "#데일리룩", "#오피스룩", "#데이트룩"]


@pytest.fixture
def user():
    return make_user(gender="female")


@pytest.fixture
def tag_ids():
    # The migration's eight (made again if a transactional test flushed them), by id.
    return sorted(Hashtag.objects.get_or_create(name=name)[0].id for name in HASHTAGS)


@pytest.fixture
def outfit_ids():
    return [make_coordi(images=1, items=0).id for _ in range(6)]


def choose(client, auth, body):
    return client.post(PREFERENCES, body, content_type="application/json", headers=auth)


# --- Options ---------------------------------------------------------------------------------------


def test_options_offer_every_hashtag_and_the_newest_outfits_of_the_users_gender(client, user, auth):
    theirs = [make_coordi(gender="female", minutes_ago=minutes) for minutes in range(1, SAMPLE_OUTFITS + 3)]
    make_coordi(gender="male", minutes_ago=0)  # the newest, of the other gender
    no_main = make_coordi(gender="female", minutes_ago=0, main_image=None)  # newest of theirs

    response = client.get(OPTIONS, headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["hashtags"] == [
        {"id": tag.id, "name": tag.name} for tag in Hashtag.objects.order_by("id")
    ]
    assert [tag["name"] for tag in body["data"]["hashtags"]] == HASHTAGS
    samples = body["data"]["sampleOutfits"]
    assert [sample["id"] for sample in samples] == [no_main.id] + [c.id for c in theirs[: SAMPLE_OUTFITS - 1]]
    assert samples[0] == {
        "id": no_main.id,
        "imageUrl": no_main.images.get(position=0).image_url,
        "style": "casual",
        "season": "spring",
    }
    assert samples[1]["imageUrl"] == theirs[0].images.get(is_main=True).image_url


def test_options_order_ties_by_id_newest_first(client, user, auth):
    same_time = [make_coordi(minutes_ago=5) for _ in range(3)]

    samples = client.get(OPTIONS, headers=auth).json()["data"]["sampleOutfits"]

    assert [sample["id"] for sample in samples] == sorted((c.id for c in same_time), reverse=True)


def test_a_user_without_a_gender_is_offered_every_gender():
    female, male = make_coordi(gender="female", minutes_ago=2), make_coordi(gender="male", minutes_ago=1)

    options = onboarding_options(User(gender=""))

    assert [sample.id for sample in options.sample_outfits] == [male.id, female.id]


def test_options_are_read_in_a_fixed_number_of_queries(client, user, auth):
    counts = []
    for wanted in (2, 10):
        while len(client.get(OPTIONS, headers=auth).json()["data"]["sampleOutfits"]) < wanted:
            make_coordi()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(OPTIONS, headers=auth)
        assert len(response.json()["data"]["sampleOutfits"]) == wanted
        counts.append(len(queries))

    assert counts[0] == counts[1] == 4  # the token with its user, hashtags, outfits, their images


def test_options_need_a_signed_in_user(client):
    assert client.get(OPTIONS).status_code == 401


# --- Choosing --------------------------------------------------------------------------------------


def test_a_choice_is_kept_and_the_user_onboarded(client, user, auth, tag_ids, outfit_ids):
    chosen = [outfit_ids[3], outfit_ids[0], outfit_ids[4], outfit_ids[1], outfit_ids[2]]

    response = choose(client, auth, {"hashtagIds": [tag_ids[5], tag_ids[1], tag_ids[2]],
                                     "sampleOutfitIds": chosen})  # fmt: skip

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {"message": "Preferences saved.", "user": {"id": user.id, "hasCompletedOnboarding": True}},
    }
    user.refresh_from_db()
    assert user.has_completed_onboarding is True
    me = client.get(ME, headers=auth).json()["data"]["user"]
    assert me["hasCompletedOnboarding"] is True
    assert [tag["id"] for tag in me["preferredTags"]] == [tag_ids[1], tag_ids[2], tag_ids[5]]
    assert [outfit["id"] for outfit in me["preferredCoordis"]] == chosen


def test_a_new_choice_replaces_the_earlier_one(client, user, auth, tag_ids, outfit_ids):
    choose(client, auth, {"hashtagIds": tag_ids[:3], "sampleOutfitIds": outfit_ids[:5]})
    other = make_user()
    choose(client, {"Authorization": f"Bearer {token_for(other)}"},
           {"hashtagIds": tag_ids[:4], "sampleOutfitIds": outfit_ids[:5]})  # fmt: skip

    response = choose(client, auth, {"hashtagIds": tag_ids[2:8], "sampleOutfitIds": outfit_ids[1:6]})

    assert response.status_code == 200
    assert sorted(UserPreferredHashtag.objects.filter(user=user).values_list("hashtag_id", flat=True)) == (
        tag_ids[2:8]
    )
    assert list(
        UserPreferredCoordi.objects.filter(user=user).order_by("id").values_list("coordi_id", flat=True)
    ) == outfit_ids[1:6]
    # Another user's choice is theirs.
    assert UserPreferredHashtag.objects.filter(user=other).count() == 4
    assert UserPreferredCoordi.objects.filter(user=other).count() == 5


def test_ten_hashtags_is_the_most_and_three_the_least(client, user, auth, tag_ids, outfit_ids):
    extra = [Hashtag.objects.create(name=f"#태그{n}").id for n in range(2)]

    most = choose(client, auth, {"hashtagIds": tag_ids + extra, "sampleOutfitIds": outfit_ids[:5]})
    least = choose(client, auth, {"hashtagIds": tag_ids[:3], "sampleOutfitIds": outfit_ids[:5]})

    assert (most.status_code, least.status_code) == (200, 200)
    assert UserPreferredHashtag.objects.filter(user=user).count() == 3


UNKNOWN = 10**9
# (body, code): each row breaks one rule (placeholders: "T:3" = the first three hashtag ids, "O:5" =
# the first five outfit ids, "T"/"O" + index = one of them).
TABLE = [
    ([], "VALIDATION_ERROR"),
    ("just text", "VALIDATION_ERROR"),
    ({}, "VALIDATION_ERROR"),
    ({"hashtagIds": "T:3"}, "VALIDATION_ERROR"),
    ({"sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": 1, "sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": {"1": 1}, "sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": ["1", "2", "3"], "sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": [1.0, 2.0, 3.0], "sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": [True, 2, 3], "sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": [None, 2, 3], "sampleOutfitIds": "O:5"}, "VALIDATION_ERROR"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["x", "y", "z", "v", "w"]}, "VALIDATION_ERROR"),
    ({"hashtagIds": [], "sampleOutfitIds": "O:5"}, "INSUFFICIENT_HASHTAGS"),
    ({"hashtagIds": ["T0", "T1"], "sampleOutfitIds": "O:5"}, "INSUFFICIENT_HASHTAGS"),
    ({"hashtagIds": list(range(1, 12)), "sampleOutfitIds": "O:5"}, "TOO_MANY_HASHTAGS"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": []}, "INSUFFICIENT_OUTFITS"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["O0", "O1", "O2", "O3"]}, "INSUFFICIENT_OUTFITS"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["O0", "O1", "O2", "O3", "O4", "O5"]}, "TOO_MANY_OUTFITS"),
    ({"hashtagIds": ["T0", "T1", "T1"], "sampleOutfitIds": "O:5"}, "DUPLICATE_ID"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["O0", "O1", "O2", "O3", "O0"]}, "DUPLICATE_ID"),
    ({"hashtagIds": ["T0", "T1", UNKNOWN], "sampleOutfitIds": "O:5"}, "INVALID_HASHTAG_ID"),
    ({"hashtagIds": ["T0", "T1", 0], "sampleOutfitIds": "O:5"}, "INVALID_HASHTAG_ID"),
    ({"hashtagIds": ["T0", "T1", -3], "sampleOutfitIds": "O:5"}, "INVALID_HASHTAG_ID"),
    # Past the database's bigint: refused without a query that could overflow.
    ({"hashtagIds": ["T0", "T1", 2**63], "sampleOutfitIds": "O:5"}, "INVALID_HASHTAG_ID"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["O0", "O1", "O2", "O3", UNKNOWN]}, "INVALID_OUTFIT_ID"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["O0", "O1", "O2", "O3", 0]}, "INVALID_OUTFIT_ID"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": ["O0", "O1", "O2", "O3", 2**64 - 1]}, "INVALID_OUTFIT_ID"),
    # The order of the checks: the first rule broken is the one answered.
    ({"hashtagIds": ["T0"], "sampleOutfitIds": ["O0"]}, "INSUFFICIENT_HASHTAGS"),
    ({"hashtagIds": ["T0", "T0", "T0"], "sampleOutfitIds": ["O0"]}, "INSUFFICIENT_OUTFITS"),
    ({"hashtagIds": [UNKNOWN, UNKNOWN, 1], "sampleOutfitIds": "O:5"}, "DUPLICATE_ID"),
    ({"hashtagIds": "T:3", "sampleOutfitIds": [UNKNOWN, UNKNOWN, "O0", "O1", "O2"]}, "DUPLICATE_ID"),
    ({"hashtagIds": ["T0", "T1", UNKNOWN], "sampleOutfitIds": [UNKNOWN, "O1", "O2", "O3", "O4"]},
     "INVALID_HASHTAG_ID"),
]  # fmt: skip


def _filled(value, tag_ids, outfit_ids):
    if value == "T:3":
        return tag_ids[:3]
    if value == "O:5":
        return outfit_ids[:5]
    if isinstance(value, list):
        return [_filled(entry, tag_ids, outfit_ids) for entry in value]
    if isinstance(value, dict):
        return {key: _filled(entry, tag_ids, outfit_ids) for key, entry in value.items()}
    if isinstance(value, str) and value[:1] in "TO" and value[1:].isdigit():
        return (tag_ids if value[0] == "T" else outfit_ids)[int(value[1:])]
    return value


@pytest.mark.parametrize(("body", "code"), TABLE)
def test_the_validation_table(client, user, auth, tag_ids, outfit_ids, body, code):
    # An earlier choice, to show that a refused one changes nothing.
    choose(client, auth, {"hashtagIds": tag_ids[3:6], "sampleOutfitIds": outfit_ids[1:6]})
    User.objects.filter(pk=user.pk).update(has_completed_onboarding=False)

    response = choose(client, auth, _filled(body, tag_ids, outfit_ids))

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert sorted(UserPreferredHashtag.objects.values_list("hashtag_id", flat=True)) == tag_ids[3:6]
    assert sorted(UserPreferredCoordi.objects.values_list("coordi_id", flat=True)) == outfit_ids[1:6]
    user.refresh_from_db()
    assert user.has_completed_onboarding is False


def test_the_messages_name_what_is_wrong(client, user, auth, tag_ids, outfit_ids):
    def message(body):
        return choose(client, auth, body).json()["error"]["message"]

    assert message({"hashtagIds": [tag_ids[0], UNKNOWN, 0], "sampleOutfitIds": outfit_ids[:5]}) == (
        f"No hashtag with id {UNKNOWN}, 0."
    )
    assert message({"hashtagIds": tag_ids[:3], "sampleOutfitIds": [*outfit_ids[:4], UNKNOWN]}) == (
        f"No outfit with id {UNKNOWN}."
    )
    assert message({"hashtagIds": tag_ids[:3], "sampleOutfitIds": [*outfit_ids[:4], outfit_ids[0]]}) == (
        f"sampleOutfitIds: {outfit_ids[0]} given more than once."
    )
    assert message({"hashtagIds": ["1", 2, 3], "sampleOutfitIds": outfit_ids[:5]}).startswith("hashtagIds")


def test_choosing_needs_a_signed_in_user(client, tag_ids, outfit_ids):
    response = choose(client, {}, {"hashtagIds": tag_ids[:3], "sampleOutfitIds": outfit_ids[:5]})

    assert response.status_code == 401
    assert not UserPreferredHashtag.objects.exists()


def test_choosing_is_throttled_per_user(client, user, auth, tag_ids, outfit_ids, monkeypatch):
    # DRF reads the rates once, into the class, when it is imported.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"write": "2/minute"})
    body = {"hashtagIds": tag_ids[:3], "sampleOutfitIds": outfit_ids[:5]}

    statuses = [choose(client, auth, body).status_code for _ in range(3)]
    someone_else = choose(client, {"Authorization": f"Bearer {token_for(make_user())}"}, body)

    assert statuses == [200, 200, 429]
    assert choose(client, auth, body).json()["error"]["code"] == "RATE_LIMITED"
    assert someone_else.status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgresql(), reason="two choices at once need PostgreSQL (CI sets DATABASE_URL)")
def test_two_choices_of_one_user_at_once_are_made_one_after_the_other(tag_ids, outfit_ids):
    user = make_user()
    auth = {"Authorization": f"Bearer {token_for(user)}"}
    choices = [
        {"hashtagIds": tag_ids[:3], "sampleOutfitIds": outfit_ids[:5]},
        {"hashtagIds": tag_ids[2:6], "sampleOutfitIds": outfit_ids[1:6]},
    ]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def choose_at_once(body) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(choose(Client(), auth, body).status_code)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=choose_at_once, args=(body,)) for body in choices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200, 200]
    # One choice whole, never a mix of both.
    kept = {
        "hashtagIds": sorted(user.preferred_hashtags.values_list("hashtag_id", flat=True)),
        "sampleOutfitIds": list(
            UserPreferredCoordi.objects.filter(user=user).order_by("id").values_list("coordi_id", flat=True)
        ),
    }
    assert kept in choices
