from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.services import municipality_erase

from ._operations import command_error, municipality_or_error


class Command(BaseCommand):
    help = (
        "Erase all of a municipality's data (its schema, domains, memberships, research "
        "rows); irreversible, audited. Needs --confirm with the municipality's address."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The municipality's address, e.g. trondheim")
        parser.add_argument(
            "--confirm", metavar="SLUG", default="",
            help="The address again, to confirm that everything of it is to be erased",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        municipality = municipality_or_error(opts["slug"])
        if opts["confirm"] != municipality.slug:
            raise CommandError(
                f"Refusing to erase {municipality.name}: repeat its address to confirm, "
                f"--confirm {municipality.slug} (take a backup first: municipality_backup)."
            )
        try:
            result = municipality_erase(municipality=municipality, confirm=opts["confirm"])
        except ValidationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased {municipality.name} ({result.kommunenummer}): schema with "
                f"{len(result.tables)} tables and {result.rows} rows, {result.domains} "
                f"domains, {result.memberships} memberships, {result.research_rows} research "
                f"rows, {result.audit_entries} earlier audit entries"
            )
        )
        if result.users_without_membership:
            self.stdout.write(
                self.style.WARNING(
                    "These accounts now have no role anywhere (not deleted): "
                    + ", ".join(result.users_without_membership)
                )
            )
