"""``manage.py research_refresh``: publish the research store now — through the latest
semester that is due (the nightly task publishes only when a new one is due) — e.g. after
rotating RESEARCH_PSEUDONYM_KEY (docs/research.md). ``--if-due`` does what the nightly task
does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from research.refresh import BATCH_SCHEMAS, refresh_research_store


class Command(BaseCommand):
    help = (
        "Publish the research store from every municipality that shares data, through the "
        "latest semester that is due."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SCHEMAS,
            help="Schemas per UNION ALL statement (default %(default)s).",
        )
        parser.add_argument(
            "--if-due",
            action="store_true",
            help="Publish only if a new semester is due (as the nightly task).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = refresh_research_store(
            batch_size=options["batch_size"], only_if_due=options["if_due"]
        )
        if result is None:
            self.stdout.write("Nothing to publish: no new semester is due.")
            return
        self.stdout.write(
            f"Publication {result.refresh_id} through {result.through}: "
            f"{result.municipalities} municipalities "
            f"({result.excluded} left out), {result.schools} schools, rows {result.rows}, "
            f"{result.duration_ms} ms"
        )
