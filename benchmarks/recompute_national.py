"""Full national recompute: our worker path against a hand-written set-based SQL lower bound.

    .venv/bin/python benchmarks/recompute_national.py \\
        --municipalities 357 --schools-per 8 --years 10 --seed 1 --runs 2

Own database (``BENCH_DATABASE_URL``, default ``bench_national_a``; created, migrated and
filled by ``manage.py generate_national`` when it does not hold the data set yet;
``--drop`` removes it at the end). In the same run, alternating, ``--runs`` times each:

* **ours**: ``worker.services.full_recompute_inline`` over every municipality — exactly
  what ``manage.py recompute_aggregates --inline`` and, one municipality per task, the
  nightly run do: release due survey groups, then per school the claim of its pending
  marker, ``recompute_school`` (a transaction with 7 × DELETE + INSERT … SELECT) and the
  run's progress, then the municipality's spread;
* **lower bound**: per municipality one transaction with, per aggregate table, one
  ``DELETE`` of all rows and one ``INSERT … SELECT`` that computes the rows of *all* its
  schools at once (the SQL below, written for this benchmark), the spread (the same single
  statement as ours: it is set-based already) and the status rows. No Python per school,
  no bookkeeping: what PostgreSQL needs to compute the same rows.

After each run the aggregate rows of every schema are fingerprinted (md5 of the sorted
rows, without ``id``, ``computed_at`` and ``duration_ms``): the two methods must give
identical rows, or the script exits 1. It prints the times and the ratio ours / lower
bound (the goal is ≤ 1.3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_national_a"

# --- The lower bound: every school of the current schema at once ---------------------------

FIDELITY_ALL = """
INSERT INTO dashboards_fidelityaggregate
    (school_id, round_id, module_id, module_number, points, max_points, rated_count,
     unrated_count, not_started_count, percent, rated_share_percent, min_rated_percent,
     measured, threshold_percent, meets_threshold, local_points, local_rated_count,
     local_unrated_count, computed_at)
WITH ratings AS (
    SELECT r.school_id, r.round_id, COALESCE(c.module_id, lc.module_id) AS module_id,
           ad.local_component_id IS NOT NULL AS is_local, a.value,
           (a.value IS NULL AND a.unrated_reason IS NOT DISTINCT FROM 'not_started')
               AS not_started
    FROM implementation_response r
    JOIN catalog_instrument i ON i.id = r.instrument_id AND i.code = 'fidelity'
    JOIN implementation_answer a ON a.response_id = r.id
    JOIN implementation_componentadoption ad ON ad.id = a.adoption_id
    LEFT JOIN catalog_component c ON c.id = ad.component_id
    LEFT JOIN implementation_localcomponent lc ON lc.id = ad.local_component_id
    WHERE r.respondent_kind = 'team'
), summed AS (
    SELECT school_id, round_id,
           CASE WHEN GROUPING(module_id) = 0 THEN module_id END AS module_id,
           COALESCE(SUM(value) FILTER (WHERE NOT is_local), 0) AS points,
           COUNT(*) FILTER (WHERE (value IS NOT NULL OR not_started) AND NOT is_local) AS rated,
           COUNT(*) FILTER (WHERE value IS NULL AND NOT not_started AND NOT is_local)
               AS unrated,
           COUNT(*) FILTER (WHERE not_started AND NOT is_local) AS not_started_n,
           COALESCE(SUM(value) FILTER (WHERE is_local), 0) AS local_points,
           COUNT(*) FILTER (WHERE (value IS NOT NULL OR not_started) AND is_local)
               AS local_rated,
           COUNT(*) FILTER (WHERE value IS NULL AND NOT not_started AND is_local)
               AS local_unrated
    FROM ratings
    GROUP BY GROUPING SETS ((school_id, round_id, module_id), (school_id, round_id))
)
SELECT s.school_id, s.round_id, s.module_id, m.number, s.points, 2 * s.rated, s.rated,
       s.unrated, s.not_started_n,
       CASE WHEN s.rated > 0 THEN round((s.points * 50)::numeric / s.rated, 1) END,
       CASE WHEN s.rated + s.unrated > 0
            THEN round((s.rated * 100)::numeric / (s.rated + s.unrated), 1) END,
       v.fidelity_min_rated_percent,
       s.rated > 0 AND s.rated * 100 >= v.fidelity_min_rated_percent * (s.rated + s.unrated),
       v.fidelity_threshold_percent,
       CASE WHEN s.rated > 0
                 AND s.rated * 100 >= v.fidelity_min_rated_percent * (s.rated + s.unrated)
            THEN s.points * 50 >= v.fidelity_threshold_percent * s.rated END,
       s.local_points, s.local_rated, s.local_unrated, now()
