"""Publication of the research store from every municipality that shares data.

``refresh_research_store()`` runs in the worker (``research.tasks``: nightly, but it
publishes only when a new semester is due, see below) or from ``manage.py research_refresh``
— never on a web request.

What is published, and when (docs/research.md, "Publication" and "Released groups")
-----------------------------------------------------------------------------------
* **One semester at a time.** A semester is published ``RESEARCH_RELEASE_DELAY_DAYS``
  (default 30) days after it ended; the store then holds everything up to and including
  that semester (``through``) and nothing later: rounds opened after it, stage changes,
  time logged after it. Between two publications the store does not change, so the day a
  number changed never dates the record behind it (a researcher who looks every night
  learns nothing finer than the semester). A municipality that stops sharing is removed at
  once (``withdraw_municipality``: only deletions); one that starts again comes in with
  the next publication.
* **Survey results** (AIM, IAM, FIM, SUS) are sums of the municipalities' *released groups*
  (``implementation.SurveyRelease``: at least k complete answers of a closed round, formed
  once and never changed) — nothing else of the answers is read. Every cell therefore
  holds at least k respondents, and the difference of any two cells, within a publication
  or across publications, across levels or against what a coordinator sees on the
  dashboards, is a sum of whole groups: never one person.
* **Time use** is published the same way from *time-use groups* (``TimeUseGroup``): a
  school's logged time in a semester when at least ``RESEARCH_MIN_STAFF_GROUP`` staff
  logged it, or the municipality's other schools together when they reach that many staff
  even without their largest school. Groups are formed once, at the first publication of
  their semester, and never changed.
* **Team-level facts** (fidelity and CFIR ratings of the published rounds, implementation
  stages as of the end of the published semester) are shown per pseudonymous school; they
  are brought up to date at each publication.

How (under a session advisory lock: one refresh at a time)
----------------------------------------------------------
1. Municipalities that share (``Municipality.shares_research_data``) and whose schema
   exists; the others are left out entirely.
2. Staging: temporary tables (``research_stg_*``, the session's own). For every batch of
   schemas (default 25), in a transaction of its own: one ``SELECT … UNION ALL …`` reads the
   schools and rounds; Python computes the keyed-hash pseudonyms (the key never reaches the
   database), size bands and semesters and writes them with ``INSERT … SELECT FROM
   unnest(…)``. Then one ``INSERT … SELECT`` per fact table over a ``UNION ALL`` of the
   batch's schemas reads the municipalities' aggregate tables (``dashboards.models``) and
   released survey groups, and maps schools and rounds to pseudonyms by joining the staging
   tables; new time-use groups are formed from the batch's activities. No loop over rows in
   Python except the time-use group decisions (one row per school and semester). A
   transaction per batch keeps the number of table locks bounded (one transaction over 357
   schemas needs more than PostgreSQL's default lock table; docs/benchmarks.md).
3. In one final transaction: the outcome and time-use cells (``GROUP BY GROUPING SETS``:
   school, municipality, county × size band, county, size band, all) and the swap:
   ``DELETE`` + ``INSERT … SELECT`` from staging into every store table. Readers (MVCC) see
   the previous store until that transaction commits and the new one after; a failure
   anywhere leaves the old store as it was.

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

from implementation.validators import EARLIEST_DATE
from sovei_platform.privacy import min_group_size, min_staff_group, release_delay_days
from tenants.db import use_public_schema
from tenants.models import Municipality

from . import pseudonyms
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
    TimeUseCell,
    TimeUseGroup,
)
from .pseudonyms import Semester, published_semester, semester_code_sql, semester_index_sql

logger = logging.getLogger(__name__)

BATCH_SCHEMAS = 25
LOCK_NAME = "research.refresh"


@dataclass(frozen=True)
class RefreshResult:
    refresh_id: int
    through: str
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
    "outcomes": (OutcomeCell, "research_stg_outcome_cell"),
    "time_use": (TimeUseCell, "research_stg_time_use_cell"),
}

STAGING_DDL = [
    """CREATE TEMP TABLE research_stg_school (
        schema_name text, school_id bigint, school text, municipality text, county text,
        size_band text, PRIMARY KEY (schema_name, school_id))""",
    """CREATE TEMP TABLE research_stg_round (
        schema_name text, round_id bigint, round text, municipality text, semester text,
        semester_index integer, model_version text, closed boolean,
        PRIMARY KEY (schema_name, round_id))""",
    """CREATE TEMP TABLE research_stg_release (
        school text, municipality text, county text, size_band text, semester text,
        semester_index integer, model_version text, instrument text, n integer, s numeric,
        q numeric)""",
    """CREATE TEMP TABLE research_stg_tu_group (
        group_id bigint PRIMARY KEY, school text, municipality text, county text,
        size_band text, semester text, semester_index integer, staff integer)""",
    *(
        f"CREATE TEMP TABLE {staging} AS "
        f"SELECT {', '.join(_columns(model))} FROM {model._meta.db_table} WITH NO DATA"
        for model, staging in STORE_TABLES.values()
    ),
]
STAGING_TABLES = [
    "research_stg_school",
    "research_stg_round",
    "research_stg_release",
    "research_stg_tu_group",
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


def _day(value: date) -> str:
    # A date object's ISO form is safe to inline (digits and hyphens only).
    return f"'{value.isoformat()}'::date"


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
    "JOIN catalog_modelversion v ON v.id = r.model_version_id "
    "WHERE r.opens_on <= {cutoff} "
    # Rounds saved before dates were checked (implementation.validators) may lie in the
    # year 873; such a semester is not data.
    f"AND r.opens_on >= DATE '{EARLIEST_DATE.isoformat()}'"
)


def _load_identities(
    cursor: Any, batch: Sequence[_Source], *, today: date, cutoff: date, key: bytes | None
) -> tuple[int, int]:
    """Schools, municipalities and the published rounds of the batch, with pseudonyms;
    returns the numbers of schools and rounds."""
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
    sql, params = _union(batch, ROUNDS_SELECT, today=_day(today), cutoff=_day(cutoff))
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
       x.module_number, x.points, x.max_points, x.rated_count, x.not_started_count,
       x.unrated_count, x.percent, x.rated_share_percent, x.min_rated_percent, x.measured,
       x.threshold_percent, x.meets_threshold
FROM ({union}) x
{JOIN_SCHOOL}
{JOIN_ROUND}
WHERE x.module_id IS NULL OR x.module_number IS NOT NULL
"""


