"""warm_messages against the Gemini stand-in: whose pages are warmed, what is made, cached and
recorded, what stderr says, every exit status, and Ctrl-C."""

import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import CommandError, call_command
from django.utils import timezone

from llm.testing import Behaviour
from recommendations.management.commands.warm_messages import NOT_SHARED, Tally
from recommendations.models import GeneratedMessage, User

from .factories import edit, make_coordi, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
SECONDS = r"\d+\.\d s"


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the command draws its bar."""

    def isatty(self) -> bool:
        return True


def warm(*args: str, stderr: io.StringIO | None = None) -> tuple[int, str]:
    """The exit status and stderr of one run (stdout stays empty: it is all on stderr)."""
    out, err = io.StringIO(), stderr or io.StringIO()
    try:
        call_command("warm_messages", *args, stdout=out, stderr=err)
    except SystemExit as exit:
        status = exit.code
    else:
        status = 0
    assert out.getvalue() == ""
    assert isinstance(status, int)
    # Said on the local-memory cache (the SQLite runs), not on Redis: see its own test.
    return status, err.getvalue().replace(f"{NOT_SHARED}\n", "")


def signed_in(days_ago: float, **fields) -> User:
    user = make_user(**fields)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now() - timedelta(days=days_ago))
    return user


def warmed() -> set[int]:
    """The users whose messages were made (recorded calls)."""
    return set(GeneratedMessage.objects.values_list("user_id", flat=True))


@pytest.fixture
def coordis():
    return [make_coordi(images=1, items=1) for _ in range(3)]


def test_by_default_the_active_users_who_signed_in_within_seven_days(coordis, standin):
    today, this_week = signed_in(0.1), signed_in(6.9)
    signed_in(7.1)  # stale
    signed_in(1, is_active=False)
    make_user()  # never signed in

    status, err = warm()

    assert status == 0
    assert warmed() == {today.pk, this_week.pk}
    assert len(standin.requests) == 6
    assert re.fullmatch(
        rf"warmed 2 users, 2 pages, 6 outfits: 6 made, 0 already cached, 0 failed; 6 calls to Gemini; "
        rf"{SECONDS}\n",
        err,
    )


def test_a_cache_of_the_process_alone_is_said_to_reach_no_server(coordis, standin):
    signed_in(0)
    err = io.StringIO()

    call_command("warm_messages", stderr=err)

    local = isinstance(caches["default"], LocMemCache)
    assert err.getvalue().startswith(NOT_SHARED) is local
    assert len(err.getvalue().splitlines()) == 1 + local


def test_active_days_reaches_further_back(coordis, standin):
    stale = signed_in(20)

    status, _ = warm("--active-days", "30")

    assert status == 0
    assert warmed() == {stale.pk}


def test_nobody_to_warm_is_said_and_is_no_failure(coordis, standin):
    signed_in(8)

    status, err = warm()

    assert (status, err) == (0, "no user to warm: nobody signed in within the last 7 days.\n")
    assert standin.requests == []


def test_users_names_them_whenever_they_signed_in(coordis, standin):
    never = make_user(email="minji@example.com")
    stale = signed_in(100, email="seoyeon@example.com")
    signed_in(0)  # active, but not named

    status, err = warm("--users", "MINJI@example.com", "seoyeon@example.com", "minji@example.com")

    assert status == 0
    assert warmed() == {never.pk, stale.pk}
    assert err.startswith("warmed 2 users, 2 pages, 6 outfits: 6 made,")  # named twice, warmed once


def test_pages_are_the_apis_and_a_second_run_finds_them_cached(standin):
    for _ in range(25):
        make_coordi(images=1, items=0)
    reader = signed_in(0)

    _, first = warm("--pages", "1")
    _, more = warm("--pages", "3")  # there are only two pages of 20
    status, again = warm("--pages", "3")

    assert first.startswith("warmed 1 user, 1 page, 20 outfits: 20 made, 0 already cached, 0 failed; "
                            "20 calls to Gemini;")  # fmt: skip
    assert more.startswith("warmed 1 user, 2 pages, 25 outfits: 5 made, 20 already cached, 0 failed; "
                           "5 calls to Gemini;")  # fmt: skip
    assert again.startswith("warmed 1 user, 2 pages, 25 outfits: 0 made, 25 already cached, 0 failed; "
                            "0 calls to Gemini;")  # fmt: skip
    assert status == 0
    assert len(standin.requests) == 25
    # One row per call, as the API records them; none for the cached ones.
    assert GeneratedMessage.objects.filter(user=reader, reached_gemini=True).count() == 25
    assert GeneratedMessage.objects.count() == 25


def test_failures_are_counted_recorded_and_not_fatal(coordis, standin):
    reader = signed_in(0)
    edit(coordis[0], description=f"고장 난 코디 coordi-{coordis[0].id}")
    standin.for_coordi(coordis[0].id, Behaviour("error"))

    status, err = warm()

    assert status == 0
    assert err.startswith("warmed 1 user, 1 page, 3 outfits: 2 made, 0 already cached, 1 failed; "
                          "3 calls to Gemini;")  # fmt: skip
    assert set(GeneratedMessage.objects.filter(user=reader).values_list("coordi_id", "outcome")) == {
        (coordis[0].id, "error"), (coordis[1].id, "ok"), (coordis[2].id, "ok")
    }


def test_every_outfit_failed_exits_1_with_the_summary(coordis, standin):
    signed_in(0)
    standin.set_default(Behaviour("error"))

    status, err = warm()

    assert status == 1
    assert re.fullmatch(
        rf"warmed 1 user, 1 page, 3 outfits: 0 made, 0 already cached, 3 failed; 3 calls to Gemini; "
        rf"{SECONDS}\n",
        err,
    )


def test_without_a_key_it_says_so_and_exits_1(coordis, standin, settings):
    settings.GOOGLE_API_KEY = ""
    signed_in(0)

    status, err = warm()

    assert status == 1
    warning, summary = err.splitlines()
    assert warning == "Gemini is not configured (GOOGLE_API_KEY is empty): no message was made."
    assert summary.startswith("warmed 1 user, 1 page, 3 outfits: 0 made, 0 already cached, 3 failed; "
                              "0 calls to Gemini;")  # fmt: skip
    assert standin.requests == []
    assert GeneratedMessage.objects.count() == 0


def test_a_terminal_gets_a_bar_of_outfits_and_no_llm_lines(coordis, standin, caplog):
    signed_in(0)
    signed_in(0)
    caplog.set_level(logging.INFO, logger="llm")

    status, err = warm(stderr=Terminal())

    assert status == 0
    *bar, summary = err.split("\n")[:-1]
    assert "\r" in "".join(bar) and "6/6" in "".join(bar)
    assert summary.startswith("warmed 2 users, 2 pages, 6 outfits: 6 made,")
    assert not [record for record in caplog.records if record.name.startswith("llm")]


def test_verbosity_2_keeps_the_llm_lines_under_the_bar(coordis, standin, caplog):
    signed_in(0)
    caplog.set_level(logging.INFO, logger="llm")

    warm("-v", "2", stderr=Terminal())

    assert len([r for r in caplog.records if r.getMessage().startswith("llm message")]) == 3


def test_without_a_terminal_stderr_gets_the_summary_only(coordis, standin):
    signed_in(0)

    _, err = warm()

    assert "\r" not in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--pages", "0"], "--pages must be a whole number from 1 to 10, not '0'."),
        (["--pages", "11"], "--pages must be a whole number from 1 to 10, not '11'."),
        (["--pages", "x"], "--pages must be a whole number from 1 to 10, not 'x'."),
        (["--pages", "\uff12"], "--pages must be a whole number from 1 to 10, not '\uff12'."),  # a wide 2
        (["--active-days", "0"], "--active-days must be a whole number from 1 to 36,500, not '0'."),
        (["--active-days", "1.5"], "--active-days must be a whole number from 1 to 36,500, not '1.5'."),
        (["--active-days", "36501"], "--active-days must be a whole number from 1 to 36,500"),
        (["--users", "a@example.com", "--active-days", "3"],
         "argument --active-days: not allowed with argument --users"),
        (["--pages"], "argument --pages: expected one argument"),
        (["--users"], "argument --users: expected at least one argument"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)  # fmt: skip
def test_a_bad_option_is_refused_with_status_2_before_any_call(coordis, standin, args, says):
    signed_in(0)

    with pytest.raises(CommandError) as refused:
        warm(*args)

    assert refused.value.returncode == 2
    assert str(refused.value).startswith(says)
    assert "\n" not in str(refused.value)
    assert standin.requests == []


def test_users_and_active_days_are_refused_together_from_call_command_too(coordis, standin):
    with pytest.raises(CommandError, match="--users and --active-days cannot be used together") as refused:
        call_command("warm_messages", users=["a@example.com"], active_days=3, stderr=io.StringIO())

    assert refused.value.returncode == 2


@pytest.mark.parametrize(
    ("named", "says"),
    [
        ("nobody@example.com", "--users: no user signs in as 'nobody@example.com'."),
        ("gone@example.com", "--users: 'gone@example.com' is inactive: they cannot sign in, so no page of "
                             "theirs is served."),
    ],
)  # fmt: skip
def test_an_unknown_or_inactive_user_is_refused_before_any_call(coordis, standin, named, says):
    make_user(email="minji@example.com")
    make_user(email="gone@example.com", is_active=False)

    with pytest.raises(CommandError) as refused:
        warm("--users", "minji@example.com", named)

    assert (refused.value.returncode, str(refused.value)) == (2, says)
    assert standin.requests == []  # not even for the user named first
    assert GeneratedMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--bogus"], "warm_messages: error: unrecognized arguments: --bogus"),
        (["--pages"], "warm_messages: error: argument --pages: expected one argument"),
        (["--users", "a@example.com", "--active-days", "3"],
         "warm_messages: error: argument --active-days: not allowed with argument --users"),
        (["--pages", "x"], "warm_messages: error: --pages must be a whole number from 1 to 10, not 'x'."),
    ],
)  # fmt: skip
def test_from_the_command_line_a_bad_option_is_one_line_and_status_2(tmp_path, args, line):
    # A database that does not exist: the command must stop before it needs one.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}", "GOOGLE_API_KEY": ""}

    result = subprocess.run(
        [sys.executable, "manage.py", "warm_messages", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"{line}\n")
    assert not (tmp_path / "none.sqlite3").exists()


def test_ctrl_c_stops_keeps_what_was_made_and_exits_130(coordis, standin, monkeypatch):
    reader = signed_in(0)
    hung = coordis[1]
    edit(hung, description=f"끝나지 않는 코디 coordi-{hung.id}")
    standin.for_coordi(hung.id, Behaviour("hang"))
    # All three calls at the stand-in before any answers, so the hung one is out when Ctrl-C comes.
    standin.hold()
    opener = threading.Thread(target=lambda: standin.wait_until(lambda s: s.held == 3) and standin.release())
    opener.start()
    add = Tally.add

    def add_then_interrupt(tally: Tally, result) -> None:
        add(tally, result)
        if tally.outfits == 2:  # the other two have landed
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Tally, "add", add_then_interrupt)

    status, err = warm()
    opener.join()

    assert status == 130
    assert re.fullmatch(
        rf"interrupted: warmed 1 user, 1 page, 2 outfits: 2 made, 0 already cached, 0 failed; "
        rf"2 calls to Gemini; {SECONDS}\n",
        err,
    )
    # The hung call was cancelled: its connection closed.
    assert standin.wait_until(lambda s: s.disconnects == 1)
    made = {coordis[0].id, coordis[2].id}
    assert set(GeneratedMessage.objects.filter(user=reader).values_list("coordi_id", flat=True)) == made

    monkeypatch.undo()
    standin.reset()  # no hang, no hold
    status, again = warm()

    # Those made are in the cache: only the interrupted one is asked for.
    assert status == 0
    assert again.startswith("warmed 1 user, 1 page, 3 outfits: 1 made, 2 already cached, 0 failed; "
                            "1 call to Gemini;")  # fmt: skip
    assert [request.prompt for request in standin.requests if f"coordi-{hung.id}" in request.prompt]
    assert len(standin.requests) == 1