FROM summed s
JOIN implementation_assessmentround ar ON ar.id = s.round_id
JOIN catalog_modelversion v ON v.id = ar.model_version_id
LEFT JOIN catalog_module m ON m.id = s.module_id
"""

STAGE_ALL = """
INSERT INTO dashboards_stageaggregate
    (school_id, module_id, module_number, stage, stage_order, entered_on, exited_on, ongoing,
     days, steps_total, steps_done, steps_cancelled, steps_share, is_furthest, as_of,
     computed_at)
WITH stages (stage, stage_order) AS (
    VALUES ('exploration', 1), ('installation', 2), ('initial', 3), ('full', 4),
           ('sustainment', 5)
), steps AS (
    SELECT p.school_id, s.module_id, s.stage,
           COUNT(*) FILTER (WHERE s.status <> 'cancelled') AS total,
           COUNT(*) FILTER (WHERE s.status = 'done') AS done,
           COUNT(*) FILTER (WHERE s.status = 'cancelled') AS cancelled
    FROM implementation_strategystep s
    JOIN implementation_implementationplan p ON p.id = s.plan_id
    GROUP BY p.school_id, s.module_id, s.stage
), modules AS (
    SELECT school_id, module_id FROM implementation_stageperiod
    UNION SELECT school_id, module_id FROM steps
), furthest AS (
    SELECT p.school_id, p.module_id, MAX(st.stage_order) AS stage_order
    FROM implementation_stageperiod p JOIN stages st ON st.stage = p.stage
    GROUP BY p.school_id, p.module_id
)
SELECT mo.school_id, mo.module_id, m.number, st.stage, st.stage_order,
       p.entered_on, p.exited_on, p.entered_on IS NOT NULL AND p.exited_on IS NULL,
       COALESCE(p.exited_on, %(as_of)s::date) - p.entered_on,
       COALESCE(s.total, 0), COALESCE(s.done, 0), COALESCE(s.cancelled, 0),
       CASE WHEN s.total > 0 THEN round(s.done::numeric / s.total, 2) END,
       COALESCE(f.stage_order = st.stage_order, false), %(as_of)s::date, now()
FROM modules mo
CROSS JOIN stages st
LEFT JOIN implementation_stageperiod p
       ON p.school_id = mo.school_id AND p.module_id = mo.module_id AND p.stage = st.stage
LEFT JOIN steps s
       ON s.school_id = mo.school_id AND s.module_id = mo.module_id AND s.stage = st.stage
LEFT JOIN furthest f ON f.school_id = mo.school_id AND f.module_id = mo.module_id
LEFT JOIN catalog_module m ON m.id = mo.module_id
"""

OUTCOME_ALL = """
INSERT INTO dashboards_outcomeaggregate
    (school_id, round_id, instrument, n, n_pooled, n_withheld, n_incomplete, places, mean,
     sd, mean_exact, computed_at)
