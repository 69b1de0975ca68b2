"""Provisioning all of Norway: is the cost of a new municipality flat in the number of schemas?

    .venv/bin/python benchmarks/provisioning_national.py --municipalities 357

Creates a fresh database of its own (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/sovei_bench_provisioning; dropped at the end unless
--keep), migrates it, and creates `--municipalities` municipalities in a row with
`municipality_create()` as `TENANT_PROVISIONING` says (default: replay of the template's
dump, tenants/schema_replay.py). It never vacuums: the server's autovacuum setting (printed)
is part of what is measured.

Every `--probe-every` municipalities (and before the first and after the last) it also
provisions one municipality by each method, replay and django-tenants' clone, inside a
transaction that is rolled back: the clone's cost at that number of schemas without
paying it hundreds of times.

Prints the per-block times of the real provisioning, the probes and the total: wall
time, and the CPU time of the PostgreSQL backend that did the work (read from
/proc/<pid>/stat, so only when the server runs on this machine). The backend's CPU time
hardly depends on what else the machine runs; the wall time does.

With --reuse it works in the database as it finds it (created and migrated when missing)
and removes only the municipalities it created (the CI smoke run, tests/test_benchmarks_smoke.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    Summary,
    database_create_if_missing,
    database_drop,
    django_setup,
    letters,
    machine_description,
    municipality_drop,
    municipality_numbers,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/sovei_bench_provisioning"


class _RolledBack(Exception):
    pass


_TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu() -> float:
    """CPU seconds (user + system) the PostgreSQL backend of Django's connection has used;
    NaN when its process is not on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _TICK


def provision(slug: str, number: str, method: str) -> tuple[float, float]:
    """Wall seconds and backend CPU seconds of one ``municipality_create``."""
    from django.test import override_settings

    from tenants.services import municipality_create

    with override_settings(TENANT_PROVISIONING=method):
        cpu = backend_cpu()
        started = time.perf_counter()
        municipality_create(name=f"Bench {slug}", kommunenummer=number, slug=slug)
        return time.perf_counter() - started, backend_cpu() - cpu


def probe(slug: str, number: str, method: str) -> tuple[float, float]:
    """One provisioning by ``method``, rolled back."""
    from django.db import transaction

    from tenants.db import use_public_schema

    sample = (0.0, 0.0)
    try:
        with transaction.atomic():
            sample = provision(slug, number, method)
            raise _RolledBack
    except _RolledBack:
        pass
    use_public_schema()
    return sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--municipalities", type=int, default=357)
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--method", choices=("replay", "clone"), default="replay")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true",
        help="use the database as it is and remove only what this run created",
    )
    args = parser.parse_args()

    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    if not args.reuse:
        database_drop(url)
    database_create_if_missing(url)
    started = time.perf_counter()
    django_setup()
    print(f"Migrated a fresh database in {time.perf_counter() - started:.1f} s", flush=True)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    print(f"machine: {machine_description()}; autovacuum = {autovacuum}", flush=True)

    from tenants.models import Municipality

    taken = set(Municipality.objects.values_list("kommunenummer", flat=True))
    numbers = municipality_numbers(taken)
    prefix = "np" + letters(int(time.time()) % 26**3)
    probes: list[tuple[int, tuple[float, float], tuple[float, float]]] = []
    times: list[float] = []
    cpus: list[float] = []

    def run_probes(done: int) -> None:
        replay = probe("probereplay", next(numbers), "replay")
        clone = probe("probeclone", next(numbers), "clone")
        probes.append((done, replay, clone))
        print(
            f"  at {done} schemas: replay {replay[0]:.3f} s (CPU {replay[1]:.2f} s), "
            f"clone {clone[0]:.3f} s (CPU {clone[1]:.2f} s)",
            flush=True,
        )

    total_started = time.perf_counter()
    run_probes(0)
    for i in range(args.municipalities):
        wall, cpu = provision(f"{prefix}{letters(i)}", next(numbers), args.method)
        times.append(wall)
        cpus.append(cpu)
        if (i + 1) % args.probe_every == 0 or i + 1 == args.municipalities:
            block = times[-args.probe_every:]
            print(
                f"  {i + 1} municipalities: last {len(block)} median "
                f"{statistics.median(block):.3f} s (CPU {statistics.median(cpus[-len(block):]):.2f}"
                f" s), max {max(block):.3f} s, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            run_probes(i + 1)
    total = time.perf_counter() - total_started - sum(r[0] + c[0] for _, r, c in probes)

    print()
    print(f"{args.municipalities} municipalities by {args.method}: {total:.1f} s "
          f"(probes excluded), load average {os.getloadavg()[0]:.2f}")
    print()
    for title, samples in (("wall time", times), ("backend CPU", cpus)):
        print(f"| municipalities, {title} | runs | median | p90 | min | max |")
        print("|---|---:|---:|---:|---:|---:|")
        for start in range(0, len(samples), args.probe_every):
            block = samples[start:start + args.probe_every]
            print(Summary.of(block).row(f"{start + 1}–{start + len(block)}"))
        print(Summary.of(samples).row("all"))
        print()
    print("| schemas already there | replay: wall | CPU | clone: wall | CPU |")
    print("|---:|---:|---:|---:|---:|")
    for done, replay, clone in probes:
        print(
            f"| {done} | {replay[0]:.3f} s | {replay[1]:.2f} s "
            f"| {clone[0]:.3f} s | {clone[1]:.2f} s |"
        )

    if args.reuse:
        for schema in Municipality.objects.filter(slug__startswith=prefix).values_list(
            "schema_name", flat=True
        ):
            municipality_drop(schema)
    elif not args.keep:
        connection.close()
        database_drop(url)


if __name__ == "__main__":
    main()