FIDELITY_SELECT = (
    "SELECT %s::text AS schema_name, school_id, round_id, module_id, module_number, points, "
    "max_points, rated_count, not_started_count, unrated_count, percent, rated_share_percent, "
    "min_rated_percent, measured, threshold_percent, meets_threshold "
    "FROM {schema}.dashboards_fidelityaggregate"
)


def _stage_sql(union: str, cutoff: date) -> str:
    """Stages as of ``cutoff`` (the last day of the published semester): a later entry or
    exit has not happened yet. Time in a stage is counted in semesters; the school's current
    stage is the one entered in the latest semester (ties: the later stage in NIRN's order),
    so not even the order of two events inside one semester is published."""
    entered = f"CASE WHEN x.entered_on <= {_day(cutoff)} THEN x.entered_on END"
    exited = f"CASE WHEN x.exited_on <= {_day(cutoff)} THEN x.exited_on END"
    return f"""
INSERT INTO research_stg_stage ({", ".join(_columns(StageFact))})
WITH asof AS (
    SELECT x.*, {entered} AS entered, {exited} AS exited
    FROM ({union}) x
), staged AS (
    SELECT a.*,
           CASE WHEN a.entered IS NULL THEN NULL ELSE {semester_index_sql("a.entered")} END
               AS entered_index,
           CASE WHEN a.exited IS NULL THEN NULL ELSE {semester_index_sql("a.exited")} END
               AS exited_index
    FROM asof a
)
SELECT {SCHOOL_COLUMNS}, v.code, m.number, x.stage, x.stage_order,
       CASE WHEN x.entered IS NULL THEN '' ELSE {semester_code_sql("x.entered")} END,
       CASE WHEN x.exited IS NULL THEN '' ELSE {semester_code_sql("x.exited")} END,
       x.entered IS NOT NULL AND x.exited IS NULL,
       CASE WHEN x.entered IS NOT NULL
            THEN COALESCE(x.exited_index, {semester_index_sql(_day(cutoff))}) - x.entered_index
       END,
       x.steps_total, x.steps_done, x.steps_cancelled, x.steps_share,
       COALESCE(x.entered IS NOT NULL AND row_number() OVER (
           PARTITION BY x.schema_name, x.school_id, x.module_id
           ORDER BY x.entered_index DESC NULLS LAST, x.stage_order DESC) = 1, false)
FROM staged x
{JOIN_SCHOOL}
JOIN catalog_module m ON m.id = x.module_id
JOIN catalog_modelversion v ON v.id = m.version_id
"""


