"""Reads of the research store (public schema) for the researcher pages and exports.

Only the store's tables are read here — never a municipality's schema. Every number a
page or an export shows comes from these reads. Person-level numbers (survey outcomes,
time use) are stored cells only — sums of released groups (``research.refresh``): filters
choose among stored cells and never compute a new group of people. Team-level facts
(fidelity, CFIR, stages) are summarised per school, and counted as distinct schools.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import Avg, Max, Q, QuerySet, Sum

from catalog.models import Instrument, InstrumentDomain, InstrumentItem, Module
from tenants.models import Municipality
from tenants.validators import COUNTIES

from .models import (
    CellLevel,
    CfirFact,
    ExportLog,
    FidelityFact,
    OutcomeCell,
    ResearchMunicipality,
    ResearchRefresh,
    ResearchRound,
    ResearchSchool,
    SharingChange,
    SizeBand,
    StageFact,
    TimeUseCell,
)
from .pseudonyms import Semester, semester_label


@dataclass(frozen=True)
class Filters:
    """The researcher's choice. Empty = all (the model version always has a value on the
    pages: scores of different versions are not comparable)."""

    semester: str = ""
    model_version: str = ""
    county: str = ""
    size_band: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            name: value
            for name, value in (
                ("semester", self.semester),
                ("model_version", self.model_version),
                ("county", self.county),
                ("size_band", self.size_band),
            )
            if value
        }

    def q(self, *, semester: bool = True, version: bool = True) -> Q:
        query = Q()
        if semester and self.semester:
            query &= Q(semester=self.semester)
        if version and self.model_version:
            query &= Q(model_version=self.model_version)
        if self.county:
            query &= Q(county=self.county)
        if self.size_band:
            query &= Q(size_band=self.size_band)
        return query


@contextmanager
def consistent_read() -> Iterator[None]:
    """One snapshot for every read inside: a refresh that commits meanwhile is seen
    entirely or not at all (a REPEATABLE READ, read-only transaction, begun by psycopg
    with ``BEGIN ISOLATION LEVEL …`` so nothing can run before it). Inside an open
    transaction (tests) the caller's transaction is used as it is."""
    if connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = (raw.isolation_level, raw.read_only)
    raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    raw.read_only = True
    try:
        with transaction.atomic():
            yield
    finally:
        if not raw.closed:
            raw.isolation_level, raw.read_only = previous


def version_sort_key(code: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in code.split("."))


# --- The store as a whole ------------------------------------------------------------------


def refresh_latest() -> ResearchRefresh | None:
    return ResearchRefresh.objects.order_by("-finished_at", "-id").first()


@dataclass(frozen=True)
class StoreChoices:
    semesters: list[str]  # oldest first
    model_versions: list[str]  # newest first
    counties: list[str]
    size_bands: list[str]


def store_choices() -> StoreChoices:
    semesters = sorted(
        set(ResearchRound.objects.values_list("semester", flat=True)),
        key=lambda code: (Semester.parse(code) or Semester(0, "V")).index,
    )
    versions = sorted(
        set(ResearchRound.objects.values_list("model_version", flat=True))
        | set(StageFact.objects.values_list("model_version", flat=True).distinct()),
        key=version_sort_key,
        reverse=True,
    )
    counties = sorted(
        set(ResearchMunicipality.objects.values_list("county", flat=True)),
        key=lambda code: COUNTIES.get(code, code),
    )
    bands = [band.value for band in SizeBand]
    return StoreChoices(semesters, versions, counties, bands)


@dataclass(frozen=True)
class StoreSummary:
    refresh: ResearchRefresh | None
    municipalities: int
    schools: int
    rounds: int
    semesters: int

    @property
    def through_label(self) -> str:
        return semester_label(self.refresh.through_semester) if self.refresh else ""


def store_summary(filters: Filters) -> StoreSummary:
    municipalities = ResearchMunicipality.objects.filter(filters.q(semester=False, version=False))
    schools = ResearchSchool.objects.filter(filters.q(semester=False, version=False))
    rounds = ResearchRound.objects.filter(
        municipality__in=municipalities.values("pseudonym"),
        **({"model_version": filters.model_version} if filters.model_version else {}),
    )
    return StoreSummary(
        refresh=refresh_latest(),
        municipalities=municipalities.count(),
        schools=schools.count(),
        rounds=rounds.count(),
        semesters=rounds.values("semester").distinct().count(),
    )


def module_titles(model_version: str) -> dict[int, str]:
    """Module number → title in the active language (the catalog is public data)."""
    return {
        module.number: module.title
        for module in Module.objects.filter(version__code=model_version).order_by("number")
    }


