"""Writes of the research area: a municipality's sharing choice and the export log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404
from django.utils.translation import gettext as _

from sovei_platform.audit import audited_write
from sovei_platform.privacy import min_group_size, min_staff_group, release_delay_days
from tenants.models import Municipality

from . import exports, selectors
from .models import ExportLog, ResearchRefresh, SharingChange
from .refresh import withdraw_municipality
from .selectors import Filters

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

def research_sharing_set(
    *, municipality: Municipality, shares: bool, actor: User | None
) -> Municipality:
    """Start or stop sharing the municipality's anonymized data with research.

    Stopping removes the municipality from the published store at once, in the same
    transaction: its schools, rounds, facts and its own cells (``withdraw_municipality``);
    totals above it keep what was already published until the next publication, which
    leaves it out. Starting again takes effect at the next publication (the store changes
    only when a semester is published: docs/research.md). Recorded as a
    ``SharingChange``."""
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
        if not shares:
            withdraw_municipality(municipality.kommunenummer)
    logger.info(
        "Municipality %s %s sharing with research",
        municipality.kommunenummer,
        "started" if shares else "stopped",
    )
    return municipality


def _export_metadata(
    dataset: str, refresh: ResearchRefresh | None, filters: Filters
) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "publication": refresh.pk if refresh else None,
        "through_semester": refresh.through_semester if refresh else "",
        "min_group_size": refresh.min_group_size if refresh else min_group_size(),
        "min_staff_group": refresh.min_staff_group if refresh else min_staff_group(),
        "release_delay_days": release_delay_days(),
        "filters": filters.as_dict(),
    }


def _export_log(
    *,
    user: User,
    dataset: str,
    file_format: str,
    filters: dict[str, Any],
    row_count: int,
    refresh: ResearchRefresh | None,
) -> None:
    with audited_write(user):
        ExportLog.objects.create(
            user=user,
            user_email=user.email,
            dataset=dataset,
            file_format=file_format,
            filters=filters,
            row_count=row_count,
            refresh=refresh,
        )


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
        metadata = _export_metadata(dataset, refresh, filters)
        export = exports.build(exports.DATASETS[dataset], file_format, filters, metadata)
    _export_log(
        user=user,
        dataset=dataset,
        file_format=file_format,
        filters=filters.as_dict(),
        row_count=export.row_count,
        refresh=refresh,
    )
    return export


API_FORMAT = "api"  # ExportLog.file_format of a research API call that returned rows
API_MAX_PAGE_SIZE = 5000


@dataclass(frozen=True)
class RowsPage:
    """One page of a dataset's rows, as the research API returns them."""

    rows: list[dict[str, Any]]
    count: int
    page: int
    pages: int
    metadata: dict[str, Any]


def research_rows_read(
    *, user: User, dataset: str, filters: Filters, page: int, page_size: int
) -> RowsPage:
    """One page of a dataset's rows — the rows of the export (``exports.DATASETS``: the
    store's released cells and team-level facts, nothing else) with the same filters —
    logged like an export (``ExportLog``, format "api", the filters and the page)."""
    if dataset not in exports.DATASETS:
        raise Http404(_("No such dataset."))
    if not 1 <= page_size <= API_MAX_PAGE_SIZE:
        raise ValidationError(
            {"page_size": [_("Between 1 and %(max)s.") % {"max": API_MAX_PAGE_SIZE}]}
        )
    fields = exports.DATASETS[dataset].fields
    with selectors.consistent_read():
        refresh = selectors.refresh_latest()
        metadata = _export_metadata(dataset, refresh, filters)
        paginator = Paginator(
            exports.DATASETS[dataset].rows(filters).values_list(*fields), page_size
        )
        try:
            current = paginator.page(page)
        except EmptyPage as exc:
            raise Http404(_("No such page.")) from exc
        rows = [dict(zip(fields, row, strict=True)) for row in current.object_list]
        count, pages = paginator.count, paginator.num_pages
    _export_log(
        user=user,
        dataset=dataset,
        file_format=API_FORMAT,
        filters={**filters.as_dict(), "page": str(page), "page_size": str(page_size)},
        row_count=len(rows),
        refresh=refresh,
    )
    return RowsPage(rows=rows, count=count, page=page, pages=pages, metadata=metadata)
