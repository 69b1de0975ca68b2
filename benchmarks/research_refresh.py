"""Full refresh of the research store over every Norwegian municipality.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sovei_research_bench \\
        .venv/bin/python benchmarks/research_refresh.py --municipalities 357 --drop

Runs against its own database (``BENCH_DATABASE_URL``, else ``DATABASE_URL`` if it names a
database with "bench" in it, else ``sovei_research_bench``; created and migrated when
missing; ``--drop`` removes it at the end).

1. Provisions ``--municipalities`` municipalities with ``tenants.services.municipality_create``
   (cloned from the template schema) and fills each schema with bulk SQL (one
   ``INSERT … SELECT … generate_series`` per table, no ORM, no signals): 1–15 schools (mean
   8, 40–600 pupils each, so every size band occurs), ``--rounds`` closed semester rounds
   (default 20 = ten years), and per school and round: the dashboards' aggregates
   (fidelity for 5 modules + overall, CFIR 63 items + constructs + domains), 2–11
   respondents by one-time link answering AIM, IAM, FIM and SUS (22 answers each, 2 %
   missing), NIRN stage aggregates for 5 modules, and time use for 24 months × 5 modules ×
   4 modes. Every 12th municipality does not share.
   With ``--national`` the municipalities come instead from ``manage.py generate_national``
   (``--schools-per``, ``--years``, ``--seed``: the seeded national data set with raw
   records, recomputed by the worker's full recomputation; benchmarks/_national.py), and
   a database that holds it already is used as it is.
2. Runs ``research.refresh.refresh_research_store`` ``--runs`` times, each in a fresh
   subprocess (the worker-equivalent): wall time, ``ru_maxrss`` of that process (peak
   resident memory) and the rows written.
"""

# ruff: noqa: S603 - runs its own interpreter with arguments of its own
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/sovei_research_bench"


def _database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if "bench" not in url.rsplit("/", 1)[-1]:
        url = DEFAULT_URL  # never the development or test database
    os.environ["BENCH_DATABASE_URL"] = url
    return url


# --- Provisioning --------------------------------------------------------------------------