# --- Fidelity ------------------------------------------------------------------------------


def fidelity_facts(filters: Filters) -> QuerySet[FidelityFact]:
    return FidelityFact.objects.filter(filters.q()).order_by(
        "semester_index", "school", "round", "module_number"
    )


def fidelity_semesters(filters: Filters) -> list[str]:
    """Semesters with fidelity ratings for the filters (ignoring the chosen semester)."""
    rows = (
        FidelityFact.objects.filter(filters.q(semester=False))
        .values_list("semester", "semester_index")
        .distinct()
        .order_by("semester_index")
    )
    return [semester for semester, _index in rows]


# --- Stages --------------------------------------------------------------------------------


def stage_facts(filters: Filters) -> QuerySet[StageFact]:
    """Stages are a school's path, not a round's result: the semester filter does not
    apply."""
    return StageFact.objects.filter(filters.q(semester=False)).order_by(
        "school", "module_number", "stage_order"
    )


def stage_schools(filters: Filters) -> int:
    return stage_facts(filters).values("school").distinct().count()


# --- Outcomes (protected cells only) -------------------------------------------------------


def outcome_cells(filters: Filters) -> QuerySet[OutcomeCell]:
    """Every protected cell inside the filters (for exports): with a county, the cells of
    that county and below; with a size band, those of that band and below."""
    return OutcomeCell.objects.filter(filters.q()).order_by(
        "semester_index", "instrument", "level", "county", "size_band", "municipality", "school"
    )


def outcome_group_level(filters: Filters) -> tuple[str, str]:
    """(the level of the cell that is "the filtered group", the level of its parts)."""
    if filters.county and filters.size_band:
        return CellLevel.COUNTY_BAND, CellLevel.MUNICIPALITY
    if filters.county:
        return CellLevel.COUNTY, CellLevel.COUNTY_BAND
    if filters.size_band:
        return CellLevel.SIZE_BAND, CellLevel.COUNTY_BAND
    return CellLevel.OVERALL, CellLevel.COUNTY


def outcome_group_cells(filters: Filters) -> list[OutcomeCell]:
    """The filtered group's cell per semester × instrument (all semesters)."""
    level, _parts = outcome_group_level(filters)
    return list(
        OutcomeCell.objects.filter(filters.q(semester=False), level=level).order_by(
            "semester_index", "instrument"
        )
    )


def outcome_part_cells(filters: Filters, semester: str) -> list[OutcomeCell]:
    """The group's parts (counties, county × size band cells or municipalities) in one
    semester."""
    _level, parts = outcome_group_level(filters)
    return list(
        OutcomeCell.objects.filter(
            filters.q(semester=False), semester=semester, level=parts
        ).order_by("instrument", "county", "size_band", "municipality")
    )


def outcome_school_cells(filters: Filters) -> list[OutcomeCell]:
    return list(
        OutcomeCell.objects.filter(filters.q(semester=False), level=CellLevel.SCHOOL).order_by(
            "semester_index", "instrument", "school"
        )
    )


def outcome_semesters(filters: Filters) -> list[str]:
    rows = (
        OutcomeCell.objects.filter(filters.q(semester=False))
        .values_list("semester", "semester_index")
        .distinct()
        .order_by("semester_index")
    )
    return [semester for semester, _index in rows]


# --- Determinants (CFIR) -------------------------------------------------------------------


def cfir_facts(filters: Filters) -> QuerySet[CfirFact]:
    return CfirFact.objects.filter(filters.q()).order_by(
        "semester_index", "school", "round", "level", "position"
    )


def cfir_semesters(filters: Filters) -> list[str]:
    rows = (
        CfirFact.objects.filter(filters.q(semester=False))
        .values_list("semester", "semester_index")
        .distinct()
        .order_by("semester_index")
    )
    return [semester for semester, _index in rows]


@dataclass(frozen=True)
class ProfileRow:
    level: str
    code: str
    domain_code: str
    position: int
    mean_all: Decimal | None
    schools_all: int
    mean_high: Decimal | None
    schools_high: int
    mean_low: Decimal | None
    schools_low: int


def school_fidelity(filters: Filters) -> dict[tuple[str, str], tuple[Decimal, bool]]:
    """Per (school, semester): the overall fidelity pooled over the school's *measured*
    rounds of the semester (Σ points / Σ max points × 100, as the score itself pools
    components) and whether it reaches the threshold. A school with no measured round in a
    semester has no entry."""
    rows = (
        FidelityFact.objects.filter(filters.q(), module_number__isnull=True, measured=True)
        .values("school", "semester")
        .annotate(points=Sum("points"), max_points=Sum("max_points"),
                  threshold=Max("threshold_percent"))
    )
    result: dict[tuple[str, str], tuple[Decimal, bool]] = {}
    for row in rows:
        if not row["max_points"]:
            continue
        percent = Decimal(row["points"] * 100) / Decimal(row["max_points"])
        result[(row["school"], row["semester"])] = (
            percent, row["points"] * 100 >= row["threshold"] * row["max_points"]
        )
    return result


