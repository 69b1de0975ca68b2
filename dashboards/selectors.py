"""Reads for the dashboards, always through a user's access (accounts.selectors.TenantAccess).

The dashboard views and API views read only through these functions (tests/
test_architecture.py). A school is reached through ``implementation.selectors.school_for``
(404 outside the user's scope); comparisons across schools are for coordinators only and
raise ``PermissionDenied`` for anyone else, so a forgotten check in a view cannot widen
what is shown. The schema is the municipality boundary (django-tenants); the one public
read, :func:`recompute_runs`, returns counts of the nightly run and no tenant rows.

Aggregate rows come out as the frozen dataclasses of ``dashboards.figures`` (read with
``.values()``: no model instances for hundreds of rows), and the ``*_chart`` functions at
the end put them through the figure builders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.selectors import TenantAccess
from catalog.models import Instrument, InstrumentDomain, InstrumentItem, Module
from catalog.selectors import model_version_current
from implementation.models import (
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    School,
    StrategyStep,
)
from implementation.selectors import instrument_by_code, school_for
from sovei_platform.privacy import min_group_size
from tenants.db import tenant_connection
from worker.models import RecomputeRun

from . import figures
from .figures import (
    CfirRow,
    Chart,
    ComponentStatusRow,
    FidelityRow,
    ModuleRef,
    OutcomeRow,
    ResponseRateSummaryRow,
    RoundRef,
    SchoolRef,
    SpreadRow,
    StageProgressRow,
    StageRow,
    StatusChangeRow,
    StepRow,
    TimePlanRow,
    TimeUseRow,
)
from .models import (
    AggregateStatus,
    CfirAggregate,
    FidelityAggregate,
    MunicipalitySpread,
    OutcomeAggregate,
    PendingRecompute,
    ResponseRateAggregate,
    StageAggregate,
    TimeUseAggregate,
    TimeUsePlanAggregate,
)

RECENT_RUNS = 10


def coordinator_denied_message() -> str:
    return _("Only the municipal coordinator can compare the schools.")


def require_coordinator(access: TenantAccess) -> None:
    """Comparisons across schools are for coordinators (403 for everyone else)."""
    if not access.is_coordinator:
        raise PermissionDenied(coordinator_denied_message())


# --- Schools, rounds, modules ---------------------------------------------------------------


def dashboard_school(access: TenantAccess, school_id: int | str) -> School:
    """The school if the user may see it; 404 otherwise (its existence stays hidden)."""
    return school_for(access, school_id)


def _in_scope(access: TenantAccess, school_id: int) -> None:
    """The row readers' own scope check (no query: the school was fetched through
    ``dashboard_school``); 404 like ``school_for`` outside the user's schools."""
    if not access.can_view_school(int(school_id)):
        raise Http404


def school_url(school_id: int) -> str:
    return reverse("dashboards:school", args=[school_id])


def school_ref(school: School) -> SchoolRef:
    return SchoolRef(id=school.pk, name=school.name, url=school_url(school.pk))


def municipality_schools(access: TenantAccess) -> list[SchoolRef]:
    require_coordinator(access)
    return [SchoolRef(id=pk, name=name, url=school_url(pk))
            for pk, name in School.objects.order_by("name").values_list("id", "name")]


_ROUND_FIELDS = ("id", "name", "opens_on", "closes_on", "closed_at")


def _round_refs(rounds: Iterable[Any]) -> list[RoundRef]:
    day = _as_of()
    refs = [RoundRef(id=r["id"], name=r["name"], opens_on=r["opens_on"],
                     is_open=r["closed_at"] is None and r["opens_on"] <= day <= r["closes_on"])
            for r in rounds]
    return sorted(refs, key=lambda r: (r.opens_on, r.name, r.id))


def school_rounds(access: TenantAccess, school: School) -> list[RoundRef]:
    """The rounds the school takes part in, oldest first."""
    _in_scope(access, school.pk)
    return _round_refs(
        AssessmentRound.objects.filter(schools=school).values(*_ROUND_FIELDS)
    )


def municipality_rounds(access: TenantAccess) -> list[RoundRef]:
    require_coordinator(access)
    return _round_refs(AssessmentRound.objects.values(*_ROUND_FIELDS))


