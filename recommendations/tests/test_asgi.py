"""The app as uvicorn runs it (Django's async handler): inline middleware, few thread hops."""

import asgiref.sync
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from llm import store

from .factories import make_coordi, make_user, token_for

URL = "/api/recommendations"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hops(monkeypatch):
    """Counts the thread hops (sync_to_async calls) made while serving."""
    counted = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        counted.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counting)
    return counted


def test_a_warm_page_costs_one_thread_hop_of_its_own(hops, settings, monkeypatch):
    def all_cached(keys):
        return {key: store.Stored("민지님, 잘 어울려요 ✨", "ok") for key in keys}

    # Every message already made, so the page makes no Gemini call (the message cache is tested
    # against the stand-in elsewhere; here only the request's own hops are counted).
    monkeypatch.setattr(store, "read_now", all_cached)
    async_to_sync(_warm_page)(hops, settings)


async def _warm_page(hops, settings):
    settings.GOOGLE_API_KEY = "AIzaFAKE-no-call-made"  # messages looked up (all cached below)
    user = await asyncio_call(make_user)
    for _ in range(3):
        await asyncio_call(make_coordi)
    auth = {"Authorization": f"Bearer {await asyncio_call(token_for, user)}"}
    client = AsyncClient()
    await client.get(URL, headers=auth)  # fragments made and cached
    hops.clear()
    response = await client.get(URL, headers=auth)

    assert response.status_code == 200, response.json()
    assert [o["llmMessage"] for o in response.json()["data"]["outfits"]] == ["민지님, 잘 어울려요 ✨"] * 3
    # Ours: one, for authentication, the page's database reads, the fragments' get_many and the
    # messages'. Django's own: the request_started and request_finished signals. No middleware hop,
    # no render hop, no hop of its own for the fragments or the messages.
    assert [hop for hop in hops if hop in ("RecommendationsView.initial", "_read")] == [
        "RecommendationsView.initial",
    ]
    assert len(hops) == 3, hops


def test_sessions_csrf_and_the_admin_work_inline():
    async_to_sync(_sessions_csrf_and_the_admin_work_inline)()


async def _sessions_csrf_and_the_admin_work_inline():
    await asyncio_call(make_user, email="admin@example.com", is_staff=True, is_superuser=True)
    client = AsyncClient(enforce_csrf_checks=True)

    login_page = await client.get("/admin/login/")
    token = login_page.cookies["csrftoken"].value
    refused = await client.post(
        "/admin/login/", {"username": "admin@example.com", "password": "secret-password"}
    )
    signed_in = await client.post(
        "/admin/login/",
        {"username": "admin@example.com", "password": "secret-password", "csrfmiddlewaretoken": token},
    )
    dashboard = await client.get("/admin/")
    api = await client.get(URL)  # the API accepts the session too

    assert login_page.status_code == 200
    assert login_page["X-Frame-Options"] == "DENY"
    assert login_page["X-Content-Type-Options"] == "nosniff"
    assert refused.status_code == 403
    assert signed_in.status_code == 302
    assert dashboard.status_code == 200
    assert api.status_code == 200


def test_errors_keep_the_envelope():
    async_to_sync(_errors_keep_the_envelope)()


async def _errors_keep_the_envelope():
    response = await AsyncClient().get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def asyncio_call(function, *args, **kwargs):
    return await asgiref.sync.sync_to_async(function)(*args, **kwargs)


def test_https_is_enforced_in_production_except_for_probes(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    settings.SECURE_HSTS_SECONDS = 3600
    async_to_sync(_https_is_enforced)()


async def _https_is_enforced():
    client = AsyncClient()
    redirected = await client.get(URL)
    probe = await client.get("/healthz")
    secure = await client.get("/healthz", secure=True)

    assert redirected.status_code == 301
    assert redirected["Location"] == f"https://testserver{URL}"
    assert probe.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")
