"""What the worker's tasks do (the tasks in ``worker.tasks`` are thin wrappers).

Schemas: the per-school work runs in a municipality's schema (tenant-schemas-celery sets
it from the ``_schema_name`` header); the sweep and the start of a full recomputation run
in the public schema and reach each municipality's marker table by its qualified name,
one query per schema, never through the ORM of another schema.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, F, Q, When
from django.db.models.functions import Now
from django_tenants.utils import get_public_schema_name

from dashboards.aggregation import (
    SchoolRecompute,
    pending_due_sql,
    recompute_municipality,
    recompute_pending_school,
    school_ids,
)
from implementation.services.releases import survey_results_release
from tenants.db import tenant_connection
from tenants.models import Municipality

from .dispatch import Enqueued, enqueue_recompute, publish, release
from .models import RecomputeRun, RecomputeRunSchool, RunKind

logger = logging.getLogger(__name__)

RECOMPUTE_MUNICIPALITY_TASK = "worker.tasks.recompute_municipality_schools"
SWEEP_MIN_AGE_SECONDS = 10.0


def _schemas(only: list[str] | None) -> list[str]:
    query = Municipality.objects.exclude(schema_name=get_public_schema_name())
    if only is not None:
        query = query.filter(schema_name__in=only)
    return list(query.order_by("schema_name").values_list("schema_name", flat=True))


def _current_schema() -> str:
    return str(tenant_connection().schema_name)


# --- Per school ----------------------------------------------------------------------------


def school_recompute(*, school_id: int) -> SchoolRecompute:
    """Recompute one school of the current schema from its pending marker (the task)."""
    release(_current_schema(), school_id)
    result = recompute_pending_school(school_id)
    logger.info(
        "Recomputed school %s in %s: %s rows, marker %s, %s ms",
        school_id,
        _current_schema(),
        sum(result.rows.values()),
        "cleared" if result.marker_cleared else "kept",
        result.duration_ms,
    )
    return result


# --- Sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    schemas: int
    pending: int
    queued: int
    coalesced: int
    unavailable: int


def _pending_in(schema: str, min_age_seconds: float) -> list[int]:
    table = f"{connection.ops.quote_name(schema)}.dashboards_pendingrecompute"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(pending_due_sql(table), [min_age_seconds])
            return [row[0] for row in cursor.fetchall()]
    except DatabaseError as exc:  # e.g. a schema whose migrations are behind
        logger.warning("Could not read the pending markers of %s: %s", schema, exc)
        return []


def pending_sweep(
    *, min_age_seconds: float = SWEEP_MIN_AGE_SECONDS, schemas: list[str] | None = None
) -> SweepResult:
    """Send a recomputation for every pending marker of every municipality (one query per
    schema). Markers younger than ``min_age_seconds`` are left to the task their write
    sent, markers whose recomputation failed wait 2^attempts seconds (at most an hour);
    sending is coalesced, so a school whose task is still queued gets no second."""
    outcome = {Enqueued.QUEUED: 0, Enqueued.COALESCED: 0, Enqueued.UNAVAILABLE: 0}
    names = _schemas(schemas)
    pending = 0
    for schema in names:
        for school_id in _pending_in(schema, min_age_seconds):
            pending += 1
            outcome[enqueue_recompute(schema, school_id)] += 1
    result = SweepResult(
        schemas=len(names),
        pending=pending,
        queued=outcome[Enqueued.QUEUED],
        coalesced=outcome[Enqueued.COALESCED],
        unavailable=outcome[Enqueued.UNAVAILABLE],
    )
    if pending:
        logger.info("Sweep: %s", result)
    return result


# --- Full recomputation (nightly or manual) ------------------------------------------------


def _school_count(schema: str) -> int:
    table = f"{connection.ops.quote_name(schema)}.implementation_school"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _run_create(kind: str, schemas: list[str] | None) -> tuple[RecomputeRun, dict[str, int]]:
    counts = {schema: _school_count(schema) for schema in _schemas(schemas)}
    counts = {schema: n for schema, n in counts.items() if n > 0}
    run = RecomputeRun.objects.create(
        kind=kind, municipalities=len(counts), total=sum(counts.values())
    )
    if not counts:
        RecomputeRun.objects.filter(pk=run.pk).update(finished_at=Now())
    return run, counts


def full_recompute_start(
    *, kind: str = RunKind.NIGHTLY, schemas: list[str] | None = None
) -> RecomputeRun:
    """Count the schools, record a RecomputeRun and send one task per municipality that
    recomputes its schools one by one, counting each in the run."""
    run, counts = _run_create(kind, schemas)
    for schema, n in counts.items():
        try:
            publish(RECOMPUTE_MUNICIPALITY_TASK, schema, kwargs={"run_id": run.pk})
        except Exception as exc:
            logger.error("Could not send the recomputation of %s: %s", schema, exc)
            run_progress(run.pk, failed=n)
    run.refresh_from_db()
    logger.info("Started %s recomputation %s: %s schools", kind, run.pk, run.total)
    return run


def run_progress(run_id: int | None, *, done: int = 0, failed: int = 0) -> None:
    """Add to a run's counts; the update that reaches ``total`` sets ``finished_at``."""
    if run_id is None:
        return
    reaches_total = Q(total__lte=F("done") + F("failed") + done + failed)
    RecomputeRun.objects.filter(pk=run_id).update(
        done=F("done") + done,
        failed=F("failed") + failed,
        finished_at=Case(
            When(reaches_total & Q(finished_at__isnull=True), then=Now()),
            default=F("finished_at"),
        ),
    )


