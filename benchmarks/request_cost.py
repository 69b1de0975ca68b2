"""Per-request cost: server time and SQL statements of representative endpoints.

    .venv/bin/python benchmarks/request_cost.py --requests 200

Runs against its own database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/sovei_bench_req; created and migrated when missing),
with Redis db 5 and a queue of its own for the recompute messages its set-up writes.

1. Makes the demo world once (kept between runs): the shipped catalog and instruments,
   the six pilot municipalities (`load_demo`) and Trondheim's history
   (`load_demo_history --municipality trondheim`: 7 schools, four assessment rounds,
   adoptions, plans, logged time, the aggregates).
2. Times, in this process through Django's test Client (the whole middleware stack:
   tenant routing, session, user, membership check, CSP, auditlog, axes; DEBUG off; no
   network), `--requests` GETs of every endpoint after `--warmup` unmeasured ones: the API
   lists and details under /api/v1/ as a school leader or the coordinator, and the main
   pages of each role. Prints median and p95 server time, and the SQL statements of one
   request: all of them, and how many are django-tenants' `SET search_path`.

The test Client keeps the database connection between requests, as gunicorn does with
CONN_MAX_AGE > 0; `--new-connection` closes it after every request (CONN_MAX_AGE=0, the
default of the settings): each request then also pays for a new PostgreSQL session.

To compare with an older commit, clone it and run this script from the clone (it imports
the code next to it):

    git clone -q /work/main /tmp/before && git -C /tmp/before checkout -q <commit>
    cp benchmarks/request_cost.py /tmp/before/benchmarks/
    (cd /tmp/before && /work/main/.venv/bin/python benchmarks/request_cost.py)

`--sql LABEL` prints the statements of the endpoints whose label contains LABEL;
`--profile LABEL` prints a cProfile of them (cumulative time, top 40).
"""

# ruff: noqa: S603, S607 - runs git with arguments of its own
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sovei_bench_req")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", "sovei-bench-request-cost")

from _bench import REPO, django_setup, machine_description

SLUG = "trondheim"


@dataclass(frozen=True)
class Case:
    label: str
    who: str  # "leader", "staff", "coordinator", "researcher" or "anonymous"
    url: str
    public: bool = False  # on the bare domain instead of the municipality's host


def prepare() -> None:
    """The demo world, made once (load_demo and load_demo_history are idempotent)."""
    from catalog.instruments import SHIPPED, instruments_import
    from catalog.models import ModelVersion
    from catalog.services import catalog_import
    from dashboards.management.demo_history import load_demo_history
    from tenants.demo import load_demo

    if not ModelVersion.objects.exists():
        catalog_import(path=REPO / "catalog" / "data" / "sovei-model-1.0.yaml")
        instruments_import(path=SHIPPED)
    load_demo()
    load_demo_history(slugs=[SLUG], log=lambda _line: None)


