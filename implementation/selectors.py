"""Reads of tenant data, always through a user's access (accounts.selectors.TenantAccess).

Views, API views and tasks read tenant rows only through these functions (enforced by
tests/test_architecture.py), so the school scope of a staff member or leader cannot be
forgotten: a function here either filters by `access.school_ids` or, for a coordinator
(school_ids is None), returns the whole municipality. The schema itself is the tenant
boundary (django-tenants sets it per request)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditlog.models import LogEntry
from django.db.models import Count, ForeignKey, Model, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from accounts.models import Role, User
from accounts.selectors import TenantAccess
from catalog.models import (
    Component,
    Instrument,
    InstrumentRespondent,
    ModelVersion,
    Module,
    VersionStatus,
)
from tenants.db import tenant_connection

from .models import (
    Activity,
    Adaptation,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    RespondentKind,
    Response,
    School,
    SchoolStartup,
    StaffPosition,
    StagePeriod,
    StrategyStep,
    SurveyLink,
)
from .services.rounds import token_hash
from .startup import Requirement, open_rounds_of
from .startup import evidence as startup_evidence
from .startup import is_new as startup_is_new


def _school_filter(access: TenantAccess, field: str = "school_id") -> Q:
    ids = access.school_ids
    return Q() if ids is None else Q(**{f"{field}__in": ids})


def _managed_filter(access: TenantAccess, field: str = "school_id") -> Q:
    if access.is_coordinator:
        return Q()
    return Q(**{f"{field}__in": access.leader_school_ids})


def schools_for(access: TenantAccess) -> QuerySet[School]:
    return (
        School.objects.filter(_school_filter(access, "id"))
        .annotate(
            position_count=Count("positions", distinct=True),
            position_percent_total=Sum("positions__position_percent"),
        )
        .order_by("name")
    )


def school_for(access: TenantAccess, school_id: int | str, *, manage: bool = False) -> School:
    """The school if the user may see it (or manage it); otherwise 404, so that the
    existence of other schools is not revealed."""
    try:
        sid = int(school_id)
    except (TypeError, ValueError):
        raise Http404 from None
    allowed = access.can_manage_school(sid) if manage else access.can_view_school(sid)
    school = School.objects.filter(pk=sid).first() if allowed else None
    if school is None:
        raise Http404
    return school


def managed_schools_for(access: TenantAccess) -> QuerySet[School]:
    return School.objects.filter(_managed_filter(access, "id")).order_by("name")


def adoptions_for(access: TenantAccess) -> QuerySet[ComponentAdoption]:
    return (
        ComponentAdoption.objects.filter(_school_filter(access))
        .select_related("school", "component__module", "local_component__module", "responsible")
        .prefetch_related("status_changes")
        .order_by("school__name", "id")
    )


def adaptations_for(access: TenantAccess) -> QuerySet[Adaptation]:
    return Adaptation.objects.filter(_school_filter(access, "adoption__school_id")).select_related(
        "adoption__school", "adoption__component", "adoption__local_component"
    )


def plans_for(access: TenantAccess) -> QuerySet[ImplementationPlan]:
    return (
        ImplementationPlan.objects.filter(_school_filter(access))
        .select_related("school", "model_version")
        .prefetch_related("priorities__module")
    )


def steps_for(access: TenantAccess) -> QuerySet[StrategyStep]:
    return StrategyStep.objects.filter(_school_filter(access, "plan__school_id")).select_related(
        "plan__school", "module"
    )


def stage_periods_for(access: TenantAccess) -> QuerySet[StagePeriod]:
    return StagePeriod.objects.filter(_school_filter(access)).select_related("school", "module")


def rounds_for(access: TenantAccess) -> QuerySet[AssessmentRound]:
    rounds = AssessmentRound.objects.all()
    if access.school_ids is not None:
        rounds = rounds.filter(schools__in=access.school_ids).distinct()
    visible_schools = School.objects.filter(_school_filter(access, "id")).order_by("name")
    return rounds.prefetch_related(
        Prefetch("schools", queryset=visible_schools), "instruments"
    ).order_by("-opens_on", "name")


def team_responses_for(access: TenantAccess) -> QuerySet[Response]:
    return (
        Response.objects.filter(_school_filter(access), respondent_kind=RespondentKind.TEAM)
        .select_related("round", "school", "instrument")
        .prefetch_related("answers")
    )


def own_responses_for(access: TenantAccess) -> QuerySet[Response]:
    return (
        Response.objects.filter(
            _school_filter(access), respondent_kind=RespondentKind.STAFF, respondent=access.user
        )
        .select_related("round", "school", "instrument")
        .prefetch_related("answers")
    )


def survey_links_for(access: TenantAccess) -> QuerySet[SurveyLink]:
    """Links of the schools the user manages (their tokens are never readable)."""
    return SurveyLink.objects.filter(_managed_filter(access)).select_related("round", "school")


def response_counts_for(
    access: TenantAccess, assessment_round: AssessmentRound
) -> list[dict[str, Any]]:
    """Per school and instrument: how many have answered, and how many links are out."""
    counts = (
        Response.objects.filter(_school_filter(access), round=assessment_round)
        .values("school_id", "instrument__code", "respondent_kind")
        .annotate(n=Count("id"))
        .order_by("school_id", "instrument__code")
    )
    return [dict(row) for row in counts]


def response_counts_by_round(
    access: TenantAccess, round_ids: Iterable[int], school: School
) -> dict[int, list[dict[str, Any]]]:
    """`response_counts_for` of one school in several rounds at once, by round id."""
    counts = (
        Response.objects.filter(_school_filter(access), round_id__in=list(round_ids),
                                school=school)
        .values("round_id", "school_id", "instrument__code", "respondent_kind")
        .annotate(n=Count("id"))
        .order_by("round_id", "school_id", "instrument__code")
    )
    by_round: dict[int, list[dict[str, Any]]] = {}
    for row in counts:
        entry: dict[str, Any] = dict(row)
        by_round.setdefault(int(entry.pop("round_id")), []).append(entry)
    return by_round


def survey_link_counts_by_round(
    access: TenantAccess, round_ids: Iterable[int], school: School
) -> dict[int, dict[str, int]]:
    """How many one-time links of a school the user manages are out, and used, per round."""
    rows = (
        SurveyLink.objects.filter(_managed_filter(access), round_id__in=list(round_ids),
                                  school=school)
        .values("round_id")
        .annotate(issued=Count("id"), used=Count("id", filter=Q(used_at__isnull=False)))
        .order_by("round_id")
    )
    return {row["round_id"]: {"issued": row["issued"], "used": row["used"]} for row in rows}


def activities_for(access: TenantAccess) -> QuerySet[Activity]:
    """Leaders and coordinators see their schools' log; staff see what they logged."""
    qs = Activity.objects.filter(_school_filter(access)).select_related(
        "school", "module", "adoption__component", "adoption__local_component", "staff"
    )
    if not access.is_coordinator:
        qs = qs.filter(Q(school_id__in=access.leader_school_ids) | Q(staff=access.user))
    return qs


