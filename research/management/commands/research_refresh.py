"""``manage.py research_refresh``: rebuild the research store now (as the nightly task
does), e.g. after rotating RESEARCH_PSEUDONYM_KEY (docs/research.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from research.refresh import BATCH_SCHEMAS, refresh_research_store


class Command(BaseCommand):
    help = "Rebuild the research store from every municipality that shares data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SCHEMAS,
            help="Schemas per UNION ALL statement (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = refresh_research_store(batch_size=options["batch_size"])
        self.stdout.write(
            f"Refresh {result.refresh_id}: {result.municipalities} municipalities "
            f"({result.excluded} left out), {result.schools} schools, rows {result.rows}, "
            f"{result.duration_ms} ms"
        )
