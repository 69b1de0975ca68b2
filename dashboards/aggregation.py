"""Recomputation of the aggregate tables (``dashboards.models``), set-based in SQL.

Entry points (all work in the connection's current tenant schema):

``recompute_school(school_id)``
    Rebuild every aggregate of one school: for each table one ``DELETE`` of the school's
    rows and one ``INSERT … SELECT`` that computes them from the records, all in one
    transaction under a per-school advisory lock. No Python loop touches answers, steps or
    activities; the work is a fixed number of statements per school.
``recompute_municipality()``
    Rebuild ``MunicipalitySpread`` (spread across schools) from the schools' aggregate
    rows, in one transaction under a per-municipality advisory lock.
``recompute_pending_school(school_id)``
    What the worker runs: claim the school's ``PendingRecompute`` marker, recompute the
    school, delete the marker in the same transaction *only if its ``requested_at`` is
    still the claimed value* (a write that committed during the run leaves it for the next
    run), then recompute the municipality spread.
``pending_mark(school_id)``
    Upsert the dirty marker (``dashboards.signals`` calls it in the writer's transaction).

Idempotent: the same records give the same rows (only ``id`` and ``computed_at`` differ),
whatever the rows were before. ``as_of`` (the day ongoing stages are counted up to) is part
of the input; it defaults to today in the platform's time zone, so the nightly full
recomputation moves the day counts on.

Exactness. The rules are those of ``implementation.scoring`` and the results are the same
numbers: sums and counts are integers; every score is one division of exact values, so a
ROUND_HALF_UP tie is exact in PostgreSQL's ``numeric`` (``round(numeric, n)`` rounds half
away from zero, like ``ROUND_HALF_UP``); thresholds are compared on integers
(``points × 50 ≥ threshold × rated``, and the share rated ``rated × 100 ≥ minimum ×
(rated + unrated)``). Means of means and standard deviations go through
``numeric`` with 20 decimals and are rounded to 12 decimals before the displayed places,
which removes the last-digit error of the intermediate divisions (a tie in scoring's exact
arithmetic is then a tie here too). ``tests/test_aggregates.py`` compares the rows with
``implementation.scoring`` on the same data and with hand-computed values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from implementation.models import STAGE_ORDER, SYSTEMATIC_MODES
from sovei_platform.privacy import min_group_size

logger = logging.getLogger(__name__)

FIDELITY = "fidelity"
NOT_STARTED = "not_started"  # implementation.models.UnratedReason: scored as 0 points
CFIR = "cfir"
OUTCOME_INSTRUMENTS = ("aim", "iam", "fim", "sus")
SUS = "sus"
GUARD_PLACES = 12  # see "Exactness" above


def _guarded(expression: str, places: str | int) -> str:
    return f"round(round({expression}, {GUARD_PLACES}), {places})"


def _exact_ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator in numeric with (at least) 20 decimals."""
    return f"(({numerator})::numeric(40, 20) / ({denominator}))"


# --- Per school -----------------------------------------------------------------------------

