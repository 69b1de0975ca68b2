"""Celery tasks: thin wrappers around services (``worker.services``,
``dashboards.aggregation``).

All tasks are tenant tasks (tenant-schemas-celery): they run in the schema named by the
message's ``_schema_name`` header — a municipality's for ``recompute_school`` and
``recompute_municipality_schools``, the public schema for the beat tasks. Settings
(``CELERY_*``) give every task late acknowledgement, rejection on a lost worker and
prefetch 1; the recomputations retry database connection errors with backoff.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from sovei_platform.celery import app

from . import services
from .models import RunKind

RETRYABLE = (OperationalError, InterfaceError)


@app.task(name="worker.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Beat proves the scheduler and a worker are alive; the time is logged by Celery."""
    return timezone.now().isoformat()


@app.task(
    name="worker.tasks.recompute_school",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def recompute_school(school_id: int) -> dict[str, Any]:
    """Rebuild one school's aggregates and the municipality spread; clear its marker
    unless a newer write arrived meanwhile."""
    result = services.school_recompute(school_id=school_id)
    return {"school_id": result.school_id, "rows": result.rows, "cleared": result.marker_cleared}


@app.task(
    name="worker.tasks.sweep_pending",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=50,
    time_limit=60,
)
def sweep_pending(
    min_age_seconds: float = services.SWEEP_MIN_AGE_SECONDS, schemas: list[str] | None = None
) -> dict[str, int]:
    """Beat, every 30 s: send the recomputations whose markers are still pending."""
    result = services.pending_sweep(min_age_seconds=min_age_seconds, schemas=schemas)
    return {"pending": result.pending, "queued": result.queued}


@app.task(
    name="worker.tasks.nightly_recompute",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=300,
    time_limit=360,
)
def nightly_recompute(kind: str = RunKind.NIGHTLY, schemas: list[str] | None = None) -> int:
    """Beat, nightly: recompute every school of every municipality; returns the run id."""
    return services.full_recompute_start(kind=kind, schemas=schemas).pk


@app.task(
    name="worker.tasks.recompute_municipality_schools",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=1860,
)
def recompute_municipality_schools(run_id: int | None = None) -> dict[str, int]:
    """Part of a full run: every school of this municipality, counted in the run."""
    result = services.municipality_recompute_all(run_id=run_id)
    return {"done": result.done, "failed": result.failed}
