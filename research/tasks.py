"""Celery task: a thin wrapper around ``research.refresh`` (beat: nightly, after the full
recomputation). It publishes only when a new semester is due (or the rules or the key
changed): on other nights it does nothing, so the store never changes on a day that would
date the records behind it."""

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
    """Publish the research store if a publication is due."""
    result = refresh(only_if_due=True)
    if result is None:
        return {"published": False}
    return {
        "published": True,
        "refresh_id": result.refresh_id,
        "through": result.through,
        "rows": result.rows,
        "ms": result.duration_ms,
    }
