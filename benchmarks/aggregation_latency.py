"""Time from a committed fidelity self-assessment to fresh aggregates, with a worker running.

    .venv/bin/python benchmarks/aggregation_latency.py --writes 100

Runs against its own database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/sovei_bench_latency; created and migrated when
missing) and its own Redis database and queue (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/14), with one real Celery worker (solo pool, concurrency 1) started
as a subprocess, exactly as deployed apart from the pool.

1. Creates a scratch municipality of `--schools` schools (default 50) with `--rounds`
   past assessment rounds (default 20) of data each: fidelity (8 adopted components),
   CFIR (63 items) and AIM/IAM/FIM/SUS from 5 staff respondents per school and round,
   a plan with 25 strategy steps and stage periods, and 200 logged activities per school
   (bulk-inserted, then recomputed once). The measured school has adopted all 8
   components of model version 1.0 and has an open round with the fidelity
   self-assessment. Every write therefore also rebuilds the spread over all 50 schools
   and 20 rounds (`--schools 0` measures a municipality with only the measured school).
2. Sequential: `--writes` times, submits the team's fidelity rating through the service
   (`team_response_submit`, one transaction) with ratings that change the overall score,
   takes the time at commit (an on_commit hook registered before the write's own), and
   polls (every 2 ms) until the school's overall FidelityAggregate row has the new points
   and a `computed_at` after the commit, then until the municipality spread
   (AggregateStatus with school NULL) is newer than the commit. Reports median, p95
   (nearest rank), min and max of both, and the school recomputation's own duration as
   the worker recorded it.
3. Burst (`--burst`, default 50): the same number of writes back to back without waiting,
   then the time from the last commit to fresh aggregates and how many recomputations
   the worker actually ran (coalescing).

The municipality, the worker, its queue and Redis keys are removed at the end; --drop also
drops the bench database.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sovei_bench_latency"
)
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

from _bench import (  # noqa: E402 - the environment above must be set first
    SETTINGS_MODULE,
    database_drop,
    django_setup,
    machine_description,
)

SLUG = "latbench"
# Ratings of the 8 adopted components; consecutive patterns give different point totals.
PATTERNS: list[list[int | None]] = [
    [2, 2, 2, 2, 2, 2, 2, 2],
    [2, 1, 2, 1, 2, 1, 2, 1],
    [0, 0, 1, 0, 0, 1, 0, None],
    [2, 2, 1, 1, 0, 0, None, None],
    [1, 1, 1, 1, 1, 1, 1, 1],
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def prepare() -> tuple[Any, Any, Any, list[Any]]:
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from catalog.instruments import SHIPPED as SHIPPED_INSTRUMENTS
    from catalog.instruments import instruments_import
    from catalog.models import Component, Instrument, ModelVersion
    from catalog.services import catalog_import
    from implementation.services import adoption_create, round_create, school_create
    from implementation.services._common import today
    from tenants.db import use_public_schema
    from tenants.models import Municipality
    from tenants.services import municipality_create

    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
    catalog_import(path=Path(__file__).resolve().parent.parent / "catalog" / "data"
                   / "sovei-model-1.0.yaml")
    instruments_import(path=SHIPPED_INSTRUMENTS)
    existing = Municipality.objects.filter(slug=SLUG).first()
    if existing is not None:
        from _bench import municipality_drop

        municipality_drop(existing.schema_name)
    municipality = municipality_create(name="Latensby", kommunenummer="5099", slug=SLUG)
    version = ModelVersion.objects.get(code="1.0")
    fidelity = Instrument.objects.get(version="1.0", code="fidelity")
    from datetime import timedelta

    with tenant_context(municipality):
        school = school_create(name="Latens skole")
        adoptions = [
            adoption_create(school=school, component=component, status="in_progress",
                            status_since=today() - timedelta(days=30))
            for component in Component.objects.filter(module__version=version).order_by(
                "module__number", "number")
        ]
        assessment_round = round_create(
            name="Benchmark", opens_on=today() - timedelta(days=1),
            closes_on=today() + timedelta(days=30), schools=[school], instruments=[fidelity],
            model_version=version,
        )
    use_public_schema()
    return municipality, school, assessment_round, adoptions


def populate(municipality: Any, n_schools: int, n_rounds: int, seed: int = 7) -> float:
    """Bulk-insert a municipality's worth of history (no signals), then recompute it once;
    returns the seconds the initial recomputation took."""
    import random
    from datetime import date, timedelta

    from django.db import connection
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from catalog.models import Component, Instrument, InstrumentItem, ModelVersion, Module
    from dashboards.aggregation import recompute_municipality, recompute_school
    from implementation.models import (
        Activity,
        Answer,
        AssessmentRound,
        ComponentAdoption,
        ImplementationPlan,
        Response,
        RoundInstrument,
        School,
        StagePeriod,
        StrategyStep,
    )
    from implementation.services._common import today

    rng = random.Random(seed)  # noqa: S311 - benchmark data
    version = ModelVersion.objects.get(code="1.0")
    components = list(Component.objects.filter(module__version=version))
    modules = list(Module.objects.filter(version=version).order_by("number"))
    instruments = {i.code: i for i in Instrument.objects.filter(version="1.0")}
    items = {code: list(InstrumentItem.objects.filter(instrument=i).order_by("number"))
             for code, i in instruments.items()}
    staff = []
    for n in range(5):
        user, _created = User.objects.get_or_create(email=f"latbench-staff{n}@example.no")
        staff.append(user)
    stages = ["exploration", "installation", "initial", "full", "sustainment"]
    with tenant_context(municipality):
        schools = School.objects.bulk_create(
            School(name=f"Skole {n:03d}") for n in range(n_schools))
        ComponentAdoption.objects.bulk_create(
            ComponentAdoption(school=s, component=c, status="in_place",
                              status_since=date(2016, 8, 1))
            for s in schools for c in components)
        adoptions: dict[int, list[ComponentAdoption]] = {}
        for a in ComponentAdoption.objects.filter(school__in=schools):
            adoptions.setdefault(a.school_id, []).append(a)
        rounds = AssessmentRound.objects.bulk_create(
            AssessmentRound(name=f"Runde {r:02d}", model_version=version,
                            opens_on=date(2016 + r // 2, 3 if r % 2 == 0 else 10, 1),
                            closes_on=date(2016 + r // 2, 4 if r % 2 == 0 else 11, 1))
            for r in range(n_rounds))
        through = AssessmentRound.schools.through
        through.objects.bulk_create(
            through(assessmentround_id=r.pk, school_id=s.pk) for r in rounds for s in schools)
        RoundInstrument.objects.bulk_create(
            RoundInstrument(round=r, instrument=i) for r in rounds for i in instruments.values())
        responses: list[tuple[Response, str]] = []
        for r in rounds:
            for s in schools:
                responses.append((Response(round=r, school=s, instrument=instruments["fidelity"],
                                           respondent_kind="team"), "fidelity"))
                responses.append((Response(round=r, school=s, instrument=instruments["cfir"],
                                           respondent_kind="team"), "cfir"))
                for user in staff:
                    for code in ("aim", "iam", "fim", "sus"):
                        responses.append((Response(round=r, school=s, instrument=instruments[code],
                                                   respondent_kind="staff", respondent=user), code))
        Response.objects.bulk_create([r for r, _code in responses], batch_size=2000)
        answers: list[Answer] = []
        for response, code in responses:
            if code == "fidelity":
                answers += [Answer(response=response, adoption=a,
                                   value=rng.choice([0, 1, 2, 2, None]))
                            for a in adoptions[response.school_id]]
            elif code == "cfir":
                answers += [Answer(response=response, item=i,
                                   value=rng.choice([-2, -1, 0, 1, 2, None]))
                            for i in items["cfir"]]
            else:
                answers += [Answer(response=response, item=i, value=rng.randint(1, 5))
                            for i in items[code]]
        Answer.objects.bulk_create(answers, batch_size=5000)
        plans = ImplementationPlan.objects.bulk_create(
            ImplementationPlan(school=s, model_version=version, title="Plan",
                               starts_on=date(2016, 8, 1), intended_systematic_percent=50)
            for s in schools)
        done = [rng.random() < 0.5 for _ in range(len(plans) * len(modules) * 5)]
        StrategyStep.objects.bulk_create(
            StrategyStep(plan=p, module=m, stage=stages[k % 5], eric_cluster="train_educate",
                         action=f"Steg {k}", strategy_actor="rektor", target="lærere",
                         due_on=date(2017, 1, 1) + timedelta(days=30 * k),
                         status="done" if is_done else "not_started",
                         done_on=date(2020, 1, 1) if is_done else None)
            for (p, m, k), is_done in zip(
                ((p, m, k) for p in plans for m in modules for k in range(5)), done, strict=True))
        StagePeriod.objects.bulk_create(
            StagePeriod(school=s, module=m, stage=stage, entered_on=date(2016 + k, 8, 1),
                        exited_on=date(2017 + k, 8, 1) if k == 0 else None)
            for s in schools for m in modules for k, stage in enumerate(stages[:2]))
        Activity.objects.bulk_create(
            (Activity(school=s, staff=staff[0], performed_on=today() - timedelta(days=k % 300),
                      minutes=rng.choice([15, 30, 45, 60, 90]), module=rng.choice(modules),
                      mode=rng.choice(["akutt", "oppsokende", "planlagt", "systemniva"]))
             for s in schools for k in range(200)), batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        started = time.perf_counter()
        for s in schools:
            recompute_school(s.pk)
        recompute_municipality()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--schools", type=int, default=50, help="other schools to populate")
    parser.add_argument("--rounds", type=int, default=20, help="past rounds per school")
    parser.add_argument("--timeout", type=float, default=30.0, help="per write, seconds")
    parser.add_argument("--drop", action="store_true", help="drop the bench database after")
    args = parser.parse_args()

    url = django_setup()
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from dashboards.models import AggregateStatus, FidelityAggregate
    from implementation.services import team_response_submit
    from tenants.db import use_public_schema
    from tests.worker_support import (
        WorkerProcess,
        redis_keys_delete,
        use_broker,
    )

    municipality, school, assessment_round, adoptions = prepare()
    initial = 0.0
    if args.schools:
        print(f"Populating {args.schools} schools × {args.rounds} rounds …", flush=True)
        initial = populate(municipality, args.schools, args.rounds)
        print(f"  first full recomputation of {args.schools} schools: {initial:.1f} s")
    worker = WorkerProcess(database_url=url, redis_url=BENCH_REDIS_URL,
                           settings_module=SETTINGS_MODULE)
    print(f"Machine: {machine_description()}")
    print(f"Starting a worker (solo pool) on queue {worker.queue} …", flush=True)
    worker.start()
    latencies: list[float] = []
    spread_latencies: list[float] = []
    recompute_ms: list[int] = []
    try:
        with use_broker(worker.redis_url, worker.queue), tenant_context(municipality):
            fidelity = assessment_round.instruments.get(code="fidelity")

            def submit(pattern: list[int | None]) -> tuple[float, Any]:
                marks: dict[str, Any] = {}
                with transaction.atomic():
                    transaction.on_commit(lambda: marks.update(
                        t=time.perf_counter(), wall=timezone.now()))
                    team_response_submit(
                        assessment_round=assessment_round, school=school, instrument=fidelity,
                        answers={str(a.pk): v for a, v in zip(adoptions, pattern, strict=True)},
                    )
                return marks["t"], marks["wall"]

            def fresh(points: int, after: Any) -> bool:
                return FidelityAggregate.objects.filter(
                    school=school, round=assessment_round, module__isnull=True,
                    points=points, computed_at__gte=after).exists()

            def wait_fresh(points: int, after: Any) -> float:
                deadline = time.perf_counter() + args.timeout
                while not fresh(points, after):
                    if time.perf_counter() > deadline:
                        raise SystemExit(f"no fresh aggregate within {args.timeout} s")
                    time.sleep(0.002)
                return time.perf_counter()

            def wait_spread(after: Any) -> float:
                deadline = time.perf_counter() + args.timeout
                while not AggregateStatus.objects.filter(
                        school__isnull=True, computed_at__gte=after).exists():
                    if time.perf_counter() > deadline:
                        raise SystemExit(f"no fresh spread within {args.timeout} s")
                    time.sleep(0.002)
                return time.perf_counter()

            def points_of(pattern: list[int | None]) -> int:
                return sum(v for v in pattern if v is not None)

            for i in range(5):  # warm-up: connections, worker imports, tenant cache
                pattern = PATTERNS[i % len(PATTERNS)]
                _t, wall = submit(pattern)
                wait_fresh(points_of(pattern), wall)

            for i in range(args.writes):
                pattern = PATTERNS[(i + 5) % len(PATTERNS)]
                committed, wall = submit(pattern)
                seen = wait_fresh(points_of(pattern), wall)
                latencies.append(seen - committed)
                spread_latencies.append(wait_spread(wall) - committed)
                status = AggregateStatus.objects.filter(school=school).first()
                if status is not None:
                    recompute_ms.append(status.duration_ms)

            # Burst: writes back to back, then wait for the last one.
            runs_before = len(re.findall(r"recompute_school\[[^]]+\] succeeded", worker.log()))
            burst_started = time.perf_counter()
            last_pattern: list[int | None] = []
            last_commit, last_wall = 0.0, None
            for i in range(args.burst):
                last_pattern = PATTERNS[i % len(PATTERNS)]
                last_commit, last_wall = submit(last_pattern)
            writes_seconds = time.perf_counter() - burst_started
            seen = wait_fresh(points_of(last_pattern), last_wall)
            time.sleep(1.0)  # let stragglers finish before counting
            runs = len(re.findall(r"recompute_school\[[^]]+\] succeeded", worker.log()))
            burst_runs = runs - runs_before
    finally:
        worker.cleanup()
        use_public_schema()
        from _bench import municipality_drop

        municipality_drop(municipality.schema_name)
        from accounts.models import User

        User.objects.filter(email__startswith="latbench-staff").delete()
        redis_keys_delete(BENCH_REDIS_URL, f"sovei:recompute:{SLUG}:*")
        if args.drop:
            from django.db import connections

            connections.close_all()
            database_drop(url)

    ms = [x * 1000 for x in latencies]
    print()
    print(f"Municipality: {args.schools} populated schools × {args.rounds} rounds "
          f"+ the measured school")
    print(f"Commit → fresh aggregates, {len(ms)} sequential fidelity self-assessments:")
    print(f"  median {statistics.median(ms):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
          f"min {min(ms):.0f} ms, max {max(ms):.0f} ms")
    spread = [x * 1000 for x in spread_latencies]
    print(f"  …and to the municipality spread across schools (coordinator): "
          f"median {statistics.median(spread):.0f} ms, p95 {percentile(spread, 95):.0f} ms, "
          f"max {max(spread):.0f} ms")
    if recompute_ms:
        print(f"  the school's recomputation itself (worker-side SQL, AggregateStatus): "
              f"median {statistics.median(recompute_ms):.0f} ms")
    print(f"Burst of {args.burst} writes back to back ({writes_seconds:.2f} s): last commit → "
          f"fresh {(seen - last_commit) * 1000:.0f} ms; the worker ran {burst_runs} "
          f"recomputations for {args.burst} writes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