def _fill_sql(schema: str, seed: int, rounds: int) -> list[str]:
    """Bulk SQL that fills one municipality's schema. Deterministic (hashes of ids)."""
    s = f'"{schema}"'
    h = "abs(hashtext({}))"
    return [
        # Schools: 1–15 (mean 8), 40–600 pupils.
        f"""INSERT INTO {s}.implementation_school
               (name, organisation_number, grade_from, grade_to, pupil_count, created_at,
                updated_at)
            SELECT 'Skole ' || g, '', 1, 7, 40 + {h.format(f"'{seed}:' || g")} % 561, now(), now()
            FROM generate_series(1, 1 + {seed * 7919} % 15) g""",
        # Rounds: spring (15 Jan) and autumn (20 Aug) from 2016, all closed.
        f"""INSERT INTO {s}.implementation_assessmentround
               (name, opens_on, closes_on, closed_at, model_version_id, created_at)
            SELECT 'Runde ' || g, d, d + 30, d + 31, v.id, now()
            FROM generate_series(0, {rounds - 1}) g
            CROSS JOIN LATERAL (SELECT make_date(2016 + g / 2,
                                CASE WHEN g % 2 = 0 THEN 1 ELSE 8 END,
                                CASE WHEN g % 2 = 0 THEN 15 ELSE 20 END) AS d) dd
            CROSS JOIN (SELECT id FROM catalog_modelversion WHERE code = '1.0') v""",
        f"""INSERT INTO {s}.implementation_assessmentround_schools (assessmentround_id, school_id)
            SELECT r.id, sc.id FROM {s}.implementation_assessmentround r
            CROSS JOIN {s}.implementation_school sc""",
        # Fidelity: 3 components per module, 0–6 points rising over the rounds; + overall.
        f"""WITH m AS (SELECT mo.id, mo.number FROM catalog_module mo
                       JOIN catalog_modelversion v ON v.id = mo.version_id AND v.code = '1.0'),
            base AS (
                SELECT sc.id AS school_id, r.id AS round_id, m.id AS module_id, m.number,
                       LEAST(6, {h.format("sc.id || ':' || r.id || ':' || m.number")} % 5
                                + (r.id % {rounds}) / 6) AS points
                FROM {s}.implementation_school sc
                CROSS JOIN {s}.implementation_assessmentround r CROSS JOIN m)
            INSERT INTO {s}.dashboards_fidelityaggregate
                (school_id, round_id, module_id, module_number, points, max_points,
                 rated_count, unrated_count, percent, threshold_percent, meets_threshold,
                 local_points, local_rated_count, local_unrated_count, computed_at)
            SELECT school_id, round_id, module_id, number, points, 6, 3, 0,
                   round(points * 50::numeric / 3, 1), 70, points * 50 >= 70 * 3, 0, 0, 0, now()
            FROM base
            UNION ALL
            SELECT school_id, round_id, NULL, NULL, SUM(points), 30, 15, 0,
                   round(SUM(points) * 50::numeric / 15, 1), 70, SUM(points) * 50 >= 70 * 15,
                   0, 0, 0, now()
            FROM base GROUP BY school_id, round_id""",
        # CFIR: 63 items (20 % unrated), constructs and domains.
        f"""WITH items AS (
                SELECT it.code, it.number,
                       COALESCE(NULLIF(it.parent_code, ''), it.code) AS construct,
                       COALESCE(d.code, '') AS domain, COALESCE(d.position, 0) AS dpos
                FROM catalog_instrumentitem it
                JOIN catalog_instrument i ON i.id = it.instrument_id AND i.code = 'cfir'
                LEFT JOIN catalog_instrumentdomain d ON d.id = it.domain_id),
            ratings AS (
                SELECT sc.id AS school_id, r.id AS round_id, items.*,
                       CASE WHEN {h.format("sc.id || '/' || r.id || '/' || items.code")} % 5 = 0
                            THEN NULL
                            ELSE ({h.format("items.code || '/' || r.id || '/' || sc.id")} % 5) - 2
                       END AS value
                FROM {s}.implementation_school sc
                CROSS JOIN {s}.implementation_assessmentround r CROSS JOIN items),
            constructs AS (
                SELECT school_id, round_id, construct, domain, MIN(number) AS position,
                       COUNT(value) AS n, COUNT(*) - COUNT(value) AS n_missing,
                       COUNT(*) FILTER (WHERE value < 0) AS nb,
                       COUNT(*) FILTER (WHERE value = 0) AS nn,
                       COUNT(*) FILTER (WHERE value > 0) AS nf, AVG(value) AS mean
                FROM ratings GROUP BY school_id, round_id, construct, domain)
            INSERT INTO {s}.dashboards_cfiraggregate
                (school_id, round_id, level, code, domain_code, construct_code, position, n,
                 n_missing, n_barrier, n_neutral, n_facilitator, mean, mean_exact, computed_at)
            SELECT school_id, round_id, 'item', code, domain, construct, number,
                   COUNT(value), COUNT(*) - COUNT(value), COUNT(*) FILTER (WHERE value < 0),
                   COUNT(*) FILTER (WHERE value = 0), COUNT(*) FILTER (WHERE value > 0),
                   round(AVG(value), 2), AVG(value), now()
            FROM ratings GROUP BY school_id, round_id, code, domain, construct, number
            UNION ALL
            SELECT school_id, round_id, 'construct', construct, domain, construct, position, n,
                   n_missing, nb, nn, nf, round(mean, 2), mean, now()
            FROM constructs
            UNION ALL
            SELECT school_id, round_id, 'domain', domain, domain, '', 0, COUNT(mean),
                   COUNT(*) - COUNT(mean), COUNT(*) FILTER (WHERE mean < 0),
                   COUNT(*) FILTER (WHERE mean = 0), COUNT(*) FILTER (WHERE mean > 0),
                   round(AVG(mean), 2), AVG(mean), now()
            FROM constructs GROUP BY school_id, round_id, domain""",
        # Staff surveys: 2–11 respondents by one-time link per school and round.
        f"""INSERT INTO {s}.implementation_surveylink
                (round_id, school_id, token_hash, expires_at, used_at, created_at)
            SELECT r.id, sc.id, md5('{schema}:' || sc.id || ':' || r.id || ':' || g),
                   now(), now(), now()
            FROM {s}.implementation_school sc
            CROSS JOIN {s}.implementation_assessmentround r
            CROSS JOIN LATERAL generate_series(
                1, 2 + {h.format("sc.id || '#' || r.id || '#' || '" + str(seed) + "'")} % 10) g""",
        f"""INSERT INTO {s}.implementation_response
                (round_id, school_id, instrument_id, respondent_kind, survey_link_id,
                 respondent_id, submitted_at, updated_at)
            SELECT l.round_id, l.school_id, i.id, 'link', l.id, NULL, now(), now()
            FROM {s}.implementation_surveylink l
            CROSS JOIN (SELECT id FROM catalog_instrument
                        WHERE code IN ('aim', 'iam', 'fim', 'sus')) i""",
        f"""INSERT INTO {s}.implementation_answer (response_id, item_id, adoption_id, value)
            SELECT r.id, it.id, NULL,
                   CASE WHEN {h.format("r.id || ':' || it.id")} % 50 = 0 THEN NULL
                        ELSE 1 + {h.format("it.id || ':' || r.id")} % 5 END
            FROM {s}.implementation_response r
            JOIN catalog_instrumentitem it ON it.instrument_id = r.instrument_id""",
        # Stages: 5 modules × 5 stages, the furthest reached 1–5.
        f"""WITH m AS (SELECT mo.id, mo.number FROM catalog_module mo
                       JOIN catalog_modelversion v ON v.id = mo.version_id AND v.code = '1.0'),
            st(stage, stage_order) AS (VALUES ('exploration', 1), ('installation', 2),
                                             ('initial', 3), ('full', 4), ('sustainment', 5)),
            f AS (SELECT sc.id AS school_id, m.id AS module_id, m.number,
                         1 + {h.format("sc.id || '@' || m.number")} % 5 AS furthest
                  FROM {s}.implementation_school sc CROSS JOIN m)
            INSERT INTO {s}.dashboards_stageaggregate
                (school_id, module_id, module_number, stage, stage_order, entered_on,
                 exited_on, ongoing, days, steps_total, steps_done, steps_cancelled,
                 steps_share, is_furthest, as_of, computed_at)
            SELECT f.school_id, f.module_id, f.number, st.stage, st.stage_order,
                   CASE WHEN st.stage_order <= f.furthest
                        THEN DATE '2016-01-15' + (st.stage_order - 1) * 180 END,
                   CASE WHEN st.stage_order < f.furthest
                        THEN DATE '2016-01-15' + st.stage_order * 180 END,
                   st.stage_order = f.furthest,
                   CASE WHEN st.stage_order < f.furthest THEN 180
                        WHEN st.stage_order = f.furthest
                        THEN DATE '2026-01-01' - (DATE '2016-01-15' + (st.stage_order - 1) * 180)
                   END,
                   4, LEAST(4, GREATEST(0, f.furthest - st.stage_order + 2)), 0,
                   round(LEAST(4, GREATEST(0, f.furthest - st.stage_order + 2)) / 4.0, 2),
                   st.stage_order = f.furthest, DATE '2026-01-01', now()
            FROM f CROSS JOIN st""",
        # Time use: 24 months × 5 modules × 4 modes.
        f"""INSERT INTO {s}.dashboards_timeuseaggregate
                (school_id, month, module_id, module_number, mode, minutes, activities,
                 computed_at)
            SELECT sc.id, (DATE '2024-01-01' + make_interval(months => g))::date, mo.id,
                   mo.number, mode,
                   30 + {h.format("sc.id || mode || g || mo.number")} % 900, 1 + g % 7, now()
            FROM {s}.implementation_school sc
            CROSS JOIN generate_series(0, 23) g
            CROSS JOIN (SELECT mo.id, mo.number FROM catalog_module mo
                        JOIN catalog_modelversion v ON v.id = mo.version_id
                        AND v.code = '1.0') mo
            CROSS JOIN unnest(ARRAY['akutt', 'oppsokende', 'planlagt', 'systemniva']) mode""",
    ]


