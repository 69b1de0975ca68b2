"""`manage.py migrate_schemas` over 100 municipalities: nothing to apply, and one pending.

    .venv/bin/python benchmarks/migrate_noop.py --repeat 5

Runs against its own database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/sovei_bench; created and migrated when missing).

1. Provisions municipalities noopaaa, noopaab, … (by cloning the template, the
   configured way) until there are `--tenants` (default 100) of them.
2. Brings everything up to date with one untimed `migrate_schemas`, runs VACUUM ANALYZE
   (--no-vacuum skips it), then times the
   real command as an operator runs it, as a subprocess, `--repeat` rounds in which
   each of these runs once (round-robin, so load changes hit all alike):
     manage.py migrate_schemas --noinput                          (our executor)
     manage.py migrate_schemas --noinput --executor=multiprocessing
     manage.py migrate_schemas --noinput --executor=standard
     manage.py migrate_schemas --noinput --shared                 (the fixed cost)
3. Unless --no-pending, times `--pending-repeat` runs (default 3) where a migration is
   pending in every tenant schema (and the template), made so by deleting its
   django_migrations row there:
     a. the latest migration of a public-only app (sessions), applied for real: in a
        tenant schema its operations are routed away, so it costs what any migration
        costs per schema minus the DDL;
     b. the latest `implementation` migration, re-recorded with --fake (its tables
        exist, so it cannot be applied for real again).
   After each run it checks that nothing is pending any more.

--drop-tenants removes the municipalities afterwards; --drop drops the bench database.
"""

# ruff: noqa: S603 - runs manage.py, pg_dump and psql with arguments of its own
from __future__ import annotations

import argparse
import sys
import time
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

PREFIX = "noop"
MANAGE = [sys.executable, "manage.py", "migrate_schemas", "--noinput"]


def provision(count: int) -> float:
    """Create municipalities noop… by the configured method until there are `count`."""
    from tenants.models import Municipality
    from tenants.services import municipality_create

    existing = set(
        Municipality.objects.filter(slug__regex=rf"^{PREFIX}[a-z]+$").values_list("slug", flat=True)
    )
    taken = set(Municipality.objects.values_list("kommunenummer", flat=True))
    numbers = municipality_numbers(taken)
    started = time.perf_counter()
    created = 0
    index = 0
    batch: list[float] = []
    while len(existing) < count:
        slug = f"{PREFIX}{letters(index)}"
        index += 1
        if slug in existing:
            continue
        one = time.perf_counter()
        municipality_create(name=f"Bench {slug}", kommunenummer=next(numbers), slug=slug)
        batch.append(time.perf_counter() - one)
        existing.add(slug)
        created += 1
        if len(batch) == 25:
            print(
                f"  {len(existing)} municipalities; the last 25 took a median "
                f"{Summary.of(batch).median:.3f} s each",
                flush=True,
            )
            batch = []
    seconds = time.perf_counter() - started
    if created:
        print(
            f"Provisioned {created} municipalities in {seconds:.1f} s "
            f"({seconds / created:.3f} s each).",
            flush=True,
        )
    return seconds


def run(extra: list[str]) -> float:
    import subprocess

    started = time.perf_counter()
    result = subprocess.run(
        MANAGE + extra, cwd=REPO, env=bench_environment(), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"{' '.join(MANAGE + extra)} failed ({result.returncode})")
    return seconds


def all_tenant_schemas() -> list[str]:
    from django.conf import settings

    from tenants.models import Municipality

    schemas = list(
        Municipality.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    )
    return [*schemas, settings.TENANT_BASE_SCHEMA]


def pending() -> list[str]:
    from tenants.migration_executor import schemas_with_pending_migrations

    return schemas_with_pending_migrations(all_tenant_schemas())


def unrecord(app: str, name: str) -> int:
    """Delete the django_migrations row of (app, name) in every tenant schema."""
    from django.db import connection

    schemas = all_tenant_schemas()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(
                f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                [app, name],
            )
    return len(schemas)