FIDELITY_SQL = f"""
INSERT INTO dashboards_fidelityaggregate
    (school_id, round_id, module_id, module_number, points, max_points, rated_count,
     unrated_count, not_started_count, percent, rated_share_percent, min_rated_percent,
     measured, threshold_percent, meets_threshold, local_points, local_rated_count,
     local_unrated_count, computed_at)
WITH ratings AS (
    SELECT r.round_id,
           COALESCE(c.module_id, lc.module_id) AS module_id,
           ad.local_component_id IS NOT NULL AS is_local,
           a.value,
           (a.value IS NULL AND a.unrated_reason IS NOT DISTINCT FROM '{NOT_STARTED}')
               AS not_started
    FROM implementation_response r
    JOIN catalog_instrument i ON i.id = r.instrument_id AND i.code = '{FIDELITY}'
    JOIN implementation_answer a ON a.response_id = r.id
    JOIN implementation_componentadoption ad ON ad.id = a.adoption_id
    LEFT JOIN catalog_component c ON c.id = ad.component_id
    LEFT JOIN implementation_localcomponent lc ON lc.id = ad.local_component_id
    WHERE r.school_id = %(school_id)s AND r.respondent_kind = 'team'
), summed AS (
    SELECT round_id,
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
    GROUP BY GROUPING SETS ((round_id, module_id), (round_id))
), judged AS (
    SELECT s.*, v.fidelity_threshold_percent AS threshold,
           v.fidelity_min_rated_percent AS min_rated,
           s.rated > 0 AND s.rated * 100 >= v.fidelity_min_rated_percent * (s.rated + s.unrated)
               AS measured
    FROM summed s
    JOIN implementation_assessmentround ar ON ar.id = s.round_id
    JOIN catalog_modelversion v ON v.id = ar.model_version_id
)
SELECT %(school_id)s, j.round_id, j.module_id, m.number, j.points, 2 * j.rated, j.rated,
       j.unrated, j.not_started_n,
       CASE WHEN j.rated > 0 THEN round((j.points * 50)::numeric / j.rated, 1) END,
       CASE WHEN j.rated + j.unrated > 0
            THEN round((j.rated * 100)::numeric / (j.rated + j.unrated), 1) END,
       j.min_rated, j.measured, j.threshold,
       CASE WHEN j.measured THEN j.points * 50 >= j.threshold * j.rated END,
       j.local_points, j.local_rated, j.local_unrated, now()
FROM judged j
LEFT JOIN catalog_module m ON m.id = j.module_id
"""

_STAGES_VALUES = ", ".join(
    f"('{stage}', {order})" for order, stage in enumerate(STAGE_ORDER, start=1)
)

STAGE_SQL = f"""
INSERT INTO dashboards_stageaggregate
    (school_id, module_id, module_number, stage, stage_order, entered_on, exited_on, ongoing,
     days, steps_total, steps_done, steps_cancelled, steps_share, is_furthest, as_of,
     computed_at)
WITH stages (stage, stage_order) AS (VALUES {_STAGES_VALUES}),
periods AS (
    SELECT module_id, stage, entered_on, exited_on
    FROM implementation_stageperiod
    WHERE school_id = %(school_id)s
), steps AS (
    SELECT s.module_id, s.stage,
           COUNT(*) FILTER (WHERE s.status <> 'cancelled') AS total,
           COUNT(*) FILTER (WHERE s.status = 'done') AS done,
           COUNT(*) FILTER (WHERE s.status = 'cancelled') AS cancelled
    FROM implementation_strategystep s
    JOIN implementation_implementationplan p ON p.id = s.plan_id
    WHERE p.school_id = %(school_id)s
    GROUP BY s.module_id, s.stage
), modules AS (
    SELECT module_id FROM periods UNION SELECT module_id FROM steps
), furthest AS (
    SELECT p.module_id, MAX(st.stage_order) AS stage_order
    FROM periods p JOIN stages st ON st.stage = p.stage
    GROUP BY p.module_id
)
SELECT %(school_id)s, mo.module_id, m.number, st.stage, st.stage_order,
       p.entered_on, p.exited_on,
       p.entered_on IS NOT NULL AND p.exited_on IS NULL,
       COALESCE(p.exited_on, %(as_of)s::date) - p.entered_on,
       COALESCE(s.total, 0), COALESCE(s.done, 0), COALESCE(s.cancelled, 0),
       CASE WHEN s.total > 0 THEN round(s.done::numeric / s.total, 2) END,
       COALESCE(f.stage_order = st.stage_order, false),
       %(as_of)s::date, now()
FROM modules mo
CROSS JOIN stages st
LEFT JOIN periods p ON p.module_id = mo.module_id AND p.stage = st.stage
LEFT JOIN steps s ON s.module_id = mo.module_id AND s.stage = st.stage
LEFT JOIN furthest f ON f.module_id = mo.module_id
LEFT JOIN catalog_module m ON m.id = mo.module_id
"""

