"""python manage.py generate_national: a seeded national data set (every municipality, its
schools and ten years of rounds) for benchmarks and load tests.

    python manage.py generate_national --municipalities 357 --schools-per 8 --years 10 --seed 1

The work is ``dashboards.management.national.generate_national`` (what goes through the
services and what is bulk-written, and why, is described there). Small sizes run in
seconds: ``--municipalities 3 --schools-per 2 --years 1``."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboards.management.national import DEFAULT_PASSWORD, NationalSize, generate_national
from implementation.services._common import today


def _last_year() -> int:
    """The latest year whose autumn round (closing 15 November) has closed."""
    now = today()
    return now.year if (now.month, now.day) > (11, 15) else now.year - 1


class Command(BaseCommand):
    help = "Generate seeded national data: municipalities, schools and years of history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipalities", type=int, default=357)
        parser.add_argument("--schools-per", type=float, default=8.0,
                            help="Mean schools per municipality (log-normal; default 8).")
        parser.add_argument("--years", type=int, default=10,
                            help="Years of rounds, two a year (default 10).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--last-year", type=int, default=None,
                            help="Year of the last round (default: the latest closed one).")
        parser.add_argument("--activities-per-week", type=float, default=5.0,
                            help="Logged activities per school and school week (default 5).")
        parser.add_argument("--password", default=DEFAULT_PASSWORD,
                            help="Password of every generated account.")
        parser.add_argument("--no-recompute", action="store_true",
                            help="Leave the aggregates to a later recomputation.")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["municipalities"] < 1 or opts["years"] < 1 or opts["schools_per"] < 1:
            raise CommandError("--municipalities, --years and --schools-per must be ≥ 1.")
        size = NationalSize(
            municipalities=opts["municipalities"], schools_per=opts["schools_per"],
            years=opts["years"], seed=opts["seed"],
            last_year=opts["last_year"] or _last_year(),
            activities_per_week=opts["activities_per_week"],
        )
        started = time.perf_counter()
        result = generate_national(size, password=opts["password"],
                                   recompute=not opts["no_recompute"], log=self.stdout.write)
        seconds = time.perf_counter() - started
        phases = ", ".join(f"{phase} {s:.1f} s" for phase, s in result.seconds.items())
        rows = ", ".join(f"{table} {n}" for table, n in sorted(result.rows.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {len(result.municipalities)} municipalities ({len(result.skipped)} "
                f"existed already), {result.schools} schools, {size.rounds} rounds, "
                f"seed {size.seed}, in {seconds:.1f} s ({phases})."
            )
        )
        self.stdout.write(f"Rows: {rows}")
