"""Query filters of the list endpoints. They narrow what a selector already scoped to the
user; none of them can widen it."""

from __future__ import annotations

from typing import Any

import django_filters as df
from auditlog.models import LogEntry
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from implementation.models import (
    Activity,
    ActivityMode,
    Adaptation,
    AdaptationTiming,
    AdoptionStatus,
    AssessmentRound,
    ComponentAdoption,
    EricCluster,
    FidelityConsistency,
    ImplementationPlan,
    Response,
    Stage,
    StagePeriod,
    StepStatus,
    StrategyStep,
    SurveyLink,
)


def _school(field: str = "school_id") -> df.NumberFilter:
    return df.NumberFilter(field_name=field, label=_("School id"))


def _id(field: str, label: Any) -> df.NumberFilter:
    """Foreign keys are filtered by plain ids: a choice filter would tell a valid id of
    another school's row from an unknown one."""
    return df.NumberFilter(field_name=field, label=label)


class AdoptionFilter(df.FilterSet):
    school = _school()
    status = df.ChoiceFilter(choices=AdoptionStatus.choices)
    module = df.NumberFilter(method="filter_module", label=_("Module id"))
    is_local = df.BooleanFilter(method="filter_is_local", label=_("Local components only"))
    component = _id("component_id", _("Catalog component id"))

    class Meta:
        model = ComponentAdoption
        fields = ["school", "status", "module", "is_local", "component"]

    def filter_module(
        self, queryset: QuerySet[ComponentAdoption], name: str, value: Any
    ) -> QuerySet[ComponentAdoption]:
        return queryset.filter(Q(component__module_id=value) | Q(local_component__module_id=value))

    def filter_is_local(
        self, queryset: QuerySet[ComponentAdoption], name: str, value: Any
    ) -> QuerySet[ComponentAdoption]:
        return queryset.filter(local_component__isnull=not value)


class AdaptationFilter(df.FilterSet):
    school = _school("adoption__school_id")
    adoption = _id("adoption_id", _("Adoption id"))
    timing = df.ChoiceFilter(choices=AdaptationTiming.choices)
    fidelity = df.ChoiceFilter(choices=FidelityConsistency.choices)
    made_from = df.DateFilter(field_name="made_on", lookup_expr="gte")
    made_to = df.DateFilter(field_name="made_on", lookup_expr="lte")

    class Meta:
        model = Adaptation
        fields = ["school", "adoption", "planned", "timing", "fidelity", "made_from", "made_to"]


class PlanFilter(df.FilterSet):
    school = _school()
    model_version = _id("model_version_id", _("Model version id"))

    class Meta:
        model = ImplementationPlan
        fields = ["school", "model_version"]


class StepFilter(df.FilterSet):
    school = _school("plan__school_id")
    plan = _id("plan_id", _("Plan id"))
    module = _id("module_id", _("Module id"))
    stage = df.ChoiceFilter(choices=Stage.choices)
    status = df.ChoiceFilter(choices=StepStatus.choices)
    eric_cluster = df.ChoiceFilter(choices=EricCluster.choices)
    due_from = df.DateFilter(field_name="due_on", lookup_expr="gte")
    due_to = df.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = StrategyStep
        fields = [
            "school",
            "plan",
            "module",
            "stage",
            "status",
            "eric_cluster",
            "due_from",
            "due_to",
        ]


class StagePeriodFilter(df.FilterSet):
    school = _school()
    module = _id("module_id", _("Module id"))
    stage = df.ChoiceFilter(choices=Stage.choices)

    class Meta:
        model = StagePeriod
        fields = ["school", "module", "stage"]


class RoundFilter(df.FilterSet):
    school = df.NumberFilter(field_name="schools", label=_("School id"))
    is_open = df.BooleanFilter(method="filter_is_open", label=_("Open today"))
    opens_from = df.DateFilter(field_name="opens_on", lookup_expr="gte")
    opens_to = df.DateFilter(field_name="opens_on", lookup_expr="lte")

    class Meta:
        model = AssessmentRound
        fields = ["school", "is_open", "opens_from", "opens_to"]

    def filter_is_open(
        self, queryset: QuerySet[AssessmentRound], name: str, value: Any
    ) -> QuerySet[AssessmentRound]:
        today = timezone.localdate()
        is_open = Q(closed_at__isnull=True, opens_on__lte=today, closes_on__gte=today)
        return queryset.filter(is_open) if value else queryset.exclude(is_open)


class SurveyLinkFilter(df.FilterSet):
    school = _school()
    used = df.BooleanFilter(field_name="used_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = SurveyLink
        fields = ["school", "used"]


class ResponseFilter(df.FilterSet):
    school = _school()
    instrument = df.CharFilter(field_name="instrument__code", label=_("Instrument code"))

    class Meta:
        model = Response
        fields = ["school", "instrument"]


class ActivityFilter(df.FilterSet):
    school = _school()
    staff = _id("staff_id", _("User id of the staff member"))
    module = _id("module_id", _("Module id"))
    adoption = _id("adoption_id", _("Adoption id"))
    mode = df.ChoiceFilter(choices=ActivityMode.choices)
    date_from = df.DateFilter(field_name="performed_on", lookup_expr="gte")
    date_to = df.DateFilter(field_name="performed_on", lookup_expr="lte")

    class Meta:
        model = Activity
        fields = ["school", "staff", "module", "adoption", "mode", "date_from", "date_to"]


AUDIT_ACTION_CHOICES = [
    ("create", "create"),
    ("update", "update"),
    ("delete", "delete"),
]
AUDIT_ACTION_VALUES = {
    "create": LogEntry.Action.CREATE,
    "update": LogEntry.Action.UPDATE,
    "delete": LogEntry.Action.DELETE,
}


class AuditFilter(df.FilterSet):
    school = df.NumberFilter(method="filter_school", label=_("School id"))
    model = df.CharFilter(
        field_name="content_type__model",
        label=_("Model name in lower case, e.g. componentadoption, strategystep"),
    )
    action = df.ChoiceFilter(choices=AUDIT_ACTION_CHOICES, method="filter_action")
    object_id = df.NumberFilter(field_name="object_id")
    date_from = df.DateFilter(field_name="timestamp__date", lookup_expr="gte")
    date_to = df.DateFilter(field_name="timestamp__date", lookup_expr="lte")

    class Meta:
        model = LogEntry
        fields = ["school", "model", "action", "object_id", "date_from", "date_to"]

    def filter_school(
        self, queryset: QuerySet[LogEntry], name: str, value: Any
    ) -> QuerySet[LogEntry]:
        # The school id sits in a JSON field: compare with an int, not the filter's Decimal.
        return queryset.filter(additional_data__school_id=int(value))

    def filter_action(
        self, queryset: QuerySet[LogEntry], name: str, value: str
    ) -> QuerySet[LogEntry]:
        return queryset.filter(action=AUDIT_ACTION_VALUES[value])