WITH instruments AS (
    SELECT i.id, i.code, COUNT(it.id) AS n_items
    FROM catalog_instrument i JOIN catalog_instrumentitem it ON it.instrument_id = i.id
    WHERE i.code IN ('aim', 'iam', 'fim', 'sus')
    GROUP BY i.id, i.code
), answered AS (
    SELECT a.response_id, COUNT(a.value) AS n FROM implementation_answer a
    JOIN implementation_response r ON r.id = a.response_id
    WHERE a.item_id IS NOT NULL AND r.respondent_kind IN ('staff', 'link')
    GROUP BY a.response_id
), counts AS (
    SELECT r.school_id, r.round_id, ins.code,
           COUNT(*) FILTER (WHERE an.n = ins.n_items AND sr.n >= %(k)s
                            AND sr.school_id IS NULL) AS n_pooled,
           COUNT(*) FILTER (WHERE an.n = ins.n_items
                            AND (sr.id IS NULL OR sr.n < %(k)s)) AS n_withheld,
           COUNT(*) FILTER (WHERE an.n IS DISTINCT FROM ins.n_items) AS n_incomplete
    FROM implementation_response r
    JOIN instruments ins ON ins.id = r.instrument_id
    LEFT JOIN answered an ON an.response_id = r.id
    LEFT JOIN implementation_surveyrelease sr ON sr.id = r.release_id
    WHERE r.respondent_kind IN ('staff', 'link')
    GROUP BY r.school_id, r.round_id, ins.code
), released AS (
    SELECT sr.school_id, sr.round_id, i.code, SUM(sr.n) AS n, SUM(sr.total) AS s,
           SUM(sr.total_squares) AS q
    FROM implementation_surveyrelease sr JOIN catalog_instrument i ON i.id = sr.instrument_id
    WHERE sr.school_id IS NOT NULL AND sr.n >= %(k)s
    GROUP BY sr.school_id, sr.round_id, i.code
), summary AS (
    SELECT COALESCE(c.school_id, g.school_id) AS school_id,
           COALESCE(c.round_id, g.round_id) AS round_id, COALESCE(c.code, g.code) AS code,
           CASE WHEN COALESCE(c.code, g.code) = 'sus' THEN 1 ELSE 2 END AS places,
           COALESCE(g.n, 0) AS n, COALESCE(c.n_pooled, 0) AS n_pooled,
           COALESCE(c.n_withheld, 0) AS n_withheld, COALESCE(c.n_incomplete, 0) AS n_incomplete,
           CASE WHEN g.n > 0 THEN g.s::numeric(40, 20) / g.n END AS mean_exact,
           CASE WHEN g.n > 1
                THEN sqrt(greatest((g.q - g.s * g.s / g.n)::numeric(40, 20) / (g.n - 1), 0))
           END AS sd
    FROM counts c
    FULL JOIN released g
           ON g.school_id = c.school_id AND g.round_id = c.round_id AND g.code = c.code
)
SELECT school_id, round_id, code, n, n_pooled, n_withheld, n_incomplete, places,
       round(round(mean_exact, 12), places), round(round(sd, 12), places),
       round(mean_exact, 20), now()
FROM summary
"""

CFIR_ALL = """
INSERT INTO dashboards_cfiraggregate
    (school_id, round_id, level, code, domain_code, construct_code, position, n, n_missing,
     n_barrier, n_neutral, n_facilitator, mean, mean_exact, computed_at)
WITH ratings AS (
    SELECT r.school_id, r.round_id, it.code AS item_code, it.number AS item_number,
           COALESCE(NULLIF(it.parent_code, ''), it.code) AS construct_code,
           COALESCE(d.code, '') AS domain_code, a.value
    FROM implementation_response r
    JOIN catalog_instrument i ON i.id = r.instrument_id AND i.code = 'cfir'
    JOIN implementation_answer a ON a.response_id = r.id
    JOIN catalog_instrumentitem it ON it.id = a.item_id
    LEFT JOIN catalog_instrumentdomain d ON d.id = it.domain_id
), items AS (
    SELECT school_id, round_id, item_code, construct_code, domain_code,
           MIN(item_number) AS position, COUNT(value) AS n, COUNT(*) - COUNT(value) AS n_missing,
           COUNT(*) FILTER (WHERE value < 0) AS n_barrier,
           COUNT(*) FILTER (WHERE value = 0) AS n_neutral,
           COUNT(*) FILTER (WHERE value > 0) AS n_facilitator,
           CASE WHEN COUNT(value) > 0
                THEN SUM(value)::numeric(40, 20) / COUNT(value) END AS mean
    FROM ratings
    GROUP BY school_id, round_id, item_code, construct_code, domain_code
), constructs AS (
    SELECT school_id, round_id, construct_code, domain_code, MIN(position) AS position,
           SUM(n) AS n, SUM(n_missing) AS n_missing, SUM(n_barrier) AS n_barrier,
           SUM(n_neutral) AS n_neutral, SUM(n_facilitator) AS n_facilitator, AVG(mean) AS mean
    FROM items
    GROUP BY school_id, round_id, construct_code, domain_code
), domain_positions AS (
    SELECT COALESCE(d.code, '') AS domain_code, MIN(COALESCE(d.position, 0)) AS position
    FROM catalog_instrumentitem it
    JOIN catalog_instrument i ON i.id = it.instrument_id AND i.code = 'cfir'
    LEFT JOIN catalog_instrumentdomain d ON d.id = it.domain_id
    GROUP BY 1
), domains AS (
    SELECT c.school_id, c.round_id, c.domain_code, COALESCE(MIN(d.position), 0) AS position,
           COUNT(c.mean) AS n, COUNT(*) - COUNT(c.mean) AS n_missing,
           COUNT(*) FILTER (WHERE c.mean < 0) AS n_barrier,
           COUNT(*) FILTER (WHERE c.mean = 0) AS n_neutral,
           COUNT(*) FILTER (WHERE c.mean > 0) AS n_facilitator, AVG(c.mean) AS mean
    FROM constructs c LEFT JOIN domain_positions d ON d.domain_code = c.domain_code
    GROUP BY c.school_id, c.round_id, c.domain_code
)
SELECT school_id, round_id, level, code, domain_code, construct_code, position, n, n_missing,
       n_barrier, n_neutral, n_facilitator, round(round(mean, 12), 2), round(mean, 20), now()
FROM (
    SELECT school_id, round_id, 'item' AS level, item_code AS code, domain_code,
           construct_code, position, n, n_missing, n_barrier, n_neutral, n_facilitator, mean
    FROM items
    UNION ALL
    SELECT school_id, round_id, 'construct', construct_code, domain_code, construct_code,
           position, n, n_missing, n_barrier, n_neutral, n_facilitator, mean
    FROM constructs
    UNION ALL
    SELECT school_id, round_id, 'domain', domain_code, domain_code, '', position, n,
           n_missing, n_barrier, n_neutral, n_facilitator, mean
    FROM domains
) all_levels
"""

TIME_USE_ALL = """
INSERT INTO dashboards_timeuseaggregate
    (school_id, month, module_id, module_number, mode, minutes, activities, computed_at)
SELECT a.school_id, date_trunc('month', a.performed_on)::date AS month, a.module_id, m.number,
       a.mode, SUM(a.minutes), COUNT(*), now()
FROM implementation_activity a
LEFT JOIN catalog_module m ON m.id = a.module_id
GROUP BY a.school_id, month, a.module_id, m.number, a.mode
"""

TIME_USE_PLAN_ALL = """
INSERT INTO dashboards_timeuseplanaggregate
    (school_id, kind, module_id, module_number, minutes, total_minutes, share_percent,
     intended_percent, plan_id, period_from, period_to, computed_at)