_OUTCOME_CODES = ", ".join(f"'{code}'" for code in OUTCOME_INSTRUMENTS)

# Survey results come only from released groups (implementation.services.releases): a
# school's own groups of at least k answers. The answers of the school that are not in them
# are counted, never scored here: pooled with other schools (n_pooled), not shown
# (n_withheld: the round is open, fewer than k answered, or they wait for k more after a
# reopening) or incomplete (n_incomplete).
OUTCOME_SQL = f"""
INSERT INTO dashboards_outcomeaggregate
    (school_id, round_id, instrument, n, n_pooled, n_withheld, n_incomplete, places, mean,
     sd, mean_exact, computed_at)
WITH instruments AS (
    SELECT i.id, i.code, COUNT(it.id) AS n_items
    FROM catalog_instrument i
    JOIN catalog_instrumentitem it ON it.instrument_id = i.id
    WHERE i.code IN ({_OUTCOME_CODES})
    GROUP BY i.id, i.code
), respondents AS (
    SELECT r.round_id, ins.code, ins.n_items, r.id,
           COUNT(a.value) = ins.n_items AS complete,
           CASE WHEN sr.id IS NULL OR sr.n < %(k)s THEN 'withheld'
                WHEN sr.school_id IS NULL THEN 'pooled' ELSE 'own' END AS released
    FROM implementation_response r
    JOIN instruments ins ON ins.id = r.instrument_id
    LEFT JOIN implementation_answer a ON a.response_id = r.id AND a.item_id IS NOT NULL
    LEFT JOIN implementation_surveyrelease sr ON sr.id = r.release_id
    WHERE r.school_id = %(school_id)s AND r.respondent_kind IN ('staff', 'link')
    GROUP BY r.round_id, ins.code, ins.n_items, r.id, sr.id, sr.n, sr.school_id
), counts AS (
    SELECT round_id, code,
           COUNT(*) FILTER (WHERE complete AND released = 'pooled') AS n_pooled,
           COUNT(*) FILTER (WHERE complete AND released = 'withheld') AS n_withheld,
           COUNT(*) FILTER (WHERE NOT complete) AS n_incomplete
    FROM respondents
    GROUP BY round_id, code
), released AS (
    SELECT sr.round_id, i.code, SUM(sr.n) AS n, SUM(sr.total) AS s, SUM(sr.total_squares) AS q
    FROM implementation_surveyrelease sr
    JOIN catalog_instrument i ON i.id = sr.instrument_id
    WHERE sr.school_id = %(school_id)s AND sr.n >= %(k)s
    GROUP BY sr.round_id, i.code
), summary AS (
    -- A released group outlives its answers (survey-link retention deletes them): its
    -- frozen sums still give the round's row.
    SELECT COALESCE(c.round_id, g.round_id) AS round_id, COALESCE(c.code, g.code) AS code,
           CASE WHEN COALESCE(c.code, g.code) = '{SUS}' THEN 1 ELSE 2 END AS places,
           COALESCE(g.n, 0) AS n, COALESCE(c.n_pooled, 0) AS n_pooled,
           COALESCE(c.n_withheld, 0) AS n_withheld, COALESCE(c.n_incomplete, 0) AS n_incomplete,
           CASE WHEN g.n > 0 THEN {_exact_ratio("g.s", "g.n")} END AS mean_exact,
           CASE WHEN g.n > 1
                THEN sqrt(greatest({_exact_ratio("g.q - g.s * g.s / g.n", "g.n - 1")}, 0))
           END AS sd
    FROM counts c
    FULL JOIN released g ON g.round_id = c.round_id AND g.code = c.code
)
SELECT %(school_id)s, round_id, code, n, n_pooled, n_withheld, n_incomplete, places,
       {_guarded("mean_exact", "places")}, {_guarded("sd", "places")},
       round(mean_exact, 20), now()
FROM summary
"""