def school_counted(run_id: int | None, school_id: int, *, ok: bool) -> None:
    """Count a school of the current schema in the run, once: a redelivered task (the
    worker died, the message came back) recomputes the school again but only a change
    from failed to done moves the counts."""
    if run_id is None:
        return
    with transaction.atomic():
        previous = (
            RecomputeRunSchool.objects.select_for_update()
            .filter(run_id=run_id, schema_name=_current_schema(), school_id=school_id)
            .values_list("ok", flat=True)
            .first()
        )
        if previous is None:
            _, created = RecomputeRunSchool.objects.get_or_create(
                run_id=run_id, schema_name=_current_schema(), school_id=school_id,
                defaults={"ok": ok},
            )
            if created:
                run_progress(run_id, done=int(ok), failed=int(not ok))
                return
            previous = not ok  # a concurrent rerun counted it first; treat as a change
        if previous == ok:
            return
        RecomputeRunSchool.objects.filter(
            run_id=run_id, schema_name=_current_schema(), school_id=school_id
        ).update(ok=ok)
        run_progress(run_id, done=1 if ok else -1, failed=-1 if ok else 1)


@dataclass(frozen=True)
class MunicipalityRecompute:
    schema: str
    done: int
    failed: int
    spread_rows: int


def municipality_recompute_all(*, run_id: int | None = None) -> MunicipalityRecompute:
    """Release the survey results of rounds that closed by date (a round closed early was
    released at once), recompute every school of the current schema, then the
    municipality spread."""
    schema = _current_schema()
    done = failed = 0
    try:
        survey_results_release()
    except Exception:  # the recomputation still runs; the next night releases
        logger.exception("Releasing survey results in %s failed", schema)
    for school_id in school_ids():
        try:
            # Counted in the school's own transaction: its rows and its count commit
            # together (one commit per school).
            recompute_pending_school(
                school_id,
                with_municipality=False,
                on_success=functools.partial(school_counted, run_id, school_id, ok=True),
            )
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            logger.exception("Recomputing school %s in %s failed", school_id, schema)
            failed += 1
            school_counted(run_id, school_id, ok=False)
        else:
            done += 1
    spread_rows = recompute_municipality()
    return MunicipalityRecompute(schema, done, failed, spread_rows)


def full_recompute_inline(
    *, kind: str = RunKind.MANUAL, schemas: list[str] | None = None
) -> RecomputeRun:
    """The same full recomputation in this process, without a broker (operators)."""
    from django_tenants.utils import schema_context

    run, counts = _run_create(kind, schemas)
    for schema in counts:
        with schema_context(schema):
            municipality_recompute_all(run_id=run.pk)
    run.refresh_from_db()
    return run
