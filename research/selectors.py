"""Reads of the research store (public schema) for the researcher pages and exports.

Only the store's tables are read here — never a municipality's schema. Every number a
page or an export shows comes from these reads, and every outcome number is a stored,
already protected ``OutcomeCell``: filters choose among protected cells and never
compute a new group (a new group could be subtracted from a published one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, OuterRef, Q, QuerySet, Subquery, Sum

from catalog.models import Instrument, InstrumentDomain, InstrumentItem, Module
from tenants.models import Municipality
from tenants.validators import COUNTIES

from .disclosure import DEFAULT_MIN_GROUP_SIZE
from .models import (
    CellLevel,
    CfirFact,
    FidelityFact,
    OutcomeCell,
    ResearchMunicipality,
    ResearchRefresh,
    ResearchRound,
    ResearchSchool,
    SharingChange,
    SizeBand,
    StageFact,
    TimeUseFact,
)
from .pseudonyms import Semester


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


def min_group_size() -> int:
    """k: individual-respondent measures are shown only for groups of at least k."""
    return int(getattr(settings, "RESEARCH_MIN_GROUP_SIZE", DEFAULT_MIN_GROUP_SIZE))


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


def cfir_profile(filters: Filters) -> list[ProfileRow]:
    """Mean of the schools' construct (and domain) ratings: all schools, and those whose
    overall fidelity in the same round reached the model version's threshold (high)
    versus not (low). Rounds without an overall fidelity score count only in "all"."""
    meets = FidelityFact.objects.filter(
        school=OuterRef("school"), round=OuterRef("round"), module_number__isnull=True
    ).values("meets_threshold")[:1]
    rows = (
        CfirFact.objects.filter(filters.q(), mean__isnull=False)
        .annotate(meets=Subquery(meets))
        .values("level", "code", "domain_code", "position", "meets")
        .annotate(mean=Avg("mean"), schools=Count("school"))
        .order_by("level", "position", "code")
    )
    grouped: dict[tuple[str, str, str, int], dict[Any, tuple[Decimal, int]]] = {}
    for row in rows:
        key = (row["level"], row["code"], row["domain_code"], row["position"])
        grouped.setdefault(key, {})[row["meets"]] = (row["mean"], row["schools"])
    profile: list[ProfileRow] = []
    for (level, code, domain, position), by_meets in grouped.items():
        high = by_meets.get(True)
        low = by_meets.get(False)
        total_n = sum(n for _mean, n in by_meets.values())
        total_mean = (
            sum((Decimal(mean) * n for mean, n in by_meets.values()), Decimal(0)) / total_n
            if total_n
            else None
        )
        profile.append(
            ProfileRow(
                level=level,
                code=code,
                domain_code=domain,
                position=position,
                mean_all=total_mean,
                schools_all=total_n,
                mean_high=high[0] if high else None,
                schools_high=high[1] if high else 0,
                mean_low=low[0] if low else None,
                schools_low=low[1] if low else 0,
            )
        )
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


# --- Time use ------------------------------------------------------------------------------


def time_use_facts(filters: Filters) -> QuerySet[TimeUseFact]:
    return TimeUseFact.objects.filter(filters.q()).order_by(
        "semester_index", "school", "module_number", "mode"
    )


def time_use_by_mode(filters: Filters) -> list[dict[str, Any]]:
    """Per semester × mode: the schools' mean share of their logged time (a school that
    logged time in the semester but none in a mode counts with 0 %)."""
    facts = TimeUseFact.objects.filter(filters.q(semester=False))
    per_mode = facts.values("semester", "semester_index", "mode").annotate(
        total=Sum("share_percent")
    )
    schools = dict(
        facts.values("semester")
        .annotate(n=Count("school", distinct=True))
        .values_list("semester", "n")
    )
    return [
        {
            "semester": row["semester"],
            "semester_index": row["semester_index"],
            "mode": row["mode"],
            "mean_share": Decimal(row["total"]) / schools[row["semester"]],
            "schools": schools[row["semester"]],
        }
        for row in sorted(per_mode, key=lambda r: (r["semester_index"], r["mode"]))
    ]


# --- Sharing (tenant host, the coordinator's page) -----------------------------------------


def sharing_changes(municipality: Municipality, *, limit: int = 10) -> list[SharingChange]:
    return list(
        SharingChange.objects.filter(municipality=municipality)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )
