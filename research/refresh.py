"""Refresh of the research store from every municipality that shares data.

``refresh_research_store()`` runs in the worker (``research.tasks``, nightly after the full
recomputation) or from ``manage.py research_refresh`` — never on a web request. Under a
session advisory lock (one refresh at a time):

1. Municipalities that share (``Municipality.shares_research_data``) and whose schema
   exists; the others are left out entirely.
2. Staging: temporary tables (``research_stg_*``, the session's own, dropped at the end).
   For every batch of schemas (default 25), in a transaction of its own: one ``SELECT …
   UNION ALL …`` reads the schools and rounds; Python computes the keyed-hash pseudonyms
   (the key never reaches the database), size bands and semesters and writes them with
   one ``INSERT … SELECT FROM unnest(…)`` each. Then one ``INSERT … SELECT`` per fact table
   over a ``UNION ALL`` of the batch's schemas reads the municipalities' aggregate tables
   (``dashboards.models``) — and, for the individual-respondent instruments, the responses
   and answers, to pool respondents exactly (n, Σ score, Σ score²) — and maps schools and
   rounds to pseudonyms by joining the staging tables. Nothing loops over rows in Python.
   A transaction per batch keeps the number of table locks bounded: one transaction over
   357 schemas needs more locks than PostgreSQL's default lock table holds
   (``max_locks_per_transaction``; measured, docs/benchmarks.md).
3. In one final transaction: the outcome cells (one ``GROUP BY GROUPING SETS`` builds every
   group — school, municipality, county × size band, county, size band, all — per
   semester × model version × instrument), disclosure control
   (``research.disclosure.protect`` per semester × version × instrument; Python gets only
   cell keys and n, never scores) and the swap: ``DELETE`` + ``INSERT … SELECT`` from
   staging into every store table. Readers (MVCC) see the previous store until that
   transaction commits and the new one after — never half of each; a failure anywhere
   leaves the old store as it was.

Temporary tables live in the database session, so the worker's connection must be a
session (PgBouncer in session pooling, DESIGN.md §6), as for django-tenants' search_path.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenants.db import use_public_schema
from tenants.models import Municipality

from . import pseudonyms
from .disclosure import GroupCell, group_relations, protect
from .models import (
    OUTCOME_INSTRUMENTS,
    CfirFact,
    FidelityFact,
    OutcomeCell,
    ResearchMunicipality,
    ResearchRefresh,
    ResearchRound,
    ResearchSchool,
    StageFact,
    TimeUseFact,
)
from .pseudonyms import Semester, semester_code_sql, semester_index_sql
from .selectors import min_group_size

logger = logging.getLogger(__name__)

BATCH_SCHEMAS = 25
LOCK_NAME = "research.refresh"


@dataclass(frozen=True)
class RefreshResult:
    refresh_id: int
    municipalities: int
    excluded: int
    schools: int
    rows: dict[str, int]
    duration_ms: int
    phases_ms: dict[str, int]


@dataclass(frozen=True)
class _Source:
    schema: str
    kommunenummer: str
    county: str


def _quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _columns(model: Any) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if f.column != "id"]


# Store table → (staging table, columns). Staging tables have the store's column types.
STORE_TABLES: dict[str, tuple[Any, str]] = {
    "municipalities": (ResearchMunicipality, "research_stg_municipality"),
    "schools": (ResearchSchool, "research_stg_school_out"),
    "rounds": (ResearchRound, "research_stg_round_out"),
    "fidelity": (FidelityFact, "research_stg_fidelity"),
    "stages": (StageFact, "research_stg_stage"),
    "determinants": (CfirFact, "research_stg_cfir"),
    "time_use": (TimeUseFact, "research_stg_time_use"),
}

STAGING_DDL = [
    """CREATE TEMP TABLE research_stg_school (
        schema_name text, school_id bigint, school text, municipality text, county text,
        size_band text, PRIMARY KEY (schema_name, school_id))""",
    """CREATE TEMP TABLE research_stg_round (
        schema_name text, round_id bigint, round text, municipality text, semester text,
        semester_index integer, model_version text, closed boolean,
        PRIMARY KEY (schema_name, round_id))""",
    """CREATE TEMP TABLE research_stg_outcome_school (
        school text, municipality text, county text, size_band text, semester text,
        semester_index integer, model_version text, instrument text, n integer, s numeric,
        q numeric)""",
    """CREATE TEMP TABLE research_stg_outcome_cell (
        cell_id serial PRIMARY KEY, level text, semester text, semester_index integer,
        model_version text, instrument text, county text, size_band text, municipality text,
        school text, n integer, s numeric, q numeric, suppressed boolean NOT NULL DEFAULT false)
        """,
    *(
        f"CREATE TEMP TABLE {staging} AS "
        f"SELECT {', '.join(_columns(model))} FROM {model._meta.db_table} WITH NO DATA"
        for model, staging in STORE_TABLES.values()
    ),
]
STAGING_TABLES = [
    "research_stg_school",
    "research_stg_round",
    "research_stg_outcome_school",
    "research_stg_outcome_cell",
    *(staging for _model, staging in STORE_TABLES.values()),
]


def _batches(items: Sequence[_Source], size: int) -> Iterator[Sequence[_Source]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _union(batch: Sequence[_Source], select: str, **values: str) -> tuple[str, list[Any]]:
    """``select`` (with ``{schema}`` for the quoted schema and one ``%s`` for its name as
    text; other ``{names}`` from ``values``) once per schema of the batch, joined by
    UNION ALL."""
    sql = "\nUNION ALL\n".join(select.format(schema=_quote(s.schema), **values) for s in batch)
    return sql, [s.schema for s in batch]


# --- 1. Sources ----------------------------------------------------------------------------


def _sources(cursor: Any) -> tuple[list[_Source], int]:
    rows = list(
        Municipality.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", "kommunenummer", "county", "shares_research_data")
    )
    cursor.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [[r[0] for r in rows]]
    )
    existing = {row[0] for row in cursor.fetchall()}
    sources = [_Source(s, k, c) for s, k, c, shares in rows if shares and s in existing]
    missing = [s for s, _k, _c, shares in rows if shares and s not in existing]
    if missing:
        logger.warning("Research refresh: schemas missing, left out: %s", ", ".join(missing))
    return sources, len(rows) - len(sources)


# --- 2. Staging ----------------------------------------------------------------------------

SCHOOLS_SELECT = (
    "SELECT %s::text, s.id, COALESCE(s.pupil_count, 0) FROM {schema}.implementation_school s"
)
ROUNDS_SELECT = (
    "SELECT %s::text, r.id, r.opens_on, v.code, "
    "(r.closed_at IS NOT NULL OR r.closes_on < {today}) "
    "FROM {schema}.implementation_assessmentround r "
    "JOIN catalog_modelversion v ON v.id = r.model_version_id"
)


def _load_identities(
    cursor: Any, batch: Sequence[_Source], *, today: date, key: bytes | None
) -> tuple[int, int]:
    """Schools, municipalities and rounds of the batch, with pseudonyms; returns the
    numbers of schools and rounds."""
    by_schema = {s.schema: s for s in batch}
    sql, params = _union(batch, SCHOOLS_SELECT)
    cursor.execute(sql, params)
    schools = cursor.fetchall()
    pupils: dict[str, int] = defaultdict(int)
    for schema, _id, count in schools:
        pupils[schema] += int(count)
    municipality = {
        s.schema: pseudonyms.municipality_pseudonym(s.kommunenummer, key=key) for s in batch
    }
    band = {s.schema: pseudonyms.size_band(pupils[s.schema]) for s in batch}
    cursor.execute(
        "INSERT INTO research_stg_municipality (pseudonym, county, size_band) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])",
        [
            [municipality[s.schema] for s in batch],
            [s.county for s in batch],
            [band[s.schema] for s in batch],
        ],
    )
    cursor.execute(
        "INSERT INTO research_stg_school "
        "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], "
        "%s::text[])",
        [
            [schema for schema, _id, _n in schools],
            [school_id for _schema, school_id, _n in schools],
            [
                pseudonyms.school_pseudonym(by_schema[schema].kommunenummer, school_id, key=key)
                for schema, school_id, _n in schools
            ],
            [municipality[schema] for schema, _id, _n in schools],
            [by_schema[schema].county for schema, _id, _n in schools],
            [band[schema] for schema, _id, _n in schools],
        ],
    )
    # A date object's ISO form is safe to inline (digits and hyphens only).
    sql, params = _union(batch, ROUNDS_SELECT, today=f"'{today.isoformat()}'::date")
    cursor.execute(sql, params)
    rounds = cursor.fetchall()
    semesters = [Semester.of(opens_on) for _s, _id, opens_on, _v, _c in rounds]
    cursor.execute(
        "INSERT INTO research_stg_round "
        "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], "
        "%s::integer[], %s::text[], %s::boolean[])",
        [
            [schema for schema, *_rest in rounds],
            [round_id for _s, round_id, *_rest in rounds],
            [
                pseudonyms.round_pseudonym(by_schema[schema].kommunenummer, round_id, key=key)
                for schema, round_id, *_rest in rounds
            ],
            [municipality[schema] for schema, *_rest in rounds],
            [semester.code for semester in semesters],
            [semester.index for semester in semesters],
            [version for _s, _id, _o, version, _c in rounds],
            [bool(closed) for *_rest, closed in rounds],
        ],
    )
    return len(schools), len(rounds)


SCHOOL_COLUMNS = "sc.school, sc.municipality, sc.county, sc.size_band"
JOIN_SCHOOL = (
    "JOIN research_stg_school sc ON sc.schema_name = x.schema_name AND sc.school_id = x.school_id"
)
JOIN_ROUND = (
    "JOIN research_stg_round rd ON rd.schema_name = x.schema_name AND rd.round_id = x.round_id"
)


def _fidelity_sql(union: str) -> str:
    return f"""