WITH plan AS (
    SELECT DISTINCT ON (school_id) school_id, id, starts_on, ends_on,
           intended_systematic_percent
    FROM implementation_implementationplan
    ORDER BY school_id, starts_on DESC, id DESC
), acts AS (
    SELECT a.school_id, a.module_id, a.mode, a.minutes
    FROM implementation_activity a
    LEFT JOIN plan p ON p.school_id = a.school_id
    WHERE p.id IS NULL OR (a.performed_on >= p.starts_on
                           AND (p.ends_on IS NULL OR a.performed_on <= p.ends_on))
), totals AS (
    SELECT sc.id AS school_id, COALESCE(SUM(a.minutes), 0) AS total,
           COALESCE(SUM(a.minutes) FILTER (WHERE a.mode IN ('planlagt', 'systemniva')), 0)
               AS systematic
    FROM implementation_school sc LEFT JOIN acts a ON a.school_id = sc.id
    GROUP BY sc.id
), per_module AS (
    SELECT school_id, module_id, SUM(minutes) AS minutes FROM acts GROUP BY school_id, module_id
), priorities AS (
    SELECT p.school_id, pr.module_id, pr.intended_percent
    FROM implementation_planmodulepriority pr JOIN plan p ON p.id = pr.plan_id
), modules AS (
    SELECT school_id, module_id FROM per_module
    UNION SELECT school_id, module_id FROM priorities
)
SELECT mo.school_id, 'module', mo.module_id, m.number, COALESCE(pm.minutes, 0), t.total,
       CASE WHEN t.total > 0 THEN round(COALESCE(pm.minutes, 0) * 100::numeric / t.total, 1)
       END,
       pr.intended_percent, p.id, p.starts_on, p.ends_on, now()
FROM modules mo
JOIN totals t ON t.school_id = mo.school_id
LEFT JOIN plan p ON p.school_id = mo.school_id
LEFT JOIN per_module pm ON pm.school_id = mo.school_id AND pm.module_id = mo.module_id
LEFT JOIN priorities pr ON pr.school_id = mo.school_id AND pr.module_id = mo.module_id
LEFT JOIN catalog_module m ON m.id = mo.module_id
UNION ALL
SELECT t.school_id, 'systematic', NULL, NULL, t.systematic, t.total,
       CASE WHEN t.total > 0 THEN round(t.systematic * 100::numeric / t.total, 1) END,
       p.intended_systematic_percent, p.id, p.starts_on, p.ends_on, now()
FROM totals t
LEFT JOIN plan p ON p.school_id = t.school_id
WHERE t.total > 0 OR p.intended_systematic_percent IS NOT NULL
"""

RESPONSE_RATE_ALL = """
INSERT INTO dashboards_responserateaggregate
    (round_id, school_id, instrument, respondent, responses, staff_responses, link_responses,
     links_issued, links_used, rate_percent, computed_at)
WITH responses AS (
    SELECT school_id, round_id, instrument_id, COUNT(*) AS responses,
           COUNT(*) FILTER (WHERE respondent_kind = 'staff') AS staff,
           COUNT(*) FILTER (WHERE respondent_kind = 'link') AS link
    FROM implementation_response
    GROUP BY school_id, round_id, instrument_id
), links AS (
    SELECT school_id, round_id, COUNT(*) AS issued, COUNT(used_at) AS used
    FROM implementation_surveylink
    GROUP BY school_id, round_id
)
SELECT rs.assessmentround_id, rs.school_id, i.code, i.respondent,
       COALESCE(r.responses, 0), COALESCE(r.staff, 0), COALESCE(r.link, 0),
       CASE WHEN i.respondent = 'individual' THEN COALESCE(l.issued, 0) ELSE 0 END,
       CASE WHEN i.respondent = 'individual' THEN COALESCE(l.used, 0) ELSE 0 END,
       CASE WHEN i.respondent = 'individual' AND l.issued > 0
            THEN round(COALESCE(r.link, 0) * 100::numeric / l.issued, 1) END,
       now()
FROM implementation_assessmentround_schools rs
JOIN implementation_roundinstrument ri ON ri.round_id = rs.assessmentround_id
JOIN catalog_instrument i ON i.id = ri.instrument_id
LEFT JOIN responses r ON r.school_id = rs.school_id AND r.round_id = rs.assessmentround_id
                     AND r.instrument_id = ri.instrument_id
