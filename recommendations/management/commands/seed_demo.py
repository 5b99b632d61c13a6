"""seed_demo: the demo catalogue, its pictures and the demo and admin accounts; safe to run again."""

import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.demo.catalogue import build_items, plan_activity, plan_coordis
from recommendations.demo.images import draw_missing
from recommendations.demo.seeding import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DEMO_EMAIL,
    DEMO_NAME,
    DEMO_PASSWORD,
    SeedResult,
    seed,
)

DEFAULT_COORDIS = 60
MAX_COORDIS = 100_000  # far past any benchmark; stops a typo from filling the disk with pictures
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = (
        "Create the demo catalogue (coordis, items, pictures), demo@example.com and admin@example.com. "
        "Idempotent: a re-run creates only what is missing and points the picture URLs at --base-url."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--coordis",
            default=DEFAULT_COORDIS,
            metavar="N",
            help=f"how many demo coordis there should be (default {DEFAULT_COORDIS}); more only adds",
        )
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            metavar="URL",
            help=f"where the app is served, for the picture URLs (default {DEFAULT_BASE_URL})",
        )

    def handle(self, *args: object, coordis: object, base_url: str, **options: object) -> None:
        # Both checked before anything is written, so bad input leaves the database and disk untouched.
        count = _coordi_count(coordis)
        base_url = _base_url(base_url)

        started = time.perf_counter()
        items = build_items()
        plan = plan_coordis(count, items)
        result = seed(items=items, coordis=plan, activity=plan_activity(plan), base_url=base_url)
        directory = Path(settings.DEMO_STATIC_DIR) / "demo"
        drawn, kept = draw_missing(
            directory,
            coordis=[(result.coordi_ids[spec.index], spec) for spec in plan],
            items=[(result.item_ids[spec.slug], spec) for spec in items],
        )
        self._report(
            result, base_url=base_url, drawn=drawn, kept=kept, directory=directory, started=started
        )

    def _report(
        self,
        result: SeedResult,
        *,
        base_url: str,
        drawn: int,
        kept: int,
        directory: Path,
        started: float,
    ) -> None:
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo data ready in {time.perf_counter() - started:.1f} s"))
        for name, tally in result.tallies.items():
            write(f"  {name:<16}{tally.created:>6} created {tally.existing:>6} existing")
        write(f"  {'pictures':<16}{drawn:>6} drawn   {kept:>6} already in {directory}")
        if result.urls_rewritten:
            write(f"  {'picture URLs':<16}{result.urls_rewritten:>6} rewritten for {base_url}")
        write("")
        write("Sign in")
        write(f"  admin     {base_url}/admin/  as {ADMIN_EMAIL} / {ADMIN_PASSWORD}")
        write(f"  API user  {DEMO_EMAIL} / {DEMO_PASSWORD} ({DEMO_NAME})")
        write(f"  token     POST {base_url}/api/auth/token with the API user's credentials")
        write(
            f'  try       curl -H "Authorization: Bearer {result.token}" '
            f'"{base_url}/api/recommendations?page=1&limit=20"'
        )
        # On a line of its own, for `make run` and scripts: grep '^DEMO_TOKEN=' | cut -d= -f2
        write(f"DEMO_TOKEN={result.token}")


def _coordi_count(value: object) -> int:
    try:
        count = int(str(value).strip())
    except ValueError:
        count = 0
    if isinstance(value, bool) or not 1 <= count <= MAX_COORDIS:
        raise CommandError(f"--coordis must be a whole number from 1 to {MAX_COORDIS:,}, not {value!r}.")
    return count


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        valid = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not (parts.query or parts.fragment)
            and not any(character.isspace() for character in value)
        )
    except ValueError:
        valid = False
    if not valid:
        raise CommandError(
            f"--base-url must be an http(s) URL such as {DEFAULT_BASE_URL}, not {value!r}."
        )
    return value.rstrip("/")
