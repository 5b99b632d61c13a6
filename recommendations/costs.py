"""What the messages cost: Gemini calls, tokens and estimated dollars per day and per outcome, and
per 1,000 recommendation pages served. Read by `message_costs` and the GeneratedMessage admin list.

Estimates: tokens as Gemini reported them (GeneratedMessage), priced at today's price table
(GEMINI_PRICE_*_PER_MTOK), so a price change re-prices the past too.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from llm.config import prices
from llm.results import Prices, Usage

from .models import GeneratedMessage, PageViews

TOKEN_KINDS = ("input", "image", "cached", "output", "thinking")


@dataclass(slots=True)
class Line:
    """Calls (attempts recorded), those sent to Gemini, and the tokens they used."""

    calls: int = 0
    sent: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    page_views: int | None = None

    def add(self, other: Line) -> None:
        self.calls += other.calls
        self.sent += other.sent
        for kind in TOKEN_KINDS:
            self.tokens[kind] += other.tokens[kind]

    def cost(self, prices: Prices) -> float:
        return Usage(**self.tokens).cost(prices)

    def per_thousand_views(self, prices: Prices) -> float | None:
        """Dollars per 1,000 page views; None without a page view to divide by."""
        if not self.page_views:
            return None
        return self.cost(prices) * 1000 / self.page_views


@dataclass(slots=True)
class Report:
    """A period's figures: by day (newest first), by outcome, and in total."""

    prices: Prices
    days: dict[datetime.date, Line]
    outcomes: dict[str, Line]
    total: Line


def since(days: int, *, now: datetime.datetime | None = None) -> datetime.date:
    """The first day (UTC) of the last `days` days, today included."""
    today = (now or timezone.now()).astimezone(datetime.UTC).date()
    return today - datetime.timedelta(days=days - 1)


def report(messages: QuerySet[GeneratedMessage], *, first_day: datetime.date | None = None) -> Report:
    """The figures of these messages (from `first_day` on, when given), in two queries: one
    aggregate of the messages by day and outcome, one of the page views of those days."""
    if first_day is not None:
        # From midnight UTC, the days' own zone (and a range the created_at index can serve).
        midnight = datetime.datetime.combine(first_day, datetime.time.min, datetime.UTC)
        messages = messages.filter(created_at__gte=midnight)
    rows = (
        messages.order_by()  # the model's ordering would join the GROUP BY
        .annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
        .values("day", "outcome")
        .annotate(
            calls=Count("id"),
            sent=Count("id", filter=Q(reached_gemini=True)),
            **{kind: Sum(f"{kind}_tokens") for kind in TOKEN_KINDS},
        )
    )
    days: dict[datetime.date, Line] = {}
    outcomes: dict[str, Line] = {}
    total = Line()
    for found in rows:
        # The token sums' names are built, which django-stubs' TypedDict of the row does not allow.
        row: dict[str, Any] = dict(found)
        line = Line(
            calls=row["calls"],
            sent=row["sent"],
            tokens={kind: row[kind] or 0 for kind in TOKEN_KINDS},
        )
        days.setdefault(row["day"], Line()).add(line)
        outcomes.setdefault(row["outcome"], Line()).add(line)
        total.add(line)
    views = dict(_page_views(first_day, days))
    for day in views:
        days.setdefault(day, Line())  # pages served, no call made: a day that cost nothing
    for day, line in days.items():
        line.page_views = views.get(day, 0)
    total.page_views = sum(views.values())
    return Report(
        prices=prices(),
        days=dict(sorted(days.items(), reverse=True)),
        outcomes=dict(sorted(outcomes.items(), key=lambda item: -item[1].calls)),
        total=total,
    )


def _page_views(
    first_day: datetime.date | None, days: dict[datetime.date, Line]
) -> QuerySet[PageViews, tuple[datetime.date, int]]:
    """The page views of the period: from `first_day` on, or of the days that had messages."""
    views = PageViews.objects.order_by()
    if first_day is not None:
        return views.filter(day__gte=first_day).values_list("day", "views")
    return views.filter(day__in=list(days)).values_list("day", "views")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report as printed or shown: its label and figures, the cost worked out."""

    label: str
    calls: int
    sent: int
    input: int
    image: int
    cached: int
    output: int
    thinking: int
    cost: float
    page_views: int | None
    per_thousand_views: float | None


def day_rows(figures: Report) -> list[Row]:
    """By day, newest first, then the period's total."""
    rows = [_row(day.isoformat(), line, figures.prices) for day, line in figures.days.items()]
    return [*rows, _row("total", figures.total, figures.prices)]


def outcome_rows(figures: Report) -> list[Row]:
    """By outcome, the most frequent first (page views are not per outcome)."""
    return [_row(outcome, line, figures.prices, views=False) for outcome, line in figures.outcomes.items()]


def _row(label: str, line: Line, prices: Prices, *, views: bool = True) -> Row:
    return Row(
        label=label, calls=line.calls, sent=line.sent, **line.tokens, cost=line.cost(prices),
        page_views=line.page_views if views else None,
        per_thousand_views=line.per_thousand_views(prices) if views else None,
    )  # fmt: skip
