"""The national benchmarks run in CI at a tiny size (issue 11, item 3): the seeded data
generator, the recompute benchmark against its SQL lower bound, the research refresh on the
generated data and the locust load test against gunicorn with a Celery worker. Each must
exit 0 and print its figures; the figures themselves are in docs/benchmarks.md, never
asserted here.

The scripts share one database of their own on the test server (bench_national_ci_<pid>),
dropped at the end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

from dashboards.management.national import (
    CatalogIds,
    NationalSize,
    SchoolPeople,
    municipality_rows,
    municipality_specs,
)

from .conftest import World

REPO = Path(__file__).resolve().parent.parent
TINY = ("--municipalities", "3", "--schools-per", "2", "--years", "1")


def _server_url(name: str) -> str:
    """A URL for database ``name`` on the server the tests use."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    if host.startswith("/"):
        return f"postgresql://{user}{password}@{port}/{name}?host={quote(host)}"
    return f"postgresql://{user}{password}@{host}{port}/{name}"


@pytest.fixture(scope="module")
def bench_url() -> Iterator[str]:
    """The scripts' database: a copy of the (migrated) test database when PostgreSQL can
    make one (nobody else connected to it), which spares the scripts the migrations;
    otherwise none, and the first script creates and migrates it."""
    name = f"bench_national_ci_{os.getpid()}"
    url = _server_url(name)
    connections.close_all()
    try:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
            admin.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{connection.settings_dict["NAME"]}"'
            )
    except psycopg.Error:
        pass
    yield url
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from _bench import database_drop

        database_drop(url)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def run(script: str, *args: str, url: str) -> str:
    env = dict(os.environ)
    env.update(BENCH_DATABASE_URL=url, BENCH_REDIS_URL=settings.REDIS_URL)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(  # noqa: S603 - the project's own scripts
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        env=env, capture_output=True, text=True, timeout=240, cwd=REPO,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_it_generates_the_same_records_from_the_same_seed(world: World, db: None) -> None:
    catalog = CatalogIds.load()
    size = NationalSize(municipalities=2, schools_per=3, years=2, seed=1, last_year=2025)
    spec = municipality_specs(size)[0]
    people = [SchoolPeople(leader_id=10 + n, staff_id=100 + n) for n in range(spec.schools)]

    first = municipality_rows(spec, size, catalog, people, k=5)
    again = municipality_rows(spec, size, catalog, people, k=5)
    other_seed = municipality_rows(spec, replace(size, seed=2), catalog, people, k=5)

    assert first.tables == again.tables
    assert len(first.tables["implementation_school"]) == spec.schools
    assert len(first.tables["implementation_assessmentround"]) == 4
    assert first.tables["implementation_answer"] and first.tables["implementation_activity"]
    assert other_seed.tables != first.tables
    assert municipality_specs(size) == municipality_specs(size)
    assert municipality_specs(replace(size, seed=2)) != municipality_specs(size)


def test_the_recompute_benchmark_finds_the_same_rows_as_the_lower_bound(bench_url: str) -> None:
    out = run("recompute_national.py", *TINY, "--runs", "1", url=bench_url)

    assert re.search(r"^Generated 3 municipalities \(0 existed already\)", out, re.M), out
    assert "Identical rows from both methods" in out
    assert re.search(r"ours \d+\.\d+ s, lower bound \d+\.\d+ s, ratio \d+\.\d+x", out), out


def test_the_research_refresh_benchmark_publishes_the_generated_data(bench_url: str) -> None:
    out = run("research_refresh.py", "--national", *TINY, "--runs", "1", url=bench_url)

    assert re.search(r"^Generated 0 municipalities \(3 existed already\)", out, re.M), out
    assert re.search(r'^refresh 1: \{"wall_s": [0-9.]+, "maxrss_mib"', out, re.M), out


def test_the_load_test_serves_its_users_without_failures(bench_url: str) -> None:
    out = run("load_test.py", *TINY, "--users", "4", "--run-time", "6s",
              "--load-municipalities", "2", "--load-schools", "1", "--workers", "1",
              url=bench_url)

    row = re.search(r"^\| 4 \| (\d+) \| (\d+) \| \d+ ms \| \d+ ms \|", out, re.M)
    assert row is not None, out
    assert int(row[1]) > 0 and int(row[2]) == 0, out
