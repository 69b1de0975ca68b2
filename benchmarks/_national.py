"""Shared by the national benchmarks: a bench database holding the seeded national data set
of ``manage.py generate_national`` (dashboards.management.national).

``national_database(url, …)`` does nothing when the database holds as many generated
municipalities as asked for; otherwise it creates the database when missing and, in one
subprocess (this file run as a script), migrates it, imports the catalog and instruments
and runs ``generate_national``, which skips the municipalities that exist (an interrupted
run resumes).
"""

# ruff: noqa: S603 - runs this file with arguments of its own
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _bench import REPO, SETTINGS_MODULE, database_create_if_missing


def catalog_ensure() -> None:
    """The shipped model 1.0 and instruments (in the current process's database)."""
    from catalog.instruments import SHIPPED, instruments_import
    from catalog.models import ModelVersion
    from catalog.services import catalog_import

    if not ModelVersion.objects.filter(code="1.0").exists():
        catalog_import(path=Path(REPO) / "catalog" / "data" / "sovei-model-1.0.yaml")
        instruments_import(path=SHIPPED)


def national_environment(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["BENCH_DATABASE_URL"] = url
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def generated_count(url: str) -> int:
    """Generated municipalities (slug k + kommunenummer) in the database; 0 if none."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM tenants_municipality WHERE slug ~ '^k[0-9]{4}$'"
            ).fetchone()
    except psycopg.Error:  # no database or not migrated yet
        return 0
    return int(row[0]) if row else 0


def national_database(
    url: str,
    *,
    municipalities: int,
    schools_per: float,
    years: int,
    seed: int,
    activities_per_week: float = 5.0,
    recompute: bool = False,
) -> float:
    """Make sure the bench database holds the national data set; returns the seconds the
    generator took (0 when it was there already: nothing is started then)."""
    if generated_count(url) >= municipalities:
        print(f"Generated 0 municipalities ({municipalities} existed already)", flush=True)
        return 0.0
    if database_create_if_missing(url):
        print(f"Created database {url.rsplit('/', 1)[-1]}; migrating it …", flush=True)
    args = [
        "generate_national",
        "--municipalities", str(municipalities),
        "--schools-per", str(schools_per),
        "--years", str(years),
        "--seed", str(seed),
        "--activities-per-week", str(activities_per_week),
    ]
    if not recompute:
        args.append("--no-recompute")
    print(f"manage.py {' '.join(args)}", flush=True)
    started = time.perf_counter()
    # One process: migrate (public and template schemas), the catalog, the generator.
    done = subprocess.run(
        [sys.executable, __file__, *args], env=national_environment(url),
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"generate_national failed ({done.returncode})")
    for line in done.stdout.splitlines():
        if line.startswith(("Generated", "Rows:")):
            print(line, flush=True)
    return seconds


if __name__ == "__main__":
    # python benchmarks/_national.py generate_national …: prepare the database
    # (BENCH_DATABASE_URL) and run the command in this one process.
    sys.path.insert(0, str(REPO))
    from _bench import django_setup

    django_setup()
    catalog_ensure()
    from django.core.management import call_command

    call_command(*sys.argv[1:])
