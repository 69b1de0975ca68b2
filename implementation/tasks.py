"""Celery task: a thin wrapper around ``implementation.services.retention`` (beat: nightly,
before the full recomputation, which then rebuilds the response rates without the links
that were deleted)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from sovei_platform.celery import app

from .services.retention import survey_links_expire_everywhere


@app.task(
    name="implementation.tasks.survey_link_retention",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=3600,
    time_limit=3900,
)
def survey_link_retention() -> dict[str, int]:
    """Delete survey links and link answers past SURVEY_LINK_RETENTION_DAYS, everywhere."""
    results = survey_links_expire_everywhere()
    return {
        "municipalities": len(results),
        "links": sum(r.links for r in results.values()),
        "responses": sum(r.responses for r in results.values()),
    }
