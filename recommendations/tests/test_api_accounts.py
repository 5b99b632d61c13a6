"""The web client's account routes through Django's test client: sign-up, sign-in, sign-out and me
(onboarding and the profile photo: test_api_accounts_onboarding.py, test_api_accounts_photo.py)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle

from recommendations.models import Hashtag, User, UserPreferredCoordi, UserPreferredHashtag

from .factories import make_coordi, make_user, token_for
from .servers import on_postgresql

pytestmark = pytest.mark.django_db

SIGNUP = "/api/auth/signup"
LOGIN = "/api/auth/login"
LOGOUT = "/api/auth/logout"
ME = "/api/auth/me"
NEW_USER = {"email": "minji@example.com", "password": "eight-ch", "name": "김민지", "gender": "female"}


def post(client, url, body, **kwargs):
    return client.post(url, body, content_type="application/json", **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def prefer(user: User, *, hashtags: list[Hashtag], coordis: list) -> None:
    """Preferences as onboarding stores them: one timestamp, the outfits in the order chosen."""
    now = timezone.now()
    UserPreferredHashtag.objects.bulk_create(
        UserPreferredHashtag(user=user, hashtag=tag, created_at=now) for tag in hashtags
    )
    UserPreferredCoordi.objects.bulk_create(
        UserPreferredCoordi(user=user, coordi=coordi, created_at=now) for coordi in coordis
    )


# --- Sign-up ---------------------------------------------------------------------------------------


def test_sign_up_makes_a_signed_in_user_field_by_field(client):
    before = timezone.now()

    response = post(client, SIGNUP, NEW_USER)

    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["success", "data"]
    assert body["success"] is True
    assert list(body["data"]) == ["user", "token"]
    user = User.objects.get()
    assert body["data"]["token"] == Token.objects.get(user=user).key
    assert body["data"]["user"] == {
        "id": user.id,
        "email": "minji@example.com",
        "name": "김민지",
        "gender": "female",
        "profileImageUrl": None,
        "preferredTags": [],
        "preferredCoordis": [],
        "hasCompletedOnboarding": False,
        "createdAt": iso(user.date_joined),
    }
    assert user.check_password("eight-ch")
    assert before <= user.date_joined <= timezone.now()
    assert user.last_login is not None and before <= user.last_login <= timezone.now()
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    # The token works at once.
    assert client.get(ME, headers=bearer(body["data"]["token"])).json()["data"]["user"]["id"] == user.id


def test_the_password_is_kept_as_given_spaces_included(client):
    post(client, SIGNUP, {**NEW_USER, "password": "  two  spaces  "})

    assert post(client, LOGIN, {"email": NEW_USER["email"], "password": "  two  spaces  "}).status_code == 200
    assert post(client, LOGIN, {"email": NEW_USER["email"], "password": "two  spaces"}).status_code == 401


def test_only_the_length_rule_applies_not_djangos_password_validators(client):
    # All digits, common, and like the email: Django's validators would refuse each of these.
    for n, password in enumerate(["12345678", "password", "minji@example.com"]):
        response = post(client, SIGNUP, {**NEW_USER, "email": f"user{n}@example.com", "password": password})
        assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "email", ["minji@example.com", "MINJI@EXAMPLE.COM", "Minji@Example.com"]
)  # fmt: skip
def test_an_email_already_used_in_any_case_is_409(client, email):
    make_user(email="Minji@example.com")

    response = post(client, SIGNUP, {**NEW_USER, "email": email})

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": {"code": "EMAIL_EXISTS", "message": "A user with this email address already exists."},
    }
    assert User.objects.count() == 1
    assert Token.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "seven-c"}, "password"),
        ({"password": "x" * 4097}, "password"),
        ({"password": None}, "password"),
        ({"password": 12345678}, "password"),
        ({"password": "eight-ch\x00"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"gender": "other"}, "gender"),
        ({"gender": ""}, "gender"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "가" * 101}, "name"),
        ({"name": 0}, "name"),
        ({"name": "민\x00지"}, "name"),
        ({"name": "\t\n\u3000"}, "name"),
        ({"name": "\u001c\ufeff\u0085"}, "name"),
        ({"name": ["김민지"]}, "name"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, change, field):
    response = post(client, SIGNUP, {**NEW_USER, **change})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["message"].startswith(f"{field}: ")
    assert not User.objects.exists()


@pytest.mark.parametrize("missing", ["email", "password", "name", "gender"])
def test_a_missing_field_is_400_naming_it(client, missing):
    body = {key: value for key, value in NEW_USER.items() if key != missing}

    response = post(client, SIGNUP, body)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"{missing}: This field is required."


def test_the_name_is_kept_as_given(client):
    response = post(client, SIGNUP, {**NEW_USER, "name": " 민지 "})

    assert response.json()["data"]["user"]["name"] == " 민지 "


def test_the_longest_password_and_name_are_accepted(client):
    response = post(client, SIGNUP, {**NEW_USER, "password": "x" * 4096, "name": "가" * 100})

    assert response.status_code == 201
    assert response.json()["data"]["user"]["name"] == "가" * 100


def test_sign_up_needs_no_csrf_token_and_ignores_a_session(client):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user(email="someone@example.com"))

    response = post(strict, SIGNUP, NEW_USER)

    assert response.status_code == 201
    assert response.json()["data"]["user"]["email"] == "minji@example.com"


def test_sign_ups_are_throttled_per_address_counting_valid_bodies_only(client, monkeypatch):
    # DRF reads the rates once, into the class, when it is imported.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    for _ in range(5):
        assert post(client, SIGNUP, {**NEW_USER, "password": "short"}).status_code == 400

    statuses = [
        post(client, SIGNUP, {**NEW_USER, "email": f"user{n}@example.com"}).status_code for n in range(3)
    ]
    throttled = post(client, SIGNUP, {**NEW_USER, "email": "late@example.com"})

    assert statuses == [201, 201, 201]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "RATE_LIMITED"
    assert not User.objects.filter(email="late@example.com").exists()
    # Sign-in shares the address's budget.
    assert post(client, LOGIN, {"email": "user0@example.com", "password": "eight-ch"}).status_code == 429


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgresql(), reason="two sign-ups at once need PostgreSQL (CI sets DATABASE_URL)")
def test_two_sign_ups_of_one_email_at_once_make_one_user_and_one_409():
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def sign_up(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(post(Client(), SIGNUP, {**NEW_USER, "email": email}).status_code)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=sign_up, args=(email,)) for email in ("race@example.com", "RACE@example.com")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [201, 409]
    assert User.objects.filter(email__iexact="race@example.com").count() == 1
    assert Token.objects.count() == 1


# --- Sign-in ---------------------------------------------------------------------------------------


def test_sign_in_gives_the_token_and_the_user_as_me_shows_it(client):
    user = make_user(email="minji@example.com")
    tags = list(Hashtag.objects.order_by("id")[:3])
    prefer(user, hashtags=tags, coordis=[make_coordi(), make_coordi()])
    before = timezone.now()

    response = post(client, LOGIN, {"email": "MINJI@example.com", "password": "secret-password"})

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert list(body["data"]) == ["user", "token"]
    assert body["data"]["token"] == Token.objects.get(user=user).key
    me = client.get(ME, headers=bearer(body["data"]["token"])).json()["data"]["user"]
    assert body["data"]["user"] == me
    assert [tag["id"] for tag in me["preferredTags"]] == [tag.id for tag in tags]
    user.refresh_from_db()
    assert user.last_login is not None
    assert before <= user.last_login <= timezone.now() + timedelta(seconds=1)


def test_sign_in_keeps_the_existing_token(client):
    user = make_user(email="minji@example.com")
    token = token_for(user)

    response = post(client, LOGIN, {"email": "minji@example.com", "password": "secret-password"})

    assert response.json()["data"]["token"] == token
    assert Token.objects.count() == 1


def test_sign_up_and_sign_in_show_the_same_user(client):
    signed_up = post(client, SIGNUP, NEW_USER).json()["data"]

    signed_in = post(client, LOGIN, {"email": NEW_USER["email"], "password": NEW_USER["password"]}).json()

    assert signed_in["data"] == signed_up


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "minji@example.com", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": "secret-password"},
    ],
)
def test_wrong_credentials_are_401_invalid_credentials(client, credentials):
    make_user(email="minji@example.com")

    response = post(client, LOGIN, credentials)

    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": {"code": "INVALID_CREDENTIALS", "message": "Invalid email or password."},
    }
    assert not Token.objects.exists()


def test_an_inactive_user_cannot_sign_in(client):
    make_user(email="minji@example.com", is_active=False)

    response = post(client, LOGIN, {"email": "minji@example.com", "password": "secret-password"})

    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"password": "x"}, "email"), ({"email": "bad", "password": "x"}, "email"),
     ({"email": "a@example.com"}, "password")],
)  # fmt: skip
def test_malformed_sign_ins_are_400(client, body, field):
    response = post(client, LOGIN, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["message"].startswith(f"{field}: ")


def test_guessing_is_throttled(client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    make_user(email="minji@example.com")
    wrong = {"email": "minji@example.com", "password": "wrong"}
    post(client, LOGIN, {"email": "not-an-email"})  # not counted

    statuses = [post(client, LOGIN, wrong).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_sign_in_needs_no_csrf_token(client):
    make_user(email="minji@example.com")
    strict = Client(enforce_csrf_checks=True)

    response = post(strict, LOGIN, {"email": "minji@example.com", "password": "secret-password"})

    assert response.status_code == 200


# --- Sign-out --------------------------------------------------------------------------------------


def test_sign_out_ends_the_token_and_only_that_users(client):
    user, other = make_user(), make_user()
    token, others = token_for(user), token_for(other)

    response = post(client, LOGOUT, None, headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"message": "Signed out."}}
    again = client.get(ME, headers=bearer(token))
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "UNAUTHORIZED"
    assert post(client, LOGOUT, None, headers=bearer(token)).status_code == 401
    assert client.get(ME, headers=bearer(others)).status_code == 200
    # Signing in again makes a new token.
    fresh = post(client, LOGIN, {"email": user.email, "password": "secret-password"}).json()["data"]["token"]
    assert fresh != token
    assert client.get(ME, headers=bearer(fresh)).status_code == 200


def test_sign_out_needs_a_signed_in_user(client):
    response = post(client, LOGOUT, None)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_sign_out_is_post_only(client):
    user = make_user()

    response = client.get(LOGOUT, headers=bearer(token_for(user)))

    assert response.status_code == 405
    assert Token.objects.filter(user=user).exists()


# --- Me --------------------------------------------------------------------------------------------


def test_me_field_by_field(client):
    user = make_user(email="minji@example.com", name="김민지", gender="female")
    user.has_completed_onboarding = True
    user.profile_photo = "profile-photos/abc.png"
    user.save()
    tags = list(Hashtag.objects.order_by("id"))
    # Chosen out of id order; shown by hashtag id.
    chosen_tags = [tags[4], tags[0], tags[2]]
    first = make_coordi(gender="male", style="street", season="fall", description="가을 스트릿")
    second = make_coordi(style="minimal", season="winter", description="겨울 미니멀", main_image=None)
    third = make_coordi(images=0)
    prefer(user, hashtags=chosen_tags, coordis=[second, first, third])
    preferred_at = UserPreferredCoordi.objects.filter(user=user)[0].created_at

    response = client.get(ME, headers=bearer(token_for(user)))

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert list(body["data"]) == ["user"]
    assert body["data"]["user"] == {
        "id": user.id,
        "email": "minji@example.com",
        "name": "김민지",
        "gender": "female",
        "profileImageUrl": "http://testserver/media/profile-photos/abc.png",
        "preferredTags": [{"id": tag.id, "name": tag.name} for tag in (tags[0], tags[2], tags[4])],
        "preferredCoordis": [
            {
                "id": second.id, "style": "minimal", "season": "winter", "gender": "female",
                "description": "겨울 미니멀",
                # No main image: the first by position.
                "mainImageUrl": second.images.get(position=0).image_url,
                "preferredAt": iso(preferred_at),
            },
            {
                "id": first.id, "style": "street", "season": "fall", "gender": "male",
                "description": "가을 스트릿",
                "mainImageUrl": first.images.get(is_main=True).image_url,
                "preferredAt": iso(preferred_at),
            },
            {
                "id": third.id, "style": "casual", "season": "spring", "gender": "female",
                "description": third.description, "mainImageUrl": None,
                "preferredAt": iso(preferred_at),
            },
        ],
        "hasCompletedOnboarding": True,
        "createdAt": iso(user.date_joined),
    }  # fmt: skip
    assert first.images.get(is_main=True).position == 1  # (the main image is not the first)


def test_me_is_read_in_a_fixed_number_of_queries(client):
    tags = list(Hashtag.objects.order_by("id"))
    few, many = make_user(), make_user()
    prefer(few, hashtags=tags[:3], coordis=[make_coordi() for _ in range(3)])
    prefer(many, hashtags=tags, coordis=[make_coordi() for _ in range(10)])

    counts = []
    for user in (few, many):
        headers = bearer(token_for(user))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(ME, headers=headers)
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1] == 4  # the token with its user, hashtags, outfits, their images
    assert len(response.json()["data"]["user"]["preferredCoordis"]) == 10


def test_me_needs_a_signed_in_user(client):
    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [("put", "/api/users/preferences"), ("patch", "/api/users/preferences"),
     ("put", "/api/users/profile-photo"), ("patch", "/api/auth/logout"),
     ("put", "/api/outfits/1/view"), ("patch", "/api/closet/items"),
     ("post", "/api/closet/items/1"), ("put", "/api/auth/signup")],
)  # fmt: skip
def test_a_method_a_route_does_not_answer_is_405_whatever_its_body(client, method, path):
    auth = {"Authorization": f"Bearer {token_for(make_user())}"}

    # A body each route's own checks would refuse: the method is refused first.
    response = getattr(client, method)(path, data='{"hashtagIds": "x"}', content_type="application/json",
                                       headers=auth)  # fmt: skip

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
