"""The admin in a real browser, as a merchandiser uses it: Debian's Chromium driven by Playwright
against the app under uvicorn (production settings) and the Gemini stand-in.

Needs /usr/bin/chromium (`.ci/run` installs the `chromium` and `fonts-noto-cjk` packages; a browser
is never downloaded). On a failure the page's screenshot and HTML are kept in BROWSER_ARTEFACTS
(default var/browser-artefacts/), and the folder is named in the log. With BROWSER_SCREENSHOTS set
(`make screenshots`), the pictures in docs/ are taken afresh.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from llm.testing import Behaviour
from llm.testing.images import ImageRoute, picture
from recommendations.models import Coordi, CoordiImage, User

from .conftest import PHASE_REPORTS
from .factories import make_coordi, make_item, make_user
from .servers import ROOT, AppServer

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTEFACTS = Path(os.environ.get("BROWSER_ARTEFACTS", ROOT / "var" / "browser-artefacts"))
SCREENSHOTS = os.environ.get("BROWSER_SCREENSHOTS", "")
STAFF_EMAIL, STAFF_PASSWORD = "admin@example.com", "admin-password"
# What the stand-in answers: the message the page must show.
MESSAGE = "김민지님, 도심 산책에 딱 맞는 스트리트 룩이에요 🛹"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        f"needs Debian's chromium at {CHROMIUM} (apt install chromium fonts-noto-cjk; CI installs it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue(standin) -> dict[str, Coordi]:
    """The staff member, the demo customer and a few outfits whose images the stand-in serves."""
    staff = User.objects.create_superuser(email=STAFF_EMAIL, name="운영자", gender="female")
    # Hashed as the server checks it (the tests' own settings use a fast hasher it does not know).
    hasher = PBKDF2PasswordHasher()
    staff.password = hasher.encode(STAFF_PASSWORD, hasher.salt())
    staff.save(update_fields=["password"])
    make_user(email="demo@example.com", name="김민지", gender="female")
    coordis = {
        "street": make_coordi(style="street", season="fall", images=1, main_image=0, items=0,
                              description="오버사이즈 후디와 카고 팬츠로 완성한 가을 스트리트 룩"),
        "casual": make_coordi(style="casual", images=1, main_image=0, items=1),
        "minimal": make_coordi(style="minimal", season="winter", images=1, main_image=0, items=1),
    }  # fmt: skip
    for name, (coordi, colour) in zip(
        coordis, zip(coordis.values(), ["#3b5b7a", "#c8a27a", "#6f6f6f"], strict=True), strict=True
    ):
        url = standin.add_image(f"{name}.jpg", ImageRoute(body=picture(360, 480, color=colour)))
        CoordiImage.objects.filter(coordi=coordi).update(image_url=url)
    for category, brand, label, price, colour in [
        ("top", "무신사 스탠다드", "오버사이즈 후디", 49000, "#2f4858"),
        ("bottom", "디스이즈네버댓", "카고 팬츠", 89000, "#556b2f"),
    ]:
        item = make_item(category=category, brand=brand, name=label, price=price)
        url = standin.add_image(f"item-{item.pk}.jpg", ImageRoute(body=picture(120, 120, color=colour)))
        item.images.update(image_url=url)
        coordis["street"].coordi_items.create(item=item, position=item.pk)
    standin.set_default(Behaviour("text", text=MESSAGE))
    return coordis


@pytest.fixture
def web_client() -> Iterator[list[str]]:
    """Two origins serving the web-client page (WEB_CLIENT_PAGE): the first allowed by the server's
    CORS_ALLOWED_ORIGINS, the second not."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), WebClientPage) for _ in range(2)]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    for server, thread in zip(servers, threads, strict=True):
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def server(standin, catalogue, web_client) -> Iterator[AppServer]:
    env = {"GOOGLE_API_KEY": standin.api_key, "GEMINI_BASE_URL": standin.base_url,
           "CORS_ALLOWED_ORIGINS": web_client[0]}  # fmt: skip
    with AppServer(env=env) as app:
        yield app


@pytest.fixture
def browser(server: AppServer) -> Iterator[Browser]:
    # After the data and the server: while Playwright's loop runs, Django refuses database calls
    # from this thread (the test reads what was recorded through the admin instead).
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A browser tab; on a failure its screenshot and HTML are kept, and where is said."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    report = request.node.stash.get(PHASE_REPORTS, {}).get("call")
    if report is None or report.failed:
        folder = ARTEFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=folder / "page.png", full_page=True)
        (folder / "page.html").write_text(tab.content(), encoding="utf-8")
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"browser artefacts of {request.node.name}: {folder} (page.png, page.html)")
    context.close()


def sign_in(page: Page, server: AppServer) -> None:
    page.goto(f"{server.url}/admin/login/")
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#start-here")).to_contain_text("Try messages")