LEFT JOIN links l ON l.school_id = rs.school_id AND l.round_id = rs.assessmentround_id
"""

STATUS_ALL = """
INSERT INTO dashboards_aggregatestatus (school_id, computed_at, as_of, duration_ms)
SELECT id, now(), %(as_of)s::date, 0 FROM implementation_school
UNION ALL SELECT NULL, now(), %(as_of)s::date, 0
"""

LOWER_BOUND: tuple[tuple[str, str], ...] = (
    ("dashboards_fidelityaggregate", FIDELITY_ALL),
    ("dashboards_stageaggregate", STAGE_ALL),
    ("dashboards_outcomeaggregate", OUTCOME_ALL),
    ("dashboards_cfiraggregate", CFIR_ALL),
    ("dashboards_timeuseaggregate", TIME_USE_ALL),
    ("dashboards_timeuseplanaggregate", TIME_USE_PLAN_ALL),
    ("dashboards_responserateaggregate", RESPONSE_RATE_ALL),
)

# Columns compared (everything but id, computed_at and duration_ms).
COMPARED: dict[str, str] = {
    "dashboards_fidelityaggregate": "school_id, round_id, module_id, module_number, points, "
    "max_points, rated_count, unrated_count, not_started_count, percent, rated_share_percent, "
    "min_rated_percent, measured, threshold_percent, meets_threshold, local_points, "
    "local_rated_count, local_unrated_count",
    "dashboards_stageaggregate": "school_id, module_id, module_number, stage, stage_order, "
    "entered_on, exited_on, ongoing, days, steps_total, steps_done, steps_cancelled, "
    "steps_share, is_furthest, as_of",
    "dashboards_outcomeaggregate": "school_id, round_id, instrument, n, n_pooled, n_withheld, "
    "n_incomplete, places, mean, sd, mean_exact",
    "dashboards_cfiraggregate": "school_id, round_id, level, code, domain_code, "
    "construct_code, position, n, n_missing, n_barrier, n_neutral, n_facilitator, mean, "
    "mean_exact",
    "dashboards_timeuseaggregate": "school_id, month, module_id, module_number, mode, minutes, "
    "activities",
    "dashboards_timeuseplanaggregate": "school_id, kind, module_id, module_number, minutes, "
    "total_minutes, share_percent, intended_percent, plan_id, period_from, period_to",
    "dashboards_responserateaggregate": "round_id, school_id, instrument, respondent, "
    "responses, staff_responses, link_responses, links_issued, links_used, rate_percent",
    "dashboards_municipalityspread": "metric, round_id, module_id, module_number, key, places, "
    "n_schools, minimum, median, maximum, mean, sd, n_meets_threshold",
    "dashboards_aggregatestatus": "school_id, as_of",
}


def _schemas() -> list[str]:
    """The municipalities with schools (the full recomputation leaves the others alone)."""
    from django.db import connection

    from tenants.models import Municipality

    names = list(
        Municipality.objects.exclude(schema_name__in=["public", "tenant_template"])
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    with connection.cursor() as cursor:
        return [
            name for name in names
            if cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{name}".implementation_school)')
            and cursor.fetchone()[0]
        ]


def lower_bound_municipality(as_of: date, k: int) -> None:
    """Every aggregate of the current schema, set-based, in one transaction."""
    from django.db import connection, transaction

    from dashboards.aggregation import SPREAD_SQL

    params: dict[str, Any] = {"as_of": as_of, "k": k}
    with transaction.atomic(), connection.cursor() as cursor:
        for table, sql in LOWER_BOUND:
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute(sql, params)
        cursor.execute("DELETE FROM dashboards_municipalityspread")
        cursor.execute(SPREAD_SQL)
        cursor.execute("DELETE FROM dashboards_aggregatestatus")
        cursor.execute(STATUS_ALL, params)


def run_lower_bound(schemas: list[str], as_of: date) -> float:
    from django_tenants.utils import schema_context

    from sovei_platform.privacy import min_group_size

    k = min_group_size()
    started = time.perf_counter()
    for schema in schemas:
        with schema_context(schema):
            lower_bound_municipality(as_of, k)
    return time.perf_counter() - started


def run_ours(schemas: list[str]) -> tuple[float, int, int]:
    from worker.models import RunKind
    from worker.services import full_recompute_inline

    started = time.perf_counter()
    run = full_recompute_inline(kind=RunKind.MANUAL, schemas=schemas)
    return time.perf_counter() - started, run.done, run.failed


def fingerprint(schemas: list[str]) -> dict[str, tuple[int, str]]:
    """Per aggregate table: rows over every schema and an md5 of them, sorted."""
    from django.db import connection

    out: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table, columns in COMPARED.items():
            total = 0
            digests: list[str] = []
            for schema in schemas:
                cursor.execute(
                    f"SELECT COUNT(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), ''))"
                    f' FROM (SELECT {columns} FROM "{schema}".{table}) t'
                )
                count, digest = cursor.fetchone()
                total += count
                digests.append(digest)
            out[table] = (total, "".join(digests))
    return out


def _database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if "bench" not in url.rsplit("/", 1)[-1]:
        raise SystemExit("BENCH_DATABASE_URL must name a database with 'bench' in its name")
    os.environ["BENCH_DATABASE_URL"] = url
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=357)
    parser.add_argument("--schools-per", type=float, default=8.0)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--activities-per-week", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=2, help="runs of each method, alternating")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()
    url = _database_url()

    from _bench import database_drop, django_setup, machine_description
    from _national import national_database

    print(f"Database {url.rsplit('/', 1)[-1]}; {machine_description()}", flush=True)
    try:
        generated = national_database(
            url, municipalities=args.municipalities, schools_per=args.schools_per,
            years=args.years, seed=args.seed, activities_per_week=args.activities_per_week,
        )
        if generated:
            print(f"Generator: {generated:.1f} s", flush=True)
        django_setup()
        from django.utils import timezone

        schemas = _schemas()
        as_of = timezone.localdate()
        times: dict[str, list[float]] = {"ours": [], "lower bound": []}
        prints: dict[str, dict[str, tuple[int, str]]] = {}
        schools = 0
        for run in range(1, args.runs + 1):
            seconds, done, failed = run_ours(schemas)
            schools = done + failed
            if failed:
                print(f"ours: {failed} schools failed", flush=True)
                return 1
            times["ours"].append(seconds)
            prints["ours"] = fingerprint(schemas)
            print(f"run {run} ours:        {seconds:8.2f} s ({len(schemas)} municipalities, "
                  f"{done} schools, {1000 * seconds / max(1, done):.1f} ms per school)",
                  flush=True)
            seconds = run_lower_bound(schemas, as_of)
            times["lower bound"].append(seconds)
            prints["lower bound"] = fingerprint(schemas)
            print(f"run {run} lower bound: {seconds:8.2f} s", flush=True)
            if prints["ours"] != prints["lower bound"]:
                for table in COMPARED:
                    a, b = prints["ours"][table], prints["lower bound"][table]
                    if a != b:
                        print(f"DIFFERENT ROWS in {table}: ours {a[0]} rows, "
                              f"lower bound {b[0]} rows", flush=True)
                return 1
        rows = {table.removeprefix("dashboards_"): n for table, (n, _d) in prints["ours"].items()}
        print(f"Identical rows from both methods: {rows}")
        ours = statistics.median(times["ours"])
        lower = statistics.median(times["lower bound"])
        print(f"Machine after the runs: {machine_description()}")
        print(f"{len(schemas)} municipalities, {schools} schools; medians of {args.runs} runs: "
              f"ours {ours:.2f} s, lower bound {lower:.2f} s, ratio {ours / lower:.2f}x "
              f"(goal ≤ 1.3x)")
    finally:
        if args.drop:
            from django.db import connections

            connections.close_all()
            database_drop(url)
            print(f"Dropped {url.rsplit('/', 1)[-1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
