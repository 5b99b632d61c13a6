"""Bad requests, as a hostile or careless client sends them: each answered in the envelope with a 4xx
(or the right status off the API), never a 500, never Django's HTML pages."""

import io
import json

import httpx
import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.test import Client
from rest_framework.throttling import ScopedRateThrottle

from recommendations.api.views import RecommendationsView

from .factories import make_coordi, make_user, token_for
from .servers import AppServer

URL = "/api/recommendations"
TOKEN_URL = "/api/auth/token"
pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return make_user()


def error(response) -> tuple[int, str]:
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    assert body["success"] is False
    return response.status_code, body["error"]["code"]


@pytest.mark.parametrize("page", ["99999999999999999999", "1000001", str(2**63)])
def test_a_page_past_the_bound_is_a_400_naming_page(client, auth, page):
    response = client.get(URL, {"page": page}, headers=auth)

    assert error(response) == (400, "VALIDATION_ERROR")
    assert response.json()["error"]["message"] == "page: Ensure this value is less than or equal to 1000000."


def test_the_last_page_allowed_is_an_empty_page(client, auth):
    make_coordi()

    response = client.get(URL, {"page": "1000000", "limit": "50"}, headers=auth)

    assert response.status_code == 200
    assert response.json()["data"]["outfits"] == []
    assert response.json()["data"]["pagination"]["currentPage"] == 1000000


@pytest.mark.parametrize("field", ["page", "limit"])
@pytest.mark.parametrize("value", ["1_0", "+1", "\uff11", " 1", "1 ", "1.0", "\u0661", "0x1", "1e1"])
def test_a_page_number_is_plain_ascii_digits(client, auth, field, value):
    response = client.get(URL, {field: value}, headers=auth)

    assert error(response) == (400, "VALIDATION_ERROR")
    assert response.json()["error"]["message"] == f"{field}: A valid integer is required."


@pytest.mark.parametrize("value", ["1", "yes", "on", "True", "TRUE"])
def test_refresh_is_true_or_false_as_the_schema_says(client, auth, value):
    response = client.get(URL, {"refresh": value}, headers=auth)

    assert error(response) == (400, "VALIDATION_ERROR")
    assert response.json()["error"]["message"].startswith("refresh: ")


