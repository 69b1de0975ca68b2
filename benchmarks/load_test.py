"""Load test: gunicorn with production settings, a Celery worker, locust users.

    .venv/bin/python benchmarks/load_test.py --users 10,25,50 --run-time 90s

Own database (``BENCH_DATABASE_URL``, default ``bench_national_a``), filled by
``manage.py generate_national`` when it does not hold the data set yet (``--municipalities``,
``--schools-per``, ``--years``: by default the national size; the recomputation runs once
so the dashboards have aggregates). Own Redis database and queue (``BENCH_REDIS_URL``,
default ``redis://127.0.0.1:6379/13``, queue ``sovei-load``).

Starts ``gunicorn sovei_platform.wsgi`` (``--workers`` processes × ``--threads`` threads,
gthread, as the container does; settings ``benchmarks/loadtest_settings.py`` = production
minus HTTPS-only cookies) and one Celery worker (concurrency ``--celery-concurrency``) that
recomputes the schools the writes mark, then for each user count runs
``locust -f benchmarks/locustfile.py --headless`` for ``--run-time`` against it, users
spread over ``--load-municipalities`` municipalities. Prints per run and request type:
requests, failures, median, p95, p99 and throughput, and the load average. The figures
are reset once every user has started (``--reset-stats``): the sign-ins of the ramp-up
(PBKDF2, ~0.5 s of CPU each by design) are not in them.
"""

