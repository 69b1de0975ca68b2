"""Serializers check the shape of requests (types, required fields, known choices) and
render responses. They never save: views pass `validated_data` to a service, which checks
the meaning (dates in order, scales, allowed status moves, plausible dates and numbers)
and writes. Numeric ranges are also given to the fields here, from the same constants
(implementation/validators.py), so that the OpenAPI schema documents them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditlog.models import LogEntry
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.selectors import TenantAccess
from catalog.models import Component, Instrument, InstrumentItem, Module
from implementation.models import (
    Activity,
    ActivityMode,
    Adaptation,
    AdaptationGoal,
    AdoptionStatus,
    AdoptionStatusChange,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    LocalComponent,
    PlanModulePriority,
    Profession,
    Response,
    School,
    StaffPosition,
    Stage,
    StagePeriod,
    StrategyStep,
    SurveyLink,
    UnratedReason,
)
from implementation.selectors import (
    adoptions_for,
    catalog_components,
    catalog_model_versions,
    catalog_modules,
    plans_for,
    schools_for,
)
from implementation.services.responses import survey_link_problem
from implementation.validators import (
    MAX_ACTIVITY_MINUTES,
    MAX_GRADE,
    MAX_POSITION_PERCENT,
    MAX_PUPILS,
    MIN_ACTIVITY_MINUTES,
    MIN_GRADE,
    MIN_POSITION_PERCENT,
    MIN_PUPILS,
)

from . import scores
from .permissions import access_of

# --- Shared fields ---------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """An id of a row the signed-in user can see: the choices come from a selector, so a
    row outside the user's scope is "does not exist" (400), never revealed."""

    def __init__(self, **kwargs: Any) -> None:
        self.selector: Callable[[TenantAccess], QuerySet[Any]] = kwargs.pop("selector")
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.selector(access_of(self.context["request"]))


def school_field(**kwargs: Any) -> ScopedPrimaryKeyField:
    kwargs.setdefault("help_text", _("School id."))
    return ScopedPrimaryKeyField(selector=schools_for, **kwargs)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "integer", "nullable": True},
        "example": {"aim1": 4, "aim2": 5, "aim3": 4, "aim4": 3},
    }
)
class AnswersField(serializers.DictField):  # type: ignore[type-arg]
    """{item code (or, for fidelity, adoption id): value or null}. The values are checked
    by the service (scale, whole numbers), which names the item in its error."""

    child = serializers.JSONField(allow_null=True)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": UnratedReason.values},
        "example": {"12": "not_started", "15": "not_assessed"},
    }
)
class UnratedReasonsField(serializers.DictField):  # type: ignore[type-arg]
    """{adoption id: not_started, not_applicable or not_assessed} for the fidelity components
    left unrated. The service checks the reasons and names the component in its error."""

    child = serializers.JSONField(allow_null=True)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": {"type": "integer", "nullable": True},
        },
        "example": {
            "aim": {"aim1": 4, "aim2": 5, "aim3": 4, "aim4": 3},
            "sus": {f"sus{n}": 3 for n in range(1, 11)},
        },
    }
)
class SurveyAnswersField(serializers.DictField):  # type: ignore[type-arg]
    """{instrument code: {item code: value}} for every staff survey of the round."""

    child = serializers.DictField(child=serializers.JSONField(allow_null=True))


class PersonSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)


# --- Catalog (read-only) ---------------------------------------------------------------------


class CatalogComponentSerializer(serializers.ModelSerializer[Component]):
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)

    class Meta:
        model = Component
        fields = ["id", "number", "title", "description"]


class CatalogModuleSerializer(serializers.ModelSerializer[Module]):
    title = serializers.CharField(read_only=True)
    version = serializers.CharField(source="version.code", read_only=True)
    components = CatalogComponentSerializer(many=True, read_only=True)

    class Meta:
        model = Module
        fields = ["id", "version", "number", "title", "components"]


class ScaleLabelSerializer(serializers.Serializer[Any]):
    value = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]


class InstrumentItemSerializer(serializers.ModelSerializer[InstrumentItem]):
    text = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    domain = serializers.CharField(
        source="domain.code", read_only=True, default=None, allow_null=True,
        help_text="CFIR domain code; null for the items of AIM, IAM, FIM and SUS.",
    )

    class Meta:
        model = InstrumentItem
        fields = ["code", "number", "domain", "name", "text"]