STAGE_SELECT = (
    "SELECT %s::text AS schema_name, school_id, module_id, stage, stage_order, entered_on, "
    "exited_on, steps_total, steps_done, steps_cancelled, steps_share "
    "FROM {schema}.dashboards_stageaggregate"
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

_OUTCOME_CODES = ", ".join(f"'{code}'" for code in OUTCOME_INSTRUMENTS)


def _release_sql(union: str) -> str:
    """The released survey groups of the published rounds (a pooled group has no school)."""
    return f"""
INSERT INTO research_stg_release
    (school, municipality, county, size_band, semester, semester_index, model_version,
     instrument, n, s, q)
SELECT COALESCE(sc.school, ''), rd.municipality, m.county, m.size_band, rd.semester,
       rd.semester_index, rd.model_version, x.code, x.n, x.total, x.total_squares
FROM ({union}) x
{JOIN_ROUND}
JOIN research_stg_municipality m ON m.pseudonym = rd.municipality
LEFT JOIN research_stg_school sc
       ON sc.schema_name = x.schema_name AND sc.school_id = x.school_id
"""


RELEASE_SELECT = (
    "SELECT %s::text AS schema_name, sr.school_id, sr.round_id, i.code, sr.n, sr.total, "
    "sr.total_squares FROM {schema}.implementation_surveyrelease sr "
    "JOIN catalog_instrument i ON i.id = sr.instrument_id "
    f"WHERE i.code IN ({_OUTCOME_CODES}) AND sr.n >= {{k}}"
)


# --- Time-use groups -----------------------------------------------------------------------

# Per school and semester (up to the cutoff): the distinct staff who logged time.
STAFF_SELECT = (
    "SELECT %s::text AS schema_name, a.school_id, "
    f"{semester_code_sql('a.performed_on')} AS semester, "
    "array_agg(DISTINCT a.staff_id) FROM {schema}.implementation_activity a "
    "WHERE a.performed_on <= {cutoff} GROUP BY 1, 2, 3"
)

# Minutes per new group × model version × module × mode (``research_stg_tu_new`` maps a
# school's semester to its new group).
GROUP_ROWS_SELECT = (
    "SELECT g.group_id, v.code, m.number, a.mode, SUM(a.minutes) "
    "FROM {schema}.implementation_activity a "
    "JOIN research_stg_tu_new g ON g.schema_name = %s::text AND g.school_id = a.school_id "
    f"AND g.semester = {semester_code_sql('a.performed_on')} "
    "JOIN catalog_module m ON m.id = a.module_id "
    "JOIN catalog_modelversion v ON v.id = m.version_id "
    "WHERE a.performed_on <= {cutoff} GROUP BY 1, 2, 3, 4"
)


def _decide_groups(
    schools: dict[int, set[int]], covered: set[int], k: int
) -> list[tuple[int | None, list[int], int]]:
    """(school id or None for the pooled rest, schools, staff) of one municipality's
    semester: schools already in a group are skipped; a school with at least k staff is a
    group of its own; the others are pooled when they have k staff together and still
    would without the school that has the most (its leader sees its log and could subtract
    it)."""
    groups: list[tuple[int | None, list[int], int]] = []
    rest: dict[int, set[int]] = {}
    for school_id in sorted(schools):
        if school_id in covered:
            continue
        staff = schools[school_id]
        if len(staff) >= k:
            groups.append((school_id, [school_id], len(staff)))
        else:
            rest[school_id] = staff
    if rest:
        pooled: set[int] = set().union(*rest.values())
        largest = max(len(staff) for staff in rest.values())
        if len(pooled) >= k and len(pooled) - largest >= k:
            groups.append((None, sorted(rest), len(pooled)))
    return groups


def _form_time_use_groups(
    cursor: Any, batch: Sequence[_Source], *, cutoff: date, k: int
) -> int:
    """Form the time-use groups of the batch's published semesters not formed yet; returns
    how many were formed. Once formed, a group never changes."""
    sql, params = _union(batch, STAFF_SELECT, cutoff=_day(cutoff))
    cursor.execute(sql, params)
    by_source: dict[tuple[str, str], dict[int, set[int]]] = defaultdict(dict)
    for schema, school_id, semester, staff in cursor.fetchall():
        by_source[(schema, semester)][school_id] = set(staff)
    if not by_source:
        return 0
    numbers = {s.schema: s.kommunenummer for s in batch}
    covered: dict[tuple[str, str], set[int]] = defaultdict(set)
    for number, semester, school_ids in TimeUseGroup.objects.filter(
        kommunenummer__in=numbers.values()
    ).values_list("kommunenummer", "semester", "school_ids"):
        covered[(number, semester)].update(school_ids)
    new: list[tuple[str, TimeUseGroup]] = []
    for (schema, semester), schools in sorted(by_source.items()):
        number = numbers[schema]
        for school_id, members, staff in _decide_groups(
            schools, covered[(number, semester)], k
        ):
            group = TimeUseGroup(
                kommunenummer=number,
                semester=semester,
                school_id=school_id,
                school_ids=members,
                staff=staff,
            )
            new.append((schema, group))
    if not new:
        return 0
    created = TimeUseGroup.objects.bulk_create([group for _schema, group in new])
    cursor.execute("DROP TABLE IF EXISTS pg_temp.research_stg_tu_new")
    cursor.execute(
        "CREATE TEMP TABLE research_stg_tu_new "
        "(schema_name text, school_id bigint, semester text, group_id bigint)"
    )
    cursor.execute(
        "INSERT INTO research_stg_tu_new SELECT * FROM unnest(%s::text[], %s::bigint[], "
        "%s::text[], %s::bigint[])",
        [
            [schema for (schema, group) in new for _id in group.school_ids],
            [school_id for (_schema, group) in new for school_id in group.school_ids],
            [group.semester for (_schema, group) in new for _id in group.school_ids],
            [made.pk for made, (_s, group) in zip(created, new, strict=True)
             for _id in group.school_ids],
        ],
    )
    sql, params = _union(batch, GROUP_ROWS_SELECT, cutoff=_day(cutoff))
    cursor.execute(
        "INSERT INTO research_timeusegrouprow (group_id, model_version, module_number, mode, "
        f"minutes) {sql}",
        params,
    )
    cursor.execute("DROP TABLE pg_temp.research_stg_tu_new")
    return len(new)


TIME_USE_GROUPS_SQL = """
INSERT INTO research_stg_tu_group
    (group_id, school, municipality, county, size_band, semester, semester_index, staff)
SELECT g.id, COALESCE(sc.school, ''), m.pseudonym, m.county, m.size_band, g.semester,
       (substr(g.semester, 1, 4)::int * 2 + CASE WHEN right(g.semester, 1) = 'H' THEN 1 ELSE 0
        END),
       g.staff
FROM research_timeusegroup g
JOIN unnest(%(numbers)s::text[], %(pseudonyms)s::text[], %(schemas)s::text[]) AS s (number,
     pseudonym, schema_name) ON s.number = g.kommunenummer
JOIN research_stg_municipality m ON m.pseudonym = s.pseudonym
LEFT JOIN research_stg_school sc ON sc.schema_name = s.schema_name AND sc.school_id = g.school_id
WHERE g.staff >= %(k)s
  AND (substr(g.semester, 1, 4)::int * 2 + CASE WHEN right(g.semester, 1) = 'H' THEN 1 ELSE 0
       END) <= %(through)s
"""


# --- 3. Cells ------------------------------------------------------------------------------

_LEVEL_CASE = """CASE GROUPING(county, size_band, municipality, school)
            WHEN 15 THEN 'overall' WHEN 7 THEN 'county' WHEN 11 THEN 'size_band'
            WHEN 3 THEN 'county_band' WHEN 1 THEN 'municipality' ELSE 'school' END"""
_GROUPING_SETS = """GROUPING SETS ((), (county), (size_band), (county, size_band),
                   (county, size_band, municipality), (county, size_band, municipality, school))"""
_KEYS = """COALESCE(county, '') AS county, COALESCE(size_band, '') AS size_band,
       COALESCE(municipality, '') AS municipality, COALESCE(school, '') AS school"""


def _guarded_round(expression: str, places: str) -> str:
    # As dashboards.aggregation: round to 12 places first, so an exact tie stays a tie.
    return f"round(round({expression}, 12), {places})"


_PLACES_SQL = "CASE WHEN instrument = 'sus' THEN 1 ELSE 2 END"

# A pooled group has no school: it counts from the municipality up, never in a school cell.
OUTCOME_CELLS_SQL = f"""
INSERT INTO research_stg_outcome_cell ({", ".join(_columns(OutcomeCell))})
SELECT level, semester, semester_index, model_version, instrument, county, size_band,
       municipality, school, n, groups,
       {_guarded_round("s / n", _PLACES_SQL)},
       CASE WHEN n < 2 THEN NULL
            ELSE {_guarded_round("sqrt(greatest((q - s * s / n) / (n - 1), 0))", _PLACES_SQL)}
       END
FROM (
    SELECT {_LEVEL_CASE} AS level,
           semester, semester_index, model_version, instrument, {_KEYS},
           SUM(n) AS n, COUNT(*) AS groups, SUM(s) AS s, SUM(q) AS q
    FROM research_stg_release
    GROUP BY semester, semester_index, model_version, instrument, {_GROUPING_SETS}
) cells
WHERE n > 0 AND NOT (level = 'school' AND school = '')
"""

TIME_USE_CELLS_SQL = f"""
INSERT INTO research_stg_time_use_cell ({", ".join(_columns(TimeUseCell))})
WITH rows AS (
    SELECT g.group_id, g.school, g.municipality, g.county, g.size_band, g.semester,
           g.semester_index, g.staff, r.model_version, r.module_number, r.mode, r.minutes
    FROM research_stg_tu_group g
    JOIN research_timeusegrouprow r ON r.group_id = g.group_id
), minutes AS (
    SELECT {_LEVEL_CASE} AS level, semester, semester_index, model_version, {_KEYS},
           module_number, mode, SUM(minutes) AS minutes
    FROM rows
    GROUP BY semester, semester_index, model_version, module_number, mode, {_GROUPING_SETS}
), groups AS (
    SELECT DISTINCT group_id, school, municipality, county, size_band, semester,
           model_version, staff
    FROM rows
), totals AS (
    SELECT {_LEVEL_CASE} AS level, semester, model_version, {_KEYS},
           SUM(staff) AS staff, COUNT(*) AS groups
    FROM groups
    GROUP BY semester, model_version, {_GROUPING_SETS}
)
SELECT m.level, m.semester, m.semester_index, m.model_version, m.county, m.size_band,
       m.municipality, m.school, m.module_number, m.mode, t.staff, t.groups,
       round(m.minutes * 100::numeric / SUM(m.minutes) OVER (
           PARTITION BY m.level, m.semester, m.model_version, m.county, m.size_band,
                        m.municipality, m.school), 1)
FROM minutes m
JOIN totals t ON t.level = m.level AND t.semester = m.semester
             AND t.model_version = m.model_version AND t.county = m.county
             AND t.size_band = m.size_band AND t.municipality = m.municipality
             AND t.school = m.school
WHERE m.minutes > 0 AND NOT (m.level = 'school' AND m.school = '')
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
    return rows


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _staging_drop(cursor: Any) -> None:
    for table in (*STAGING_TABLES, "research_stg_tu_new"):
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")


def _load_batch(
    batch: Sequence[_Source], *, today: date, cutoff: date, key: bytes | None, k: int,
    k_staff: int,
) -> tuple[int, int]:
    """One batch of schemas into staging, in its own transaction (so the locks on the
    batch's tables are released at its end); returns the batch's schools and the time-use
    groups it formed."""
    with transaction.atomic(), connection.cursor() as cursor:
        schools, _rounds = _load_identities(cursor, batch, today=today, cutoff=cutoff, key=key)
        for select, build in (
            (FIDELITY_SELECT, _fidelity_sql),
            (CFIR_SELECT, _cfir_sql),
        ):
            union, params = _union(batch, select)
            cursor.execute(build(union), params)
        union, params = _union(batch, STAGE_SELECT)
        cursor.execute(_stage_sql(union, cutoff), params)
        union, params = _union(batch, RELEASE_SELECT, k=str(int(k)))
        cursor.execute(_release_sql(union), params)
        formed = _form_time_use_groups(cursor, batch, cutoff=cutoff, k=k_staff)
    return schools, formed


def _latest() -> ResearchRefresh | None:
    return ResearchRefresh.objects.order_by("-finished_at", "-id").first()


def publication_due(*, today: date | None = None, key: bytes | None = None) -> bool:
    """Whether a new publication is due: a new semester has become publishable, or the
    rules or the pseudonym key changed since the last one."""
    today = today or timezone.localdate()
    latest = _latest()
    if latest is None:
        return True
    through = published_semester(today, release_delay_days())
    published = Semester.parse(latest.through_semester)
    return (
        published is None
        or published.index < through.index
        or latest.min_group_size != min_group_size()
        or latest.min_staff_group != min_staff_group()
        or latest.key_fingerprint != pseudonyms.key_fingerprint(key=key)
    )


def refresh_research_store(
    *,
    batch_size: int = BATCH_SCHEMAS,
    today: date | None = None,
    through: Semester | None = None,
    only_if_due: bool = False,
    key: bytes | None = None,
    analyze: bool = True,
) -> RefreshResult | None:
    """Publish the store (module docstring): everything up to and including `through`
    (default: the latest semester published by `today`). With `only_if_due` (the nightly
    task) nothing happens unless ``publication_due``; returns None then."""
    use_public_schema()
    started_at = timezone.now()
    started = time.perf_counter()
    today = today or timezone.localdate()
    if only_if_due and not publication_due(today=today, key=key):
        logger.info("Research store: no new semester to publish")
        return None
    if through is None:
        through = published_semester(today, release_delay_days())
        latest = _latest()
        published = Semester.parse(latest.through_semester) if latest else None
        if published is not None and published.index > through.index:
            through = published  # published ahead of time (tests, a deliberate early release)
    cutoff = through.last_day
    k = min_group_size()
    k_staff = min_staff_group()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [LOCK_NAME])
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _staging_drop(cursor)
            for ddl in STAGING_DDL:
                cursor.execute(ddl)
            sources, excluded = _sources(cursor)
        schools = formed = 0
        for batch in _batches(sources, batch_size):
            batch_schools, batch_formed = _load_batch(
                batch, today=today, cutoff=cutoff, key=key, k=k, k_staff=k_staff
            )
            schools += batch_schools
            formed += batch_formed
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
                TIME_USE_GROUPS_SQL,
                {
                    "numbers": [s.kommunenummer for s in sources],
                    "pseudonyms": [
                        pseudonyms.municipality_pseudonym(s.kommunenummer, key=key)
                        for s in sources
                    ],
                    "schemas": [s.schema for s in sources],
                    "k": k_staff,
                    "through": through.index,
                },
            )
            cursor.execute(TIME_USE_CELLS_SQL)
            phases["cells"] = _ms(started) - sum(phases.values())
            rows = _swap(cursor)
            rows["time_use_groups_formed"] = formed
            if analyze:
                for model, _staging in STORE_TABLES.values():
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            duration_ms = _ms(started)
            phases["swap"] = duration_ms - sum(phases.values())
            refresh = ResearchRefresh.objects.create(
                started_at=started_at,
                finished_at=timezone.now(),
                through_semester=through.code,
                duration_ms=duration_ms,
                municipalities=len(sources),
                schools=schools,
                excluded_municipalities=excluded,
                rows=rows,
                min_group_size=k,
                min_staff_group=k_staff,
                key_fingerprint=pseudonyms.key_fingerprint(key=key),
            )
    finally:
        if connection.is_usable():
            with connection.cursor() as cursor:
                if not connection.needs_rollback:
                    _staging_drop(cursor)
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [LOCK_NAME])
    logger.info(
        "Research store published through %s: %s municipalities (%s left out), %s schools, "
        "%s, %s ms",
        through.code,
        len(sources),
        excluded,
        schools,
        rows,
        duration_ms,
    )
    return RefreshResult(
        refresh.pk, through.code, len(sources), excluded, schools, rows, duration_ms, phases
    )


def withdraw_municipality(kommunenummer: str, *, key: bytes | None = None) -> int:
    """Remove a municipality that stopped sharing from the published store at once: its
    schools, rounds, facts and its own cells (school and municipality level). Cells above
    it keep what was published until the next publication recomputes them without it (a
    deletion adds nothing a researcher did not see before). Returns the rows deleted."""
    pseudonym = pseudonyms.municipality_pseudonym(kommunenummer, key=key)
    deleted = 0
    with transaction.atomic():
        for model in (ResearchSchool, ResearchRound, FidelityFact, StageFact, CfirFact):
            deleted += model.objects.filter(municipality=pseudonym).delete()[0]
        for cell in (OutcomeCell, TimeUseCell):
            deleted += cell.objects.filter(
                municipality=pseudonym, level__in=["school", "municipality"]
            ).delete()[0]
        deleted += ResearchMunicipality.objects.filter(pseudonym=pseudonym).delete()[0]
    return deleted
