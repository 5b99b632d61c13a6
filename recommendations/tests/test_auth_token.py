"""POST /api/auth/token: email and password in, the user's token out."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle

from .factories import make_user

URL = "/api/auth/token"
pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_right_credentials_give_the_users_token_and_it_works(client):
    user = make_user(email="minji@example.com")

    response = post(client, {"email": "minji@example.com", "password": "secret-password"})

    assert response.status_code == 200
    body = response.json()
    assert body == {"success": True, "data": {"token": Token.objects.get(user=user).key}}
    api = client.get("/api/recommendations", headers={"Authorization": f"Bearer {body['data']['token']}"})
    assert api.status_code == 200


def test_a_sign_in_is_kept_as_last_login_and_a_failed_one_is_not(client):
    user = make_user(email="minji@example.com")
    post(client, {"email": "minji@example.com", "password": "wrong"})
    user.refresh_from_db()
    assert user.last_login is None

    before = timezone.now()
    post(client, {"email": "MINJI@example.com", "password": "secret-password"})

    user.refresh_from_db()
    assert user.last_login is not None
    assert before <= user.last_login <= timezone.now() + timedelta(seconds=1)


def test_the_same_token_comes_back_each_time(client):
    make_user(email="minji@example.com")
    credentials = {"email": "minji@example.com", "password": "secret-password"}

    assert post(client, credentials).json() == post(client, credentials).json()
    assert Token.objects.count() == 1


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "minji@example.com", "password": "wrong"},
        {"email": "nobody@example.com", "password": "secret-password"},
    ],
)
def test_wrong_credentials_are_401(client, credentials):
    make_user(email="minji@example.com")

    response = post(client, credentials)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert "token" not in response.content.decode()


def test_an_inactive_user_gets_no_token(client):
    make_user(email="minji@example.com", is_active=False)

    response = post(client, {"email": "minji@example.com", "password": "secret-password"})

    assert response.status_code == 401
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"password": "x"}, "email"), ({"email": "not-an-email", "password": "x"}, "email"),
     ({"email": "a@example.com"}, "password")],
)  # fmt: skip
def test_missing_or_malformed_fields_are_400(client, body, field):
    response = post(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["message"].startswith(f"{field}: ")


def test_malformed_json_is_400(client):
    response = client.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_guessing_is_throttled(client, monkeypatch):
    # DRF reads the rates once, into the class, when it is imported.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    make_user(email="minji@example.com")
    wrong = {"email": "minji@example.com", "password": "wrong"}

    statuses = [post(client, wrong).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    assert post(client, wrong).json()["error"]["code"] == "RATE_LIMITED"


def test_sign_in_works_while_the_cache_is_out(client, settings):
    # The throttle counts in the cache; without it, sign-in is unthrottled rather than a 500.
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    make_user(email="minji@example.com")

    response = post(client, {"email": "minji@example.com", "password": "secret-password"})

    assert response.status_code == 200