CFIR_SQL = f"""
INSERT INTO dashboards_cfiraggregate
    (school_id, round_id, level, code, domain_code, construct_code, position, n, n_missing,
     n_barrier, n_neutral, n_facilitator, mean, mean_exact, computed_at)
WITH ratings AS (
    SELECT r.round_id, it.code AS item_code, it.number AS item_number,
           COALESCE(NULLIF(it.parent_code, ''), it.code) AS construct_code,
           COALESCE(d.code, '') AS domain_code, COALESCE(d.position, 0) AS domain_position,
           a.value
    FROM implementation_response r
    JOIN catalog_instrument i ON i.id = r.instrument_id AND i.code = '{CFIR}'
    JOIN implementation_answer a ON a.response_id = r.id
    JOIN catalog_instrumentitem it ON it.id = a.item_id
    LEFT JOIN catalog_instrumentdomain d ON d.id = it.domain_id
    WHERE r.school_id = %(school_id)s
), items AS (
    SELECT round_id, item_code, construct_code, domain_code,
           MIN(item_number) AS position,
           COUNT(value) AS n, COUNT(*) - COUNT(value) AS n_missing,
           COUNT(*) FILTER (WHERE value < 0) AS n_barrier,
           COUNT(*) FILTER (WHERE value = 0) AS n_neutral,
           COUNT(*) FILTER (WHERE value > 0) AS n_facilitator,
           CASE WHEN COUNT(value) > 0 THEN {_exact_ratio("SUM(value)", "COUNT(value)")} END
               AS mean
    FROM ratings
    GROUP BY round_id, item_code, construct_code, domain_code
), constructs AS (
    SELECT round_id, construct_code, domain_code, MIN(position) AS position,
           SUM(n) AS n, SUM(n_missing) AS n_missing, SUM(n_barrier) AS n_barrier,
           SUM(n_neutral) AS n_neutral, SUM(n_facilitator) AS n_facilitator,
           AVG(mean) AS mean
    FROM items
    GROUP BY round_id, construct_code, domain_code
), domains AS (
    SELECT c.round_id, c.domain_code,
           COALESCE(MIN(d.position), 0) AS position,
           COUNT(c.mean) AS n, COUNT(*) - COUNT(c.mean) AS n_missing,
           COUNT(*) FILTER (WHERE c.mean < 0) AS n_barrier,
           COUNT(*) FILTER (WHERE c.mean = 0) AS n_neutral,
           COUNT(*) FILTER (WHERE c.mean > 0) AS n_facilitator,
           AVG(c.mean) AS mean
    FROM constructs c
    LEFT JOIN (SELECT DISTINCT domain_code, domain_position AS position FROM ratings) d
           ON d.domain_code = c.domain_code
    GROUP BY c.round_id, c.domain_code
), all_levels AS (
    SELECT round_id, 'item' AS level, item_code AS code, domain_code,
           construct_code, position, n, n_missing, n_barrier, n_neutral, n_facilitator, mean
    FROM items
    UNION ALL
    SELECT round_id, 'construct', construct_code, domain_code, construct_code, position,
           n, n_missing, n_barrier, n_neutral, n_facilitator, mean
    FROM constructs
    UNION ALL
    SELECT round_id, 'domain', domain_code, domain_code, '', position,
           n, n_missing, n_barrier, n_neutral, n_facilitator, mean
    FROM domains
)
SELECT %(school_id)s, round_id, level, code, domain_code, construct_code, position,
       n, n_missing, n_barrier, n_neutral, n_facilitator,
       {_guarded("mean", 2)}, round(mean, 20), now()
FROM all_levels
"""

TIME_USE_SQL = """
INSERT INTO dashboards_timeuseaggregate
    (school_id, month, module_id, module_number, mode, minutes, activities, computed_at)
SELECT %(school_id)s,
       make_date(EXTRACT(YEAR FROM a.performed_on)::int,
                 EXTRACT(MONTH FROM a.performed_on)::int, 1) AS month,
       a.module_id, m.number, a.mode, SUM(a.minutes), COUNT(*), now()
FROM implementation_activity a
LEFT JOIN catalog_module m ON m.id = a.module_id
WHERE a.school_id = %(school_id)s
GROUP BY month, a.module_id, m.number, a.mode
"""