INSERT INTO research_stg_fidelity ({", ".join(_columns(FidelityFact))})
SELECT {SCHOOL_COLUMNS}, rd.round, rd.semester, rd.semester_index, rd.model_version,
       x.module_number, x.points, x.max_points, x.rated_count, x.unrated_count, x.percent,
       x.threshold_percent, x.meets_threshold
FROM ({union}) x
{JOIN_SCHOOL}
{JOIN_ROUND}
WHERE x.module_id IS NULL OR x.module_number IS NOT NULL
"""


FIDELITY_SELECT = (
    "SELECT %s::text AS schema_name, school_id, round_id, module_id, module_number, points, "
    "max_points, rated_count, unrated_count, percent, threshold_percent, meets_threshold "
    "FROM {schema}.dashboards_fidelityaggregate"
)


def _stage_sql(union: str) -> str:
    return f"""
INSERT INTO research_stg_stage ({", ".join(_columns(StageFact))})
SELECT {SCHOOL_COLUMNS}, v.code, m.number, x.stage, x.stage_order,
       CASE WHEN x.entered_on IS NULL THEN '' ELSE {semester_code_sql("x.entered_on")} END,
       CASE WHEN x.exited_on IS NULL THEN '' ELSE {semester_code_sql("x.exited_on")} END,
       x.ongoing, x.days, x.steps_total, x.steps_done, x.steps_cancelled, x.steps_share,
       x.is_furthest
