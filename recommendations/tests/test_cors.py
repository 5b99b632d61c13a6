"""CORS for browser clients on other origins (the replaced service's web client): preflights are
answered before authentication, allowed origins get the headers on every /api/ answer (errors too:
the client reads a 401 as "signed out"), other origins and other paths get none."""

import os
import subprocess
import sys

import pytest

from .factories import make_coordi, make_user, token_for
from .test_settings import ROOT

WEB_CLIENT = "http://localhost:3000"
ELSEWHERE = "https://evil.example.com"


@pytest.fixture(autouse=True)
def _origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [WEB_CLIENT, "https://app.example.com"]


def preflight(client, path, *, origin=WEB_CLIENT, method="GET", headers="authorization"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [("/api/recommendations", "GET", "authorization"),
     ("/api/auth/token", "POST", "content-type"),
     ("/api/recommendations/messages?ids=1", "GET", "authorization"),
     ("/api/does-not-exist", "DELETE", "authorization,content-type")],
)  # fmt: skip
def test_a_preflight_from_an_allowed_origin_is_answered_without_credentials(
    client, django_assert_num_queries, path, method, headers
):
    with django_assert_num_queries(0):  # before sessions and authentication: nothing is read
        response = preflight(client, path, method=method, headers=headers)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == WEB_CLIENT
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert allowed_headers == {"authorization", "content-type"}
    assert method in response["Access-Control-Allow-Methods"].split(", ")
    assert "Access-Control-Allow-Credentials" not in response  # tokens travel in a header


@pytest.mark.django_db
def test_a_preflight_from_another_origin_gets_no_cors_headers(client):
    response = preflight(client, "/api/recommendations", origin=ELSEWHERE)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response


@pytest.mark.django_db
def test_answers_to_an_allowed_origin_carry_the_header_errors_included(client):
    make_coordi()
    token = token_for(make_user())

    signed_in = {"Origin": WEB_CLIENT, "Authorization": f"Bearer {token}"}

    page = client.get("/api/recommendations", headers=signed_in)
    signed_out = client.get(
        "/api/recommendations", headers={"Origin": WEB_CLIENT, "Authorization": "Bearer wrong"}
    )
    bad = client.get("/api/recommendations?limit=0", headers=signed_in)
    unknown = client.get("/api/nothing-here", headers={"Origin": WEB_CLIENT})

    assert [page.status_code, signed_out.status_code, bad.status_code, unknown.status_code] == [
        200, 401, 400, 404,
    ]  # fmt: skip
    for response in (page, signed_out, bad, unknown):
        assert response["Access-Control-Allow-Origin"] == WEB_CLIENT
        assert "origin" in response["Vary"].lower()  # caches keep one answer per origin
    assert signed_out.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.django_db
def test_another_origin_and_paths_outside_the_api_get_no_cors_headers(client):
    token = token_for(make_user())

    elsewhere = client.get(
        "/api/recommendations", headers={"Origin": ELSEWHERE, "Authorization": f"Bearer {token}"}
    )
    outside = client.get("/healthz", headers={"Origin": WEB_CLIENT})
    admin = preflight(client, "/admin/login/")

    assert elsewhere.status_code == 200  # CORS is the browser's rule; the server only says who may read
    assert "Access-Control-Allow-Origin" not in elsewhere
    assert outside.status_code == 200 and "Access-Control-Allow-Origin" not in outside
    assert "Access-Control-Allow-Origin" not in admin


def print_origins(**env: str) -> subprocess.CompletedProcess[str]:
    """CORS_ALLOWED_ORIGINS as a server would load it, from this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "CORS_ALLOWED_ORIGINS"}}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.CORS_ALLOWED_ORIGINS)"],
        cwd=ROOT, env={**clean, "SECRET_KEY": "x" * 64, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "['http://localhost:3000']"),
     ({"DEBUG": "false"}, "[]"),
     ({"DEBUG": "false", "CORS_ALLOWED_ORIGINS": "https://app.example.com,https://m.example.com:8443"},
      "['https://app.example.com', 'https://m.example.com:8443']")],
)  # fmt: skip
def test_allowed_origins_default_to_the_clients_development_origin_only_with_debug(env, expected):
    result = print_origins(**env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("origin", ["localhost:3000", "http://localhost:3000/", "ftp://files.example.com",
                                    "https://app.example.com/path"])  # fmt: skip
def test_a_malformed_origin_stops_the_start_with_one_line(origin):
    result = print_origins(CORS_ALLOWED_ORIGINS=origin)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith(
        f"CORS_ALLOWED_ORIGINS: {origin!r} is not an origin (scheme://host[:port], no path)."
    )
