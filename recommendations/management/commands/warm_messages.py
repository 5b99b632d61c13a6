"""warm_messages: makes users' messages ahead of traffic, so that their pages come from the cache.

The pages are the API's (`limit` 20, its default), made under the API's own limits: llm.service's
cache, single-flight locks, LLM_RATE_LIMIT, the in-flight limits and Gemini's cool-down; every call
is recorded as a GeneratedMessage, as the API records it. The users are those named by --users, or
the active ones who signed in within --active-days. An inactive user named in --users is refused
like an unknown one: they cannot sign in, so no page of theirs would ever be served.

The Gemini part runs on an event loop owned by the command (asyncio.Runner), the database work in
between, on the command's own thread. Ctrl-C cancels the page being made: the messages made by then
are cached and recorded, and the run ends with its summary.

Exit status: 0 when done (some outfits may have failed); 1 when every outfit failed; 2 for a bad
option or user (nothing asked of Gemini); 130 when interrupted.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.base import BaseCommand, CommandError, CommandParser, SystemCheckError
from django.utils import timezone
from tqdm import tqdm

from llm import service
from llm.facts import CoordiFacts, UserFacts
from llm.results import MessageResult, Outcome
from recommendations.connections import release
from recommendations.management.terminal import NOT_CONFIGURED, BarStream, quiet
from recommendations.models import User
from recommendations.selectors import recommendation_count, recommendation_page, user_facts
from recommendations.services import record_messages

# The API's default page size (PageQuerySerializer): the pages clients ask for.
PAGE_LIMIT = 20
MAX_PAGES = 10
DEFAULT_ACTIVE_DAYS = 7
# Far enough back for anyone; a larger number of days is past what a date can hold.
MAX_ACTIVE_DAYS = 36_500
BAD_INPUT = 2
NOT_SHARED = (
    "The cache is this process's own memory (CACHE_URL names no shared cache, such as Redis): no server "
    "will read the messages made here."
)
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


class Command(BaseCommand):
    help = (
        "Make the messages of users' first pages of recommendations ahead of traffic, under the API's "
        "limits (cache, locks, LLM_RATE_LIMIT, in-flight limits, Gemini's cool-down); each call is "
        "recorded as a GeneratedMessage. A progress bar on stderr (on a terminal), then a summary. "
        "Ctrl-C stops at once, keeping what was made. Exit status: 0 done, 1 every outfit failed, "
        "2 bad option or user, 130 interrupted."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django builds the parser itself; only how it refuses a command line changes.
        parser.__class__ = _OneLineParser
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        chosen = parser.add_mutually_exclusive_group()
        chosen.add_argument(
            "--users", nargs="+", metavar="EMAIL",
            help="these users (their sign-in emails), in this order",
        )  # fmt: skip
        chosen.add_argument(
            "--active-days", metavar="N",
            help=f"the active users who signed in within the last N days, most recent first "
            f"(default {DEFAULT_ACTIVE_DAYS})",
        )  # fmt: skip
        parser.add_argument(
            "--pages", default=1, metavar="N",
            help=f"pages of {PAGE_LIMIT} outfits per user, from the first, 1 to {MAX_PAGES} (default 1)",
        )  # fmt: skip

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except CommandError as error:
            if not getattr(self, "_called_from_command_line", False) or options.get("traceback"):
                raise
            if isinstance(error, SystemCheckError):
                raise
            # One line, as the parser says its own errors (Django would write "CommandError: ...").
            self.stderr.write(f"warm_messages: error: {error}")
            sys.exit(error.returncode)

    def handle(
        self,
        *args: object,
        users: Sequence[str] | None,
        active_days: object,
        pages: object,
        verbosity: int = 1,
        **options: object,
    ) -> None:
        # Everything checked before any call is paid for.
        if users and active_days is not None:
            raise CommandError("--users and --active-days cannot be used together.", returncode=BAD_INPUT)
        pages = _whole_number(pages, option="--pages", high=MAX_PAGES)
        if users:
            readers = _named(users)
        else:
            days = _whole_number(
                DEFAULT_ACTIVE_DAYS if active_days is None else active_days,
                option="--active-days", high=MAX_ACTIVE_DAYS,
            )  # fmt: skip
            readers = _active(days)
            if not readers:
                self.stderr.write(
                    f"no user to warm: nobody signed in within the last {days} days.", style_func=str
                )
                return

        if isinstance(caches["default"], (LocMemCache, DummyCache)):
            self.stderr.write(NOT_SHARED, style_func=self.style.WARNING)
        shown = self.stderr.isatty()
        tally = Tally()
        started = time.monotonic()
        interrupted = False
        with asyncio.Runner() as runner:
            try:
                # Counted on a terminal only: one query per user.
                total = _planned(readers, pages=pages) if shown else None
                bar = tqdm(total=total, desc="outfits", unit=" outfits", file=BarStream(self.stderr),
                           disable=not shown)  # fmt: skip
                # The llm logger's line per call would break the bar; -v 2 keeps them.
                with bar, quiet("llm") if shown and verbosity < 2 else nullcontext():
                    for reader in readers:
                        tally.users += 1
                        _warm(runner, reader, pages=pages, tally=tally, advance=bar.update)
            except KeyboardInterrupt:
                # Raised by the runner once the page it was making is cancelled, or here, between pages.
                interrupted = True
            finally:
                # The loop ends with the command: close its connections rather than leave them to the GC.
                runner.run(service.aclose())

        if tally.no_key:
            self.stderr.write(NOT_CONFIGURED, style_func=self.style.WARNING)
        summary = tally.summary(seconds=time.monotonic() - started)
        self.stderr.write(f"interrupted: {summary}" if interrupted else summary, style_func=str)
        if interrupted:
            sys.exit(INTERRUPTED)
        if tally.all_failed:
            sys.exit(1)


def _planned(readers: Sequence[User], *, pages: int) -> int:
    """The bar's length: the outfits on the pages to warm, every user's together."""
    return sum(min(recommendation_count(reader), pages * PAGE_LIMIT) for reader in readers)


def _warm(
    runner: asyncio.Runner, reader: User, *, pages: int, tally: Tally, advance: Callable[[], object]
) -> None:
    """The reader's pages 1 to `pages`, one after the other, until one is the last."""
    facts = user_facts(reader)
    for number in range(1, pages + 1):
        page = recommendation_page(reader, page=number, limit=PAGE_LIMIT)
        if not page.outfits:
            return
        release()  # not held across the Gemini wait
        tally.pages += 1
        _make_page(runner, [outfit.facts() for outfit in page.outfits], reader, facts,
                   tally=tally, advance=advance)  # fmt: skip
        if number * PAGE_LIMIT >= page.total:
            return