def cfir_profile(filters: Filters) -> list[ProfileRow]:
    """Mean of the schools' construct (and domain) ratings, each school counted once: a
    school's rating is the mean over its rounds of the semester(s) chosen, and it is
    "high" when its pooled overall fidelity (``school_fidelity``) reaches the model
    version's threshold, "low" when measured and below, and in neither (only in "all")
    without a measured fidelity self-assessment."""
    per_school = (
        CfirFact.objects.filter(filters.q(), mean__isnull=False)
        .values("school", "semester", "level", "code", "domain_code", "position")
        .annotate(mean=Avg("mean"))
    )
    fidelity = school_fidelity(filters)
    grouped: dict[tuple[str, str, str, int], dict[str, list[Decimal]]] = defaultdict(
        lambda: {"all": [], "high": [], "low": []}
    )
    for row in per_school:
        key = (row["level"], row["code"], row["domain_code"], row["position"])
        mean = Decimal(row["mean"])
        grouped[key]["all"].append(mean)
        measured = fidelity.get((row["school"], row["semester"]))
        if measured is not None:
            grouped[key]["high" if measured[1] else "low"].append(mean)

    def mean_of(values: list[Decimal]) -> Decimal | None:
        return sum(values, Decimal(0)) / len(values) if values else None

    profile = [
        ProfileRow(
            level=level, code=code, domain_code=domain, position=position,
            mean_all=mean_of(groups["all"]), schools_all=len(groups["all"]),
            mean_high=mean_of(groups["high"]), schools_high=len(groups["high"]),
            mean_low=mean_of(groups["low"]), schools_low=len(groups["low"]),
        )
        for (level, code, domain, position), groups in grouped.items()
    ]
    return sorted(profile, key=lambda r: (r.level != "domain", r.position, r.code))


def cfir_labels() -> tuple[dict[str, str], dict[str, str]]:
    """(construct or subconstruct code → name, domain code → name) from the newest CFIR
    instrument in the catalog (public data), in the active language."""
    instrument = Instrument.objects.filter(code="cfir").order_by("-version", "-id").first()
    if instrument is None:
        return {}, {}
    constructs: dict[str, str] = {}
    for item in InstrumentItem.objects.filter(instrument=instrument).order_by("number"):
        if item.parent_code and item.parent_code not in constructs:
            constructs[item.parent_code] = item.parent_name
        constructs[item.code] = item.name or item.code
    domains = {
        domain.code: domain.name
        for domain in InstrumentDomain.objects.filter(instrument=instrument)
    }
    return constructs, domains


# --- Time use (released groups only) ------------------------------------------------------


def time_use_cells(filters: Filters) -> QuerySet[TimeUseCell]:
    """Every time-use cell inside the filters (for exports), as ``outcome_cells``."""
    return TimeUseCell.objects.filter(filters.q()).order_by(
        "semester_index", "level", "county", "size_band", "municipality", "school",
        "module_number", "mode",
    )


def time_use_by_mode(filters: Filters) -> list[dict[str, Any]]:
    """Per semester × mode: the filtered group's share of its logged time (the group's own
    cell: all schools, a county, a size band or county × size band), summed over modules,
    with the staff behind it."""
    level, _parts = outcome_group_level(filters)
    cells = TimeUseCell.objects.filter(filters.q(semester=False), level=level)
    per_mode = (
        cells.values("semester", "semester_index", "mode")
        .annotate(share=Sum("share_percent"), staff=Max("staff"))
        .order_by("semester_index", "mode")
    )
    return [
        {
            "semester": row["semester"],
            "semester_index": row["semester_index"],
            "mode": row["mode"],
            "share": Decimal(row["share"]),
            "staff": row["staff"],
        }
        for row in per_mode
    ]


# --- Sharing (tenant host, the coordinator's page) -----------------------------------------


def sharing_changes(municipality: Municipality, *, limit: int = 10) -> list[SharingChange]:
    return list(
        SharingChange.objects.filter(municipality=municipality)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )


# --- The export log (the researcher's own) ---------------------------------------------------


def export_log_of(user: Any) -> QuerySet[ExportLog]:
    """The user's own exports and research API calls, newest first."""
    return ExportLog.objects.filter(user=user).order_by("-created_at", "-id")
