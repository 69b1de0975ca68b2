from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import ModelVersion
from catalog.selectors import model_version_get
from catalog.services import catalog_export


class Command(BaseCommand):
    help = (
        "Write a SoVei model version as a catalog file (format sovei-catalog/1, see "
        "docs/catalog-format.md) to standard output or --output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", help="Model version code, e.g. 1.0")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output")

    def handle(self, *args: Any, **opts: Any) -> None:
        code = opts["version"]
        try:
            version = model_version_get(code=code)
        except ModelVersion.DoesNotExist as exc:
            known = ", ".join(ModelVersion.objects.values_list("code", flat=True)) or "none"
            raise CommandError(f"No model version {code!r} (known versions: {known}).") from exc
        text = catalog_export(version=version)
        if not opts["output"]:
            self.stdout.write(text, ending="")
            return
        output = Path(opts["output"])
        if not output.parent.is_dir():
            raise CommandError(f"No such directory: {output.parent}")
        output.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote model version {code} to {output}."))