class InstrumentSerializer(serializers.ModelSerializer[Instrument]):
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    labels = serializers.SerializerMethodField()
    items = InstrumentItemSerializer(many=True, read_only=True)

    class Meta:
        model = Instrument
        fields = [
            "id",
            "code",
            "version",
            "name",
            "description",
            "respondent",
            "scale_min",
            "scale_max",
            "missing_allowed",
            "labels",
            "items",
        ]

    @extend_schema_field(ScaleLabelSerializer(many=True))
    def get_labels(self, instrument: Instrument) -> list[dict[str, Any]]:
        return [
            {"value": entry["value"], "label": instrument.label_for(entry["value"])}
            for entry in instrument.scale_labels
        ]


# --- Schools -----------------------------------------------------------------------------------


class StaffPositionSerializer(serializers.ModelSerializer[StaffPosition]):
    class Meta:
        model = StaffPosition
        fields = ["id", "school", "profession", "position_percent", "title"]
        read_only_fields = ["id", "school"]


class StaffPositionWriteSerializer(serializers.Serializer[Any]):
    profession = serializers.ChoiceField(choices=Profession.choices)
    position_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=MIN_POSITION_PERCENT,
        max_value=MAX_POSITION_PERCENT,
    )
    title = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class SchoolSerializer(serializers.ModelSerializer[School]):
    positions = StaffPositionSerializer(many=True, read_only=True)
    position_percent_total = serializers.DecimalField(
        max_digits=7, decimal_places=1, read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = School
        fields = [
            "id",
            "name",
            "organisation_number",
            "grade_from",
            "grade_to",
            "pupil_count",
            "positions",
            "position_percent_total",
        ]


class SchoolWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150)
    organisation_number = serializers.CharField(
        max_length=9, required=False, allow_blank=True, default=""
    )
    grade_from = serializers.IntegerField(
        required=False, default=1, min_value=MIN_GRADE, max_value=MAX_GRADE
    )
    grade_to = serializers.IntegerField(
        required=False, default=7, min_value=MIN_GRADE, max_value=MAX_GRADE
    )
    pupil_count = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=MIN_PUPILS,
        max_value=MAX_PUPILS,
        help_text=_("Leave out or null when unknown."),
    )


# --- Adoptions ---------------------------------------------------------------------------------


class StatusChangeSerializer(serializers.ModelSerializer[AdoptionStatusChange]):
    class Meta:
        model = AdoptionStatusChange
        fields = ["from_status", "to_status", "changed_on", "changed_by", "note"]


class LocalComponentSerializer(serializers.ModelSerializer[LocalComponent]):
    class Meta:
        model = LocalComponent
        fields = ["id", "module", "title", "description"]


class AdoptionSerializer(serializers.ModelSerializer[ComponentAdoption]):
    local_component = LocalComponentSerializer(read_only=True, allow_null=True)
    module = serializers.IntegerField(source="module_id", read_only=True)
    title = serializers.CharField(source="component_title", read_only=True)
    is_local = serializers.BooleanField(read_only=True)
    responsible = PersonSerializer(read_only=True, allow_null=True)
    history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)

    class Meta:
        model = ComponentAdoption
        fields = [
            "id",
            "school",
            "component",
            "local_component",
            "is_local",
            "module",
            "title",
            "status",
            "status_since",
            "responsible",
            "history",
            "created_at",
            "updated_at",
        ]


class LocalComponentWriteSerializer(serializers.Serializer[Any]):
    module = serializers.PrimaryKeyRelatedField(queryset=catalog_modules())
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AdoptionCreateSerializer(serializers.Serializer[Any]):
    school = school_field()
    component = serializers.PrimaryKeyRelatedField(
        queryset=catalog_components(),
        required=False,
        allow_null=True,
        help_text=_("A catalog component id; or leave out and describe a local component."),
    )
    local_component = LocalComponentWriteSerializer(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=AdoptionStatus.choices, required=False, default=AdoptionStatus.PLANNED
    )
    status_since = serializers.DateField(required=False, allow_null=True, default=None)
    responsible = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=_("User id of a school member.")
    )


