"""Shared plumbing for the benchmarks: their own database, Django set-up, statistics.

The benchmarks never touch the development or test databases: they run against
BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sovei_bench), which
they create and migrate when missing and which `--drop` removes afterwards.
"""

# ruff: noqa: S603 - runs manage.py, pg_dump and psql with arguments of its own
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/sovei_bench"
SETTINGS_MODULE = "sovei_platform.settings.dev"  # what manage.py uses by default


def bench_environment() -> dict[str, str]:
    """The environment for this process and for `manage.py` subprocesses."""
    env = dict(os.environ)
    env["DATABASE_URL"] = env.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def _maintenance_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def database_create_if_missing(url: str) -> bool:
    import psycopg

    admin_url, name = _maintenance_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def database_drop(url: str) -> None:
    import psycopg

    admin_url, name = _maintenance_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_vacuum(url: str) -> str:
    """VACUUM ANALYZE the whole database; returns the server's autovacuum setting.

    Creating schemas leaves dead rows in pg_class, pg_attribute, pg_depend …; with
    autovacuum off (as on our development server) they pile up and every catalog query,
    the clone of the template first of all, slows down. The benchmarks vacuum before
    measuring, so they compare the methods, not how much bloat the last run left."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SHOW autovacuum").fetchone()
    return str(row[0]) if row else "?"


def django_setup() -> str:
    """Point this process at the bench database, create and migrate it; returns its URL."""
    os.environ.update(bench_environment())
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    url = os.environ["DATABASE_URL"]
    created = database_create_if_missing(url)

    import django

    django.setup()
    from django.core.management import call_command

    from tenants.services import template_schema_ensure

    if created:
        print(f"Created database {urlsplit(url).path.lstrip('/')}; migrating it …", flush=True)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_schema_ensure()
    return url


def municipality_numbers(taken: set[str]) -> Iterator[str]:
    """Valid kommunenummer (county prefix + 01..99) not in `taken`."""
    from tenants.validators import COUNTIES

    for county in sorted(COUNTIES):
        for tail in range(1, 100):
            number = f"{county}{tail:02d}"
            if number not in taken:
                yield number


def letters(index: int, width: int = 3) -> str:
    """0 → 'aaa', 1 → 'aab', …: slugs of lowercase letters only."""
    out = ""
    for _ in range(width):
        index, rest = divmod(index, 26)
        out = chr(ord("a") + rest) + out
    return out


def municipality_drop(schema_name: str) -> None:
    """Remove a benchmark municipality: its row, domains, memberships and schema."""
    from django.db import connection, transaction

    from tenants.db import use_public_schema
    from tenants.models import Municipality

    with transaction.atomic():
        Municipality.objects.filter(schema_name=schema_name).delete()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
    use_public_schema()


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p90: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        ordered = sorted(samples)
        # p90 by the nearest-rank method: the smallest sample ≥ 90 % of the samples.
        rank = max(1, -(-9 * len(ordered) // 10))
        return cls(
            n=len(ordered),
            median=statistics.median(ordered),
            p90=ordered[rank - 1],
            minimum=ordered[0],
            maximum=ordered[-1],
        )

    def row(self, label: str, unit: str = "s") -> str:
        return (
            f"| {label} | {self.n} | {self.median:.3f} {unit} | {self.p90:.3f} {unit} "
            f"| {self.minimum:.3f} {unit} | {self.maximum:.3f} {unit} |"
        )


TABLE_HEAD = "| | runs | median | p90 | min | max |\n|---|---:|---:|---:|---:|---:|"


def machine_description() -> str:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = run("free", "-h").splitlines()
    mem_total = mem[1].split()[1] if len(mem) > 1 else "?"
    pg = run("psql", "--version")
    return (
        f"nproc={run('nproc')}, CPU {cpu}, RAM {mem_total}, "
        f"Python {platform.python_version()}, {pg}, load average {os.getloadavg()[0]:.2f}"
    )