def cases() -> list[Case]:
    from django_tenants.utils import tenant_context

    from implementation.models import (
        Activity,
        Adaptation,
        AssessmentRound,
        ComponentAdoption,
        ImplementationPlan,
        School,
        StagePeriod,
        StrategyStep,
    )
    from implementation.services import survey_links_create
    from tenants.models import Municipality

    municipality = Municipality.objects.get(slug=SLUG)
    with tenant_context(municipality):
        school = School.objects.get(name="Ila skole")
        adoption = ComponentAdoption.objects.filter(school=school).order_by("id").first()
        adaptation = Adaptation.objects.filter(adoption__school=school).order_by("id").first()
        plan = ImplementationPlan.objects.filter(school=school).order_by("id").first()
        step = StrategyStep.objects.filter(plan__school=school).order_by("id").first()
        stage = StagePeriod.objects.filter(school=school).order_by("id").first()
        rounds = AssessmentRound.objects.filter(schools=school).order_by("-opens_on")
        current, closed = rounds[0], rounds[1]
        activity = Activity.objects.filter(school=school).order_by("id").first()
        # A fresh link each run: its token is shown only when it is made.
        token = survey_links_create(assessment_round=current, school=school, count=1)[0].token
    assert adoption and plan and step and stage and activity, "demo history incomplete"
    s = school.pk
    api = "/api/v1"
    dash = f"{api}/dashboards"
    found: list[Case] = [
        Case("API schools list", "leader", f"{api}/schools/"),
        Case("API school detail", "leader", f"{api}/schools/{s}/"),
        Case("API school members", "leader", f"{api}/schools/{s}/members/"),
        Case("API positions list", "leader", f"{api}/schools/{s}/positions/"),
        Case("API adoptions list", "leader", f"{api}/adoptions/"),
        Case("API adoption detail", "leader", f"{api}/adoptions/{adoption.pk}/"),
        Case("API adaptations list", "leader", f"{api}/adaptations/"),
        Case("API plans list", "leader", f"{api}/plans/"),
        Case("API plan detail", "leader", f"{api}/plans/{plan.pk}/"),
        Case("API steps list", "leader", f"{api}/steps/"),
        Case("API step detail", "leader", f"{api}/steps/{step.pk}/"),
        Case("API stage periods list", "leader", f"{api}/stage-periods/"),
        Case("API rounds list", "coordinator", f"{api}/rounds/"),
        Case("API round detail", "coordinator", f"{api}/rounds/{current.pk}/"),
        Case("API round links", "coordinator", f"{api}/rounds/{current.pk}/links/"),
        Case("API team responses", "coordinator", f"{api}/rounds/{closed.pk}/team-responses/"),
        Case("API my responses", "staff", f"{api}/rounds/{closed.pk}/my-responses/"),
        Case("API response counts", "coordinator",
             f"{api}/rounds/{closed.pk}/response-counts/"),
        Case("API activities list", "coordinator", f"{api}/activities/"),
        Case("API activity detail", "coordinator", f"{api}/activities/{activity.pk}/"),
        Case("API audit list", "coordinator", f"{api}/audit/"),
        Case("API modules list", "leader", f"{api}/modules/"),
        Case("API instruments list", "leader", f"{api}/instruments/"),
        Case("API survey by link", "anonymous", f"{api}/survey/{token}/"),
        Case("API dashboard school fidelity", "leader", f"{dash}/schools/{s}/fidelity/"),
        Case("API dashboard municipality heatmap", "coordinator",
             f"{dash}/municipality/fidelity-heatmap/"),
        Case("page home (leader)", "leader", "/"),
        Case("page home (coordinator)", "coordinator", "/"),
        Case("page school", "leader", f"/skoler/{s}/"),
        Case("page adoptions", "leader", f"/skoler/{s}/komponenter/"),
        Case("page plan", "leader", f"/skoler/{s}/plan/"),
        Case("page time log (staff)", "staff", f"/skoler/{s}/tid/"),
        Case("page school rounds", "leader", f"/skoler/{s}/runder/"),
        Case("page fidelity form", "leader", f"/skoler/{s}/runder/{current.pk}/troskap/"),
        Case("page rounds (coordinator)", "coordinator", "/runder/"),
        Case("page audit (coordinator)", "coordinator", "/logg/"),
        Case("page school dashboard", "leader", f"/dashboards/skoler/{s}/"),
        Case("page coordinator dashboard", "coordinator", "/dashboards/kommune/"),
        Case("page resource bank", "staff", "/ressursbank/"),
        Case("page landing (public site)", "coordinator", "/", public=True),
        Case("page research overview", "researcher", "/forsker/", public=True),
    ]
    if adaptation is not None:
        found.insert(7, Case("API adaptation detail", "leader",
                             f"{api}/adaptations/{adaptation.pk}/"))
    return found


def clients() -> dict[tuple[str, bool], Any]:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from tenants.demo import demo_email

    emails = {
        "leader": demo_email("rektor", SLUG),
        "staff": demo_email("ansatt", SLUG),
        "coordinator": demo_email("koordinator", SLUG),
        "researcher": demo_email("forsker"),
    }
    made: dict[tuple[str, bool], Any] = {}
    for public in (False, True):
        host = settings.BASE_DOMAIN if public else f"{SLUG}.{settings.BASE_DOMAIN}"
        for who in (*emails, "anonymous"):
            client = Client(HTTP_HOST=host)
            if who != "anonymous":
                client.force_login(User.objects.get(email=emails[who]))
            made[(who, public)] = client
    return made


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    rank = max(1, -(-int(p) * len(ordered) // 100))
    return ordered[rank - 1]


def measure(client: Any, case: Case, requests: int, warmup: int, new_connection: bool,
            sql: bool, profile: bool) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> Any:
        response = client.get(case.url)
        if new_connection:
            connection.close()
        assert response.status_code == 200, f"{case.url}: {response.status_code}"
        return response

    for _ in range(warmup):
        get()
    with CaptureQueriesContext(connection) as captured:
        get()
    statements = [q["sql"] for q in captured.captured_queries]
    samples: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        get()
        samples.append((time.perf_counter() - started) * 1000)
    if sql:
        print(f"\n{case.label} ({case.url}):")
        for statement in statements:
            print(f"    {statement[:150]}")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            get()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(f"\ncProfile of {requests} × {case.label}:\n{out.getvalue()}")
    return {
        "median": statistics.median(samples),
        "p95": percentile(samples, 95),
        "queries": len(statements),
        "set_search_path": sum(s.startswith("SET search_path") for s in statements),
    }


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--only", default="", help="Only endpoints whose label contains this.")
    parser.add_argument("--sql", default=None, metavar="LABEL")
    parser.add_argument("--profile", default=None, metavar="LABEL")
    parser.add_argument("--new-connection", action="store_true",
                        help="Close the database connection after every request "
                             "(CONN_MAX_AGE=0).")
    args = parser.parse_args()

    django_setup()
    from django.conf import settings

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    started = time.perf_counter()
    prepare()
    print(f"Demo world ready in {time.perf_counter() - started:.1f} s", flush=True)
    print(f"Code at {REPO} (commit {commit()}); {machine_description()}", flush=True)
    print(f"TENANT_LIMIT_SET_CALLS={getattr(settings, 'TENANT_LIMIT_SET_CALLS', False)}, "
          f"{'a new connection per request' if args.new_connection else 'one connection'}",
          flush=True)

    from tenants.db import use_public_schema

    made = clients()
    rows: list[tuple[Case, dict[str, Any]]] = []
    for case in cases():
        if args.only and args.only not in case.label:
            continue
        use_public_schema()
        result = measure(
            made[(case.who, case.public)], case, args.requests, args.warmup,
            args.new_connection,
            sql=args.sql is not None and args.sql in case.label,
            profile=args.profile is not None and args.profile in case.label,
        )
        rows.append((case, result))
        print(f"  {case.label:38} median {result['median']:6.1f} ms  p95 {result['p95']:6.1f} ms"
              f"  {result['queries']:3d} statements ({result['set_search_path']} SET search_path)",
              flush=True)
    print()
    print("| endpoint | as | median | p95 | SQL statements | of them SET search_path |")
    print("|---|---|---:|---:|---:|---:|")
    for case, r in rows:
        print(f"| {case.label} | {case.who} | {r['median']:.1f} ms | {r['p95']:.1f} ms "
              f"| {r['queries']} | {r['set_search_path']} |")
    if rows:
        medians = [r["median"] for _, r in rows]
        print(f"\nSum of medians {sum(medians):.0f} ms over {len(rows)} endpoints; "
              f"statements {sum(r['queries'] for _, r in rows)}, "
              f"of them SET search_path {sum(r['set_search_path'] for _, r in rows)}.")
    print(f"Load average now: {os.getloadavg()[0]:.2f}")
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(os.environ["CELERY_TASK_DEFAULT_QUEUE"])


if __name__ == "__main__":
    main()
