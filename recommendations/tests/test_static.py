"""Static files (the admin's, DRF's, Swagger UI's), served by the app itself under ASGI through
ServeStatic: right type, right body, cache headers, 404s, and no synchronous iterator behind an
async response."""

from __future__ import annotations

import asyncio
import re
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.contrib.staticfiles import finders
from django.core.management import call_command

from .servers import AppServer

ADMIN_CSS = "admin/css/base.css"
SWAGGER_JS = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
DRF_CSS = "rest_framework/css/bootstrap.min.css"
MISSING = "/static/admin/css/no-such-file.css"
# What Django warns when an async server is handed a file response with a synchronous iterator.
SYNC_ITERATOR_WARNING = "StreamingHttpResponse must consume synchronous iterators"


def source(name: str) -> bytes:
    """The file as its app ships it."""
    path = finders.find(name)
    assert path, name
    return Path(path).read_bytes()


def test_collectstatic_gathers_the_admin_drf_and_swagger_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"

    call_command("collectstatic", interactive=False, verbosity=0)

    for name in (ADMIN_CSS, SWAGGER_JS, DRF_CSS):
        assert (tmp_path / "static" / name).read_bytes() == source(name), name


def test_the_asgi_application_serves_static_files_with_an_async_body():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        css, js, head, missing = async_to_sync(_asgi_requests)()

    assert css["status"] == 200
    assert css["headers"]["content-type"] == 'text/css; charset="utf-8"'
    assert css["body"] == source(ADMIN_CSS)
    assert js["status"] == 200
    assert js["headers"]["content-type"] == 'text/javascript; charset="utf-8"'
    assert js["body"] == source(SWAGGER_JS)
    assert head["status"] == 200
    assert head["headers"]["content-length"] == str(len(source(ADMIN_CSS)))
    assert head["body"] == b""
    assert missing["status"] == 404
    assert [str(w.message) for w in caught if SYNC_ITERATOR_WARNING in str(w.message)] == []


async def _asgi_requests() -> list[dict[str, Any]]:
    from config.asgi import application  # built here, with the test settings in place

    return [
        await asgi_request(application, "GET", f"/static/{ADMIN_CSS}"),
        await asgi_request(application, "GET", f"/static/{SWAGGER_JS}"),
        await asgi_request(application, "HEAD", f"/static/{ADMIN_CSS}"),
        await asgi_request(application, "GET", MISSING),
    ]


async def asgi_request(application, method: str, path: str) -> dict[str, Any]:
    """One HTTP request played to an ASGI application, as a server would: the response, whole."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    response: dict[str, Any] = {"body": b""}
    answered = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()  # the client stays until the response has been sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            response["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                answered.set()

    await asyncio.wait_for(application(scope, receive, send), timeout=30)
    assert answered.is_set(), "the response was never finished"
    return response


@pytest.mark.django_db(transaction=True)  # the server reads the test database
def test_production_serves_the_pages_static_files_itself(settings, tmp_path):
    """DEBUG off, after collectstatic, under uvicorn: what the admin and the API docs link to is
    served by the app, with a cache lifetime, and nothing warns about synchronous iterators."""
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    # Collected elsewhere, e.g. demo images drawn where the image was built: only in STATIC_ROOT.
    only_collected = settings.STATIC_ROOT / "demo" / "collected-only.png"
    only_collected.parent.mkdir(exist_ok=True)
    only_collected.write_bytes(b"\x89PNG\r\n\x1a\n not a real picture")
    with AppServer(env={"STATIC_ROOT": str(settings.STATIC_ROOT)}) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            linked = {
                url
                for page in ("/admin/login/", "/api/docs/")
                for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', client.get(page).text)
            }
            responses = {url: client.get(url) for url in sorted(linked)}
            css = client.get(f"/static/{ADMIN_CSS}")
            collected = client.get("/static/demo/collected-only.png")
            missing = client.get(MISSING)
        log = server.log()

    assert {f"/static/{ADMIN_CSS}", f"/static/{SWAGGER_JS}"} <= linked
    assert {url: r.status_code for url, r in responses.items()} == {url: 200 for url in linked}
    assert css.headers["content-type"] == 'text/css; charset="utf-8"'
    assert css.headers["cache-control"] == "max-age=60, public"
    assert css.content == source(ADMIN_CSS)
    assert collected.status_code == 200
    assert collected.headers["content-type"] == "image/png"
    assert collected.content == only_collected.read_bytes()
    assert missing.status_code == 404
    assert SYNC_ITERATOR_WARNING not in log
