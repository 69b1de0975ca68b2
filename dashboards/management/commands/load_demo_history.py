"""python manage.py load_demo_history: implementation history for the demo municipalities.

Run after ``load_demo``. Writes through the services (so every write is audited and marks
its school for recomputation), then rebuilds the aggregates at once. Idempotent: a
municipality that already has assessment rounds is left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dashboards.management.demo_history import EXTRA_TRONDHEIM_SCHOOLS, load_demo_history


class Command(BaseCommand):
    help = (
        "Fill the demo municipalities with varied implementation history (adoptions, plans, "
        "stages and steps, four assessment rounds, logged time) and rebuild "
        "the dashboard aggregates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", action="append", dest="slugs", metavar="SLUG",
                            help="Only this municipality (repeatable); default: all.")
        parser.add_argument("--extra-schools", type=int, default=len(EXTRA_TRONDHEIM_SCHOOLS),
                            help="Extra schools in Trondheim, so the coordinator has schools "
                                 "to compare (default %(default)s, at most "
                                 f"{len(EXTRA_TRONDHEIM_SCHOOLS)}).")
        parser.add_argument("--seed", type=int, default=2026,
                            help="Random seed: the same seed gives the same history.")
        parser.add_argument("--no-recompute", action="store_true",
                            help="Leave the recomputation to the worker.")

    def handle(self, *args: Any, **opts: Any) -> None:
        summary = load_demo_history(
            slugs=opts["slugs"], extra_schools=max(0, opts["extra_schools"]),
            seed=opts["seed"], recompute=not opts["no_recompute"],
            log=self.stdout.write,
        )
        done = f"{summary.schools} schools in {len(summary.municipalities)} municipalities"
        if summary.run is not None:
            done += f"; aggregates rebuilt ({summary.run.done}/{summary.run.total} schools)"
        self.stdout.write(self.style.SUCCESS(f"Demo history ready: {done}."))
