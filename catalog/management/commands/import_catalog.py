from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from catalog.fileformat import CatalogError, parse_catalog
from catalog.services import catalog_import_report


class Command(BaseCommand):
    help = (
        "Import a SoVei catalog file (format sovei-catalog/1, see docs/catalog-format.md) "
        "into its model version. Idempotent; nothing is written if the file has errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Catalog file, e.g. catalog/data/sovei-model-1.0.yaml")
        parser.add_argument(
            "--check", action="store_true", help="Only validate the file; write nothing."
        )

    @no_translations
    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"No such catalog file: {path}")
        try:
            if opts["check"]:
                data = parse_catalog(path.read_text(encoding="utf-8"), source=str(path))
                self.stdout.write(
                    self.style.SUCCESS(f"{path} is a valid catalog of model version "
                                       f"{data['version']['code']}.")
                )
                return
            report = catalog_import_report(path=path)
        except CatalogError as exc:
            count = len(exc.problems)
            raise CommandError(
                f"{path} is not a valid catalog file ({count} problem{'s' if count != 1 else ''}); "
                "nothing was imported.\n" + "\n".join(exc.messages)
            ) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text; nothing was imported.") from exc
        version, changes = report.version, report.changes
        parts = [
            f"{verb} {_describe(counter)}"
            for verb, counter in (
                ("created", changes.created),
                ("updated", changes.updated),
                ("deleted", changes.deleted),
            )
            if counter
        ]
        summary = "; ".join(parts) or "no changes"
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported SoVei model version {version.code} from {path}: {summary}."
            )
        )


ORDER = ["modelversion", "module", "component", "exampletask", "resource"]


def _describe(counter: Counter[str]) -> str:
    """"5 modules, 8 components" in catalog order."""
    parts = []
    for name in sorted(counter, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        meta = apps.get_model("catalog", name)._meta
        label = meta.verbose_name if counter[name] == 1 else meta.verbose_name_plural
        parts.append(f"{counter[name]} {label}")
    return ", ".join(parts)