_SYSTEMATIC = ", ".join(f"'{mode}'" for mode in sorted(SYSTEMATIC_MODES))

TIME_USE_PLAN_SQL = f"""
INSERT INTO dashboards_timeuseplanaggregate
    (school_id, kind, module_id, module_number, minutes, total_minutes, share_percent,
     intended_percent, plan_id, period_from, period_to, computed_at)
WITH plan AS (
    SELECT id, starts_on, ends_on, intended_systematic_percent
    FROM implementation_implementationplan
    WHERE school_id = %(school_id)s
    ORDER BY starts_on DESC, id DESC
    LIMIT 1
), acts AS (
    SELECT a.module_id, a.mode, a.minutes
    FROM implementation_activity a
    LEFT JOIN plan p ON true
    WHERE a.school_id = %(school_id)s
      AND (p.id IS NULL OR (a.performed_on >= p.starts_on
                            AND (p.ends_on IS NULL OR a.performed_on <= p.ends_on)))
), totals AS (
    SELECT COALESCE(SUM(minutes), 0) AS total,
           COALESCE(SUM(minutes) FILTER (WHERE mode IN ({_SYSTEMATIC})), 0) AS systematic
    FROM acts
), per_module AS (
    SELECT module_id, SUM(minutes) AS minutes FROM acts GROUP BY module_id
), priorities AS (
    SELECT pr.module_id, pr.intended_percent
    FROM implementation_planmodulepriority pr JOIN plan p ON p.id = pr.plan_id
), modules AS (
    SELECT module_id FROM per_module UNION SELECT module_id FROM priorities
)
SELECT %(school_id)s, 'module', mo.module_id, m.number, COALESCE(pm.minutes, 0), t.total,
       CASE WHEN t.total > 0 THEN round(COALESCE(pm.minutes, 0) * 100::numeric / t.total, 1)
       END,
       pr.intended_percent, p.id, p.starts_on, p.ends_on, now()
FROM modules mo
CROSS JOIN totals t
LEFT JOIN plan p ON true
LEFT JOIN per_module pm ON pm.module_id = mo.module_id
LEFT JOIN priorities pr ON pr.module_id = mo.module_id
LEFT JOIN catalog_module m ON m.id = mo.module_id
UNION ALL
SELECT %(school_id)s, 'systematic', NULL, NULL, t.systematic, t.total,
       CASE WHEN t.total > 0 THEN round(t.systematic * 100::numeric / t.total, 1) END,
       p.intended_systematic_percent, p.id, p.starts_on, p.ends_on, now()
FROM totals t
LEFT JOIN plan p ON true
WHERE t.total > 0 OR p.intended_systematic_percent IS NOT NULL
"""

RESPONSE_RATE_SQL = """
INSERT INTO dashboards_responserateaggregate
    (round_id, school_id, instrument, respondent, responses, staff_responses, link_responses,
     links_issued, links_used, rate_percent, computed_at)
WITH round_instruments AS (
    SELECT rs.assessmentround_id AS round_id, i.id AS instrument_id, i.code, i.respondent
    FROM implementation_assessmentround_schools rs
    JOIN implementation_roundinstrument ri ON ri.round_id = rs.assessmentround_id
    JOIN catalog_instrument i ON i.id = ri.instrument_id
    WHERE rs.school_id = %(school_id)s
), responses AS (
    SELECT round_id, instrument_id, COUNT(*) AS responses,
           COUNT(*) FILTER (WHERE respondent_kind = 'staff') AS staff,
           COUNT(*) FILTER (WHERE respondent_kind = 'link') AS link
    FROM implementation_response
    WHERE school_id = %(school_id)s
    GROUP BY round_id, instrument_id
), links AS (
    SELECT round_id, COUNT(*) AS issued, COUNT(used_at) AS used
    FROM implementation_surveylink
    WHERE school_id = %(school_id)s
    GROUP BY round_id
)
SELECT ri.round_id, %(school_id)s, ri.code, ri.respondent,
       COALESCE(r.responses, 0), COALESCE(r.staff, 0), COALESCE(r.link, 0),
       CASE WHEN ri.respondent = 'individual' THEN COALESCE(l.issued, 0) ELSE 0 END,
       CASE WHEN ri.respondent = 'individual' THEN COALESCE(l.used, 0) ELSE 0 END,
       CASE WHEN ri.respondent = 'individual' AND l.issued > 0
            THEN round(COALESCE(r.link, 0) * 100::numeric / l.issued, 1) END,
       now()
FROM round_instruments ri
LEFT JOIN responses r ON r.round_id = ri.round_id AND r.instrument_id = ri.instrument_id
LEFT JOIN links l ON l.round_id = ri.round_id
"""

