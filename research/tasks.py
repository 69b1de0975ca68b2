"""Celery task: a thin wrapper around ``research.refresh`` (beat: nightly, after the full
recomputation; also requested when a municipality starts or stops sharing)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from sovei_platform.celery import app

from .refresh import refresh_research_store as refresh


@app.task(
    name="research.tasks.refresh_research_store",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=3600,
    time_limit=3900,
)
def refresh_research_store() -> dict[str, object]:
    """Rebuild the research store from every municipality that shares data."""
    result = refresh()
    return {"refresh_id": result.refresh_id, "rows": result.rows, "ms": result.duration_ms}