def _make_page(
    runner: asyncio.Runner,
    coordis: Sequence[CoordiFacts],
    reader: User,
    facts: UserFacts,
    *,
    tally: Tally,
    advance: Callable[[], object],
) -> None:
    landed: list[MessageResult] = []

    def land(result: MessageResult) -> None:
        # On the runner's loop, in this thread, while the database work waits: no lock needed.
        landed.append(result)
        tally.add(result)
        advance()

    try:
        runner.run(service.generate_message_results(coordis, facts, use_cache=True, on_result=land))
    finally:
        # Interrupted too: the calls that landed were paid for (and are in the cache already).
        record_messages(user_id=reader.pk, results=landed)


@dataclass(slots=True)
class Tally:
    """What the run did, counted as each outfit's result lands."""

    users: int = 0
    pages: int = 0
    outfits: int = 0
    made: int = 0
    cached: int = 0
    calls: int = 0
    no_key: bool = False

    def add(self, result: MessageResult) -> None:
        self.outfits += 1
        if result.text is not None:
            if result.cached:
                self.cached += 1
            else:
                self.made += 1
        self.calls += result.sent
        self.no_key = self.no_key or result.outcome is Outcome.NO_KEY

    @property
    def failed(self) -> int:
        return self.outfits - self.made - self.cached

    @property
    def all_failed(self) -> bool:
        return self.outfits > 0 and self.failed == self.outfits

    def summary(self, *, seconds: float) -> str:
        return (
            f"warmed {_count(self.users, 'user')}, {_count(self.pages, 'page')}, "
            f"{_count(self.outfits, 'outfit')}: {self.made} made, {self.cached} already cached, "
            f"{self.failed} failed; {_count(self.calls, 'call')} to Gemini; {seconds:.1f} s"
        )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _whole_number(value: object, *, option: str, high: int) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]+", text) or not 1 <= int(text) <= high:
        raise CommandError(
            f"{option} must be a whole number from 1 to {high:,}, not {value!r}.", returncode=BAD_INPUT
        )
    return int(text)


def _named(emails: Sequence[str]) -> list[User]:
    """The users these emails sign in as (found as sign-in finds them), in the order named, once each."""
    readers: dict[int, User] = {}
    for email in emails:
        try:
            reader = User.objects.get_by_natural_key(email.strip())
        except User.DoesNotExist:
            raise CommandError(f"--users: no user signs in as {email!r}.", returncode=BAD_INPUT) from None
        if not reader.is_active:
            raise CommandError(
                f"--users: {email!r} is inactive: they cannot sign in, so no page of theirs is served.",
                returncode=BAD_INPUT,
            )
        readers.setdefault(reader.pk, reader)
    return list(readers.values())


def _active(days: int) -> list[User]:
    """Active users who signed in within `days` days, the most recent first."""
    since = timezone.now() - timedelta(days=days)
    return list(User.objects.filter(is_active=True, last_login__gte=since).order_by("-last_login", "pk"))


class _OneLineParser(CommandParser):
    """argparse's refusals (an unknown option, a missing value, --users with --active-days) as one
    line on stderr and exit 2, without the usage block; under call_command, a CommandError with
    returncode 2 (Django's parser would say 1)."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(BAD_INPUT, f"warm_messages: error: {message}\n")
        raise CommandError(message, returncode=BAD_INPUT)
