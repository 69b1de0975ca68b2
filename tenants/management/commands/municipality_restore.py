from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from tenants.backup import BackupError, municipality_restore

from ._operations import command_error


class Command(BaseCommand):
    help = (
        "Restore a municipality from a municipality_backup file into a schema that does not "
        "exist (nothing is overwritten), with its domains and memberships; audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A file written by municipality_backup")
        parser.add_argument(
            "--as", dest="slug", metavar="SLUG",
            help="Restore under this address instead of the backup's own",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            result = municipality_restore(
                path=opts["file"], slug=opts["slug"], verbosity=max(0, opts["verbosity"] - 1)
            )
        except (BackupError, ValidationError) as exc:
            raise command_error(exc) from exc
        municipality = result.municipality
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {municipality.name} ({municipality.kommunenummer}) as "
                f"{municipality.slug}, schema {municipality.schema_name}: "
                f"{len(result.tables)} tables, {result.rows} rows, "
                f"{result.memberships} memberships"
                + (", migrated to the current version" if result.migrated else "")
            )
        )
        if result.skipped_members:
            self.stdout.write(
                self.style.WARNING(
                    "Memberships not restored (no such account): "
                    + ", ".join(result.skipped_members)
                )
            )
