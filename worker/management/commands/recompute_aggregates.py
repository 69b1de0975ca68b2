"""Recompute every school's aggregates now: `manage.py recompute_aggregates`.

By default the work is sent to the workers (as the nightly run does, recorded as a
"manual" RecomputeRun whose progress the status page shows); `--inline` does it in this
process, without a broker. `--schema` (repeatable) limits it to some municipalities."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from worker.models import RunKind
from worker.services import full_recompute_inline, full_recompute_start


class Command(BaseCommand):
    help = "Recompute the dashboards' aggregates of every school (or of --schema ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inline", action="store_true", help="run here, not on workers")
        parser.add_argument(
            "--schema", action="append", dest="schemas", help="a municipality's schema"
        )

    def handle(self, *args: Any, inline: bool, schemas: list[str] | None, **options: Any) -> None:
        if inline:
            run = full_recompute_inline(kind=RunKind.MANUAL, schemas=schemas)
        else:
            run = full_recompute_start(kind=RunKind.MANUAL, schemas=schemas)
        self.stdout.write(
            f"Run {run.pk}: {run.municipalities} municipalities, {run.total} schools; "
            f"{run.done} done, {run.failed} failed"
            + ("" if run.finished_at else " so far (the workers report progress)")
        )