FROM ({union}) x
{JOIN_SCHOOL}
JOIN catalog_module m ON m.id = x.module_id
JOIN catalog_modelversion v ON v.id = m.version_id
"""


STAGE_SELECT = (
    "SELECT %s::text AS schema_name, school_id, module_id, stage, stage_order, entered_on, "
    "exited_on, ongoing, days, steps_total, steps_done, steps_cancelled, steps_share, "
    "is_furthest FROM {schema}.dashboards_stageaggregate"
)


def _cfir_sql(union: str) -> str:
    return f"""
INSERT INTO research_stg_cfir ({", ".join(_columns(CfirFact))})
SELECT {SCHOOL_COLUMNS}, rd.round, rd.semester, rd.semester_index, rd.model_version,
       x.level, x.code, x.domain_code, x.position, x.n, x.n_missing, x.mean
FROM ({union}) x
{JOIN_SCHOOL}
{JOIN_ROUND}
"""


CFIR_SELECT = (
    "SELECT %s::text AS schema_name, school_id, round_id, level, code, domain_code, position, "
    "n, n_missing, mean FROM {schema}.dashboards_cfiraggregate "
    "WHERE level IN ('construct', 'domain')"
)


def _time_use_sql(union: str) -> str:
    return f"""
INSERT INTO research_stg_time_use ({", ".join(_columns(TimeUseFact))})
SELECT school, municipality, county, size_band, semester, semester_index, model_version,
       module_number, mode,
       round(minutes * 100::numeric / SUM(minutes) OVER (PARTITION BY school, semester), 1)
