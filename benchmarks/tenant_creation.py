"""Tenant creation: running the migrations against cloning the template schema.

    .venv/bin/python benchmarks/tenant_creation.py --runs 12

Runs against its own database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/sovei_bench; created and migrated when missing),
with whatever municipalities it already holds (migrate_noop.py leaves 100 there), after
a VACUUM ANALYZE (--no-vacuum skips it).

1. In one process, creates `--runs` municipalities with `municipality_create` by
   migrations (TENANT_CREATION_FAKES_MIGRATIONS=False) and `--runs` by cloning the
   template (True), alternating, after one warm-up of each that is reported apart.
2. Unless --no-command, times the real command an operator runs,
   `manage.py create_municipality`, as a subprocess `--command-runs` times per method
   (the setting comes from the environment variable of the same name).
3. Unless --series 0, clones the template `--series` times in a row on one connection
   with django-tenants' CloneSchema.clone_schema (which re-installs its SQL function
   before every clone) and with tenants.services._clone_schema (installs it once).
4. Unless --no-compare, dumps (pg_dump --schema-only) one migrated and one cloned
   schema, normalises the schema name and prints the differences.

Every municipality it created is deleted with its schema at the end; --drop also drops
the bench database.
"""

# ruff: noqa: S603 - runs manage.py, pg_dump and psql with arguments of its own
from __future__ import annotations

import argparse
import difflib
import itertools
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    REPO,
    TABLE_HEAD,
    Summary,
    bench_environment,
    database_drop,
    database_vacuum,
    django_setup,
    letters,
    machine_description,
    municipality_drop,
    municipality_numbers,
)

PREFIX = {"migrations": "tcmig", "clone": "tcclone"}
_slug_index = itertools.count()


def create_one(method: str, slug: str, number: str) -> float:
    from django.test import override_settings

    from tenants.services import municipality_create

    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=(method == "clone")):
        started = time.perf_counter()
        municipality_create(name=f"Bench {slug}", kommunenummer=number, slug=slug)
        return time.perf_counter() - started


def command_one(method: str, slug: str, number: str) -> float:
    env = bench_environment()
    env["TENANT_CREATION_FAKES_MIGRATIONS"] = "True" if method == "clone" else "False"
    cmd = [
        sys.executable,
        "manage.py",
        "create_municipality",
        "--name",
        f"Bench {slug}",
        "--number",
        number,
        "--slug",
        slug,
        "--verbosity",
        "0",
    ]
    started = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def municipality_count() -> int:
    from tenants.models import Municipality

    return Municipality.objects.count()