def leaf(app: str) -> tuple[str, str]:
    """The latest migration of `app` that no other migration depends on."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = [key for key in graph.leaf_nodes(app) if not graph.node_map[key].children]
    if not leaves:
        raise SystemExit(f"{app} has no leaf migration that nothing depends on")
    return leaves[0]


def timed_rounds(variants: list[tuple[str, list[str], int]]) -> list[tuple[str, Summary]]:
    """Run the variants round-robin (one run of each per round), so that a change in the
    machine's load during the benchmark hits every variant alike."""
    samples: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    for round_ in range(max(repeat for _, _, repeat in variants)):
        for label, extra, repeat in variants:
            if round_ >= repeat:
                continue
            samples[label].append(run(extra))
            print(f"  round {round_ + 1}: {label}: {samples[label][-1]:.2f} s", flush=True)
            if pending():
                raise SystemExit(f"{label} left schemas with pending migrations")
    return [(label, Summary.of(samples[label])) for label, _, _ in variants]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant (default 5)")
    parser.add_argument(
        "--standard-repeat",
        type=int,
        default=None,
        help="runs of --executor=standard (default: --repeat)",
    )
    parser.add_argument("--no-pending", action="store_true", help="skip the one-pending runs")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="do not VACUUM ANALYZE before measuring"
    )
    parser.add_argument(
        "--pending-repeat", type=int, default=3, help="runs per pending case (default 3)"
    )
    parser.add_argument(
        "--drop-tenants", action="store_true", help="delete the benchmark municipalities at the end"
    )
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()

    url = django_setup()
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(f"Machine: {machine_description()}, server PostgreSQL {server}")
    print(f"Database: {url}")
    print(
        f"TENANT_MULTIPROCESSING_MAX_PROCESSES={settings.TENANT_MULTIPROCESSING_MAX_PROCESSES}, "
        f"TENANT_MULTIPROCESSING_CHUNKS={settings.TENANT_MULTIPROCESSING_CHUNKS}"
    )

    try:
        provision(args.tenants)
        print(f"Tenant schemas: {len(all_tenant_schemas())} (municipalities + template)")
        print("Bringing every schema up to date (untimed) …", flush=True)
        run([])
        if pending():
            raise SystemExit("schemas still pending after migrate_schemas")
        if not args.no_vacuum:
            connection.close()
            autovacuum = database_vacuum(url)
            print(f"VACUUM ANALYZE done (server autovacuum = {autovacuum}).")

        variants = [
            ("`migrate_schemas` (ours: skip + parallel)", [], args.repeat),
            (
                "`migrate_schemas --executor=multiprocessing`",
                ["--executor=multiprocessing"],
                args.repeat,
            ),
            (
                "`migrate_schemas --executor=standard`",
                ["--executor=standard"],
                args.standard_repeat or args.repeat,
            ),
            ("`migrate_schemas --shared` (public only: the fixed cost)", ["--shared"], args.repeat),
        ]
        print("\nNo-op runs, the variants round-robin:", flush=True)
        results = timed_rounds(variants)

        print(
            f"\nNo-op migrate_schemas, {len(all_tenant_schemas()) - 1} municipalities\n{TABLE_HEAD}"
        )
        for label, summary in results:
            print(summary.row(label))

        if not args.no_pending:
            print(
                f"\nOne migration pending in every tenant schema ({args.pending_repeat} runs each):"
            )
            rows = []
            for app, extra, how in [
                ("sessions", [], "applied"),
                ("implementation", ["--fake"], "re-recorded with --fake"),
            ]:
                app, name = leaf(app)
                samples = []
                for _ in range(args.pending_repeat):
                    count = unrecord(app, name)
                    before = len(pending())
                    if before != count:
                        raise SystemExit(f"expected {count} pending schemas, found {before}")
                    samples.append(run(extra))
                    after = pending()
                    if after:
                        raise SystemExit(f"still pending after the run: {after[:5]} …")
                    print(f"  {app}.{name} {how}: {samples[-1]:.2f} s", flush=True)
                cmd = " ".join(["manage.py migrate_schemas --noinput", *extra])
                rows.append(
                    Summary.of(samples).row(f"{app}.{name} {how}, {count} schemas: `{cmd}`")
                )
            print(f"\n{TABLE_HEAD}")
            print("\n".join(rows))
    finally:
        if args.drop_tenants:
            from tenants.models import Municipality

            for schema in Municipality.objects.filter(slug__regex=rf"^{PREFIX}[a-z]+$").values_list(
                "schema_name", flat=True
            ):
                municipality_drop(schema)
            print("Deleted the benchmark municipalities.")
        connection.close()
        if args.drop:
            database_drop(url)
            print(f"Dropped {url}.")


if __name__ == "__main__":
    main()