FROM (
    SELECT {SCHOOL_COLUMNS}, {semester_code_sql("x.month")} AS semester,
           {semester_index_sql("x.month")} AS semester_index, v.code AS model_version,
           m.number AS module_number, x.mode, SUM(x.minutes) AS minutes
    FROM ({union}) x
    {JOIN_SCHOOL}
    JOIN catalog_module m ON m.id = x.module_id
    JOIN catalog_modelversion v ON v.id = m.version_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
) g
WHERE minutes > 0
"""


TIME_USE_SELECT = (
    "SELECT %s::text AS schema_name, school_id, month, module_id, mode, minutes "
    "FROM {schema}.dashboards_timeuseaggregate"
)

_OUTCOME_CODES = ", ".join(f"'{code}'" for code in OUTCOME_INSTRUMENTS)


def _outcome_sql(union: str) -> str:
    """Per school × semester × model version × instrument: complete respondents of closed
    rounds, Σ score and Σ score², scored as ``dashboards.aggregation`` scores them."""
    return f"""
INSERT INTO research_stg_outcome_school
    (school, municipality, county, size_band, semester, semester_index, model_version,
     instrument, n, s, q)
WITH instruments AS (
    SELECT i.id, i.code, COUNT(it.id) AS n_items
    FROM catalog_instrument i
    JOIN catalog_instrumentitem it ON it.instrument_id = i.id
    WHERE i.code IN ({_OUTCOME_CODES})
    GROUP BY i.id, i.code
), respondents AS ({union}
), scored AS (
    SELECT schema_name, school_id, round_id, code,
           CASE WHEN code = 'sus' THEN sus_total * 2.5
                ELSE total::numeric / n_items END AS score
    FROM respondents
    WHERE answered = n_items
)
SELECT {SCHOOL_COLUMNS}, rd.semester, rd.semester_index, rd.model_version, x.code,
       COUNT(*), SUM(x.score), SUM(x.score * x.score)
FROM scored x
{JOIN_SCHOOL}
JOIN research_stg_round rd
     ON rd.schema_name = x.schema_name AND rd.round_id = x.round_id AND rd.closed
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


OUTCOME_SELECT = """
    SELECT %s::text AS schema_name, r.school_id, r.round_id, r.id, ins.code, ins.n_items,
           COUNT(a.value) AS answered, SUM(a.value) AS total,
           SUM(CASE WHEN mod(it.number, 2) = 1 THEN a.value - 1 ELSE 5 - a.value END)
               AS sus_total
    FROM {schema}.implementation_response r
    JOIN instruments ins ON ins.id = r.instrument_id
    LEFT JOIN {schema}.implementation_answer a ON a.response_id = r.id AND a.item_id IS NOT NULL
    LEFT JOIN catalog_instrumentitem it ON it.id = a.item_id
    GROUP BY r.school_id, r.round_id, r.id, ins.code, ins.n_items"""

