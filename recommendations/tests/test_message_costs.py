"""What messages cost: the tokens Gemini reports, kept on each GeneratedMessage, counted in the
metrics, and summed per day, per outcome and per 1,000 page views by `message_costs` and the
admin's message list."""

import datetime
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

from llm.testing import Behaviour
from recommendations import page_views
from recommendations.models import GeneratedMessage, PageViews

from .factories import make_coordi, make_user, token_for
from .servers import AppServer

URL = "/api/recommendations"

# What a call with a photo might report: 1,200 input tokens of which 258 the image's and 200 read
# from Gemini's cache, 15 written and 7 thought.
USAGE = {
    "promptTokenCount": 1200,
    "candidatesTokenCount": 15,
    "thoughtsTokenCount": 7,
    "cachedContentTokenCount": 200,
    "totalTokenCount": 1222,
    "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": 942}, {"modality": "IMAGE", "tokenCount": 258}
    ],
}
# At the default prices ($ per million: 0.30 input, 0.03 cached, 2.50 output and thinking).
COST_OF_ONE = (1000 * 0.30 + 200 * 0.03 + 22 * 2.50) / 1_000_000


def tokens(kind):
    return REGISTRY.get_sample_value("llm_tokens_total", {"kind": kind}) or 0.0


def dollars():
    return REGISTRY.get_sample_value("llm_estimated_cost_dollars_total") or 0.0


def page(client, user):
    return client.get(URL, headers={"Authorization": f"Bearer {token_for(user)}"})


def costs(*args):
    out = StringIO()
    call_command("message_costs", *args, stdout=out)
    return out.getvalue()


def row_of(report, label):
    """The cells of the report's line starting with `label`."""
    [line] = [line for line in report.splitlines() if line.split()[:1] == [label]]
    return line.split()[1:]


@pytest.mark.django_db
def test_the_reported_usage_is_on_each_row_in_the_metrics_and_in_the_report(client, standin):
    standin.set_default(Behaviour("ok", usage=USAGE))
    make_coordi(), make_coordi()
    before = {kind: tokens(kind) for kind in ("input", "image", "cached", "output", "thinking")}
    spent = dollars()

    assert page(client, make_user()).status_code == 200

    rows = GeneratedMessage.objects.all()
    assert len(rows) == 2
    for row in rows:
        assert (row.input_tokens, row.image_tokens, row.cached_tokens) == (1200, 258, 200)
        assert (row.output_tokens, row.thinking_tokens) == (15, 7)
    added = {kind: tokens(kind) - before[kind] for kind in before}
    assert added == {"input": 2400, "image": 516, "cached": 400, "output": 30, "thinking": 14}
    assert dollars() - spent == pytest.approx(2 * COST_OF_ONE)

    today = row_of(costs("--days", "1"), timezone.now().date().isoformat())
    # calls, sent, input, image, cached, output, thinking, cost, page views, $ per 1,000 views
    assert today[:8] == ["2", "2", "2,400", "516", "400", "30", "14", f"{2 * COST_OF_ONE:.4f}"]


@pytest.mark.django_db
def test_the_stand_ins_own_count_reaches_the_row(client, standin):
    make_coordi()

    page(client, make_user(name="민준"))

    [request] = standin.requests
    [row] = GeneratedMessage.objects.all()
    # Counted by the stand-in from what it received: the prompt's text, no image (unreachable here).
    assert (row.image_tokens, row.image_bytes, row.thinking_tokens) == (0, 0, 0)
    assert row.input_tokens is not None and row.input_tokens > 50
    assert row.output_tokens is not None and row.output_tokens >= 5
    assert request.generation_config["mediaResolution"] == "MEDIA_RESOLUTION_LOW"