SCHOOL_STATUS_SQL = """
INSERT INTO dashboards_aggregatestatus (school_id, computed_at, as_of, duration_ms)
SELECT id, now(), %(as_of)s::date, %(duration_ms)s FROM implementation_school
WHERE id = %(school_id)s
"""

# (table, INSERT … SELECT) in the order they are rebuilt; each table's rows of the school
# are deleted first.
SCHOOL_TABLES: tuple[tuple[str, str], ...] = (
    ("dashboards_fidelityaggregate", FIDELITY_SQL),
    ("dashboards_stageaggregate", STAGE_SQL),
    ("dashboards_outcomeaggregate", OUTCOME_SQL),
    ("dashboards_cfiraggregate", CFIR_SQL),
    ("dashboards_timeuseaggregate", TIME_USE_SQL),
    ("dashboards_timeuseplanaggregate", TIME_USE_PLAN_SQL),
    ("dashboards_responserateaggregate", RESPONSE_RATE_SQL),
)

# --- Municipality-wide spread --------------------------------------------------------------

SPREAD_SQL = f"""
INSERT INTO dashboards_municipalityspread
    (metric, round_id, module_id, module_number, key, places, n_schools, minimum, median,
     maximum, mean, sd, n_meets_threshold, computed_at)
WITH school_values (metric, round_id, module_id, module_number, key, places, value, meets)
AS (
    SELECT 'fidelity', round_id, module_id, module_number, '', 1,
           {_exact_ratio("points * 100", "max_points")}, meets_threshold
    FROM dashboards_fidelityaggregate WHERE measured
    UNION ALL
    SELECT 'outcome', round_id, NULL::bigint, NULL::integer, instrument, places, mean_exact,
           NULL::boolean
    FROM dashboards_outcomeaggregate WHERE n > 0
    UNION ALL
    SELECT 'cfir_domain', round_id, NULL, NULL, code, 2, mean_exact, NULL
    FROM dashboards_cfiraggregate WHERE level = 'domain' AND mean_exact IS NOT NULL
    UNION ALL
    SELECT 'stage_reached', NULL, module_id, module_number, '', 1, stage_order::numeric, NULL
    FROM dashboards_stageaggregate WHERE is_furthest
    UNION ALL
    SELECT 'steps_share', NULL, module_id, module_number, '', 2,
           {_exact_ratio("SUM(steps_done)", "SUM(steps_total)")}, NULL
    FROM dashboards_stageaggregate
    GROUP BY school_id, module_id, module_number
    HAVING SUM(steps_total) > 0
    UNION ALL
    SELECT CASE kind WHEN 'module' THEN 'time_share' ELSE 'systematic_share' END,
           NULL, module_id, module_number, '', 1,
           {_exact_ratio("minutes * 100", "total_minutes")}, NULL
    FROM dashboards_timeuseplanaggregate WHERE total_minutes > 0
), grouped AS (
    SELECT metric, round_id, module_id, MIN(module_number) AS module_number, key, places,
           COUNT(*) AS n, MIN(value) AS minimum, MAX(value) AS maximum, AVG(value) AS mean,
           stddev_samp(value) AS sd, array_agg(value ORDER BY value) AS sorted,
           COUNT(*) FILTER (WHERE meets) AS n_meets
    FROM school_values
    GROUP BY metric, round_id, module_id, key, places
)
SELECT metric, round_id, module_id, module_number, key, places, n,
       {_guarded("minimum", "places")},
       {_guarded("(sorted[((n + 1) / 2)::int] + sorted[((n + 2) / 2)::int]) / 2", "places")},
       {_guarded("maximum", "places")},
       {_guarded("mean", "places")},
       {_guarded("sd", "places")},
       CASE WHEN metric = 'fidelity' THEN n_meets END,
       now()
FROM grouped
"""

