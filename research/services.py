"""Writes of the research area: a municipality's sharing choice and the export log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from sovei_platform.audit import audited_write
from tenants.models import Municipality

from . import exports, selectors
from .models import ExportLog, SharingChange
from .selectors import Filters, min_group_size

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

REFRESH_TASK = "research.tasks.refresh_research_store"


def _refresh_soon() -> None:
    """Ask the worker for a refresh now (best effort: the nightly one runs anyway)."""
    try:
        from worker.dispatch import publish

        publish(REFRESH_TASK, "public", expires=3600)
    except Exception as exc:
        logger.warning("Could not ask for a research refresh (%s); the nightly one will run", exc)


def research_sharing_set(
    *, municipality: Municipality, shares: bool, actor: User | None
) -> Municipality:
    """Start or stop sharing the municipality's anonymized data with research.

    Stopping takes effect at the next refresh of the research store, which is requested
    right away (and runs nightly anyway): it leaves every row of the municipality out, so
    neither the pages nor later exports contain them. Recorded as a ``SharingChange``."""
    if municipality.shares_research_data == shares:
        return municipality
    with audited_write(actor):
        municipality.shares_research_data = shares
        municipality.save(update_fields=["shares_research_data"])
        SharingChange.objects.create(
            municipality=municipality,
            shares=shares,
            changed_by=actor if actor is not None and actor.pk else None,
        )
        transaction.on_commit(_refresh_soon)
    logger.info(
        "Municipality %s %s sharing with research",
        municipality.kommunenummer,
        "started" if shares else "stopped",
    )
    return municipality


def export_create(
    *, user: User, dataset: str, file_format: str, filters: Filters
) -> exports.ExportFile:
    """Build an export of one dataset and log it (who, when, what, filters, rows)."""
    if dataset not in exports.DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}")
    if file_format not in exports.FORMATS:
        raise ValueError(f"Unknown export format {file_format!r}")
    with selectors.consistent_read():
        refresh = selectors.refresh_latest()
        metadata = {
            "dataset": dataset,
            "refresh": refresh.pk if refresh else None,
            "min_group_size": refresh.min_group_size if refresh else min_group_size(),
            "filters": filters.as_dict(),
        }
        export = exports.build(exports.DATASETS[dataset], file_format, filters, metadata)
    with audited_write(user):
        ExportLog.objects.create(
            user=user,
            user_email=user.email,
            dataset=dataset,
            file_format=file_format,
            filters=filters.as_dict(),
            row_count=export.row_count,
            refresh=refresh,
        )
    return export
