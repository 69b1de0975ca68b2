from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.fileformat import CatalogError
from catalog.instruments import SHIPPED, instruments_import


class Command(BaseCommand):
    help = "Import assessment instruments from a sovei-instruments/1 YAML file (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=str(SHIPPED))

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            result = instruments_import(path=opts["path"])
        except CatalogError as exc:
            raise CommandError("The instrument file was not imported:\n" + str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['path']}: {exc.strerror}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Instruments {result.version}: {result.created} created, {result.updated} updated."
            )
        )