def leftovers_remove() -> int:
    from django.db import connection

    from tenants.models import Municipality

    stale = list(
        Municipality.objects.filter(slug__regex=r"^(tcmig|tcclone)[a-z]+$").values_list(
            "schema_name", flat=True
        )
    )
    for schema in stale:
        municipality_drop(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tcseries\\_%%'")
        for (schema,) in cursor.fetchall():
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return len(stale)


def measure(
    label: str, runs: int, create: Callable[[str, str, str], float], warm_up: bool
) -> dict[str, list[float]]:
    from tenants.models import Municipality

    taken = set(Municipality.objects.values_list("kommunenummer", flat=True))
    numbers = municipality_numbers(taken)
    samples: dict[str, list[float]] = {"migrations": [], "clone": []}
    total = runs + (1 if warm_up else 0)
    for run in range(total):
        # Alternate which method goes first, so neither always follows the other.
        order = ("migrations", "clone") if run % 2 == 0 else ("clone", "migrations")
        for method in order:
            slug = f"{PREFIX[method]}{letters(next(_slug_index))}"
            seconds = create(method, slug, next(numbers))
            if warm_up and run == 0:
                print(f"  {label} warm-up, {method}: {seconds:.3f} s", flush=True)
            else:
                samples[method].append(seconds)
    return samples


def report(title: str, samples: dict[str, list[float]]) -> None:
    mig, clone = Summary.of(samples["migrations"]), Summary.of(samples["clone"])
    print(f"\n{title}\n{TABLE_HEAD}")
    print(mig.row("migrations (TENANT_CREATION_FAKES_MIGRATIONS=False)"))
    print(clone.row("clone of tenant_template (TENANT_CREATION_FAKES_MIGRATIONS=True)"))
    if mig.median <= clone.median:
        print(f"Migrations are {clone.median / mig.median:.2f}x faster than cloning (medians).")
    else:
        print(f"Cloning is {mig.median / clone.median:.2f}x faster than migrations (medians).")


def clone_series(how: str, count: int) -> list[float]:
    """`count` clones of the template in a row on one fresh connection, each committed.

    how="stock": django-tenants' CloneSchema().clone_schema(), which re-installs its
    4,600-line clone_schema() SQL function before every clone; how="once":
    tenants.services._clone_schema(), which installs it only when missing."""
    from django.conf import settings
    from django.db import connection, transaction
    from django_tenants.clone import CloneSchema

    from tenants.services import _clone_schema

    template = settings.TENANT_BASE_SCHEMA
    connection.close()
    samples = []
    for i in range(count):
        schema = f"tcseries_{how}_{i}"
        with transaction.atomic():
            started = time.perf_counter()
            if how == "stock":
                CloneSchema().clone_schema(template, schema, "DATA")
            else:
                _clone_schema(template, schema)
            samples.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        for i in range(count):
            cursor.execute(f'DROP SCHEMA IF EXISTS "tcseries_{how}_{i}" CASCADE')
    connection.close()
    return samples


def report_series(count: int) -> None:
    block = max(1, min(10, count // 3))
    print(f"\n{count} clones in a row on one connection (schema only, no municipality row)")
    print(f"| clone function | first {block}: median | last {block}: median | all: median |")
    print("|---|---:|---:|---:|")
    for how, label in [
        ("stock", "django-tenants CloneSchema.clone_schema (re-installs it every time)"),
        ("once", "tenants.services._clone_schema (installs it once)"),
    ]:
        samples = clone_series(how, count)
        first, last = Summary.of(samples[:block]), Summary.of(samples[-block:])
        print(
            f"| {label} | {first.median:.3f} s | {last.median:.3f} s "
            f"| {Summary.of(samples).median:.3f} s |",
            flush=True,
        )


def schema_dump(url: str, schema: str) -> list[str]:
    out = subprocess.run(
        [
            shutil.which("pg_dump") or "pg_dump",
            "--schema-only",
            "--no-owner",
            "-n",
            schema,
            "-d",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = []
    for line in out.splitlines():
        if not line.strip() or line.startswith(("--", "\\restrict", "\\unrestrict")):
            continue
        lines.append(
            re.sub(rf'\b"?{re.escape(schema)}"?\.', "SCHEMA.", line).replace(
                f"SCHEMA {schema};", "SCHEMA SCHEMA;"
            )
        )
    return lines


def compare(url: str) -> None:
    from django.db import connection

    from tenants.models import Municipality

    if not shutil.which("pg_dump"):
        print("\npg_dump not found; skipping the structure comparison.")
        return
    migrated = Municipality.objects.filter(slug__startswith="tcmig").first()
    cloned = Municipality.objects.filter(slug__startswith="tcclone").first()
    if migrated is None or cloned is None:
        return
    left, right = schema_dump(url, migrated.schema_name), schema_dump(url, cloned.schema_name)
    diff = list(difflib.unified_diff(left, right, "migrated", "cloned", lineterm="", n=1))
    print(
        f"\npg_dump --schema-only of {migrated.schema_name} (migrated) vs "
        f"{cloned.schema_name} (cloned), schema name normalised:"
    )
    print("\n".join(diff) if diff else "identical")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, sequencename, data_type::text, max_value FROM pg_sequences "
            "WHERE schemaname = ANY(%s) ORDER BY sequencename, schemaname",
            [[migrated.schema_name, cloned.schema_name]],
        )
        rows = cursor.fetchall()
    print("\nsequences (schema, name, type, max):")
    for row in rows:
        print("  ", *row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=12, help="creations per method (default 12)")
    parser.add_argument(
        "--command-runs",
        type=int,
        default=None,
        help="create_municipality subprocess runs per method (default: --runs)",
    )
    parser.add_argument("--no-command", action="store_true", help="skip the subprocess runs")
    parser.add_argument("--no-compare", action="store_true", help="skip the pg_dump comparison")
    parser.add_argument(
        "--series",
        type=int,
        default=40,
        help="clones in a row on one connection, per clone function (default 40; 0 skips)",
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="do not VACUUM ANALYZE before measuring"
    )
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()

    url = django_setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(f"Machine: {machine_description()}, server PostgreSQL {server}")
    print(f"Database: {url}")
    removed = leftovers_remove()
    if removed:
        print(f"Removed {removed} municipalities left by an earlier run.")
    if not args.no_vacuum:
        connection.close()
        autovacuum = database_vacuum(url)
        print(f"VACUUM ANALYZE done (server autovacuum = {autovacuum}).")
    print(f"Municipalities in the database: {municipality_count()}")

    try:
        print(f"\nIn-process municipality_create, {args.runs} runs per method:", flush=True)
        report(
            "municipality_create() in one process (warm)",
            measure("in-process", args.runs, create_one, warm_up=True),
        )

        if not args.no_command:
            runs = args.command_runs or args.runs
            print(
                f"\n`manage.py create_municipality` as a subprocess, {runs} runs per method:",
                flush=True,
            )
            report(
                "manage.py create_municipality (new process each time, cold)",
                measure("command", runs, command_one, warm_up=False),
            )

        if args.series:
            report_series(args.series)

        if not args.no_compare:
            compare(url)
    finally:
        removed = leftovers_remove()
        print(f"\nCleaned up {removed} benchmark municipalities and their schemas.")
        connection.close()
        if args.drop:
            database_drop(url)
            print(f"Dropped {url}.")


if __name__ == "__main__":
    main()
