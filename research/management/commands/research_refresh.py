"""``manage.py research_refresh``: publish the research store now — through the latest
semester that is due (the nightly task publishes only when a new one is due) — e.g. after
rotating RESEARCH_PSEUDONYM_KEY (docs/research.md). ``--if-due`` does what the nightly task
does; ``--through 2026H`` publishes through a given semester."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from research.pseudonyms import Semester
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
        parser.add_argument(
            "--through",
            metavar="SEMESTER",
            help="Publish through this semester (e.g. 2026H) instead of the latest one due: "
            "for a demo, or at once after rotating the pseudonym key.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        through = None
        if options["through"]:
            through = Semester.parse(options["through"])
            if through is None:
                raise CommandError(
                    f"--through: {options['through']!r} is not a semester (YYYYV or YYYYH)."
                )
        result = refresh_research_store(
            batch_size=options["batch_size"], only_if_due=options["if_due"], through=through
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