def test_a_body_over_the_limit_is_a_413(client, settings):
    body = json.dumps({"email": "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "password": "x"})

    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert error(response) == (413, "REQUEST_TOO_LARGE")


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_json_is_a_400(client, depth):
    body = "[" * depth + "]" * depth

    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert error(response) == (400, "VALIDATION_ERROR")


def test_a_body_that_is_not_json_is_a_415(client):
    response = client.post(TOKEN_URL, "email=a@example.com", content_type="text/plain")

    assert error(response) == (415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_any_method_on_an_unknown_api_path_is_a_json_404(method):
    client = Client(enforce_csrf_checks=True)  # as a browser without a CSRF token

    response = getattr(client, method)("/api/no-such-thing", "{}", content_type="application/json")

    assert error(response) == (404, "NOT_FOUND")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/"])
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_operational_endpoints_answer_other_methods_405(path, method):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_options_on_the_docs_is_a_405_in_the_envelope(client, settings):
    settings.DEBUG = True  # Django's debug page was the answer

    response = client.options("/api/docs/")

    assert error(response) == (405, "METHOD_NOT_ALLOWED")


def test_the_schema_answers_its_errors_in_json(client):
    put = client.put("/api/schema/")
    xml = client.get("/api/schema/", {"format": "xml"})

    assert error(put) == (405, "METHOD_NOT_ALLOWED")
    assert error(xml) == (404, "NOT_FOUND")
    assert xml.json()["error"]["message"] == "Not found."
    assert client.get("/api/schema/", {"format": "json"}).json()["openapi"].startswith("3.")


@pytest.mark.parametrize("typed", ["DEMO@example.com", "Demo@Example.COM", "demo@EXAMPLE.com"])
def test_sign_in_takes_the_email_in_any_case(client, typed):
    make_user(email="demo@example.com")

    response = client.post(
        TOKEN_URL, {"email": typed, "password": "secret-password"}, content_type="application/json"
    )

    assert response.status_code == 200


def test_the_admin_signs_in_with_the_email_in_any_case(client):
    make_user(email="admin@example.com", is_staff=True, is_superuser=True)

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ADMIN@example.com", "password": "secret-password"}
    )

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_preview_messages_finds_the_user_in_any_case(settings):
    settings.GOOGLE_API_KEY = ""
    make_user(email="seoyeon@example.com")
    out = io.StringIO()

    # A user it cannot find is a CommandError ("No user signs in as ...").
    call_command("preview_messages", "--user", "SeoYeon@Example.com", stdout=out, stderr=io.StringIO())

    assert out.getvalue().startswith("COORDI")


def test_two_accounts_cannot_differ_only_in_the_case_of_their_email():
    make_user(email="twin@example.com")

    with pytest.raises(IntegrityError):
        make_user(email="Twin@example.com")


def test_only_attempts_at_the_credentials_count_against_the_throttle(client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    make_user(email="minji@example.com")
    malformed = [{"email": "not-an-email", "password": "x"}, {"password": "x"}, {"email": "a@b.co"}]

    refused = [
        client.post(TOKEN_URL, body, content_type="application/json").status_code
        for body in malformed * 7  # 21 bad bodies
    ]
    wrong_method = client.get(TOKEN_URL)
    attempts = [
        client.post(
            TOKEN_URL, {"email": "minji@example.com", "password": "wrong"}, content_type="application/json"
        ).status_code
        for _ in range(4)
    ]

    assert set(refused) == {400}
    assert error(wrong_method) == (405, "METHOD_NOT_ALLOWED")
    assert attempts == [401, 401, 401, 429]


def test_the_start_page_links_to_the_docs_the_admin_and_the_health_checks(client, settings):
    settings.DEBUG = True  # Django's debug 404 listing every URL pattern was the answer

    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    for link in ("/api/docs/", "/api/schema/", "/admin/", "/healthz", "/readyz", "/metrics"):
        assert f'href="{link}"' in page, link
    admin = client.get("/admin/login/")
    assert admin.status_code == 200  # its "View site" is the admin site's site_url, "/"


def test_options_describes_the_endpoint_for_api_users(client, auth):
    response = client.options(URL, headers=auth)

    assert response.status_code == 200
    description = response.json()["description"]
    assert description == RecommendationsView.description
    assert "hop" not in description and "initial()" not in description


def test_the_api_never_answers_html_for_a_bad_request(client, auth, settings):
    """A mix of the above under DEBUG: still the envelope (Django's debug pages are HTML)."""
    settings.DEBUG = True
    for response in (
        client.get(URL, {"page": "x"}, headers=auth),
        client.get(URL, {"limit": "51"}, headers=auth),
        client.get("/api/nowhere"),
        client.post(URL, headers=auth),
    ):
        assert response["Content-Type"] == "application/json"
        assert 400 <= response.status_code < 500


@pytest.mark.django_db(transaction=True)  # the server reads the test database
def test_the_server_logs_one_line_per_4xx_and_per_page_without_a_key():
    user = make_user()
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    for _ in range(3):
        make_coordi()
    with AppServer(env={"DEBUG": "true", "GOOGLE_API_KEY": ""}) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            missing = client.get("/api/no-such-thing")
            bad = client.get(URL, params={"limit": "51"}, headers=headers)
            page = client.get(URL, headers=headers)
        log = server.log()

    assert (missing.status_code, bad.status_code, page.status_code) == (404, 400, 200)
    assert [o["llmMessageStatus"] for o in page.json()["data"]["outfits"]] == ["unavailable"] * 3
    assert log.count("Not Found: /api/no-such-thing") == 1
    assert log.count("Bad Request: /api/recommendations") == 1
    [no_key] = [line for line in log.splitlines() if "no_key" in line]
    assert "3 messages not made" in no_key
    assert "Traceback" not in log


@pytest.mark.parametrize("field", ["page", "limit", "refresh", "messages"])
def test_a_parameter_given_blank_is_a_400_not_its_default(client, auth, field):
    response = client.get(URL, {field: ""}, headers=auth)

    assert error(response) == (400, "VALIDATION_ERROR")
    assert response.json()["error"]["message"] == f"{field}: This field may not be blank."
