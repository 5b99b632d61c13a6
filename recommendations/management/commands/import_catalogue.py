"""import_catalogue: loads the replaced service's catalogue export (recommendations/catalogue.py).

Exit status: 0 when the file was imported (rows it could not take are skipped and reported); 2 when
nothing was written: the file cannot be read as an export, an option is bad, or `--strict` refused it.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from recommendations.catalogue import (
    BATCH_SIZE,
    Export,
    ExportUnreadable,
    Written,
    load_export,
    summary,
    write_catalogue,
)
from recommendations.management.terminal import BarStream
from recommendations.models import Style


class Command(BaseCommand):
    help = (
        "Load the replaced service's catalogue export (a JSON array of outfit snaps with their items). "
        "Idempotent: the export's ids are kept, a row seen before is updated in place when it changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the export: a JSON file")
        parser.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
        parser.add_argument(
            "--strict", action="store_true",
            help="refuse the whole file if any row is malformed or holds a value outside the vocabulary",
        )  # fmt: skip
        parser.add_argument(
            "--style-fallback", default=Style.CASUAL, metavar="STYLE",
            help=f"the style given to an outfit whose style is outside the vocabulary: one of "
            f"{', '.join(Style.values)} (default {Style.CASUAL})",
        )  # fmt: skip

    def handle(self, *args: object, file: str, dry_run: bool, strict: bool, style_fallback: str,
               **options: object) -> None:  # fmt: skip
        if style_fallback not in Style.values:
            raise CommandError(
                f"--style-fallback must be one of {', '.join(Style.values)}, not {style_fallback!r}.",
                returncode=2,
            )
        try:
            export = load_export(Path(file), style_fallback=style_fallback)
        except ExportUnreadable as error:
            raise CommandError(f"{error}; nothing imported.", returncode=2) from None
        for problem in export.malformed:
            self.stderr.write(f"skipped {problem}", style_func=str)
        if strict and (export.malformed or export.outside_vocabulary):
            for line in summary(export, None, style_fallback=style_fallback):
                self.stderr.write(line, style_func=str)
            raise CommandError(
                f"--strict: {len(export.malformed):,} malformed rows, {export.outside_vocabulary:,} values "
                "outside the vocabulary; nothing imported.",
                returncode=2,
            )
        if dry_run:
            # Written and rolled back, so a dry run checks what the database would refuse as well.
            with transaction.atomic():
                written = self._write(export)
                transaction.set_rollback(True)
            lines = [*summary(export, written, style_fallback=style_fallback), "dry run: nothing written"]
        else:
            lines = [*summary(export, self._write(export), style_fallback=style_fallback)]
        self.stdout.write("\n".join(lines))

    def _write(self, export: Export) -> Written:
        with tqdm(total=len(export.outfits), desc="outfits", unit=" outfits", file=BarStream(self.stderr),
                  disable=None) as bar:  # fmt: skip
            return write_catalogue(export, batch_size=BATCH_SIZE, progress=bar.update)