@pytest.mark.django_db
def test_usage_that_does_not_add_up_is_kept_within_its_whole_and_the_page_served(client, standin):
    odd = {"promptTokenCount": 100, "cachedContentTokenCount": 5000, "candidatesTokenCount": -3,
           "promptTokensDetails": [{"modality": "IMAGE", "tokenCount": 900}]}  # fmt: skip
    standin.set_default(Behaviour("ok", usage=odd))
    make_coordi()
    spent = dollars()

    response = page(client, make_user())

    assert response.status_code == 200 and response.json()["data"]["outfits"][0]["llmMessage"]
    [row] = GeneratedMessage.objects.all()
    assert (row.input_tokens, row.cached_tokens, row.image_tokens, row.output_tokens) == (100, 100, 100, 0)
    assert dollars() - spent == pytest.approx(100 * 0.03 / 1_000_000)


@pytest.mark.django_db
def test_a_call_gemini_refused_has_no_tokens(client, standin):
    standin.set_default(Behaviour("error"))
    make_coordi()

    page(client, make_user())

    [row] = GeneratedMessage.objects.all()
    assert row.reached_gemini and row.outcome == "error"
    assert (row.input_tokens, row.output_tokens, row.image_tokens) == (None, None, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "sent"),
    [("medium", "MEDIA_RESOLUTION_MEDIUM"), ("high", "MEDIA_RESOLUTION_HIGH"),
     ("unspecified", "MEDIA_RESOLUTION_UNSPECIFIED")],
)  # fmt: skip
def test_the_media_resolution_setting_is_sent(client, standin, settings, setting, sent):
    settings.GEMINI_MEDIA_RESOLUTION = setting
    make_coordi()

    page(client, make_user())

    assert standin.requests[0].generation_config["mediaResolution"] == sent


def message(user, coordi, *, day, outcome="ok", **tokens):
    return GeneratedMessage.objects.create(
        coordi=coordi, user=user, text="민준님, 좋아요 ✨" if outcome == "ok" else None, outcome=outcome,
        model="gemini-2.5-flash", prompt_version="v", latency_ms=900,
        reached_gemini=outcome != "rate_limited",
        created_at=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC), **tokens,
    )  # fmt: skip


@pytest.mark.django_db
def test_the_report_counts_by_day_and_outcome_and_per_thousand_page_views():
    user, coordi = make_user(), make_coordi()
    today = timezone.now().date()
    yesterday, long_ago = today - datetime.timedelta(days=1), today - datetime.timedelta(days=30)
    for day in (today, today, yesterday, long_ago):
        message(user, coordi, day=day, input_tokens=1000, output_tokens=20)
    message(user, coordi, day=today, outcome="rate_limited")
    PageViews.objects.create(day=today, views=500)
    PageViews.objects.create(day=yesterday, views=2000)
    PageViews.objects.create(day=long_ago, views=9)
    one = (1000 * 0.30 + 20 * 2.50) / 1_000_000

    report = costs("--days", "7")

    assert row_of(report, today.isoformat()) == [
        "3", "2", "2,000", "0", "0", "40", "0", f"{2 * one:.4f}", "500", f"{2 * one * 2:.4f}"
    ]
    assert row_of(report, yesterday.isoformat())[-2:] == ["2,000", f"{one / 2:.4f}"]
    assert long_ago.isoformat() not in report  # outside the seven days
    assert row_of(report, "total")[:3] == ["4", "3", "3,000"]
    assert row_of(report, "total")[-2:] == ["2,500", f"{3 * one * 1000 / 2500:.4f}"]
    assert row_of(report, "ok")[:2] == ["3", "3"]
    assert row_of(report, "rate_limited")[:3] == ["1", "0", "0"]


@pytest.mark.django_db
def test_the_prices_are_the_settings(settings):
    settings.GEMINI_PRICE_INPUT_PER_MTOK = 1.0
    settings.GEMINI_PRICE_OUTPUT_PER_MTOK = 10.0
    message(make_user(), make_coordi(), day=timezone.now().date(), input_tokens=1_000_000,
            output_tokens=100_000)

    report = costs("--days", "1")

    assert "$1.00 input, $10.00 output" in report
    assert row_of(report, "total")[7] == "2.0000"


