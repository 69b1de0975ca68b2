"""Dashboard server time for a municipality with 50 schools and 20 rounds of aggregates.

    .venv/bin/python benchmarks/dashboard_time.py --requests 120

Runs against its own database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/sovei_bench_dash; created and migrated when missing).

1. Creates the municipality "Dashby" (slug dashbench; dropped and made anew on every run)
   with `--schools` schools, `--rounds` assessment rounds, and for every school the
   records the school dashboard reads live (8 adopted components with a status history,
   a plan with 25 strategy steps), all with bulk_create.
2. Generates the aggregate rows directly with bulk_create (they are derived data): per
   school × round fidelity for 5 modules + overall, AIM/IAM/FIM/SUS, every CFIR construct
   (60 % rated) and domain, response rates for 6 instruments; per school stages (5 × 5),
   12 months × 5 modules × 4 modes of time use and the plan comparison; then
   `recompute_municipality()` builds the spread across schools from them, as the worker
   does.
3. Times, in this process through Django's test Client (the whole middleware stack:
   tenant, session, membership, CSP; no network), `--requests` GETs of each page and
   JSON endpoint after `--warmup` unmeasured ones, as a school leader (school pages) and
   the coordinator (municipality pages), DEBUG off; first with the figure cache off
   (DASHBOARD_CACHE_SECONDS=0: every request reads the aggregates and builds every plotly
   figure), then on (the figures of an unchanged version come from the cache). Prints
   median, p95 and max server time, the SQL queries per request and the response size.

--drop drops the bench database at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sovei_bench_dash")
# No broker for this benchmark: nothing is written through the services.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6399/0")

from _bench import (
    database_drop,
    django_setup,
    machine_description,
    municipality_drop,
)

SLUG = "dashbench"
TARGET_P95_MS = 150.0
MODES = ("akutt", "oppsokende", "planlagt", "systemniva")
STAGES = ("exploration", "installation", "initial", "full", "sustainment")
D = Decimal


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def q(value: float, places: str = "0.1") -> Decimal:
    return D(str(value)).quantize(D(places), ROUND_HALF_UP)


def prepare(n_schools: int, n_rounds: int, seed: int) -> tuple[Any, int]:
    """The municipality with its schools, records and aggregates; returns it and the id of
    the school whose dashboard is measured."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import Membership, Role, User
    from catalog.instruments import SHIPPED as SHIPPED_INSTRUMENTS
    from catalog.instruments import instruments_import
    from catalog.models import Component, Instrument, InstrumentItem, ModelVersion, Module
    from catalog.services import catalog_import
    from dashboards.aggregation import recompute_municipality
    from dashboards.models import (
        AggregateStatus,
        CfirAggregate,
        FidelityAggregate,
        OutcomeAggregate,
        ResponseRateAggregate,
        StageAggregate,
        TimeUseAggregate,
        TimeUsePlanAggregate,
    )
    from implementation.models import (
        AdoptionStatusChange,
        AssessmentRound,
        ComponentAdoption,
        ImplementationPlan,
        RoundInstrument,
        School,
        StrategyStep,
    )
    from tenants.db import use_public_schema
    from tenants.models import Municipality
    from tenants.services import municipality_create

    rng = random.Random(seed)  # noqa: S311 - benchmark data, reproducible on purpose
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
    catalog_import(
        path=Path(__file__).resolve().parent.parent / "catalog" / "data" / "sovei-model-1.0.yaml"
    )
    instruments_import(path=SHIPPED_INSTRUMENTS)
    existing = Municipality.objects.filter(slug=SLUG).first()
    if existing is not None:
        municipality_drop(existing.schema_name)
    municipality = municipality_create(name="Dashby", kommunenummer="5098", slug=SLUG)
    version = ModelVersion.objects.get(code="1.0")
    modules = list(Module.objects.filter(version=version).order_by("number"))
    components = list(
        Component.objects.filter(module__version=version).order_by("module__number", "number")
    )
    instruments = {i.code: i for i in Instrument.objects.filter(version="1.0")}
    cfir_items = list(
        InstrumentItem.objects.filter(instrument=instruments["cfir"])
        .select_related("domain")
        .order_by("number")
    )
    constructs: dict[str, tuple[str, int]] = {}
    for item in cfir_items:
        code = item.parent_code or item.code
        constructs.setdefault(code, (item.domain.code if item.domain else "", item.number))
    domains = sorted({d for d, _ in constructs.values()})
    now = timezone.now()
    today = timezone.localdate()

    with tenant_context(municipality):
        schools = School.objects.bulk_create(
            School(name=f"Skole {n:02d}", pupil_count=rng.randint(150, 600))
            for n in range(1, n_schools + 1)
        )
        rounds = AssessmentRound.objects.bulk_create(
            AssessmentRound(
                name=f"{'Vår' if r % 2 == 0 else 'Høst'} {2017 + r // 2}",
                opens_on=date(2017, 3, 1) + timedelta(days=182 * r),
                closes_on=date(2017, 4, 15) + timedelta(days=182 * r),
                model_version=version,
            )
            for r in range(n_rounds)
        )
        through = AssessmentRound.schools.through
        through.objects.bulk_create(
            through(assessmentround_id=r.pk, school_id=s.pk) for r in rounds for s in schools
        )
        RoundInstrument.objects.bulk_create(
            RoundInstrument(round=r, instrument=i) for r in rounds for i in instruments.values()
        )

        # Records the school dashboard reads live: adoptions with history, plan and steps.
        adoptions = ComponentAdoption.objects.bulk_create(
            ComponentAdoption(
                school=s, component=c, status="in_place", status_since=today - timedelta(days=200)
            )
            for s in schools
            for c in components
        )
        AdoptionStatusChange.objects.bulk_create(
            AdoptionStatusChange(
                adoption=a, from_status=f, to_status=t, changed_on=today - timedelta(days=days)
            )
            for a in adoptions
            for f, t, days in (
                ("", "planned", 700),
                ("planned", "in_progress", 450),
                ("in_progress", "in_place", 200),
            )
        )
        plans = ImplementationPlan.objects.bulk_create(
            ImplementationPlan(
                school=s,
                model_version=version,
                title="Plan",
                starts_on=today - timedelta(days=720),
                intended_systematic_percent=60,
            )
            for s in schools
        )
        StrategyStep.objects.bulk_create(
            StrategyStep(
                plan=p,
                module=modules[n % len(modules)],
                stage=STAGES[n % 5],
                eric_cluster="train_educate",
                action=f"Tiltak {n}",
                strategy_actor="rektor",
                target="lærerne",
                due_on=today - timedelta(days=700 - 30 * n),
                status="done" if n < 15 else "not_started",
                done_on=today - timedelta(days=700 - 30 * n) if n < 15 else None,
            )
            for p in plans
            for n in range(25)
        )

        # Aggregates (derived data) in bulk.
        fidelity: list[FidelityAggregate] = []
        outcomes: list[OutcomeAggregate] = []
        cfir: list[CfirAggregate] = []
        rates: list[ResponseRateAggregate] = []
        for s in schools:
            level = rng.uniform(0.2, 0.9)
            for index, r in enumerate(rounds):
                total_points = total_rated = 0
                for m in modules:
                    rated = rng.randint(1, 3)
                    points = min(
                        2 * rated,
                        max(0, round(2 * rated * (level + 0.02 * index + rng.gauss(0, 0.15)))),
                    )
                    total_points += points
                    total_rated += rated
                    fidelity.append(
                        FidelityAggregate(
                            school=s,
                            round=r,
                            module=m,
                            module_number=m.number,
                            points=points,
                            max_points=2 * rated,
                            rated_count=rated,
                            unrated_count=0,
                            percent=q(points * 50 / rated),
                            threshold_percent=70,
                            meets_threshold=points * 50 >= 70 * rated,
                            computed_at=now,
                        )
                    )
                fidelity.append(
                    FidelityAggregate(
                        school=s,
                        round=r,
                        module=None,
                        module_number=None,
                        points=total_points,
                        max_points=2 * total_rated,
                        rated_count=total_rated,
                        unrated_count=0,
                        percent=q(total_points * 50 / total_rated),
                        threshold_percent=70,
                        meets_threshold=total_points * 50 >= 70 * total_rated,
                        computed_at=now,
                    )
                )
                for code in ("aim", "iam", "fim", "sus"):
                    n = rng.randint(3, 9)
                    mean = rng.uniform(55, 85) if code == "sus" else rng.uniform(2.5, 4.8)
                    places = "0.1" if code == "sus" else "0.01"
                    outcomes.append(
                        OutcomeAggregate(
                            school=s,
                            round=r,
                            instrument=code,
                            n=n,
                            n_incomplete=rng.randint(0, 1),
                            places=1 if code == "sus" else 2,
                            mean=q(mean, places),
                            sd=q(rng.uniform(0.3, 1.0) * (10 if code == "sus" else 1), places),
                            mean_exact=D(str(mean)),
                            computed_at=now,
                        )
                    )
                domain_values: dict[str, list[float]] = {d: [] for d in domains}
                for code, (domain, position) in constructs.items():
                    value = rng.choice([-2, -1, 0, 1, 1, 2]) if rng.random() < 0.6 else None
                    if value is not None:
                        domain_values[domain].append(value)
                    cfir.append(
                        CfirAggregate(
                            school=s,
                            round=r,
                            level="construct",
                            code=code,
                            domain_code=domain,
                            construct_code=code,
                            position=position,
                            n=int(value is not None),
                            n_missing=int(value is None),
                            n_barrier=int((value or 0) < 0),
                            n_neutral=int(value == 0),
                            n_facilitator=int((value or 0) > 0),
                            mean=None if value is None else D(value),
                            mean_exact=None if value is None else D(value),
                            computed_at=now,
                        )
                    )
                for position, domain in enumerate(domains, start=1):
                    values = domain_values[domain]
                    mean_d = statistics.fmean(values) if values else None
                    cfir.append(
                        CfirAggregate(
                            school=s,
                            round=r,
                            level="domain",
                            code=domain,
                            domain_code=domain,
                            construct_code="",
                            position=position,
                            n=len(values),
                            n_missing=0,
                            n_barrier=sum(v < 0 for v in values),
                            n_neutral=sum(v == 0 for v in values),
                            n_facilitator=sum(v > 0 for v in values),
                            mean=None if mean_d is None else q(mean_d, "0.01"),
                            mean_exact=None if mean_d is None else D(str(mean_d)),
                            computed_at=now,
                        )
                    )
                issued = rng.randint(5, 15)
                used = rng.randint(2, issued)
                for code, instrument in instruments.items():
                    individual = instrument.respondent == "individual"
                    rates.append(
                        ResponseRateAggregate(
                            round=r,
                            school=s,
                            instrument=code,
                            respondent=instrument.respondent,
                            responses=used + 1 if individual else 1,
                            staff_responses=1 if individual else 0,
                            link_responses=used if individual else 0,
                            links_issued=issued if individual else 0,
                            links_used=used if individual else 0,
                            rate_percent=q(100 * used / issued) if individual else None,
                            computed_at=now,
                        )
                    )
        FidelityAggregate.objects.bulk_create(fidelity, batch_size=5000)
        OutcomeAggregate.objects.bulk_create(outcomes, batch_size=5000)
        CfirAggregate.objects.bulk_create(cfir, batch_size=5000)
        ResponseRateAggregate.objects.bulk_create(rates, batch_size=5000)

        stages: list[StageAggregate] = []
        time_use: list[TimeUseAggregate] = []
        plan_rows: list[TimeUsePlanAggregate] = []
        for s, plan in zip(schools, plans, strict=True):
            for m in modules:
                furthest = rng.randint(1, 5)
                entered = today - timedelta(days=700)
                for order, stage in enumerate(STAGES, start=1):
                    reached = order <= furthest
                    left = entered + timedelta(days=120) if order < furthest else None
                    stages.append(
                        StageAggregate(
                            school=s,
                            module=m,
                            module_number=m.number,
                            stage=stage,
                            stage_order=order,
                            entered_on=entered if reached else None,
                            exited_on=left if reached else None,
                            ongoing=order == furthest,
                            days=((left or today) - entered).days if reached else None,
                            steps_total=2,
                            steps_done=2 if order < furthest else 0,
                            steps_cancelled=0,
                            steps_share=D("1.00") if order < furthest else D(0),
                            is_furthest=order == furthest,
                            as_of=today,
                            computed_at=now,
                        )
                    )
                    if left:
                        entered = left
            total = 0
            per_module: dict[int, int] = {}
            systematic = 0
            for month in range(12):
                first = (today.replace(day=1) - timedelta(days=31 * month)).replace(day=1)
                for m in modules:
                    for mode in MODES:
                        minutes = rng.randint(30, 600)
                        total += minutes
                        per_module[m.pk] = per_module.get(m.pk, 0) + minutes
                        systematic += minutes if mode in ("planlagt", "systemniva") else 0
                        time_use.append(
                            TimeUseAggregate(
                                school=s,
                                month=first,
                                module=m,
                                module_number=m.number,
                                mode=mode,
                                minutes=minutes,
                                activities=rng.randint(1, 12),
                                computed_at=now,
                            )
                        )
            for m in modules:
                plan_rows.append(
                    TimeUsePlanAggregate(
                        school=s,
                        kind="module",
                        module=m,
                        module_number=m.number,
                        minutes=per_module[m.pk],
                        total_minutes=total,
                        share_percent=q(100 * per_module[m.pk] / total),
                        intended_percent=20,
                        plan_id=plan.pk,
                        period_from=plan.starts_on,
                        computed_at=now,
                    )
                )
            plan_rows.append(
                TimeUsePlanAggregate(
                    school=s,
                    kind="systematic",
                    module=None,
                    module_number=None,
                    minutes=systematic,
                    total_minutes=total,
                    share_percent=q(100 * systematic / total),
                    intended_percent=60,
                    plan_id=plan.pk,
                    period_from=plan.starts_on,
                    computed_at=now,
                )
            )
        StageAggregate.objects.bulk_create(stages, batch_size=5000)
        TimeUseAggregate.objects.bulk_create(time_use, batch_size=5000)
        TimeUsePlanAggregate.objects.bulk_create(plan_rows, batch_size=5000)
        AggregateStatus.objects.bulk_create(
            AggregateStatus(school=s, computed_at=now, as_of=today) for s in schools
        )
        spread_rows = recompute_municipality()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        counts = {
            "fidelity": len(fidelity),
            "outcome": len(outcomes),
            "cfir": len(cfir),
            "response rate": len(rates),
            "stage": len(stages),
            "time use": len(time_use),
            "spread": spread_rows,
        }
        print("Aggregate rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
        measured = schools[0].pk

    use_public_schema()
    from accounts.services import membership_grant, user_create

    for email, role, ids in (
        ("leader@dashbench.example", Role.LEADER, [measured]),
        ("coordinator@dashbench.example", Role.COORDINATOR, []),
    ):
        user = User.objects.filter(email=email).first() or user_create(email=email, password=None)
        Membership.objects.filter(user=user).delete()
        membership_grant(user=user, municipality=municipality, role=role, school_ids=ids)
    return municipality, measured


def measure(client: Any, url: str, requests: int, warmup: int) -> dict[str, Any]:
    from tenants.db import tenant_connection

    connection = tenant_connection()
    tenant = connection.tenant
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    for _ in range(warmup):
        response = client.get(url)
        connection.set_tenant(tenant)
        assert response.status_code == 200, (url, response.status_code)
    with connection.execute_wrapper(count):
        response = client.get(url)
    connection.set_tenant(tenant)
    size = len(response.content)
    samples: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        connection.set_tenant(tenant)
        assert response.status_code == 200
    return {
        "url": url,
        "n": len(samples),
        "median": statistics.median(samples),
        "p95": percentile(samples, 95),
        "max": max(samples),
        "queries": queries,
        "kb": size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only-cold", action="store_true",
                        help="Measure with the figure cache off only.")
    parser.add_argument("--limit-set-calls", action="store_true",
                        help="Run with django-tenants' TENANT_LIMIT_SET_CALLS=True (one "
                             "SET search_path per request instead of one per query).")
    parser.add_argument("--drop", action="store_true", help="Drop the bench database after.")
    args = parser.parse_args()

    url = django_setup()
    from django.conf import settings
    from django.test import Client
    from django_tenants.utils import tenant_context

    from accounts.models import User

    settings.DEBUG = False
    settings.TENANT_LIMIT_SET_CALLS = args.limit_set_calls
    print(machine_description(), flush=True)
    started = time.perf_counter()
    municipality, school_id = prepare(args.schools, args.rounds, args.seed)
    print(
        f"Prepared {args.schools} schools × {args.rounds} rounds in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )

    host = f"{SLUG}.{settings.BASE_DOMAIN}"
    leader = Client(HTTP_HOST=host)
    leader.force_login(User.objects.get(email="leader@dashbench.example"))
    coordinator = Client(HTTP_HOST=host)
    coordinator.force_login(User.objects.get(email="coordinator@dashbench.example"))
    school_api = f"/api/v1/dashboards/schools/{school_id}"
    cases: list[tuple[str, Client, str]] = [
        ("school dashboard (page, 8 figures)", leader, f"/dashboards/skoler/{school_id}/"),
        ("coordinator dashboard (page, 4 figures)", coordinator, "/dashboards/kommune/"),
        ("status page", coordinator, "/dashboards/status/"),
        *[
            (f"JSON school {key}", leader, f"{school_api}/{key}/")
            for key in (
                "fidelity",
                "component-status",
                "stages",
                "outcomes",
                "determinants",
                "time-plan",
                "time-systematic",
                "time-monthly",
                "status",
            )
        ],
        *[
            (f"JSON municipality {key}", coordinator, f"/api/v1/dashboards/municipality/{key}/")
            for key in (
                "fidelity-heatmap",
                "fidelity-spread",
                "stage-progress",
                "response-rates",
                "status",
            )
        ],
    ]
    modes = [("cache off: every request builds its figures", 0),
             ("cache on: figures cached under the aggregates' version", 600)]
    if args.only_cold:
        modes = modes[:1]
    for title, seconds in modes:
        settings.DASHBOARD_CACHE_SECONDS = seconds
        from django.core.cache import cache

        cache.clear()
        print(f"\n{title}"
              + (" (TENANT_LIMIT_SET_CALLS=True)" if args.limit_set_calls else ""), flush=True)
        results: list[tuple[str, dict[str, Any]]] = []
        with tenant_context(municipality):
            for label, client, path in cases:
                result = measure(client, path, args.requests, args.warmup)
                results.append((label, result))
                print(f"  {label:45} median {result['median']:6.1f} ms  "
                      f"p95 {result['p95']:6.1f} ms  max {result['max']:6.1f} ms  "
                      f"{result['queries']:3d} queries  {result['kb']:6.1f} KiB", flush=True)
        print()
        print("| view | requests | median | p95 | max | SQL queries | response |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, r in results:
            print(f"| {label} | {r['n']} | {r['median']:.1f} ms | {r['p95']:.1f} ms "
                  f"| {r['max']:.1f} ms | {r['queries']} | {r['kb']:.0f} KiB |")
        worst = max(r["p95"] for _, r in results)
        verdict = "met" if worst <= TARGET_P95_MS else "NOT met"
        print(f"\nTarget p95 ≤ {TARGET_P95_MS:.0f} ms ({title.split(':')[0]}): {verdict} "
              f"(worst p95 {worst:.1f} ms).", flush=True)
    print(f"Load average now: {os.getloadavg()[0]:.2f}")
    if args.drop:
        from django.db import connections

        connections.close_all()
        database_drop(url)
        print("Dropped the bench database.")


if __name__ == "__main__":
    main()