# ruff: noqa: S603 - starts gunicorn, celery and locust of this virtualenv
from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPO, database_drop, machine_description
from _national import national_database, national_environment

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_national_a"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(url: str, redis_url: str, queue: str) -> dict[str, str]:
    env = national_environment(url)
    env.update(
        DJANGO_SETTINGS_MODULE="loadtest_settings",
        PYTHONPATH=os.pathsep.join([str(REPO / "benchmarks"), str(REPO)]),
        SECRET_KEY=secrets.token_urlsafe(40),
        RESEARCH_PSEUDONYM_KEY=secrets.token_urlsafe(40),
        BASE_DOMAIN="localhost",
        REDIS_URL=redis_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_up(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited before it answered")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz")
        request.add_header("Host", "localhost")
        try:
            with urllib.request.urlopen(request, timeout=2):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within a minute")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def load_slugs(url: str, count: int, schools: int) -> list[str]:
    """``count`` generated municipalities with at least ``schools`` schools, spread over
    the list."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT m.slug FROM tenants_municipality m "
            "JOIN accounts_membership ms ON ms.municipality_id = m.id AND ms.role = 'leader' "
            "WHERE m.slug ~ '^k[0-9]{4}$' GROUP BY m.slug HAVING COUNT(*) >= %s ORDER BY m.slug",
            [schools],
        ).fetchall()
    slugs = [row[0] for row in rows]
    if not slugs:
        raise SystemExit("no generated municipalities in the database")
    step = max(1, len(slugs) // count)
    return slugs[::step][:count]


def pending_markers(url: str, slugs: list[str]) -> int:
    """Schools of the load's municipalities still waiting for their recomputation."""
    import psycopg

    with psycopg.connect(url) as conn:
        schemas = [row[0] for row in conn.execute(
            "SELECT schema_name FROM tenants_municipality WHERE slug = ANY(%s)", [slugs])]
        total = 0
        for schema in schemas:
            row = conn.execute(
                f'SELECT COUNT(*) FROM "{schema}".dashboards_pendingrecompute').fetchone()
            total += int(row[0]) if row else 0
        return total


def run_locust(port: int, users: int, run_time: str, slugs: list[str], schools: int,
               out: Path) -> tuple[list[dict[str, str]], dict[str, float]]:
    env = dict(os.environ)
    prefix = out / f"u{users}"
    env.update(LOAD_MUNICIPALITIES=",".join(slugs), LOAD_SCHOOLS=str(schools),
               LOAD_RESULT_FILE=f"{prefix}_steady.json")
    subprocess.run(
        [str(BIN / "locust"), "-f", str(REPO / "benchmarks" / "locustfile.py"), "--headless",
         "--users", str(users), "--spawn-rate", str(max(1, min(users, 10))),
         "--run-time", run_time, "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
         "--reset-stats", "--only-summary", "--loglevel", "WARNING",
         "--exit-code-on-error", "0"],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(f"{prefix}_failures.csv", newline="") as handle:
        for failure in list(csv.DictReader(handle))[:5]:
            print(f"failure: {failure['Method']} {failure['Name']}: {failure['Error'][:300]} "
                  f"({failure['Occurrences']}×)")
    with open(f"{prefix}_steady.json") as handle:
        steady: dict[str, float] = json.load(handle)
    return rows, steady


def report(users: int, rows: list[dict[str, str]], load: float) -> None:
    print(f"\n{users} users (load average at the end {load:.2f}):")
    print("| request | requests | failures | median | p95 | p99 | req/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        name = "all, sign-ins included" if row["Name"] == "Aggregated" else row["Name"]
        print(f"| {name} | {row['Request Count']} | {row['Failure Count']} "
              f"| {row['50%']} ms | {row['95%']} ms | {row['99%']} ms "
              f"| {float(row['Requests/s']):.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="50", help="comma-separated user counts, one run each")
    parser.add_argument("--run-time", default="90s")
    parser.add_argument("--municipalities", type=int, default=357)
    parser.add_argument("--schools-per", type=float, default=8.0)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load-municipalities", type=int, default=10,
                        help="municipalities the users are spread over")
    parser.add_argument("--load-schools", type=int, default=5,
                        help="schools per municipality the users are spread over")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per process")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if "bench" not in url.rsplit("/", 1)[-1]:
        raise SystemExit("BENCH_DATABASE_URL must name a database with 'bench' in its name")
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    queue = f"sovei-load-{os.getpid()}"

    print(f"Database {url.rsplit('/', 1)[-1]}; {machine_description()}", flush=True)
    web = worker = None
    log_path = Path(tempfile.gettempdir()) / f"sovei-load-{os.getpid()}.log"
    try:
        national_database(url, municipalities=args.municipalities,
                          schools_per=args.schools_per, years=args.years, seed=args.seed,
                          recompute=True)
        # Schemas behind the code (a migration added since the data set was made) are
        # migrated; up-to-date ones are skipped in one query.
        subprocess.run([sys.executable, str(REPO / "manage.py"), "migrate_schemas", "--noinput",
                        "-v", "0"], env=national_environment(url), check=True)
        slugs = load_slugs(url, args.load_municipalities, args.load_schools)
        env = server_environment(url, redis_url, queue)
        log = log_path.open("wb")
        port = free_port()
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "sovei_platform.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
             "--worker-class", "gthread", "--threads", str(args.threads),
             "--timeout", "60", "--worker-tmp-dir", "/dev/shm",  # noqa: S108 - as the image
             ],
            cwd=str(REPO), env=env, start_new_session=True,
            stdout=log, stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "sovei_platform", "worker", "--loglevel", "WARNING",
             "--concurrency", str(args.celery_concurrency), "-Q", queue,
             "--hostname", f"load-{os.getpid()}@%h"],
            cwd=str(REPO), env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_up(port, web)
        print(f"gunicorn: {args.workers} workers × {args.threads} threads (gthread) on port "
              f"{port}; celery worker concurrency {args.celery_concurrency}; municipalities "
              f"{','.join(slugs)} × {args.load_schools} schools; run time {args.run_time}",
              flush=True)
        summary: list[tuple[int, dict[str, float]]] = []
        with tempfile.TemporaryDirectory() as out:
            for users in [int(u) for u in args.users.split(",") if u]:
                rows, steady = run_locust(port, users, args.run_time, slugs,
                                          args.load_schools, Path(out))
                steady["load"] = os.getloadavg()[0]
                steady["pending"] = pending_markers(url, slugs)
                report(users, rows, steady["load"])
                summary.append((users, steady))
        print("\nAfter ramp-up, sign-ins left out:")
        print("| users | requests | failures | p50 | p95 | p99 | req/s | load avg "
              "| schools pending at the end |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for users, total in summary:
            print(f"| {users} | {total['requests']:.0f} | {total['failures']:.0f} "
                  f"| {total['p50']:.0f} ms | {total['p95']:.0f} ms | {total['p99']:.0f} ms "
                  f"| {total['rps']:.1f} | {total['load']:.1f} | {total['pending']:.0f} |")
        failed = any(total.get("requests", 0) == 0 for _users, total in summary)
        if failed or any(total.get("failures", 0) for _users, total in summary):
            print("gunicorn's log (end):\n" + log_path.read_text(errors="replace")[-4000:])
        return 1 if failed else 0
    finally:
        stop(web)
        stop(worker)
        log_path.unlink(missing_ok=True)
        if args.drop:
            database_drop(url)
            print(f"Dropped {url.rsplit('/', 1)[-1]}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