MUNICIPALITY_STATUS_SQL = """
INSERT INTO dashboards_aggregatestatus (school_id, computed_at, as_of, duration_ms)
VALUES (NULL, now(), %(as_of)s::date, %(duration_ms)s)
"""

# --- Dirty markers -------------------------------------------------------------------------

PENDING_MARK_SQL = """
INSERT INTO dashboards_pendingrecompute (school_id, requested_at, attempts, last_error)
VALUES (%s, clock_timestamp(), 0, '')
ON CONFLICT (school_id) DO UPDATE SET requested_at = clock_timestamp(), attempts = 0
"""

PENDING_CLAIM_SQL = """
UPDATE dashboards_pendingrecompute
SET attempts = attempts + 1, last_attempt_at = clock_timestamp()
WHERE school_id = %s
RETURNING requested_at
"""

# Markers due for the sweep: older than the grace period, and not retried too recently —
# a school whose recomputation keeps failing is retried after 2, 4, 8 … s, at most hourly.
PENDING_DUE_WHERE = """
requested_at <= clock_timestamp() - make_interval(secs => %s)
AND (last_attempt_at IS NULL
     OR last_attempt_at <= clock_timestamp()
                           - make_interval(secs => LEAST(power(2, attempts), 3600)))
"""

PENDING_CLEAR_SQL = """
DELETE FROM dashboards_pendingrecompute WHERE school_id = %s AND requested_at = %s
"""

PENDING_FAILED_SQL = """
UPDATE dashboards_pendingrecompute SET last_error = %s WHERE school_id = %s
"""


@dataclass(frozen=True)
class SchoolRecompute:
    """What one recomputation did: rows written per table, and whether it cleared the
    school's dirty marker (False when there was none, or a newer write arrived)."""

    school_id: int
    rows: dict[str, int]
    marker_cleared: bool = False
    municipality_rows: int | None = None
    duration_ms: int = 0


def _lock(cursor: Any, name: str) -> None:
    """A transaction-scoped advisory lock on (schema, name): recomputations of the same
    school (or of the same municipality's spread) never run concurrently."""
    cursor.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || %s, 0))",
        [name],
    )


def _derived_data_commit(cursor: Any) -> None:
    """Commit this transaction without waiting for its WAL flush.

    Aggregates are derived data, rebuilt idempotently from the records, and a school's
    dirty marker is cleared in the same transaction as its rows: if the server crashes
    before the flush, the transaction is lost whole — rows *and* cleared marker — and the
    sweep recomputes the school again. Nothing is ever half-applied (PostgreSQL's
    ``synchronous_commit = off`` risks losing the latest commits, never consistency), and a
    full recomputation of ~2,800 schools no longer waits for ~2,800 disk flushes
    (docs/benchmarks.md, "Full national recompute")."""
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _today() -> date:
    return timezone.localdate()


def recompute_school(school_id: int, *, as_of: date | None = None) -> dict[str, int]:
    """Rebuild every aggregate of one school in the current schema; returns rows per table.

    A school that no longer exists ends up with no rows (its marker is how its aggregates
    get removed)."""
    as_of = as_of or _today()
    params: dict[str, Any] = {"school_id": school_id, "as_of": as_of, "k": min_group_size()}
    started = time.perf_counter()
    rows: dict[str, int] = {}
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        _lock(cursor, f"school:{school_id}")
        _derived_data_commit(cursor)
        for table, insert_sql in SCHOOL_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE school_id = %s", [school_id])
            cursor.execute(insert_sql, params)
            rows[table.removeprefix("dashboards_")] = cursor.rowcount
        cursor.execute("DELETE FROM dashboards_aggregatestatus WHERE school_id = %s", [school_id])
        duration_ms = round((time.perf_counter() - started) * 1000)
        cursor.execute(SCHOOL_STATUS_SQL, {**params, "duration_ms": duration_ms})
    return rows


