from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants.backup import BackupError, municipality_backup

from ._operations import command_error, municipality_or_error


class Command(BaseCommand):
    help = (
        "Back up one municipality: its schema (pg_dump of the server's major version) and "
        "its public rows (municipality, domains, memberships), in one new tar file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The municipality's address, e.g. trondheim")
        parser.add_argument("file", help="The backup file to write (must not exist)")

    def handle(self, *args: Any, **opts: Any) -> None:
        municipality = municipality_or_error(opts["slug"])
        try:
            result = municipality_backup(municipality=municipality, path=opts["file"])
        except BackupError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {municipality.name} ({result.slug}): {len(result.tables)} tables, "
                f"{result.rows} rows, {result.memberships} memberships → {result.path} "
                f"({result.size} bytes)"
            )
        )