def round_school_ids(access: TenantAccess, round_id: int) -> list[int]:
    require_coordinator(access)
    return list(
        School.objects.filter(rounds__id=round_id).values_list("id", flat=True)
    )


def _module_refs(modules: Iterable[Module]) -> list[ModuleRef]:
    return sorted((ModuleRef(id=m.pk, number=m.number, title=str(m.title)) for m in modules),
                  key=lambda m: (m.number, m.id))


def modules_for_school(access: TenantAccess, school: School,
                       extra_ids: Iterable[int] = ()) -> list[ModuleRef]:
    """The modules of the model version the school's current plan follows (the newest
    published version without a plan), plus any other module its rows refer to."""
    _in_scope(access, school.pk)
    plan = (ImplementationPlan.objects.filter(school=school)
            .order_by("-starts_on", "-id").only("model_version_id").first())
    version_id = plan.model_version_id if plan else _current_version_id()
    query = Q(version_id=version_id) if version_id else Q(pk__in=[])
    ids = set(extra_ids)
    if ids:
        query |= Q(pk__in=ids)
    return _module_refs(Module.objects.filter(query))


def modules_for_municipality(access: TenantAccess, extra_ids: Iterable[int] = ()
                             ) -> list[ModuleRef]:
    require_coordinator(access)
    version_id = _current_version_id()
    query = Q(version_id=version_id) if version_id else Q(pk__in=[])
    ids = set(extra_ids)
    if ids:
        query |= Q(pk__in=ids)
    return _module_refs(Module.objects.filter(query))


def _current_version_id() -> int | None:
    version = model_version_current()
    return version.pk if version else None


