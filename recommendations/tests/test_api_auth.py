"""GET /api/recommendations: who may read it (tokens, their keywords, sessions, inactive users)."""

import pytest

from .factories import make_coordi, make_user, token_for

URL = "/api/recommendations"
pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return make_user(name="김민지", gender="female")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": "Token not-a-real-token"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
    ],
)
def test_without_valid_credentials_is_401(client, headers):
    response = client.get(URL, headers=headers)

    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_inactive_users_token_is_401(client, user, auth):
    user.is_active = False
    user.save()

    assert client.get(URL, headers=auth).status_code == 401


@pytest.mark.parametrize("keyword", ["Bearer", "Token"])
def test_bearer_and_token_keywords_are_both_accepted(client, user, keyword):
    make_coordi()

    response = client.get(URL, headers={"Authorization": f"{keyword} {token_for(user)}"})

    assert response.status_code == 200
    assert len(response.json()["data"]["outfits"]) == 1


def test_a_session_is_accepted(client, user):
    make_coordi()
    client.force_login(user)

    assert client.get(URL).status_code == 200