def recompute_municipality(*, as_of: date | None = None) -> int:
    """Rebuild the spread across the current municipality's schools; returns its rows."""
    as_of = as_of or _today()
    started = time.perf_counter()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        _lock(cursor, "municipality")
        _derived_data_commit(cursor)
        cursor.execute("DELETE FROM dashboards_municipalityspread")
        cursor.execute(SPREAD_SQL)
        count = cursor.rowcount
        cursor.execute("DELETE FROM dashboards_aggregatestatus WHERE school_id IS NULL")
        duration_ms = round((time.perf_counter() - started) * 1000)
        cursor.execute(MUNICIPALITY_STATUS_SQL, {"as_of": as_of, "duration_ms": duration_ms})
    return count


def pending_mark(school_id: int) -> None:
    """Mark the school's aggregates stale (in the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(PENDING_MARK_SQL, [school_id])


def _pending_claim(school_id: int) -> datetime | None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PENDING_CLAIM_SQL, [school_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


def pending_record_failure(school_id: int, error: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PENDING_FAILED_SQL, [error[:2000], school_id])


def pending_school_ids() -> list[int]:
    """Schools of the current schema whose aggregates are stale ("updating…")."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT school_id FROM dashboards_pendingrecompute ORDER BY requested_at")
        return [row[0] for row in cursor.fetchall()]


def pending_due_sql(table: str = "dashboards_pendingrecompute") -> str:
    """The sweep's query (one parameter: the grace period in seconds)."""
    return f"SELECT school_id FROM {table} WHERE {PENDING_DUE_WHERE} ORDER BY requested_at"


def recompute_pending_school(
    school_id: int,
    *,
    with_municipality: bool = True,
    as_of: date | None = None,
    on_success: Callable[[], None] | None = None,
) -> SchoolRecompute:
    """Claim the marker, recompute the school, clear the marker if no newer write came.

    The claim (``attempts + 1``, read ``requested_at``) commits before the recomputation
    starts, so every statement of the recomputation sees at least what was committed when
    the marker was last set. A write that commits during the run has set a new
    ``requested_at``; the clearing ``DELETE … WHERE requested_at = <claimed>`` then leaves
    the marker for the next run (and waits for a writer that holds the marker row).

    ``on_success`` runs inside that transaction, after the rows are written (the full
    recomputation counts the school in its run there: one commit per school, not two)."""
    started = time.perf_counter()
    claimed = _pending_claim(school_id)
    cleared = False
    try:
        with transaction.atomic():
            rows = recompute_school(school_id, as_of=as_of)
            if claimed is not None:
                with connection.cursor() as cursor:
                    cursor.execute(PENDING_CLEAR_SQL, [school_id, claimed])
                    cleared = cursor.rowcount == 1
            if on_success is not None:
                on_success()
    except Exception as exc:
        if claimed is not None and not connection.needs_rollback:
            try:
                pending_record_failure(school_id, f"{type(exc).__name__}: {exc}")
            except Exception:
                logger.warning("Could not record the failure of school %s", school_id)
        raise
    municipality_rows = recompute_municipality(as_of=as_of) if with_municipality else None
    return SchoolRecompute(
        school_id=school_id,
        rows=rows,
        marker_cleared=cleared,
        municipality_rows=municipality_rows,
        duration_ms=round((time.perf_counter() - started) * 1000),
    )


def school_ids() -> list[int]:
    """Every school of the current schema (for the nightly full recomputation)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM implementation_school ORDER BY id")
        return [row[0] for row in cursor.fetchall()]