def audit_entries_for(access: TenantAccess) -> QuerySet[LogEntry]:
    """The audit trail of the schools the user manages (leaders and coordinators)."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp")
    if access.is_coordinator:
        return entries
    return entries.filter(additional_data__school_id__in=sorted(access.leader_school_ids))


def audit_related_names(
    entries: list[LogEntry], valueless: frozenset[str] = frozenset()
) -> dict[tuple[type[Model], str], str]:
    """How auditlog shows the records the entries' foreign keys point to, by (model, stored
    value), fetched in one query per model instead of one per field of every entry (its
    ``changes_display_dict`` looks each up on its own). Entries of the ``valueless`` models
    (whose values the trail does not show) are left out."""
    wanted: dict[type[Model], dict[str, Any]] = {}
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type else None
        if model is None or entry.content_type.model in valueless:
            continue
        for name, values in entry.changes_dict.items():
            try:
                field = model._meta.get_field(name)
            except Exception:  # noqa: S112 - not a field of the model (any more)
                continue
            if not isinstance(field, ForeignKey) or field.related_model is None:
                continue
            related: Any = field.related_model
            for value in values:
                if value in ("None", None):
                    continue
                try:
                    wanted.setdefault(related, {})[str(value)] = related._meta.pk.to_python(value)
                except Exception:  # noqa: S112 - a legacy value auditlog shows as it is
                    continue
    names: dict[tuple[type[Model], str], str] = {}
    for related, keys in wanted.items():
        # select_related(): the records' __str__ may name their school, round or adoption.
        found = {
            obj.pk: str(obj)
            for obj in related._default_manager.select_related().filter(pk__in=keys.values())
        }
        for stored, pk in keys.items():
            names[(related, stored)] = found.get(pk, f"Deleted '{related.__name__}' ({stored})")
    return names


def school_members(school: School) -> QuerySet[User]:
    """Users with a role at the school (staff, leaders) or in its whole municipality."""
    municipality = tenant_connection().tenant
    return (
        User.objects.filter(
            Q(memberships__municipality_id=municipality.pk)
            & (
                Q(memberships__role=Role.COORDINATOR)
                | Q(memberships__school_ids__contains=[school.pk])
            ),
            is_active=True,
        )
        .distinct()
        .order_by("full_name", "email")
    )


# --- Reads for the REST API (implementation/api) -------------------------------------------


def staff_positions_for(access: TenantAccess) -> QuerySet[StaffPosition]:
    return StaffPosition.objects.filter(_school_filter(access)).select_related("school")


def round_school_ids(assessment_round: AssessmentRound) -> frozenset[int]:
    """Every school of the round, also those the user cannot see (for capability checks;
    never shown). Reads past the round's `schools` relation on purpose: `rounds_for`
    prefetches it limited to the schools the user sees."""
    return frozenset(
        School.objects.filter(rounds=assessment_round).values_list("id", flat=True)
    )


def can_manage_round(access: TenantAccess, assessment_round: AssessmentRound) -> bool:
    """A round changes every school in it: only someone who manages all of them may change
    or close it."""
    if access.is_coordinator:
        return True
    ids = round_school_ids(assessment_round)
    return bool(ids) and ids <= access.leader_school_ids


def catalog_modules() -> QuerySet[Module]:
    """Modules of the published model versions (public catalog: no tenant scope)."""
    return Module.objects.filter(version__status=VersionStatus.PUBLISHED).select_related(
        "version"
    )


def catalog_components() -> QuerySet[Component]:
    return Component.objects.filter(
        module__version__status=VersionStatus.PUBLISHED
    ).select_related("module__version")


def catalog_model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(status=VersionStatus.PUBLISHED)


def catalog_instruments() -> QuerySet[Instrument]:
    return Instrument.objects.prefetch_related("items__domain", "domains").order_by("id")


def instrument_by_code(
    code: str, assessment_round: AssessmentRound | None = None
) -> Instrument | None:
    """The round's instrument with this code; otherwise the newest catalog version of it
    (so that a service can say the round does not include it); None if unknown."""
    if assessment_round is not None:
        chosen = assessment_round.instruments.filter(code=code).first()
        if chosen is not None:
            return chosen
    versions = list(Instrument.objects.filter(code=code))
    if not versions:
        return None
    return max(
        versions, key=lambda i: tuple(int(p) if p.isdigit() else 0 for p in i.version.split("."))
    )


def survey_link_by_token(token: str) -> SurveyLink | None:
    """The one-time link for a token (a public read: the token is the credential)."""
    return (
        SurveyLink.objects.select_related("round", "school")
        .filter(token_hash=token_hash(token))
        .first()
    )


def survey_instruments(link: SurveyLink) -> list[Instrument]:
    """The staff surveys (AIM, IAM, FIM, SUS) a link answers, with their items."""
    return list(
        link.round.instruments.filter(respondent=InstrumentRespondent.INDIVIDUAL)
        .prefetch_related("items")
        .order_by("id")
    )


# --- Start-up module (implementation.startup) -----------------------------------------------


def startup_for(access: TenantAccess, school: School) -> SchoolStartup | None:
    """The school's start-up with its recorded steps, if it has begun (None otherwise)."""
    if not access.can_view_school(school.pk):
        raise Http404
    return (
        SchoolStartup.objects.filter(school=school)
        .select_related("started_by", "paused_by")
        .prefetch_related("steps__completed_by")
        .first()
    )