def test_a_merchandiser_tries_a_message_for_the_demo_customer(page, server, catalogue, standin):
    street = catalogue["street"]
    sign_in(page, server)

    # Coordis, filtered to one style: only the street outfit is listed.
    page.locator("#start-here").get_by_role("link", name="Coordis").click()
    page.locator("#changelist-filter").get_by_role("link", name="Street").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("오버사이즈 후디와")
    expect(rows.first.locator("td.field-item_count")).to_have_text("2")

    # Its page: previews of the image and of each item, with brand and price.
    rows.first.locator("th a").click()
    expect(page.locator("#coordi_form")).to_be_visible()
    expect(page.locator(".field-item_thumbnail img")).to_have_count(2)
    expect(page.get_by_text("무신사 스탠다드", exact=True)).to_be_visible()
    expect(page.get_by_text("89,000", exact=True)).to_be_visible()
    if SCREENSHOTS:
        page.screenshot(path=Path(SCREENSHOTS) / "admin-coordi.png", full_page=True)

    # Try messages from there: the outfit comes chosen; the customer is picked in the autocomplete.
    page.locator(".object-tools").get_by_role("link", name="Try messages").click()
    expect(page.locator("#id_coordis option[selected]")).to_have_count(1)
    page.locator("#id_customer + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("demo")
    page.locator(".select2-results__option", has_text="demo@example.com").click()
    page.get_by_role("button", name="Try messages").click()

    expect(page.locator("#tried-for")).to_contain_text("As 김민지 would read them")
    outfit = page.locator(f"#tried-{street.id}")
    expect(outfit.locator(".message")).to_have_text(MESSAGE)
    expect(outfit).to_contain_text("sent with the prompt")
    expect(outfit.locator("img")).to_have_js_property("naturalWidth", 360)  # the image loaded
    outfit.get_by_text("The prompt sent").click()
    expect(outfit.locator("pre").nth(1)).to_contain_text("오버사이즈 후디와 카고 팬츠")
    if SCREENSHOTS:
        page.screenshot(path=Path(SCREENSHOTS) / "admin-try-messages.png", full_page=True)

    assert len(standin.requests) == 1
    assert "김민지" in standin.requests[0].prompt
    assert standin.requests[0].images  # the outfit's picture went with it

    # Recorded for the customer, as the API records its calls.
    page.goto(f"{server.url}/admin/recommendations/generatedmessage/?customer=demo@example.com")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list td.field-message_text")).to_have_text(MESSAGE)


# The replaced service's web client, reduced to its sign-up path: a page on its own origin that calls
# the API from the browser with fetch, as the Next.js client does (JSON bodies and a Bearer token,
# so every call is preflighted), and shows "Network Error" as the client does when CORS refuses.
WEB_CLIENT_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>web client</title></head><body>
<form id="signup">
  <label>Email <input name="email" type="email"></label>
  <label>Password <input name="password" type="password"></label>
  <label>Name <input name="name"></label>
  <select name="gender" aria-label="Gender"><option value="female">여성</option>
    <option value="male">남성</option></select>
  <button>Sign up</button>
</form>
<p id="status"></p><p id="me"></p><p id="message"></p>
<script>
const api = new URLSearchParams(location.search).get("api");
async function call(path, {method = "GET", body, token} = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  const response = await fetch(api + path, {method, headers,
    body: body === undefined ? undefined : JSON.stringify(body)});
  return [response.status, await response.json()];
}
document.getElementById("signup").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  const status = document.getElementById("status");
  try {
    const [created] = await call("/api/auth/signup", {method: "POST", body: form});
    const [, login] = await call("/api/auth/login", {method: "POST",
      body: {email: form.email, password: form.password}});
    const token = login.data.token;
    const [, me] = await call("/api/auth/me", {token});
    document.getElementById("me").textContent =
      `${me.data.user.name} ${me.data.user.hasCompletedOnboarding}`;
    const [, page] = await call("/api/recommendations?limit=1", {token});
    document.getElementById("message").textContent = page.data.outfits[0].llmMessage;
    status.textContent = `signed up ${created}`;
  } catch (error) {
    status.textContent = "Network Error";
  }
});
</script></body></html>
""".encode()


class WebClientPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(WEB_CLIENT_PAGE)))
        self.end_headers()
        self.wfile.write(WEB_CLIENT_PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


def sign_up(page: Page, origin: str, server: AppServer, email: str) -> None:
    page.goto(f"{origin}/?api={server.url}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("client-password-1")
    page.get_by_label("Name").fill("이서연")
    page.get_by_label("Gender").select_option("female")
    page.get_by_role("button", name="Sign up").click()


def test_the_web_client_signs_up_from_its_own_origin(page, server, web_client, standin):
    allowed, refused = web_client

    # From an origin the server does not allow, the browser refuses every call: nobody is made.
    sign_up(page, refused, server, "refused@example.com")
    expect(page.locator("#status")).to_have_text("Network Error")

    sign_up(page, allowed, server, "seoyeon@example.com")
    expect(page.locator("#status")).to_have_text("signed up 201")
    expect(page.locator("#me")).to_have_text("이서연 false")
    expect(page.locator("#message")).to_have_text(MESSAGE)  # a Bearer call, preflighted and allowed

    # Checked through the API itself: the refused origin's sign-up never reached the database.
    assert [sign_in_status(server, email) for email in ("refused@example.com", "seoyeon@example.com")] == [
        401, 200,
    ]  # fmt: skip


def sign_in_status(server: AppServer, email: str) -> int:
    body = {"email": email, "password": "client-password-1"}
    return httpx.post(f"{server.url}/api/auth/login", json=body, timeout=30).status_code