FACT_LOADS = (
    (FIDELITY_SELECT, _fidelity_sql),
    (STAGE_SELECT, _stage_sql),
    (CFIR_SELECT, _cfir_sql),
    (TIME_USE_SELECT, _time_use_sql),
    (OUTCOME_SELECT, _outcome_sql),
)


# --- 3. Outcome cells and disclosure control ----------------------------------------------

OUTCOME_CELLS_SQL = """
INSERT INTO research_stg_outcome_cell
    (level, semester, semester_index, model_version, instrument, county, size_band,
     municipality, school, n, s, q)
SELECT CASE GROUPING(county, size_band, municipality, school)
            WHEN 15 THEN 'overall' WHEN 7 THEN 'county' WHEN 11 THEN 'size_band'
            WHEN 3 THEN 'county_band' WHEN 1 THEN 'municipality' ELSE 'school' END,
       semester, semester_index, model_version, instrument,
       COALESCE(county, ''), COALESCE(size_band, ''), COALESCE(municipality, ''),
       COALESCE(school, ''), SUM(n), SUM(s), SUM(q)
FROM research_stg_outcome_school
WHERE n > 0
GROUP BY semester, semester_index, model_version, instrument,
    GROUPING SETS ((), (county), (size_band), (county, size_band),
                   (county, size_band, municipality), (county, size_band, municipality, school))
"""


def _protect_outcomes(cursor: Any, k: int) -> int:
    """Run disclosure control per semester × model version × instrument; returns the
    number of suppressed cells."""
    cursor.execute(
        "SELECT DISTINCT semester, model_version, instrument FROM research_stg_outcome_cell "
        "ORDER BY 1, 2, 3"
    )
    problems = cursor.fetchall()
    suppressed: list[int] = []
    for semester, version, instrument in problems:
        cursor.execute(
            "SELECT cell_id, level, county, size_band, municipality, school, n "
            "FROM research_stg_outcome_cell "
            "WHERE semester = %s AND model_version = %s AND instrument = %s",
            [semester, version, instrument],
        )
        ids: dict[GroupCell, int] = {}
        counts: dict[GroupCell, int] = {}
        for cell_id, level, county, band, municipality, school, n in cursor.fetchall():
            cell = GroupCell(level, county, band, municipality, school)
            ids[cell] = cell_id
            counts[cell] = int(n)
        protection = protect(counts, group_relations(counts), k)
        suppressed.extend(ids[cell] for cell in protection.suppressed)
    if suppressed:
        cursor.execute(
            "UPDATE research_stg_outcome_cell SET suppressed = true WHERE cell_id = ANY(%s)",
            [suppressed],
        )
    return len(suppressed)


def _guarded_round(expression: str, places: str) -> str:
    # As dashboards.aggregation: round to 12 places first, so an exact tie stays a tie.
    return f"round(round({expression}, 12), {places})"


_PLACES_SQL = "CASE WHEN instrument = 'sus' THEN 1 ELSE 2 END"
OUTCOME_SWAP_SQL = f"""
INSERT INTO research_outcomecell
    (level, semester, semester_index, model_version, instrument, county, size_band,
     municipality, school, n, mean, sd, suppressed)
SELECT level, semester, semester_index, model_version, instrument, county, size_band,
       municipality, school,
       CASE WHEN suppressed THEN NULL ELSE n END,
       CASE WHEN suppressed THEN NULL ELSE {_guarded_round("s / n", _PLACES_SQL)} END,
       CASE WHEN suppressed OR n < 2 THEN NULL
            ELSE {_guarded_round("sqrt(greatest((q - s * s / n) / (n - 1), 0))", _PLACES_SQL)}
       END,
       suppressed
FROM research_stg_outcome_cell
"""