class AdoptionUpdateSerializer(serializers.Serializer[Any]):
    responsible = serializers.IntegerField(
        allow_null=True, help_text=_("User id of a school member, or null.")
    )
    title = serializers.CharField(
        max_length=255, required=False, help_text=_("Local components only.")
    )
    description = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Local components only.")
    )


class AdoptionStatusSerializer(serializers.Serializer[Any]):
    to_status = serializers.ChoiceField(choices=AdoptionStatus.choices)
    on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- Adaptations -------------------------------------------------------------------------------


class AdaptationSerializer(serializers.ModelSerializer[Adaptation]):
    school = serializers.IntegerField(source="adoption.school_id", read_only=True)
    goals = serializers.ListField(child=serializers.ChoiceField(choices=AdaptationGoal.choices))

    class Meta:
        model = Adaptation
        fields = [
            "id",
            "school",
            "adoption",
            "what_changed",
            "made_on",
            "timing",
            "planned",
            "decided_by",
            "level",
            "change_type",
            "nature",
            "fidelity",
            "goals",
            "reason_level",
            "reasons",
            "recorded_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "school", "recorded_by", "created_at", "updated_at"]


class AdaptationWriteSerializer(AdaptationSerializer):
    adoption = ScopedPrimaryKeyField(selector=adoptions_for)

    class Meta(AdaptationSerializer.Meta):
        validators: list[Any] = []


class AdaptationUpdateSerializer(AdaptationSerializer):
    adoption: Any = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(AdaptationSerializer.Meta):
        validators: list[Any] = []


# --- Plans, steps, stage periods -------------------------------------------------------------


class PrioritySerializer(serializers.ModelSerializer[PlanModulePriority]):
    module = serializers.PrimaryKeyRelatedField(queryset=catalog_modules())
    intended_percent = serializers.IntegerField()

    class Meta:
        model = PlanModulePriority
        fields = ["module", "intended_percent"]
        validators: list[Any] = []


class PlanSerializer(serializers.ModelSerializer[ImplementationPlan]):
    priorities = PrioritySerializer(many=True, read_only=True)

    class Meta:
        model = ImplementationPlan
        fields = [
            "id",
            "school",
            "model_version",
            "title",
            "starts_on",
            "ends_on",
            "intended_systematic_percent",
            "priorities",
            "created_at",
            "updated_at",
        ]


class PlanUpdateSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    intended_systematic_percent = serializers.IntegerField(
        required=False, allow_null=True, default=None
    )
    priorities = PrioritySerializer(
        many=True,
        required=False,
        help_text=_("The intended share of time per module; leave out to keep them."),
    )

    def validate_priorities(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # A PATCH validates nested items partially: a priority may come without its module
        # or share (found by tests/test_api_fuzz.py as a 500).
        if any("module" not in p or "intended_percent" not in p for p in value):
            raise serializers.ValidationError(_("Give the module and the share of every priority."))
        modules = [p["module"].pk for p in value]
        if len(modules) != len(set(modules)):
            raise serializers.ValidationError(_("List each module once."))
        return value


class PlanCreateSerializer(PlanUpdateSerializer):
    school = school_field()
    model_version = serializers.PrimaryKeyRelatedField(
        queryset=catalog_model_versions(),
        required=False,
        help_text=_("Model version id; the newest published version if left out."),
    )


class StepSerializer(serializers.ModelSerializer[StrategyStep]):
    school = serializers.IntegerField(source="plan.school_id", read_only=True)

    class Meta:
        model = StrategyStep
        fields = [
            "id",
            "plan",
            "school",
            "module",
            "stage",
            "eric_cluster",
            "action",
            "strategy_actor",
            "target",
            "due_on",
            "dose",
            "intended_outcome",
            "justification",
            "status",
            "done_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "school", "created_at", "updated_at"]


class StepWriteSerializer(StepSerializer):
    plan = ScopedPrimaryKeyField(selector=plans_for)
    module = serializers.PrimaryKeyRelatedField(queryset=catalog_modules())

    class Meta(StepSerializer.Meta):
        validators: list[Any] = []


class StepUpdateSerializer(StepWriteSerializer):
    plan: Any = serializers.PrimaryKeyRelatedField(read_only=True)


class StagePeriodSerializer(serializers.ModelSerializer[StagePeriod]):
    class Meta:
        model = StagePeriod
        fields = ["id", "school", "module", "stage", "entered_on", "exited_on"]


class StagePeriodSetSerializer(serializers.Serializer[Any]):
    school = school_field()
    module = serializers.PrimaryKeyRelatedField(queryset=catalog_modules())
    stage = serializers.ChoiceField(choices=Stage.choices)
    entered_on = serializers.DateField()
    exited_on = serializers.DateField(required=False, allow_null=True, default=None)


class StagePeriodDatesSerializer(serializers.Serializer[Any]):
    entered_on = serializers.DateField()
    exited_on = serializers.DateField(required=False, allow_null=True, default=None)


# --- Rounds, links, responses ------------------------------------------------------------


class SchoolRefSerializer(serializers.ModelSerializer[School]):
    class Meta:
        model = School
        fields = ["id", "name"]


class RoundInstrumentSerializer(serializers.ModelSerializer[Instrument]):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Instrument
        fields = ["id", "code", "version", "name", "respondent"]


class RoundSerializer(serializers.ModelSerializer[AssessmentRound]):
    schools = SchoolRefSerializer(
        many=True, read_only=True, help_text=_("The round's schools that you can see.")
    )
    instruments = RoundInstrumentSerializer(many=True, read_only=True)
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = AssessmentRound
        fields = [
            "id",
            "name",
            "opens_on",
            "closes_on",
            "closed_at",
            "is_open",
            "model_version",
            "schools",
            "instruments",
            "created_at",
        ]

    def get_is_open(self, assessment_round: AssessmentRound) -> bool:
        return assessment_round.is_open(timezone.localdate())


class RoundUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    opens_on = serializers.DateField()
    closes_on = serializers.DateField()


class RoundCreateSerializer(RoundUpdateSerializer):
    schools = ScopedPrimaryKeyField(selector=schools_for, many=True)
    instruments = serializers.ListField(
        child=serializers.SlugField(max_length=20),
        help_text=_("Instrument codes: fidelity, cfir, aim, iam, fim, sus."),
    )
    model_version = serializers.PrimaryKeyRelatedField(
        queryset=catalog_model_versions(),
        required=False,
        help_text=_("Model version id; the newest published version if left out."),
    )


class SurveyLinkSerializer(serializers.ModelSerializer[SurveyLink]):
    state = serializers.SerializerMethodField(
        help_text=_("open, used, expired or closed (the round is not open).")
    )

    class Meta:
        model = SurveyLink
        fields = ["id", "round", "school", "state", "expires_at", "used_at", "created_at"]

    def get_state(self, link: SurveyLink) -> str:
        return survey_link_problem(link) or "open"


class SurveyLinkCreateSerializer(serializers.Serializer[Any]):
    school = school_field()
    count = serializers.IntegerField(help_text=_("How many one-time links to make (1–200)."))


class IssuedLinkSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    school = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    token = serializers.CharField(help_text=_("Shown once; only a hash is stored."))
    url = serializers.CharField(help_text=_("The link to hand out: https://<host>/s/<token>/"))


class TeamResponseSubmitSerializer(serializers.Serializer[Any]):
    school = school_field()
    instrument = serializers.SlugField(max_length=20, help_text=_("fidelity or cfir."))
    answers = AnswersField(
        help_text=_(
            "Fidelity: {adoption id: 0, 1, 2 or null}. CFIR: {construct code: -2…2 or null}."
        )
    )
    unrated_reasons = UnratedReasonsField(
        required=False,
        help_text=_(
            "Fidelity only: why each adopted component without a rating is not rated. "
            "not_started counts as 0 points; not_applicable and not_assessed are left out of "
            "the score but count against the share rated. Every adopted component needs a "
            "rating or a reason."
        ),
    )


class MyResponseSubmitSerializer(serializers.Serializer[Any]):
    school = school_field(
        required=False, help_text=_("Needed only if you work at several schools of the round.")
    )
    instrument = serializers.SlugField(max_length=20, help_text=_("aim, iam, fim or sus."))
    answers = AnswersField(help_text=_("{item code: 1…5}; every item must be answered."))


class FidelityScoreSerializer(serializers.Serializer[Any]):
    points = serializers.IntegerField()
    max_points = serializers.IntegerField()
    rated_count = serializers.IntegerField(
        help_text=_("Components scored: rated 0–2, or not started (0 points).")
    )
    unrated_count = serializers.IntegerField(
        help_text=_("Components left out of the score: not applicable or not assessed.")
    )
    not_started_count = serializers.IntegerField(
        help_text=_("Of the rated components, those not started (0 points).")
    )
    percent = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    rated_share_percent = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True,
        help_text=_("Rated components ÷ all components × 100."),
    )
    measured = serializers.BooleanField(
        help_text=_("The share rated reaches the model version's minimum.")
    )
    meets_threshold = serializers.BooleanField(
        allow_null=True, help_text=_("Null when the score is not measured.")
    )


class ModuleFidelitySerializer(FidelityScoreSerializer):
    module_number = serializers.IntegerField()


class LocalRatingsSerializer(serializers.Serializer[Any]):
    points = serializers.IntegerField()
    rated_count = serializers.IntegerField()
    unrated_count = serializers.IntegerField()


class FidelityResultSerializer(serializers.Serializer[Any]):
    threshold = serializers.DecimalField(max_digits=4, decimal_places=1)
    min_rated_percent = serializers.DecimalField(
        max_digits=4, decimal_places=1,
        help_text=_("A score counts as measured from this share of rated components."),
    )
    overall = FidelityScoreSerializer(
        help_text=_("Points / (2 × rated model components) × 100, all modules pooled.")
    )
    modules = ModuleFidelitySerializer(many=True)
    local = LocalRatingsSerializer(
        help_text=_("The school's own (local) components: rated, but not part of the score.")
    )


class CfirConstructScoreSerializer(serializers.Serializer[Any]):
    construct = serializers.CharField(
        help_text=_("Construct code; subconstructs (II.G.1, …) count towards their construct.")
    )
    n = serializers.IntegerField()
    n_missing = serializers.IntegerField()
    mean = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    direction = serializers.CharField(allow_null=True)


class CfirDomainScoreSerializer(serializers.Serializer[Any]):
    domain = serializers.CharField()
    n_constructs = serializers.IntegerField()
    n_constructs_missing = serializers.IntegerField()
    mean = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    direction = serializers.CharField(allow_null=True)
    constructs = CfirConstructScoreSerializer(many=True)


class CfirResultSerializer(serializers.Serializer[Any]):
    domains = CfirDomainScoreSerializer(many=True)


class TeamScoresSerializer(serializers.Serializer[Any]):
    fidelity = FidelityResultSerializer(allow_null=True, required=False)
    cfir = CfirResultSerializer(allow_null=True, required=False)


class ResponseSerializer(serializers.ModelSerializer[Response]):
    instrument = serializers.CharField(source="instrument.code", read_only=True)
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = ["id", "round", "school", "instrument", "submitted_at", "updated_at", "answers"]

    @extend_schema_field(AnswersField())
    def get_answers(self, response: Response) -> dict[str, int | None]:
        return scores.answers_of(response)


class TeamResponseSerializer(ResponseSerializer):
    unrated_reasons = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()

    class Meta(ResponseSerializer.Meta):
        fields = [*ResponseSerializer.Meta.fields, "unrated_reasons", "scores"]

    @extend_schema_field(UnratedReasonsField())
    def get_unrated_reasons(self, response: Response) -> dict[str, str]:
        return scores.unrated_reasons_of(response)

    @extend_schema_field(TeamScoresSerializer)
    def get_scores(self, response: Response) -> dict[str, Any]:
        return dict(TeamScoresSerializer(scores.team_scores(response)).data)


class IndividualScoreSerializer(serializers.Serializer[Any]):
    score = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        allow_null=True,
        help_text=_("AIM/IAM/FIM: mean of the items (1–5); SUS: 0–100; null if incomplete."),
    )
    missing_items = serializers.ListField(child=serializers.IntegerField())


class MyResponseSerializer(ResponseSerializer):
    scores = serializers.SerializerMethodField()

    class Meta(ResponseSerializer.Meta):
        fields = [*ResponseSerializer.Meta.fields, "scores"]

    @extend_schema_field(IndividualScoreSerializer(allow_null=True))
    def get_scores(self, response: Response) -> dict[str, Any] | None:
        score = scores.individual_score(response)
        return None if score is None else dict(IndividualScoreSerializer(score).data)


class ResponseCountSerializer(serializers.Serializer[Any]):
    school = serializers.IntegerField()
    instrument = serializers.CharField()
    team = serializers.IntegerField(help_text=_("Team ratings (0 or 1)."))
    staff = serializers.IntegerField(help_text=_("Staff members who answered as themselves."))
    link = serializers.IntegerField(help_text=_("Respondents by one-time link."))
    total = serializers.IntegerField()


# --- Public survey (one-time links) ------------------------------------------------------------


class SurveyItemSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    number = serializers.IntegerField()
    text = serializers.CharField()


class SurveyInstrumentSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    scale_min = serializers.IntegerField()
    scale_max = serializers.IntegerField()
    missing_allowed = serializers.BooleanField()
    labels = ScaleLabelSerializer(many=True)
    items = SurveyItemSerializer(many=True)


class SurveySerializer(serializers.Serializer[Any]):
    round = serializers.CharField()
    school = serializers.CharField()
    closes_on = serializers.DateField()
    language = serializers.CharField()
    instruments = SurveyInstrumentSerializer(many=True)


class SurveySubmitSerializer(serializers.Serializer[Any]):
    answers = SurveyAnswersField()


class SurveyProblemSerializer(serializers.Serializer[Any]):
    token = serializers.ListField(child=serializers.CharField())
    reason = serializers.ChoiceField(choices=["unknown", "used", "expired", "closed"])


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


# --- Activities and audit ------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer[Activity]):
    staff = PersonSerializer(read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "school",
            "staff",
            "performed_on",
            "minutes",
            "module",
            "adoption",
            "mode",
            "note",
            "created_at",
        ]


class ActivityCreateSerializer(serializers.Serializer[Any]):
    school = school_field()
    performed_on = serializers.DateField()
    minutes = serializers.IntegerField(
        min_value=MIN_ACTIVITY_MINUTES, max_value=MAX_ACTIVITY_MINUTES
    )
    module = serializers.PrimaryKeyRelatedField(queryset=catalog_modules())
    adoption = ScopedPrimaryKeyField(
        selector=adoptions_for, required=False, allow_null=True, default=None
    )
    mode = serializers.ChoiceField(choices=ActivityMode.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


AUDIT_ACTIONS = {
    LogEntry.Action.CREATE: "create",
    LogEntry.Action.UPDATE: "update",
    LogEntry.Action.DELETE: "delete",
    LogEntry.Action.ACCESS: "access",
}

# Answers can be one person's own AIM/IAM/FIM/SUS ratings: the audit trail says that an
# answer changed and by whom, never the value (DESIGN.md §5: individual instruments are
# reported only for groups).
HIDDEN_CHANGES = frozenset({"answer"})


class AuditEntrySerializer(serializers.ModelSerializer[LogEntry]):
    actor = PersonSerializer(read_only=True, allow_null=True)
    action = serializers.SerializerMethodField()
    model = serializers.CharField(source="content_type.model", read_only=True)
    school = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta:
        model = LogEntry
        fields = [
            "id",
            "timestamp",
            "actor",
            "action",
            "model",
            "object_id",
            "object_repr",
            "school",
            "changes",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=sorted(AUDIT_ACTIONS.values())))
    def get_action(self, entry: LogEntry) -> str:
        return AUDIT_ACTIONS.get(entry.action, str(entry.action))

    def get_school(self, entry: LogEntry) -> int | None:
        data = entry.additional_data or {}
        school = data.get("school_id") if isinstance(data, dict) else None
        return school if isinstance(school, int) else None

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "Field → [old, new]; null where values are hidden (answers).",
            "additionalProperties": {"type": "array", "items": {}},
        }
    )
    def get_changes(self, entry: LogEntry) -> dict[str, Any] | None:
        if entry.content_type.model in HIDDEN_CHANGES:
            return None
        return entry.changes_dict
