"""How the clone of the template slows down as the database fills with municipalities.

    .venv/bin/python benchmarks/clone_catalog_size.py --runs 12

Two databases on the same server: the bench database (BENCH_DATABASE_URL, default
sovei_bench), topped up to `--tenants` municipalities (default 100) the way
migrate_noop.py does it, and a small one with the template only (`<name>_small`,
created and migrated here). One connection to each; per round, the template is cloned
once in each database, alternately, inside a transaction that is rolled back, so neither
catalog grows and a change in the machine's load hits both alike. django-tenants'
clone_schema() SQL function is installed once per database beforehand (as
tenants.services does); the first clone on each connection (plpgsql compiles the
function) is reported apart. Both databases are vacuumed first (--no-vacuum skips it:
the dead catalog rows that creating 100 schemas leaves behind are what makes the clone
slow on a server with autovacuum off).

--drop drops both databases at the end.
"""

# ruff: noqa: S603 - runs manage.py with arguments of its own
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    REPO,
    TABLE_HEAD,
    Summary,
    bench_environment,
    database_drop,
    database_vacuum,
    django_setup,
    machine_description,
)


def small_database(url: str) -> str:
    """Create and migrate `<name>_small` (template only) with a manage.py subprocess."""
    parts = urlsplit(url)
    small = urlunsplit(parts._replace(path=parts.path + "_small"))
    env = bench_environment()
    env["BENCH_DATABASE_URL"] = small
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); from _bench import django_setup; "
        "django_setup(); from tenants.services import _clone_schema; "
        "from django.db import connection, transaction\n"
        "with transaction.atomic():\n"
        "    _clone_schema('tenant_template', 'probe_install')\n"
        "    with connection.cursor() as c: c.execute('DROP SCHEMA probe_install CASCADE')\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    return small


def clone_once(conn: object, template: str) -> float:
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    started = time.perf_counter()
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT public.clone_schema(%s, 'probe_clone', 'DATA')", [template])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument(
        "--no-vacuum", action="store_true", help="do not VACUUM ANALYZE before measuring"
    )
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    args = parser.parse_args()

    url = django_setup()
    import psycopg
    from django.conf import settings
    from django.db import connection, transaction
    from migrate_noop import all_tenant_schemas, provision

    from tenants.services import _clone_schema

    template = settings.TENANT_BASE_SCHEMA
    print(f"Machine: {machine_description()}")
    provision(args.tenants)
    with transaction.atomic():  # install the SQL function (tagged) as provisioning does
        _clone_schema(template, "probe_install")
        with connection.cursor() as cursor:
            cursor.execute('DROP SCHEMA "probe_install" CASCADE')
    big_schemas = len(all_tenant_schemas())
    connection.close()
    small = small_database(url)
    if not args.no_vacuum:
        for each in (url, small):
            autovacuum = database_vacuum(each)
        print(f"VACUUM ANALYZE done in both (server autovacuum = {autovacuum}).")
    try:
        conns = {
            f"{big_schemas - 1} municipalities": psycopg.connect(url),
            "0 municipalities (template only)": psycopg.connect(small),
        }
        samples: dict[str, list[float]] = {label: [] for label in conns}
        first = {label: clone_once(conn, template) for label, conn in conns.items()}
        for _ in range(args.runs):
            for label, conn in conns.items():
                samples[label].append(clone_once(conn, template))
        print(f"\nSELECT clone_schema(template) rolled back, load {os.getloadavg()[0]:.2f}")
        print(TABLE_HEAD)
        for label in conns:
            print(
                Summary.of(samples[label]).row(
                    f"{label} (first on the connection: {first[label]:.3f} s)"
                )
            )
        for conn in conns.values():
            conn.close()
    finally:
        if args.drop:
            database_drop(small)
            database_drop(url)
            print("Dropped both databases.")


if __name__ == "__main__":
    main()
