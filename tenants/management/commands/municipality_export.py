from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants.export import ExportError, municipality_export

from ._operations import command_error, municipality_or_error


class Command(BaseCommand):
    help = (
        "Export one municipality's data on request: every table of its schema as CSV and "
        "its public rows, into a new or empty directory, or a zip file (PATH ending .zip)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The municipality's address, e.g. trondheim")
        parser.add_argument("path", help="A directory (new or empty) or a new .zip file")

    def handle(self, *args: Any, **opts: Any) -> None:
        municipality = municipality_or_error(opts["slug"])
        try:
            result = municipality_export(municipality=municipality, path=opts["path"])
        except ExportError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {municipality.name} ({municipality.slug}): {len(result.files)} "
                f"files, {result.rows} rows → {result.path}"
            )
        )