def startup_evidence_for(access: TenantAccess, school: School) -> dict[str, list[Requirement]]:
    """Per step, what the school's records show (implementation.startup.evidence)."""
    if not access.can_view_school(school.pk):
        raise Http404
    return startup_evidence(school)


def startup_open_rounds_for(access: TenantAccess, school: School) -> list[AssessmentRound]:
    if not access.can_view_school(school.pk):
        raise Http404
    return open_rounds_of(school)


def startups_for(access: TenantAccess) -> list[tuple[School, SchoolStartup | None]]:
    """Every school the user sees, with its start-up (None: not started)."""
    schools = list(School.objects.filter(_school_filter(access, "id")).order_by("name"))
    startups = {
        s.school_id: s
        for s in SchoolStartup.objects.filter(_school_filter(access)).select_related("paused_by")
    }
    return [(school, startups.get(school.pk)) for school in schools]


def startup_offered_for(access: TenantAccess) -> list[School]:
    """The schools the user manages that are new (nothing adopted, no plan) and whose
    start-up has not begun: the home page offers them the start-up module."""
    return list(
        managed_schools_for(access)
        .filter(startup__isnull=True, adoptions__isnull=True, plans__isnull=True)
        .distinct()
    )


def startup_is_offered(access: TenantAccess, school: School) -> bool:
    """Whether the school page offers the start-up: the user manages the school, it is new
    and its start-up has not begun."""
    return (
        access.can_manage_school(school.pk)
        and not SchoolStartup.objects.filter(school=school).exists()
        and startup_is_new(school)
    )
