from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from implementation.services.retention import survey_links_expire_everywhere


class Command(BaseCommand):
    help = (
        "Delete survey links, and the answers given through them, of rounds that closed more "
        "than SURVEY_LINK_RETENTION_DAYS ago, in every municipality (nightly in the worker); "
        "answers counted in a released group are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schema", action="append", dest="schemas", metavar="SCHEMA",
            help="Only this municipality's schema (repeatable)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        days = settings.SURVEY_LINK_RETENTION_DAYS
        if days <= 0:
            self.stdout.write("SURVEY_LINK_RETENTION_DAYS is 0: survey links are kept.")
            return
        results = survey_links_expire_everywhere(schemas=opts["schemas"], dry_run=opts["dry_run"])
        verb = "would delete" if opts["dry_run"] else "deleted"
        for schema, result in results.items():
            if result.links or opts["verbosity"] > 1:
                self.stdout.write(
                    f"{schema}: {verb} {result.links} links, {result.responses} responses, "
                    f"{result.answers} answers (rounds closed before {result.cutoff})"
                )
        total = sum(r.links for r in results.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(results)} municipalities, {verb} {total} links "
                f"(retention {days} days)"
            )
        )
