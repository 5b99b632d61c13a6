"""message_costs: what the messages cost over the last days, for operators.

Gemini calls, tokens and the estimated cost per day (UTC), per outcome and per 1,000 recommendation
pages served, from GeneratedMessage and PageViews, at the GEMINI_PRICE_*_PER_MTOK price table.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.costs import Report, Row, day_rows, outcome_rows, report, since
from recommendations.models import GeneratedMessage

DEFAULT_DAYS, MAX_DAYS = 7, 3660


class Command(BaseCommand):
    help = (
        "Print Gemini calls, tokens and estimated cost per day (UTC), per outcome and per 1,000 "
        "recommendation pages served, over the last N days (today included)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", default=DEFAULT_DAYS, metavar="N",
            help=f"how many days back, today included: 1 to {MAX_DAYS} (default {DEFAULT_DAYS})",
        )  # fmt: skip

    def handle(self, *args: object, days: object, **options: object) -> None:
        days = _days(days)
        figures = report(GeneratedMessage.objects.all(), first_day=since(days))
        self.stdout.write("\n".join(render(figures, days=days)))


def _days(value: object) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        raise CommandError(f"--days must be a whole number from 1 to {MAX_DAYS}, not {value!r}.")
    return int(text)


COLUMNS = (
    ("calls", 8), ("sent", 8), ("input tok", 12), ("image tok", 12), ("cached tok", 12),
    ("output tok", 12), ("thinking tok", 14), ("cost $", 10), ("page views", 12), ("$ / 1k views", 14),
)


def render(figures: Report, *, days: int) -> list[str]:
    """The report as text: a header, the table by day and its total, then the table by outcome."""
    prices = figures.prices
    lines = [
        f"Gemini message costs, last {days} day{'s' if days != 1 else ''} (UTC), estimated at "
        f"${prices.input:.2f} input, ${prices.output:.2f} output (thinking included), "
        f"${prices.cached:.2f} cached per million tokens",
        "",
        _header("day"),
        *(_line(row) for row in day_rows(figures)),
        "",
        _header("outcome"),
        *(_line(row) for row in outcome_rows(figures)),
    ]
    if not figures.outcomes:
        lines.append("(no message recorded in this period)")
    return lines


def _header(first: str) -> str:
    return f"{first:<12}" + "".join(f"{name:>{width}}" for name, width in COLUMNS)


def _line(row: Row) -> str:
    cells = [
        f"{row.calls:,}", f"{row.sent:,}", f"{row.input:,}", f"{row.image:,}", f"{row.cached:,}",
        f"{row.output:,}", f"{row.thinking:,}", f"{row.cost:.4f}",
        f"{row.page_views:,}" if row.page_views is not None else "-",
        f"{row.per_thousand_views:.4f}" if row.per_thousand_views is not None else "-",
    ]
    return f"{row.label:<12}" + "".join(
        f"{cell:>{width}}" for cell, (_, width) in zip(cells, COLUMNS, strict=True)
    )