# --- Freshness: "last updated" and "updating…" ----------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """When the shown aggregates were built, and whether newer records wait for it.
    ``version`` changes whenever what a dashboard shows could change: with every
    recomputation (``computed_at``) and with every committed write (the dirty marker's
    ``requested_at`` moves on in the writer's transaction)."""

    computed_at: datetime | None
    updating: bool
    pending_school_ids: tuple[int, ...] = ()
    version: str = ""


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "-"


def school_freshness(access: TenantAccess, school_id: int) -> Freshness:
    _in_scope(access, school_id)
    # The status row is replaced by every recomputation: a new id even when two of them
    # run in one transaction (same now()).
    status = AggregateStatus.objects.filter(school_id=school_id).values_list(
        "id", "computed_at").first()
    computed = status[1] if status else None
    requested = PendingRecompute.objects.filter(school_id=school_id).values_list(
        "requested_at", flat=True).first()
    return Freshness(
        computed_at=computed, updating=requested is not None,
        pending_school_ids=(school_id,) if requested is not None else (),
        version=f"{status[0] if status else '-'}|{_stamp(computed)}|{_stamp(requested)}",
    )


def municipality_freshness(access: TenantAccess) -> Freshness:
    """The municipality spread's build time; updating while any school is pending."""
    require_coordinator(access)
    built = AggregateStatus.objects.aggregate(
        spread=Max("computed_at", filter=Q(school__isnull=True)),
        latest=Max("computed_at"), rows=Count("id"), last_id=Max("id"))
    pending = list(PendingRecompute.objects.order_by("school_id")
                   .values_list("school_id", "requested_at"))
    latest_request = max((requested for _id, requested in pending), default=None)
    return Freshness(
        computed_at=built["spread"], updating=bool(pending),
        pending_school_ids=tuple(school_id for school_id, _at in pending),
        version=f"{built['last_id']}|{_stamp(built['latest'])}|{built['rows']}|"
                f"{_stamp(latest_request)}|{len(pending)}",
    )


# --- Cached charts --------------------------------------------------------------------------


def _cache_seconds() -> int:
    """``DASHBOARD_CACHE_SECONDS`` (default 600; 0 turns the cache off). The key holds the
    freshness version, so a cached chart is never older than the aggregates; the time
    limit only bounds catalog edits (a module's title) showing late."""
    return int(getattr(settings, "DASHBOARD_CACHE_SECONDS", 600))


def _cached(scope: str, freshness: Freshness | None, key: str, params: dict[str, Any],
            build: Callable[[], Chart]) -> Chart:
    seconds = _cache_seconds()
    if seconds <= 0 or freshness is None or freshness.computed_at is None:
        return build()  # nothing computed yet: cheap, and no stable version to key on
    wanted = ",".join(f"{k}={params.get(k) or ''}" for k in sorted(params))
    raw = (f"{tenant_connection().schema_name}|{scope}|{freshness.version}|{key}|{wanted}|"
           f"{get_language()}|{_as_of().isoformat()}")
    cache_key = "sovei:dashboards:" + hashlib.sha256(raw.encode()).hexdigest()
    chart: Chart | None = cache.get(cache_key)
    if chart is None:
        chart = build()
        cache.set(cache_key, chart, seconds)
    return chart


@dataclass(frozen=True)
class SchoolStatus:
    school: SchoolRef
    computed_at: datetime | None
    duration_ms: int | None
    updating: bool
    pending_since: datetime | None
    attempts: int
    last_error: str


def school_statuses(access: TenantAccess) -> list[SchoolStatus]:
    """Per school of the municipality: last recomputation and any waiting change."""
    schools = municipality_schools(access)
    built: dict[int, dict[str, Any]] = {
        row["school_id"]: dict(row) for row in AggregateStatus.objects.filter(
            school__isnull=False).values("school_id", "computed_at", "duration_ms")}
    pending: dict[int, dict[str, Any]] = {
        row["school_id"]: dict(row) for row in PendingRecompute.objects.values(
            "school_id", "requested_at", "attempts", "last_error")}
    return [
        SchoolStatus(
            school=s,
            computed_at=built.get(s.id, {}).get("computed_at"),
            duration_ms=built.get(s.id, {}).get("duration_ms"),
            updating=s.id in pending,
            pending_since=pending.get(s.id, {}).get("requested_at"),
            attempts=pending.get(s.id, {}).get("attempts", 0),
            last_error=pending.get(s.id, {}).get("last_error", ""),
        )
        for s in schools
    ]


def recompute_runs(access: TenantAccess, limit: int = RECENT_RUNS) -> list[RecomputeRun]:
    """The latest full recomputations (public schema: counts only, no tenant rows)."""
    require_coordinator(access)
    return list(RecomputeRun.objects.order_by("-started_at", "-id")[:limit])


# --- School aggregates ----------------------------------------------------------------------

_FIDELITY_FIELDS = (
    "school_id", "round_id", "module_id", "module_number", "points", "max_points",
    "rated_count", "unrated_count", "not_started_count", "percent", "rated_share_percent",
    "min_rated_percent", "measured", "threshold_percent", "meets_threshold",
)


def fidelity_rows(access: TenantAccess, school_id: int) -> list[FidelityRow]:
    _in_scope(access, school_id)
    return [FidelityRow(**row) for row in FidelityAggregate.objects.filter(
        school_id=school_id).values(*_FIDELITY_FIELDS)]


def component_rows(access: TenantAccess, school_id: int) -> list[ComponentStatusRow]:
    """The school's adopted components with their status history."""
    _in_scope(access, school_id)
    adoptions = (ComponentAdoption.objects.filter(school_id=school_id)
                 .select_related("component__module", "local_component__module")
                 .prefetch_related("status_changes"))
    rows: list[ComponentStatusRow] = []
    for a in adoptions:
        component = a.component
        local = a.local_component
        module = component.module if component else local.module if local else None
        rows.append(ComponentStatusRow(
            adoption_id=a.pk,
            key=component.key if component else "",
            title=str(component.title) if component else (local.title if local else ""),
            module_number=module.number if module else 0,
            component_number=component.number if component else None,
            is_local=local is not None,
            status=a.status,
            status_since=a.status_since,
            history=tuple(StatusChangeRow(on=c.changed_on, status=c.to_status)
                          for c in sorted(a.status_changes.all(),
                                          key=lambda c: (c.changed_on, c.pk))),
        ))
    return rows


_STAGE_FIELDS = (
    "school_id", "module_id", "module_number", "stage", "stage_order", "entered_on",
    "exited_on", "ongoing", "days", "steps_total", "steps_done", "steps_cancelled",
    "steps_share", "is_furthest", "as_of",
)


def stage_rows(access: TenantAccess, school_id: int) -> list[StageRow]:
    _in_scope(access, school_id)
    return [StageRow(**row) for row in StageAggregate.objects.filter(
        school_id=school_id).order_by("module_number", "stage_order").values(*_STAGE_FIELDS)]


def step_rows(access: TenantAccess, school_id: int) -> list[StepRow]:
    _in_scope(access, school_id)
    return [StepRow(**row) for row in StrategyStep.objects.filter(
        plan__school_id=school_id).order_by("due_on", "id").values(
        "id", "module_id", "stage", "action", "due_on", "status", "done_on")]


def outcome_rows(access: TenantAccess, school_id: int) -> list[OutcomeRow]:
    _in_scope(access, school_id)
    return [OutcomeRow(**row) for row in OutcomeAggregate.objects.filter(
        school_id=school_id).values(
        "school_id", "round_id", "instrument", "n", "n_incomplete", "mean", "sd", "n_pooled",
        "n_withheld")]


def cfir_rounds(access: TenantAccess, school_id: int) -> list[RoundRef]:
    """Rounds in which the school's team rated the determinants."""
    _in_scope(access, school_id)
    ids = CfirAggregate.objects.filter(school_id=school_id).values("round_id")
    return _round_refs(AssessmentRound.objects.filter(id__in=ids).values(
        *_ROUND_FIELDS))


@dataclass(frozen=True)
class CfirLabels:
    items: dict[str, str]
    domains: dict[str, str]


def cfir_labels(round_id: int | None) -> CfirLabels:
    """Construct and domain names (active language) of the round's CFIR instrument (public
    catalog: no tenant scope)."""
    assessment_round = AssessmentRound.objects.filter(pk=round_id).first() if round_id else None
    instrument: Instrument | None = instrument_by_code("cfir", assessment_round)
    if instrument is None:
        return CfirLabels({}, {})
    items: dict[str, str] = {}
    for item in InstrumentItem.objects.filter(instrument=instrument).order_by("number"):
        items[item.code] = str(item.name or item.code)
        if item.parent_code:
            items.setdefault(item.parent_code, str(item.parent_name or item.parent_code))
    domains = {d.code: str(d.name) for d in InstrumentDomain.objects.filter(
        instrument=instrument)}
    return CfirLabels(items=items, domains=domains)


def cfir_rows(access: TenantAccess, school_id: int, round_id: int,
              labels: CfirLabels | None = None) -> list[CfirRow]:
    """Construct and domain rows of one round, labelled from the catalog."""
    _in_scope(access, school_id)
    labels = labels or cfir_labels(round_id)
    rows = CfirAggregate.objects.filter(
        school_id=school_id, round_id=round_id, level__in=["construct", "domain"]
    ).order_by("level", "position").values(
        "school_id", "round_id", "level", "code", "domain_code", "position", "n", "n_missing",
        "n_barrier", "n_neutral", "n_facilitator", "mean")
    return [CfirRow(**row, label=(labels.domains if row["level"] == "domain"
                                  else labels.items).get(row["code"], row["code"]))
            for row in rows]


def time_use_rows(access: TenantAccess, school_id: int) -> list[TimeUseRow]:
    _in_scope(access, school_id)
    return [TimeUseRow(**row) for row in TimeUseAggregate.objects.filter(
        school_id=school_id).values(
        "school_id", "month", "module_id", "module_number", "mode", "minutes", "activities")]


def time_plan_rows(access: TenantAccess, school_id: int) -> list[TimePlanRow]:
    _in_scope(access, school_id)
    return [TimePlanRow(**row) for row in TimeUsePlanAggregate.objects.filter(
        school_id=school_id).values(
        "school_id", "kind", "module_id", "module_number", "minutes", "total_minutes",
        "share_percent", "intended_percent", "plan_id", "period_from", "period_to")]


# --- Municipality aggregates (coordinators) -------------------------------------------------


def municipality_fidelity_rows(access: TenantAccess, round_id: int) -> list[FidelityRow]:
    require_coordinator(access)
    return [FidelityRow(**row) for row in FidelityAggregate.objects.filter(
        round_id=round_id).values(*_FIDELITY_FIELDS)]


def rounds_with_fidelity(access: TenantAccess) -> set[int]:
    require_coordinator(access)
    return set(FidelityAggregate.objects.order_by().values_list("round_id", flat=True).distinct())


# The coordinator's dashboard opens on the newest round that at least this share of its
# schools has answered (a round one school of ten has answered compares nothing yet).
ANSWERED_SHARE_TO_OPEN = 0.5


def rounds_answered_by_most(access: TenantAccess) -> set[int]:
    """Rounds whose fidelity self-assessment at least ``ANSWERED_SHARE_TO_OPEN`` of their
    schools have submitted (two grouped queries)."""
    require_coordinator(access)
    answered = dict(FidelityAggregate.objects.filter(module__isnull=True).order_by()
                    .values("round_id").annotate(n=Count("school_id", distinct=True))
                    .values_list("round_id", "n"))
    sizes = {row["assessmentround_id"]: row["n"] for row in
             AssessmentRound.schools.through.objects.order_by()
             .values("assessmentround_id").annotate(n=Count("school_id"))}
    return {round_id for round_id, n in answered.items()
            if n >= ANSWERED_SHARE_TO_OPEN * sizes.get(round_id, n)}


def municipality_time_plan_rows(access: TenantAccess) -> list[TimePlanRow]:
    """Every school's logged acute and outreach versus planned and system-level work, with
    the plan's intended share: the rows of each school dashboard's "time-systematic"."""
    require_coordinator(access)
    return [TimePlanRow(**row) for row in TimeUsePlanAggregate.objects.filter(
        kind="systematic").values(
        "school_id", "kind", "module_id", "module_number", "minutes", "total_minutes",
        "share_percent", "intended_percent", "plan_id", "period_from", "period_to")]


def round_thresholds(access: TenantAccess) -> dict[int, int]:
    """The fidelity threshold of each round (from its model version, as aggregated)."""
    require_coordinator(access)
    return dict(FidelityAggregate.objects.filter(module__isnull=True)
                .values_list("round_id").annotate(t=Max("threshold_percent"))
                .values_list("round_id", "t"))


def spread_rows(access: TenantAccess, metric: str = "fidelity") -> list[SpreadRow]:
    require_coordinator(access)
    return [SpreadRow(**row) for row in MunicipalitySpread.objects.filter(
        metric=metric).values(
        "metric", "round_id", "module_id", "module_number", "key", "n_schools", "minimum",
        "median", "maximum", "mean", "sd", "n_meets_threshold")]


def stage_progress_rows(access: TenantAccess) -> list[StageProgressRow]:
    """Per school × module: the furthest stage and the steps summed over its stages (two
    grouped queries, whatever the number of schools)."""
    require_coordinator(access)
    furthest: dict[tuple[int, int], dict[str, Any]] = {
        (r["school_id"], r["module_id"]): dict(r) for r in StageAggregate.objects.filter(
        is_furthest=True).values("school_id", "module_id", "stage", "stage_order",
                                 "entered_on", "days")}
    sums = StageAggregate.objects.values("school_id", "module_id").annotate(
        number=Max("module_number"), done=Sum("steps_done"), total=Sum("steps_total"))
    rows: list[StageProgressRow] = []
    for s in sums:
        f: dict[str, Any] = furthest.get((s["school_id"], s["module_id"]), {})
        rows.append(StageProgressRow(
            school_id=s["school_id"], module_id=s["module_id"], module_number=s["number"],
            stage=f.get("stage"), stage_order=f.get("stage_order"),
            entered_on=f.get("entered_on"), days=f.get("days"),
            steps_done=int(s["done"] or 0), steps_total=int(s["total"] or 0),
        ))
    return rows


def response_rate_rows(access: TenantAccess) -> list[ResponseRateSummaryRow]:
    """``ResponseRateAggregate`` summed per round and instrument over the schools."""
    require_coordinator(access)
    sums = ResponseRateAggregate.objects.values("round_id", "instrument", "respondent").annotate(
        schools=Count("school_id"),
        schools_answered=Count("school_id", filter=Q(responses__gt=0)),
        responses_sum=Sum("responses"), staff=Sum("staff_responses"),
        link=Sum("link_responses"), issued=Sum("links_issued"), used=Sum("links_used"),
    ).order_by("round_id", "instrument")
    return [ResponseRateSummaryRow(
        round_id=s["round_id"], instrument=s["instrument"], respondent=s["respondent"],
        schools=s["schools"], schools_answered=s["schools_answered"],
        responses=int(s["responses_sum"] or 0), staff_responses=int(s["staff"] or 0),
        link_responses=int(s["link"] or 0), links_issued=int(s["issued"] or 0),
        links_used=int(s["used"] or 0),
    ) for s in sums]


# --- Charts: the rows above through dashboards.figures --------------------------------------


class SchoolReads:
    """What the charts of one school page share (its rounds, its modules), read once."""

    def __init__(self, access: TenantAccess, school: School) -> None:
        _in_scope(access, school.pk)
        self.access = access
        self.school = school
        self._modules: list[ModuleRef] | None = None

    @cached_property
    def rounds(self) -> list[RoundRef]:
        return school_rounds(self.access, self.school)

    @cached_property
    def time_plan(self) -> list[TimePlanRow]:
        return time_plan_rows(self.access, self.school.pk)

    def modules(self, extra_ids: Iterable[int] = ()) -> list[ModuleRef]:
        if self._modules is None:
            self._modules = modules_for_school(self.access, self.school)
        missing = set(extra_ids) - {m.id for m in self._modules}
        if missing:
            self._modules = _module_refs_merged(self._modules, missing)
        return self._modules


class MunicipalityReads:
    """What the charts of the coordinator's page share, read once."""

    def __init__(self, access: TenantAccess) -> None:
        require_coordinator(access)
        self.access = access
        self._modules: list[ModuleRef] | None = None

    @cached_property
    def schools(self) -> list[SchoolRef]:
        return municipality_schools(self.access)

    @cached_property
    def rounds(self) -> list[RoundRef]:
        return municipality_rounds(self.access)

    def modules(self, extra_ids: Iterable[int] = ()) -> list[ModuleRef]:
        if self._modules is None:
            self._modules = modules_for_municipality(self.access)
        missing = set(extra_ids) - {m.id for m in self._modules}
        if missing:
            self._modules = _module_refs_merged(self._modules, missing)
        return self._modules


def _module_refs_merged(known: list[ModuleRef], missing: set[int]) -> list[ModuleRef]:
    return sorted([*known, *_module_refs(Module.objects.filter(pk__in=missing))],
                  key=lambda m: (m.number, m.id))


def _as_of() -> date:
    return timezone.localdate()


def _pick_round(rounds: list[RoundRef], wanted: int | str | None,
                preferred: set[int] | None = None) -> RoundRef | None:
    """The requested round if it is among ``rounds``; otherwise the latest one (the
    latest with data in ``preferred`` when given)."""
    try:
        wanted_id = int(wanted) if wanted not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        wanted_id = None
    for r in rounds:
        if r.id == wanted_id:
            return r
    candidates = [r for r in rounds if preferred is None or r.id in preferred]
    return candidates[-1] if candidates else (rounds[-1] if rounds else None)


def school_chart(access: TenantAccess, school: School, key: str,
                 params: dict[str, Any] | None = None,
                 reads: SchoolReads | None = None,
                 freshness: Freshness | None = None) -> Chart:
    """One chart of the school dashboard (``figures.SCHOOL_CHARTS``); ``params`` may hold
    ``round`` (determinants). Pass one ``reads`` for all charts of a page, and the
    school's ``freshness`` to use the cache."""
    params = params or {}
    reads = reads or SchoolReads(access, school)
    if key not in figures.SCHOOL_CHARTS:
        raise KeyError(key)
    return _cached(f"school:{school.pk}", freshness, key, params,
                   lambda: _school_chart(access, school, key, params, reads))


def _school_chart(access: TenantAccess, school: School, key: str, params: dict[str, Any],
                  reads: SchoolReads) -> Chart:
    sid = school.pk
    if key == "fidelity":
        rows = fidelity_rows(access, sid)
        return figures.fidelity_over_rounds(
            rows, rounds=reads.rounds,
            modules=reads.modules({r.module_id for r in rows if r.module_id}))
    if key == "component-status":
        return figures.component_status(component_rows(access, sid), as_of=_as_of())
    if key == "stages":
        stages = stage_rows(access, sid)
        steps = step_rows(access, sid)
        return figures.stage_timeline(
            stages, steps, as_of=stages[0].as_of if stages else _as_of(),
            modules=reads.modules({s.module_id for s in stages} | {s.module_id for s in steps}))
    if key == "outcomes":
        return figures.outcomes_over_rounds(outcome_rows(access, sid), rounds=reads.rounds,
                                            min_group_size=min_group_size())
    if key == "determinants":
        rounds = cfir_rounds(access, sid)
        chosen = _pick_round(rounds, params.get("round"))
        if chosen is None:
            return figures.determinants([], assessment_round=None)
        labels = cfir_labels(chosen.id)
        chart = figures.determinants(cfir_rows(access, sid, chosen.id, labels),
                                     assessment_round=chosen, domain_labels=labels.domains)
        chart.related["rounds"] = list(rounds)
        chart.related["chosen_round"] = [chosen]
        return chart
    if key in ("time-plan", "time-systematic"):
        rows_plan = reads.time_plan
        if key == "time-systematic":
            return figures.systematic_vs_plan(rows_plan)
        return figures.time_share_vs_plan(
            rows_plan, modules=reads.modules({r.module_id for r in rows_plan if r.module_id}))
    if key == "time-monthly":
        return figures.time_by_month(time_use_rows(access, sid))
    raise KeyError(key)


def municipality_chart(access: TenantAccess, key: str,
                       params: dict[str, Any] | None = None,
                       reads: MunicipalityReads | None = None,
                       freshness: Freshness | None = None) -> Chart:
    """One chart of the coordinator dashboard (``figures.MUNICIPALITY_CHARTS``); ``params``
    may hold ``round`` (heatmap) and ``module`` (a module number, for the spread). Pass
    the municipality's ``freshness`` to use the cache."""
    params = params or {}
    reads = reads or MunicipalityReads(access)
    if key not in figures.MUNICIPALITY_CHARTS:
        raise KeyError(key)
    return _cached("municipality", freshness, key, params,
                   lambda: _municipality_chart(access, key, params, reads))


def _municipality_chart(access: TenantAccess, key: str, params: dict[str, Any],
                        reads: MunicipalityReads) -> Chart:
    if key == "fidelity-heatmap":
        chosen = _pick_round(reads.rounds, params.get("round"),
                             rounds_answered_by_most(access) or rounds_with_fidelity(access))
        if chosen is None:
            return figures.fidelity_heatmap([], schools=[], modules=[], assessment_round=None)
        rows = municipality_fidelity_rows(access, chosen.id)
        chart = figures.fidelity_heatmap(
            rows, schools=reads.schools,
            modules=reads.modules({r.module_id for r in rows if r.module_id}),
            assessment_round=chosen, round_school_ids=round_school_ids(access, chosen.id))
        chart.related["rounds"] = list(reads.rounds)
        chart.related["chosen_round"] = [chosen]
        return chart
    if key == "fidelity-spread":
        modules = reads.modules()
        module = next((m for m in modules if str(m.number) == str(params.get("module"))), None)
        chart = figures.fidelity_spread(
            spread_rows(access, "fidelity"), rounds=reads.rounds, module=module,
            thresholds=round_thresholds(access))
        chart.related["modules"] = list(modules)
        return chart
    if key == "stage-progress":
        rows_stage = stage_progress_rows(access)
        return figures.stage_progress(
            rows_stage, schools=reads.schools,
            modules=reads.modules({r.module_id for r in rows_stage}))
    if key == "response-rates":
        return figures.response_rates(response_rate_rows(access), rounds=reads.rounds)
    if key == "time-use":
        return figures.time_use_comparison(municipality_time_plan_rows(access),
                                           schools=reads.schools)
    raise KeyError(key)