CATALOGS = (
    "pg_catalog.pg_class",
    "pg_catalog.pg_attribute",
    "pg_catalog.pg_constraint",
    "pg_catalog.pg_index",
    "pg_catalog.pg_depend",
    "pg_catalog.pg_namespace",
    "pg_catalog.pg_type",
    "pg_catalog.pg_attrdef",
)


def provision(count: int, rounds: int) -> None:
    from pathlib import Path as _Path

    from _bench import django_setup, letters, municipality_numbers
    from django.db import connection, transaction

    django_setup()
    from catalog.instruments import SHIPPED as SHIPPED_INSTRUMENTS
    from catalog.instruments import instruments_import
    from catalog.models import ModelVersion
    from catalog.services import catalog_import
    from implementation.services.releases import survey_results_release
    from tenants.db import use_public_schema
    from tenants.models import Municipality
    from tenants.services import municipality_create

    if not ModelVersion.objects.filter(code="1.0").exists():
        catalog_import(
            path=_Path(__file__).resolve().parent.parent
            / "catalog"
            / "data"
            / "sovei-model-1.0.yaml"
        )
        instruments_import(path=SHIPPED_INSTRUMENTS)
    existing = Municipality.objects.filter(slug__startswith="rb-").count()
    numbers = municipality_numbers(
        set(Municipality.objects.values_list("kommunenummer", flat=True))
    )
    started = time.perf_counter()
    clone_seconds = 0.0
    fill_seconds = 0.0
    for index in range(existing, count):
        slug = f"rb-{letters(index)}"
        t0 = time.perf_counter()
        municipality = municipality_create(
            name=f"Bench {slug}", kommunenummer=next(numbers), slug=slug
        )
        t1 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in _fill_sql(municipality.schema_name, index + 1, rounds):
                cursor.execute(statement)
            # The answers reach the store only as released groups of closed rounds, as
            # round_close and the nightly run release them (implementation.services.releases).
            connection.set_tenant(municipality)  # type: ignore[attr-defined]
            survey_results_release()
            if (index + 1) % 12 == 0:
                Municipality.objects.filter(pk=municipality.pk).update(shares_research_data=False)
            if (index + 1) % 10 == 0:
                # Every clone adds ~30 tables to the system catalogs, and autovacuum does
                # not analyze them in time: with stale catalog statistics one clone took
                # 18 s at 69 schemas instead of 0.4 s (docs/benchmarks.md).
                cursor.execute(f"ANALYZE {', '.join(CATALOGS)}")
        use_public_schema()
        t2 = time.perf_counter()
        clone_seconds += t1 - t0
        fill_seconds += t2 - t1
        if (index + 1) % 25 == 0 or index + 1 == count:
            print(
                f"  {index + 1}/{count} municipalities, {time.perf_counter() - started:.0f} s "
                f"(clone {clone_seconds:.0f} s, fill {fill_seconds:.0f} s)",
                flush=True,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def volumes() -> dict[str, int]:
    from django.db import connection

    from tenants.models import Municipality

    schemas = list(Municipality.objects.values_list("schema_name", flat=True))
    totals: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in (
            "implementation_school",
            "implementation_response",
            "implementation_answer",
            "dashboards_fidelityaggregate",
            "dashboards_cfiraggregate",
            "dashboards_timeuseaggregate",
        ):
            union = " UNION ALL ".join(
                f'SELECT COUNT(*) AS n FROM "{schema}".{table}' for schema in schemas
            )
            cursor.execute(f"SELECT SUM(n) FROM ({union}) x")
            totals[table] = int(cursor.fetchone()[0] or 0)
    return totals


# --- The refresh (worker-equivalent process) -----------------------------------------------


def refresh_once(batch_size: int) -> None:
    """In a fresh process: one full refresh; prints wall time, peak RSS and rows as JSON."""
    import resource

    from _bench import django_setup

    django_setup()
    from implementation.services._common import today
    from research.pseudonyms import Semester
    from research.refresh import refresh_research_store

    started = time.perf_counter()
    result = refresh_research_store(batch_size=batch_size, through=Semester.of(today()))
    assert result is not None
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "wall_s": round(wall, 2),
                "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "municipalities": result.municipalities,
                "excluded": result.excluded,
                "schools": result.schools,
                "phases_ms": result.phases_ms,
                "rows": result.rows,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=357)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--refresh-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--national", action="store_true",
                        help="provision with manage.py generate_national instead")
    parser.add_argument("--schools-per", type=float, default=8.0)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = _database_url()

    if args.refresh_only:
        refresh_once(args.batch_size)
        return

    from _bench import bench_environment, database_drop, machine_description

    print(f"Database {url.rsplit('/', 1)[-1]}; {machine_description()}", flush=True)
    try:
        started = time.perf_counter()
        if args.national:
            from _bench import django_setup
            from _national import national_database

            national_database(url, municipalities=args.municipalities,
                              schools_per=args.schools_per, years=args.years, seed=args.seed,
                              recompute=True)
            django_setup()
        else:
            provision(args.municipalities, args.rounds)
        print(
            f"Provisioned in {time.perf_counter() - started:.0f} s; volumes {volumes()}", flush=True
        )
        env = bench_environment()
        for run in range(1, args.runs + 1):
            output = (
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--refresh-only",
                        "--batch-size",
                        str(args.batch_size),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            print(f"refresh {run}: {output}", flush=True)
    finally:
        if args.drop:
            from django.db import connections

            connections.close_all()
            database_drop(url)
            print(f"Dropped {url.rsplit('/', 1)[-1]}", flush=True)


if __name__ == "__main__":
    main()