@pytest.mark.django_db
def test_a_day_without_pages_or_messages_is_said_plainly():
    report = costs()

    assert "(no message recorded in this period)" in report
    assert row_of(report, "total")[-2:] == ["0", "-"]


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "-1", "abc", "3661", "1.5", "\uff17"])  # a full-width 7
def test_a_bad_days_is_one_line(days):
    with pytest.raises(CommandError, match=r"^--days must be a whole number from 1 to 3660, not "):
        call_command("message_costs", "--days", days)


@pytest.mark.django_db
def test_page_views_are_counted_per_day_and_added_to():
    for _ in range(3):
        page_views.count(can_flush=False)
    assert page_views.pending() == 3

    assert page_views.flush() == 3
    for _ in range(2):
        page_views.count(can_flush=False)
    assert page_views.flush() == 2

    assert PageViews.objects.get(day=timezone.now().date()).views == 5
    assert page_views.pending() == 0


@pytest.mark.django_db
def test_only_one_caller_at_a_time_is_asked_to_write_and_not_before_its_time(monkeypatch):
    monkeypatch.setattr(page_views, "FLUSH_SECONDS", 0)

    assert page_views.count() is True  # this caller writes
    assert page_views.count() is False  # not while the first is at it
    page_views.flush()
    assert page_views.count(can_flush=False) is False  # cannot: waits for one who can
    assert page_views.count() is True

    monkeypatch.setattr(page_views, "FLUSH_SECONDS", 3600)
    page_views.flush()
    assert page_views.count() is False  # written a moment ago


def test_a_caller_that_never_writes_does_not_hold_the_counts_back_for_good(monkeypatch):
    monkeypatch.setattr(page_views, "FLUSH_SECONDS", 0)
    assert page_views.count() is True  # told to write; its request then fails before it starts
    assert page_views.count() is False  # while it may still be at it

    monkeypatch.setattr(page_views, "STALE_FLUSH_SECONDS", 0)
    assert page_views.count() is True  # given up on: the next caller writes


@pytest.mark.django_db
def test_the_admin_list_shows_what_the_rows_it_lists_cost(client):
    staff = make_user(is_staff=True, is_superuser=True)
    user, coordi = make_user(), make_coordi()
    today = timezone.now().date()
    message(user, coordi, day=today, input_tokens=1000, output_tokens=20)
    message(user, coordi, day=today, outcome="error", input_tokens=123_456)
    client.force_login(staff)

    everything = client.get(reverse("admin:recommendations_generatedmessage_changelist"))
    only_ok = client.get(reverse("admin:recommendations_generatedmessage_changelist"), {"outcome": "ok"})

    assert everything.status_code == only_ok.status_code == 200
    assert "What these messages cost" in everything.text
    assert ">124456<" in everything.text and ">error<" in everything.text
    assert ">1000<" in only_ok.text and "124456" not in only_ok.text


@pytest.mark.django_db(transaction=True)  # the server reads the test database
def test_the_server_writes_its_page_views_by_shutdown(standin):
    make_coordi()
    token = token_for(make_user())
    with AppServer(workers=2) as server:
        for _ in range(7):
            response = httpx.get(f"{server.url}{URL}", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
        server.terminate()
        server.wait()

    assert PageViews.objects.get(day=timezone.now().date()).views == 7


@pytest.mark.django_db
def test_the_admin_summary_covers_the_last_30_days_unless_a_date_is_chosen(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    user, coordi = make_user(), make_coordi()
    today = timezone.now().date()
    message(user, coordi, day=today, input_tokens=1111)
    old = today - datetime.timedelta(days=40)
    message(user, coordi, day=old, input_tokens=4444)
    url = reverse("admin:recommendations_generatedmessage_changelist")

    recent = client.get(url).text
    chosen = client.get(url, {"created_at__year": old.year, "created_at__month": old.month}).text

    assert "the last 30 days" in recent and ">1111<" in recent and ">4444<" not in recent
    assert "the last 30 days" not in chosen and ">4444<" in chosen
