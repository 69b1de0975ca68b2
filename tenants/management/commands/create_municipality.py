from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.services import municipality_create, tenant_domain


class Command(BaseCommand):
    help = "Create a municipality (tenant) with its schema and domain <slug>.<BASE_DOMAIN>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--number", required=True, help="Four-digit kommunenummer")
        parser.add_argument("--slug", required=True, help="Address part, e.g. trondheim")
        parser.add_argument("--county", help="Two-digit county number (default: from --number)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            municipality = municipality_create(
                name=opts["name"],
                kommunenummer=opts["number"],
                slug=opts["slug"],
                county=opts["county"],
                verbosity=max(0, opts["verbosity"] - 1),
            )
        except ValidationError as exc:
            lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
            raise CommandError("Invalid municipality:\n  " + "\n  ".join(lines)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {municipality.name} ({municipality.kommunenummer}) at "
                f"{tenant_domain(municipality.slug)}, schema {municipality.schema_name}"
            )
        )
