"""Celery tasks: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="worker.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Beat proves the scheduler and a worker are alive; the time is logged by Celery."""
    return timezone.now().isoformat()
