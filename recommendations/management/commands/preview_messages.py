"""preview_messages: the messages a user would see on their first page, made now, for operators.

The result goes to stdout (a table, JSON or CSV, so it can be piped); progress and warnings go to
stderr. Calls are recorded as GeneratedMessage rows, as the API records them.

Exit status: 0 when at least one message is there (made or from the cache), or the page is empty;
1 when every message failed (the output is written all the same), or an option or the user is bad
(then nothing is asked of Gemini); 2 when argparse refuses the command line.
"""

import csv
import io
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import nullcontext

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from llm import service
from llm.facts import CoordiFacts, UserFacts
from llm.results import MessageResult, Outcome
from recommendations.connections import release
from recommendations.management.terminal import NOT_CONFIGURED, quiet
from recommendations.models import User
from recommendations.selectors import Outfit, recommendation_page, user_facts
from recommendations.services import record_messages

# The API's bounds for a page (PageQuerySerializer), so the preview is a page a user can get.
MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 50, 20
FORMATS = ("table", "json", "csv")
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Generate the messages a user would see on their first page of recommendations and print them "
        "(table, JSON or CSV on stdout; a progress bar on stderr). Each call is recorded as a "
        "GeneratedMessage. --no-cache is the staff bypass the API keeps for staff: this is an operator "
        "tool, so it may ask Gemini afresh for any user. Exits 1 when every message failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, metavar="EMAIL", help="the user's sign-in email")
        parser.add_argument(
            "--limit",
            default=DEFAULT_LIMIT,
            metavar="N",
            help=f"outfits on the page, {MIN_LIMIT} to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
        )
        parser.add_argument(
            "--format", default="table", metavar="{table,json,csv}", help="stdout format (default table)"
        )
        parser.add_argument(
            "--no-cache",
            action="store_true",
            help="ask Gemini afresh instead of reusing stored messages (staff bypass; costs calls)",
        )

    def handle(
        self,
        *args: object,
        user: str,
        limit: object,
        format: str,
        no_cache: bool,
        verbosity: int = 1,
        **options: object,
    ) -> None:
        # All input checked before any call is paid for.
        limit = _limit(limit)
        output = _format(format)
        reader = _user(user)

        page = recommendation_page(reader, page=1, limit=limit)
        release()  # not held across the Gemini wait
        progress = _Progress(self.stderr, total=len(page.outfits))
        # The llm logger's line per call would break the bar; -v 2 keeps them.
        with quiet("llm") if progress.shown and verbosity < 2 else nullcontext():
            results = async_to_sync(_generate)(
                [outfit.facts() for outfit in page.outfits],
                user_facts(reader),
                use_cache=not no_cache,
                on_result=progress.advance,
            )
        progress.finish()
        record_messages(user_id=reader.pk, results=results)

        if any(result.outcome is Outcome.NO_KEY for result in results):
            self.stderr.write(NOT_CONFIGURED, style_func=self.style.WARNING)
        self.stderr.write(_summary(results), style_func=str)
        rows = _rows(page.outfits, results)
        self.stdout.write({"table": _table, "json": _json, "csv": _csv}[output](rows))
        if results and not any(result.text for result in results):
            # After the output, as `migrate --check` does: a script sees the rows and the failure.
            sys.exit(1)


async def _generate(
    coordis: Sequence[CoordiFacts],
    user: UserFacts,
    *,
    use_cache: bool,
    on_result: Callable[[MessageResult], None],
) -> list[MessageResult]:
    try:
        return await service.generate_message_results(
            coordis, user, use_cache=use_cache, on_result=on_result
        )
    finally:
        # This loop ends with the command: close its connections rather than leave them to the GC.
        await service.aclose()


class _Progress:
    """A one-line bar redrawn with \\r, on a terminal only: a log file gets the summary alone."""

    def __init__(self, stream: OutputWrapper, *, total: int) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.shown = stream.isatty() and total > 0

    def advance(self, result: MessageResult) -> None:
        # Called on the event loop's thread while the command's thread waits: no lock needed.
        self.done += 1
        if self.shown:
            filled = BAR_WIDTH * self.done // self.total
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            # style_func=str: the stderr wrapper would colour every write red on a terminal.
            self.stream.write(f"\r[{bar}] {self.done}/{self.total}", ending="", style_func=str)

    def finish(self) -> None:
        if self.shown:
            self.stream.write("", style_func=str)


def _limit(value: object) -> int:
    try:
        limit = int(str(value).strip())
    except ValueError:
        limit = 0
    if isinstance(value, bool) or not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise CommandError(f"--limit must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}, not {value!r}.")
    return limit


def _format(value: str) -> str:
    if value not in FORMATS:
        raise CommandError(f"--format must be one of {', '.join(FORMATS)}, not {value!r}.")
    return value


def _user(email: str) -> User:
    # Exactly as sign-in finds them (ModelBackend), so the preview is that account's.
    try:
        return User.objects.get_by_natural_key(email.strip())
    except User.DoesNotExist:
        raise CommandError(f"No user signs in as {email!r}.") from None


def _summary(results: Sequence[MessageResult]) -> str:
    cached = sum(1 for result in results if result.text and result.cached)
    made = sum(1 for result in results if result.text and not result.cached)
    count = len(results)
    return (
        f"{count} message{'' if count == 1 else 's'}: {made} ok, {cached} from cache, "
        f"{count - made - cached} failed"
    )


def _rows(outfits: Sequence[Outfit], results: Sequence[MessageResult]) -> list[dict[str, object]]:
    by_id = {outfit.id: outfit for outfit in outfits}
    return [
        {
            "coordiId": result.coordi_id,
            "style": by_id[result.coordi_id].style,
            "season": by_id[result.coordi_id].season,
            "outcome": result.outcome.value,
            "cached": result.cached,
            "latencyMs": result.latency_ms,
            "message": result.text,
        }
        for result in results
    ]


def _json(rows: list[dict[str, object]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)


def _csv(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["coordiId", "style", "season", "outcome", "cached", "latencyMs", "message"])
    for row in rows:
        writer.writerow([
            row["coordiId"], row["style"], row["season"], row["outcome"],
            "true" if row["cached"] else "false", row["latencyMs"], row["message"] or "",
        ])
    return buffer.getvalue()


def _table(rows: list[dict[str, object]]) -> str:
    header = ("COORDI", "STYLE", "SEASON", "OUTCOME", "CACHED", "LATENCY MS", "MESSAGE")
    right = {0, 5}  # numbers
    lines = [header] + [
        (
            str(row["coordiId"]), str(row["style"]), str(row["season"]), str(row["outcome"]),
            "yes" if row["cached"] else "no", str(row["latencyMs"]), str(row["message"] or ""),
        )
        for row in rows
    ]
    # The message is last and left unpadded: no trailing blanks, whatever its length.
    widths = [max(_width(line[column]) for line in lines) for column in range(len(header) - 1)]
    return "\n".join(
        "  ".join(
            [_pad(cell, widths[column], right=column in right) for column, cell in enumerate(line[:-1])]
            + [line[-1]]
        ).rstrip()
        for line in lines
    )


def _width(text: str) -> int:
    """Terminal columns: Hangul, CJK and most emoji take two, combining marks none."""
    return sum(
        0 if unicodedata.category(char) in ("Mn", "Me", "Cf")
        else 2 if unicodedata.east_asian_width(char) in ("W", "F")
        else 1
        for char in text
    )


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill
