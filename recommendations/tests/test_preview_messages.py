"""preview_messages against the Gemini stand-in: the page's messages on stdout, progress on stderr."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from llm.testing import Behaviour
from recommendations.management.commands.preview_messages import _width
from recommendations.models import GeneratedMessage

from .factories import make_coordi, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the command draws its bar."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def user():
    return make_user(email="seoyeon@example.com", name="박서연", gender="female")


@pytest.fixture
def coordis():
    # Newest first is the recommender's order: the first made is the last shown.
    made = [
        make_coordi(style=style, season=season, minutes_ago=minutes)
        for style, season, minutes in [
            ("street", "winter", 3), ("casual", "spring", 2), ("minimal", "fall", 1)
        ]
    ]
    return list(reversed(made))


def preview(*args: str, stderr: io.StringIO | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), stderr or io.StringIO()
    call_command("preview_messages", "--user", "seoyeon@example.com", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def outcomes(format: str, out: str) -> list[tuple[int, str]]:
    """(coordi id, outcome) of each row, read back from the format it was written in."""
    if format == "json":
        return [(row["coordiId"], row["outcome"]) for row in json.loads(out)]
    if format == "csv":
        return [(int(row["coordiId"]), row["outcome"]) for row in csv.DictReader(io.StringIO(out))]
    _, *lines = out.splitlines()
    return [(int(line.split()[0]), line.split()[3]) for line in lines]


def test_json_has_each_recommended_outfit_with_its_message(user, coordis, standin):
    out, err = preview("--format", "json")

    rows = json.loads(out)
    assert [row["coordiId"] for row in rows] == [coordi.id for coordi in coordis]
    assert [(row["style"], row["season"]) for row in rows] == [
        ("minimal", "fall"), ("casual", "spring"), ("street", "winter")
    ]
    assert all(row["outcome"] == "ok" and row["cached"] is False for row in rows)
    assert all("박서연" in row["message"] for row in rows)
    assert all(isinstance(row["latencyMs"], int) for row in rows)
    assert len(standin.requests) == 3
    assert "3 messages: 3 ok, 0 from cache, 0 failed" in err


def test_table_and_csv_hold_the_same_rows(user, coordis, standin):
    table, _ = preview("--format", "table")
    from_csv, _ = preview("--format", "csv")

    header, *lines = table.splitlines()
    assert header.split() == ["COORDI", "STYLE", "SEASON", "OUTCOME", "CACHED", "LATENCY", "MS", "MESSAGE"]
    assert len(lines) == 3
    for line, coordi in zip(lines, coordis, strict=True):
        assert line.split()[:5] == [str(coordi.id), coordi.style, coordi.season, "ok", "no"]
        assert "박서연" in line
    # Every row's message starts in the same column.
    assert len({_width(line[: line.index("박서연")]) for line in lines}) == 1

    rows = list(csv.DictReader(io.StringIO(from_csv)))
    assert [int(row["coordiId"]) for row in rows] == [coordi.id for coordi in coordis]
    assert all(row["cached"] == "true" and "박서연" in row["message"] for row in rows)


def test_a_second_run_reads_the_cache_and_no_cache_asks_again(user, coordis, standin):
    first, _ = preview("--format", "json")
    second, err = preview("--format", "json")

    assert len(standin.requests) == 3
    assert all(row["cached"] for row in json.loads(second))
    assert [row["message"] for row in json.loads(second)] == [row["message"] for row in json.loads(first)]
    assert "3 messages: 0 ok, 3 from cache, 0 failed" in err
    assert GeneratedMessage.objects.count() == 3

    fresh, _ = preview("--format", "json", "--no-cache")

    assert len(standin.requests) == 6
    assert not any(row["cached"] for row in json.loads(fresh))
    assert GeneratedMessage.objects.filter(user=user).count() == 6


def test_each_call_is_recorded_with_its_outcome(user, coordis, standin):
    broken = make_coordi(description="고장 난 코디 [broken]", minutes_ago=0)
    standin.when("[broken]", Behaviour("error"))

    out, err = preview("--format", "json")

    rows = {row["coordiId"]: row for row in json.loads(out)}
    assert (rows[broken.id]["outcome"], rows[broken.id]["message"]) == ("error", None)
    assert "4 messages: 3 ok, 0 from cache, 1 failed" in err
    recorded = GeneratedMessage.objects.filter(user=user)
    assert recorded.count() == len(standin.requests) == 4
    assert {(m.coordi_id, m.outcome) for m in recorded} == {
        (broken.id, "error"), *((coordi.id, "ok") for coordi in coordis)
    }


def test_limit_takes_the_first_outfits(user, coordis, standin):
    out, _ = preview("--format", "json", "--limit", "2")

    assert [row["coordiId"] for row in json.loads(out)] == [coordis[0].id, coordis[1].id]
    assert len(standin.requests) == 2


def test_without_a_key_nothing_is_asked_a_warning_says_why_and_it_exits_1(user, coordis, standin, settings):
    settings.GOOGLE_API_KEY = ""
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit) as exit:
        call_command("preview_messages", "--user", user.email, "--format", "json", stdout=out, stderr=err)

    assert exit.value.code == 1
    rows = json.loads(out.getvalue())
    assert [(row["outcome"], row["message"]) for row in rows] == [("no_key", None)] * 3
    assert err.getvalue().splitlines() == [
        "Gemini is not configured (GOOGLE_API_KEY is empty): no message was made.",
        "3 messages: 0 ok, 0 from cache, 3 failed",
    ]
    assert standin.requests == []
    assert GeneratedMessage.objects.count() == 0


@pytest.mark.parametrize("format", ["table", "json", "csv"])
def test_every_message_failed_exits_1_once_the_rows_are_written(user, coordis, standin, format):
    standin.set_default(Behaviour("error"))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit) as exit:
        call_command("preview_messages", "--user", user.email, "--format", format, stdout=out, stderr=err)

    assert exit.value.code == 1
    assert outcomes(format, out.getvalue()) == [(coordi.id, "error") for coordi in coordis]
    assert err.getvalue() == "3 messages: 0 ok, 0 from cache, 3 failed\n"
    assert GeneratedMessage.objects.filter(outcome="error").count() == 3


@pytest.mark.parametrize("format", ["table", "json", "csv"])
def test_one_message_made_or_cached_is_enough_to_exit_0(user, coordis, standin, format):
    standin.for_coordi(coordis[0].id, Behaviour("error"))
    for coordi in coordis:
        coordi.description = f"{coordi.description} coordi-{coordi.id}"
        coordi.save()

    made, _ = preview("--format", format)  # no SystemExit: exit status 0
    standin.set_default(Behaviour("error"))
    cached, err = preview("--format", format)

    expected = [(coordis[0].id, "error"), (coordis[1].id, "ok"), (coordis[2].id, "ok")]
    assert outcomes(format, made) == outcomes(format, cached) == expected
    assert "3 messages: 0 ok, 2 from cache, 1 failed" in err


def test_an_empty_page_is_not_a_failure(user, standin):
    out, err = preview("--format", "json")

    assert json.loads(out) == []
    assert err == "0 messages: 0 ok, 0 from cache, 0 failed\n"


def test_the_progress_bar_stays_on_stderr(user, coordis, standin):
    out, err = preview("--format", "json", stderr=Terminal())

    assert len(json.loads(out)) == 3
    assert "\r[" in err and "3/3" in err
    assert "\r" not in out


def test_without_a_terminal_stderr_gets_the_summary_only(user, coordis, standin):
    _, err = preview("--format", "csv")

    assert err == "3 messages: 3 ok, 0 from cache, 0 failed\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--limit", "0"], "--limit must be a whole number from 1 to 50"),
        (["--limit", "51"], "--limit must be a whole number from 1 to 50"),
        (["--limit", "ten"], "--limit must be a whole number from 1 to 50"),
        (["--format", "xml"], "--format must be one of table, json, csv"),
    ],
)
def test_bad_options_are_refused_before_any_call(user, coordis, standin, args, says):
    with pytest.raises(CommandError, match=says) as refused:
        preview(*args)

    assert refused.value.returncode == 1
    assert standin.requests == []


def test_an_unknown_email_is_refused(coordis, standin):
    with pytest.raises(CommandError, match=r"No user signs in as 'nobody@example\.com'") as refused:
        call_command("preview_messages", "--user", "nobody@example.com", stdout=io.StringIO())

    assert refused.value.returncode == 1
    assert standin.requests == []


@pytest.mark.parametrize(
    ("args", "status", "last_line"),
    [
        (["--user", "a@example.com", "--limit", "0"], 1,
         "CommandError: --limit must be a whole number from 1 to 50, not '0'."),
        (["--limit", "3"], 2,
         "manage.py preview_messages: error: the following arguments are required: --user"),
    ],
)  # fmt: skip
def test_from_the_command_line_bad_input_exits_non_zero_before_any_database_work(
    tmp_path, args, status, last_line
):
    # A database that does not exist yet: the command must stop before it needs one.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}", "GOOGLE_API_KEY": ""}

    result = subprocess.run(
        [sys.executable, "manage.py", "preview_messages", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert (result.returncode, result.stdout) == (status, "")
    assert result.stderr.splitlines()[-1] == last_line
    assert not (tmp_path / "none.sqlite3").exists()


def test_wide_characters_take_two_columns():
    assert _width("abc") == 3
    assert _width("서연님 ✨") == 9
    assert _width("e\u0301") == 1  # a combining accent takes none