# --- 4. Swap -------------------------------------------------------------------------------


def _swap(cursor: Any) -> dict[str, int]:
    rows: dict[str, int] = {}
    for name, (model, staging) in STORE_TABLES.items():
        table = model._meta.db_table
        columns = ", ".join(_columns(model))
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging}")
        rows[name] = cursor.rowcount
    cursor.execute(f"DELETE FROM {OutcomeCell._meta.db_table}")
    cursor.execute(OUTCOME_SWAP_SQL)
    rows["outcomes"] = cursor.rowcount
    return rows


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _staging_drop(cursor: Any) -> None:
    for table in STAGING_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")


def _load_batch(batch: Sequence[_Source], *, today: date, key: bytes | None) -> int:
    """One batch of schemas into staging, in its own transaction (so the locks on the
    batch's tables are released at its end); returns the batch's schools."""
    with transaction.atomic(), connection.cursor() as cursor:
        schools, _rounds = _load_identities(cursor, batch, today=today, key=key)
        for select, build in FACT_LOADS:
            union, params = _union(batch, select)
            cursor.execute(build(union), params)
    return schools


def refresh_research_store(
    *,
    batch_size: int = BATCH_SCHEMAS,
    today: date | None = None,
    key: bytes | None = None,
    analyze: bool = True,
) -> RefreshResult:
    """Rebuild the research store from every sharing municipality (module docstring)."""
    use_public_schema()
    started_at = timezone.now()
    started = time.perf_counter()
    today = today or timezone.localdate()
    k = min_group_size()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [LOCK_NAME])
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _staging_drop(cursor)
            for ddl in STAGING_DDL:
                cursor.execute(ddl)
            sources, excluded = _sources(cursor)
        schools = sum(
            _load_batch(batch, today=today, key=key) for batch in _batches(sources, batch_size)
        )
        phases = {"staging": _ms(started)}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO research_stg_school_out (pseudonym, municipality, county, "
                "size_band) SELECT school, municipality, county, size_band "
                "FROM research_stg_school"
            )
            cursor.execute(
                "INSERT INTO research_stg_round_out "
                "(pseudonym, municipality, semester, semester_index, model_version, closed) "
                "SELECT round, municipality, semester, semester_index, model_version, closed "
                "FROM research_stg_round"
            )
            cursor.execute(OUTCOME_CELLS_SQL)
            cursor.execute(
                "CREATE INDEX ON research_stg_outcome_cell (semester, model_version, instrument)"
            )
            suppressed = _protect_outcomes(cursor, k)
            phases["disclosure"] = _ms(started) - sum(phases.values())
            rows = _swap(cursor)
            rows["outcomes_suppressed"] = suppressed
            if analyze:
                for model, _staging in STORE_TABLES.values():
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
                cursor.execute(f"ANALYZE {OutcomeCell._meta.db_table}")
            duration_ms = _ms(started)
            phases["swap"] = duration_ms - sum(phases.values())
            refresh = ResearchRefresh.objects.create(
                started_at=started_at,
                finished_at=timezone.now(),
                duration_ms=duration_ms,
                municipalities=len(sources),
                schools=schools,
                excluded_municipalities=excluded,
                rows=rows,
                min_group_size=k,
                key_fingerprint=pseudonyms.key_fingerprint(key=key),
            )
    finally:
        if connection.is_usable():
            with connection.cursor() as cursor:
                if not connection.needs_rollback:
                    _staging_drop(cursor)
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [LOCK_NAME])
    logger.info(
        "Research store refreshed: %s municipalities (%s left out), %s schools, %s, %s ms",
        len(sources),
        excluded,
        schools,
        rows,
        duration_ms,
    )
    return RefreshResult(refresh.pk, len(sources), excluded, schools, rows, duration_ms, phases)
