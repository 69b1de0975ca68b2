"""Tenant-schema records: what one municipality's schools record."""

from __future__ import annotations

from datetime import date

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import scoring
from .validators import (
    MAX_ACTIVITY_MINUTES,
    MAX_GRADE,
    MAX_POSITION_PERCENT,
    MAX_PUPILS,
    MIN_ACTIVITY_MINUTES,
    MIN_GRADE,
    MIN_POSITION_PERCENT,
    MIN_PUPILS,
    validate_done_date,
    validate_organisation_number,
    validate_planned_date,
    validate_round_date,
    validate_round_length,
)


class School(models.Model):
    name = models.CharField(_("name"), max_length=150)
    organisation_number = models.CharField(
        _("organisation number (NSR)"),
        max_length=9,
        blank=True,
        validators=[validate_organisation_number],
    )
    grade_from = models.PositiveSmallIntegerField(
        _("lowest grade"),
        default=1,
        validators=[MinValueValidator(MIN_GRADE), MaxValueValidator(MAX_GRADE)],
    )
    grade_to = models.PositiveSmallIntegerField(
        _("highest grade"),
        default=7,
        validators=[MinValueValidator(MIN_GRADE), MaxValueValidator(MAX_GRADE)],
    )
    pupil_count = models.PositiveIntegerField(
        _("pupils"),
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_PUPILS), MaxValueValidator(MAX_PUPILS)],
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="school_unique_name"),
            models.UniqueConstraint(
                fields=["organisation_number"],
                condition=~models.Q(organisation_number=""),
                name="school_unique_organisation_number",
            ),
            models.CheckConstraint(
                condition=models.Q(grade_from__lte=models.F("grade_to")),
                name="school_grade_range",
                violation_error_message=_(
                    "The highest grade cannot be lower than the lowest grade."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def grade_levels(self) -> str:
        return f"{self.grade_from}–{self.grade_to}"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.pk}


class Profession(models.TextChoices):
    SOCIAL_WORKER = "sosionom", _("social worker (sosionom)")
    CHILD_WELFARE = "barnevernspedagog", _("child welfare officer (barnevernspedagog)")
    SOCIAL_EDUCATOR = "vernepleier", _("social educator (vernepleier)")
    MILIEU_THERAPIST = "miljoterapeut", _("milieu therapist (miljøterapeut)")
    OTHER = "annen", _("other")


class StaffPosition(models.Model):
    """A social-work position at a school: one of the framework conditions (rammefaktorer)."""

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="positions",
        verbose_name=_("school"),
    )
    profession = models.CharField(_("profession"), max_length=30, choices=Profession.choices)
    position_percent = models.DecimalField(
        _("position %"),
        max_digits=5,
        decimal_places=1,
        validators=[
            MinValueValidator(MIN_POSITION_PERCENT),
            MaxValueValidator(MAX_POSITION_PERCENT),
        ],
    )
    title = models.CharField(_("title"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("social-work position")
        verbose_name_plural = _("social-work positions")
        ordering = ["school", "profession", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(position_percent__gt=0, position_percent__lte=100),
                name="position_percent_range",
                violation_error_message=_("A position is more than 0 and at most 100 per cent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_profession_display()} {self.position_percent} %"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


# --- Component adoption --------------------------------------------------------------------
#
# Catalog rows live in the public schema. References to them (and to users) from tenant
# tables use on_delete=DO_NOTHING: Django's deletion collector would otherwise look for
# tenant rows from the public schema, where the tenant tables do not exist. The database
# foreign key still refuses to delete a catalog row or user that a municipality uses.


class LocalComponent(models.Model):
    """A school's own addition to the model: a local adaptation that leaves the shared
    catalog unchanged."""

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="local_components",
        verbose_name=_("school"),
    )
    module = models.ForeignKey(
        "catalog.Module", on_delete=models.DO_NOTHING, related_name="+", verbose_name=_("module")
    )
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("local component")
        verbose_name_plural = _("local components")
        ordering = ["school", "module__number", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "title"], name="local_component_unique_title"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AdoptionStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    IN_PROGRESS = "in_progress", _("in progress")
    IN_PLACE = "in_place", _("in place")
    DISCONTINUED = "discontinued", _("discontinued")


# The moves that make sense; anything else (e.g. planned → in place without starting, or
# reviving a discontinued component straight into "in place") is refused.
ADOPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    AdoptionStatus.PLANNED: frozenset({AdoptionStatus.IN_PROGRESS, AdoptionStatus.DISCONTINUED}),
    AdoptionStatus.IN_PROGRESS: frozenset(
        {AdoptionStatus.IN_PLACE, AdoptionStatus.PLANNED, AdoptionStatus.DISCONTINUED}
    ),
    AdoptionStatus.IN_PLACE: frozenset({AdoptionStatus.IN_PROGRESS, AdoptionStatus.DISCONTINUED}),
    AdoptionStatus.DISCONTINUED: frozenset({AdoptionStatus.PLANNED}),
}


class ComponentAdoption(models.Model):
    """A school's adoption of one component (from the catalog or its own local one)."""

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="adoptions",
        verbose_name=_("school"),
    )
    component = models.ForeignKey(
        "catalog.Component",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("component"),
    )
    local_component = models.OneToOneField(
        LocalComponent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="adoption",
        verbose_name=_("local component"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AdoptionStatus.choices, default=AdoptionStatus.PLANNED
    )
    status_since = models.DateField(_("status since"), validators=[validate_done_date])
    responsible = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("component adoption")
        verbose_name_plural = _("component adoptions")
        ordering = ["school", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(component__isnull=False, local_component__isnull=True)
                    | models.Q(component__isnull=True, local_component__isnull=False)
                ),
                name="adoption_one_component",
            ),
            models.UniqueConstraint(
                fields=["school", "component"],
                condition=models.Q(component__isnull=False),
                name="adoption_unique_component",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school}: {self.component_title}"

    @property
    def is_local(self) -> bool:
        return self.local_component_id is not None

    @property
    def component_title(self) -> str:
        if self.local_component is not None:
            return self.local_component.title
        return self.component.title if self.component else ""  # type: ignore[union-attr]

    @property
    def module_id(self) -> int:
        if self.local_component is not None:
            return self.local_component.module_id
        return self.component.module_id  # type: ignore[union-attr]

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


class AdoptionStatusChange(models.Model):
    """The status history of an adoption: one row per change, the first from no status."""

    adoption = models.ForeignKey(
        ComponentAdoption, on_delete=models.CASCADE, related_name="status_changes",
        verbose_name=_("component"),
    )
    from_status = models.CharField(
        max_length=20,
        choices=AdoptionStatus.choices,
        blank=True,
        verbose_name=_("from status"),
    )
    to_status = models.CharField(
        max_length=20,
        choices=AdoptionStatus.choices,
        verbose_name=_("to status"),
    )
    changed_on = models.DateField(_("date"), validators=[validate_done_date])
    changed_by = models.ForeignKey(
        "accounts.User", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        verbose_name=_("changed by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["adoption", "changed_on", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '–'} → {self.to_status} ({self.changed_on})"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.adoption.school_id}


# --- Adaptations (FRAME, Wiltsey Stirman et al. 2019) --------------------------------------


class AdaptationTiming(models.TextChoices):
    PRE_IMPLEMENTATION = "pre", _("before implementation / planning")
    IMPLEMENTATION = "implementation", _("during implementation")
    SCALE_UP = "scale_up", _("scale-up")
    MAINTENANCE = "maintenance", _("maintenance / sustainment")


class AdaptationDecider(models.TextChoices):
    MUNICIPALITY = "municipality", _("municipality (school owner)")
    SCHOOL_LEADER = "school_leader", _("school leader")
    SOCIAL_WORK_STAFF = "social_work_staff", _("social-work staff")
    TEAM = "team", _("school team")
    TEACHERS = "teachers", _("teachers")
    PUPILS_PARENTS = "pupils_parents", _("pupils or parents")
    RESEARCHERS = "researchers", _("researchers / model developers")
    OTHER = "other", _("other")


class AdaptationLevel(models.TextChoices):
    INDIVIDUAL_PUPIL = "pupil", _("individual pupil")
    GROUP = "group", _("group or class")
    INDIVIDUAL_STAFF = "staff", _("individual staff member")
    SCHOOL = "school", _("the whole school")
    MUNICIPALITY = "municipality", _("municipality / network")


class AdaptationType(models.TextChoices):
    CONTENT = "content", _("content")
    CONTEXT = "context", _("context (format, setting, personnel, population)")
    TRAINING = "training", _("training and evaluation")
    IMPLEMENTATION = "implementation", _("implementation and scale-up activities")


class AdaptationNature(models.TextChoices):
    TAILORING = "tailoring", _("tailoring / tweaking / refining")
    ADDING = "adding", _("adding elements")
    REMOVING = "removing", _("removing or skipping elements")
    SHORTENING = "shortening", _("shortening or condensing")
    LENGTHENING = "lengthening", _("lengthening or extending")
    SUBSTITUTING = "substituting", _("substituting elements")
    REORDERING = "reordering", _("reordering elements")
    INTEGRATING = "integrating", _("integrating with other work")
    REPEATING = "repeating", _("repeating elements")
    LOOSENING = "loosening", _("loosening structure")
    DEPARTING = "departing", _("departing from the model (drift)")


class FidelityConsistency(models.TextChoices):
    CONSISTENT = "consistent", _("keeps the model's core")
    INCONSISTENT = "inconsistent", _("departs from the model's core")
    UNKNOWN = "unknown", _("unknown")


class AdaptationGoal(models.TextChoices):
    REACH = "reach", _("increase reach or engagement")
    FIT_RECIPIENTS = "fit_recipients", _("improve fit with pupils")
    FIT_STAFF = "fit_staff", _("improve fit with staff")
    FEASIBILITY = "feasibility", _("improve feasibility")
    EFFECTIVENESS = "effectiveness", _("improve effectiveness or outcomes")
    COST = "cost", _("reduce cost or time")
    CULTURE = "culture", _("address cultural factors")
    SATISFACTION = "satisfaction", _("increase satisfaction")


class AdaptationReasonLevel(models.TextChoices):
    SOCIOPOLITICAL = "sociopolitical", _("society / policy")
    ORGANIZATION = "organization", _("organisation (municipality or school)")
    PROVIDER = "provider", _("staff (those who deliver)")
    RECIPIENT = "recipient", _("pupils and parents")


class Adaptation(models.Model):
    """A change to how a component is carried out, recorded FRAME-style."""

    adoption = models.ForeignKey(
        ComponentAdoption,
        on_delete=models.CASCADE,
        related_name="adaptations",
        verbose_name=_("component"),
    )
    what_changed = models.TextField(_("what was changed"), max_length=2000)
    made_on = models.DateField(_("when"), validators=[validate_done_date])
    timing = models.CharField(
        _("implementation phase"), max_length=20, choices=AdaptationTiming.choices
    )
    planned = models.BooleanField(
        _("planned"), help_text=_("Planned/proactive, or unplanned/reactive.")
    )
    decided_by = models.CharField(
        _("who decided"), max_length=20, choices=AdaptationDecider.choices
    )
    level = models.CharField(_("level of delivery"), max_length=20, choices=AdaptationLevel.choices)
    change_type = models.CharField(
        _("what is modified"), max_length=20, choices=AdaptationType.choices
    )
    nature = models.CharField(
        _("nature of the change"), max_length=20, choices=AdaptationNature.choices
    )
    fidelity = models.CharField(
        _("relation to the model's core"), max_length=20, choices=FidelityConsistency.choices
    )
    goals = ArrayField(
        models.CharField(max_length=20, choices=AdaptationGoal.choices),
        verbose_name=_("goals"),
        default=list,
    )
    reason_level = models.CharField(
        _("reason at level"), max_length=20, choices=AdaptationReasonLevel.choices
    )
    reasons = models.TextField(_("reasons"), max_length=2000, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("adaptation")
        verbose_name_plural = _("adaptations")
        ordering = ["-made_on", "-id"]

    def __str__(self) -> str:
        return f"{self.adoption}: {self.what_changed[:60]}"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.adoption.school_id}


# --- Implementation plan, strategy steps and stages ---------------------------------------


class Stage(models.TextChoices):
    """NIRN's implementation stages, in order."""

    EXPLORATION = "exploration", _("Exploration")
    INSTALLATION = "installation", _("Installation")
    INITIAL = "initial", _("Initial implementation")
    FULL = "full", _("Full implementation")
    SUSTAINMENT = "sustainment", _("Sustainment")


STAGE_ORDER: tuple[str, ...] = tuple(Stage.values)


class EricCluster(models.TextChoices):
    """The nine ERIC strategy clusters (Waltz et al. 2015)."""

    EVALUATIVE_ITERATIVE = "evaluative_iterative", _("Use evaluative and iterative strategies")
    INTERACTIVE_ASSISTANCE = "interactive_assistance", _("Provide interactive assistance")
    ADAPT_TAILOR = "adapt_tailor", _("Adapt and tailor to context")
    STAKEHOLDER_RELATIONSHIPS = (
        "stakeholder_relationships",
        _("Develop stakeholder interrelationships"),
    )
    TRAIN_EDUCATE = "train_educate", _("Train and educate stakeholders")
    SUPPORT_EDUCATORS = "support_educators", _("Support educators")
    ENGAGE_CONSUMERS = "engage_consumers", _("Engage consumers (pupils and parents)")
    FINANCIAL = "financial", _("Utilize financial strategies")
    CHANGE_INFRASTRUCTURE = "change_infrastructure", _("Change infrastructure")


class ImplementationPlan(models.Model):
    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="plans",
        verbose_name=_("school"),
    )
    model_version = models.ForeignKey(
        "catalog.ModelVersion",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("model version"),
    )
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("start date"), validators=[validate_planned_date])
    ends_on = models.DateField(
        _("end date"), null=True, blank=True, validators=[validate_planned_date]
    )
    intended_systematic_percent = models.PositiveSmallIntegerField(
        _("intended share of planned and system-level work (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("The rest is acute and outreach work."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("implementation plan")
        verbose_name_plural = _("implementation plans")
        ordering = ["school", "-starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "model_version"], name="plan_unique_per_version"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="plan_dates_in_order",
                violation_error_message=_("The plan cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


class PlanModulePriority(models.Model):
    """The share of social-work time the plan intends for a module."""

    plan = models.ForeignKey(
        ImplementationPlan, on_delete=models.CASCADE, related_name="priorities",
        verbose_name=_("plan"),
    )
    module = models.ForeignKey(
        "catalog.Module",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("module"),
    )
    intended_percent = models.PositiveSmallIntegerField(
        _("intended share of time (%)"), validators=[MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("module priority")
        verbose_name_plural = _("module priorities")
        ordering = ["plan", "module__number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "module"], name="priority_unique_module"),
        ]

    def __str__(self) -> str:
        return f"{self.module_id}: {self.intended_percent} %"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.plan.school_id}


class StepStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("not started")
    IN_PROGRESS = "in_progress", _("in progress")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class StrategyStep(models.Model):
    """An implementation strategy step specified after Proctor et al. (2013)."""

    plan = models.ForeignKey(
        ImplementationPlan,
        on_delete=models.CASCADE,
        related_name="steps",
        verbose_name=_("plan"),
    )
    module = models.ForeignKey(
        "catalog.Module", on_delete=models.DO_NOTHING, related_name="+", verbose_name=_("module")
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    eric_cluster = models.CharField(_("ERIC cluster"), max_length=30, choices=EricCluster.choices)
    action = models.CharField(_("action"), max_length=300, help_text=_("What is done."))
    strategy_actor = models.CharField(_("actor"), max_length=200, help_text=_("Who does it."))
    target = models.CharField(
        _("action target"), max_length=200, help_text=_("Whom or what it aims to change.")
    )
    due_on = models.DateField(_("due date"), validators=[validate_planned_date])
    dose = models.CharField(
        _("dose"),
        max_length=200,
        blank=True,
        help_text=_("How often and how much, e.g. 2 × 45 min per month."),
    )
    intended_outcome = models.CharField(_("intended outcome"), max_length=300, blank=True)
    justification = models.TextField(_("justification"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=StepStatus.choices, default=StepStatus.NOT_STARTED
    )
    done_on = models.DateField(
        _("done on"), null=True, blank=True, validators=[validate_done_date]
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("strategy step")
        verbose_name_plural = _("strategy steps")
        ordering = ["plan", "due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="done", done_on__isnull=False)
                    | (~models.Q(status="done") & models.Q(done_on__isnull=True))
                ),
                name="step_done_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.action

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.plan.school_id}


class StagePeriod(models.Model):
    """When a school entered and left an implementation stage for a module (SIC scoring)."""

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="stage_periods",
        verbose_name=_("school"),
    )
    module = models.ForeignKey(
        "catalog.Module",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("module"),
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    entered_on = models.DateField(_("entered"), validators=[validate_done_date])
    exited_on = models.DateField(
        _("left"), null=True, blank=True, validators=[validate_done_date]
    )

    class Meta:
        verbose_name = _("stage period")
        verbose_name_plural = _("stage periods")
        ordering = ["school", "module__number", "entered_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "module", "stage"], name="stage_period_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(exited_on__isnull=True)
                | models.Q(exited_on__gte=models.F("entered_on")),
                name="stage_period_dates_in_order",
                violation_error_message=_("A stage cannot be left before it was entered."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.entered_on}–{self.exited_on or ''}"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


# --- Assessment rounds, survey links and responses ----------------------------------------


class AssessmentRound(models.Model):
    """A semester's assessment ("Høst 2026"), open between two dates, for one or more
    schools, with the instruments chosen for it."""

    name = models.CharField(_("name"), max_length=100)
    opens_on = models.DateField(_("opens"), validators=[validate_round_date])
    closes_on = models.DateField(_("closes"), validators=[validate_round_date])
    closed_at = models.DateTimeField(_("closed early"), null=True, blank=True)
    schools = models.ManyToManyField(School, related_name="rounds", verbose_name=_("schools"))
    instruments = models.ManyToManyField(
        "catalog.Instrument",
        through="RoundInstrument",
        related_name="+",
        verbose_name=_("instruments"),
    )
    model_version = models.ForeignKey(
        "catalog.ModelVersion",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("model version"),
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("assessment round")
        verbose_name_plural = _("assessment rounds")
        ordering = ["-opens_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_on__gte=models.F("opens_on")),
                name="round_dates_in_order",
                violation_error_message=_("The round cannot close before it opens."),
            ),
            models.UniqueConstraint(fields=["name"], name="round_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        validate_round_length(self.opens_on, self.closes_on)

    def is_open(self, on: date) -> bool:
        return self.closed_at is None and self.opens_on <= on <= self.closes_on


class RoundInstrument(models.Model):
    round = models.ForeignKey(AssessmentRound, on_delete=models.CASCADE, related_name="+")
    instrument = models.ForeignKey(
        "catalog.Instrument", on_delete=models.DO_NOTHING, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "instrument"], name="round_instrument_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.instrument_id}"


class SurveyLink(models.Model):
    """A one-time link for a respondent without an account (teachers, other staff).

    Only a hash of the token is stored; the link itself is shown once, when it is made.
    The answers record neither a name nor an e-mail address."""

    round = models.ForeignKey(
        AssessmentRound,
        on_delete=models.CASCADE,
        related_name="links",
        verbose_name=_("round"),
    )
    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="survey_links",
        verbose_name=_("school"),
    )
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("link code (hashed)"))
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("survey link")
        verbose_name_plural = _("survey links")
        ordering = ["round", "school", "id"]

    def __str__(self) -> str:
        return f"link {self.pk} ({self.round})"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


class RespondentKind(models.TextChoices):
    TEAM = "team", _("school team")
    STAFF = "staff", _("staff member with an account")
    LINK = "link", _("respondent by link")


class Response(models.Model):
    """One submission of one instrument in a round: the team's rating (fidelity, CFIR) or
    one respondent's answers (AIM, IAM, FIM, SUS)."""

    round = models.ForeignKey(
        AssessmentRound,
        on_delete=models.CASCADE,
        related_name="responses",
        verbose_name=_("round"),
    )
    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="responses",
        verbose_name=_("school"),
    )
    instrument = models.ForeignKey(
        "catalog.Instrument",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("instrument"),
    )
    respondent_kind = models.CharField(
        max_length=10,
        choices=RespondentKind.choices,
        verbose_name=_("answered by"),
    )
    survey_link = models.ForeignKey(
        SurveyLink, on_delete=models.CASCADE, null=True, blank=True, related_name="responses",
        verbose_name=_("survey link"),
    )
    respondent = models.ForeignKey(
        "accounts.User", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        verbose_name=_("staff member"),
    )
    submitted_at = models.DateTimeField(auto_now_add=True, verbose_name=_("submitted"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))
    release = models.ForeignKey(
        "SurveyRelease",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="responses",
        help_text="The released group this answer is counted in (None: not released).",
        verbose_name=_("released group"),
    )

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["round", "school", "instrument", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "school", "instrument"],
                condition=models.Q(respondent_kind="team"),
                name="response_one_team_rating",
            ),
            models.UniqueConstraint(
                fields=["round", "school", "instrument", "respondent"],
                condition=models.Q(respondent_kind="staff"),
                name="response_one_per_staff",
            ),
            models.UniqueConstraint(
                fields=["survey_link", "instrument"],
                condition=models.Q(respondent_kind="link"),
                name="response_one_per_link",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(respondent_kind="team", survey_link__isnull=True)
                    | models.Q(
                        respondent_kind="staff", respondent__isnull=False, survey_link__isnull=True
                    )
                    | models.Q(
                        respondent_kind="link", respondent__isnull=True, survey_link__isnull=False
                    )
                ),
                name="response_respondent_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.round_id} {self.respondent_kind}"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


class UnratedReason(models.TextChoices):
    """Why the team left an adopted component without a fidelity rating
    (implementation.scoring.UnratedReason has the scoring rule)."""

    NOT_STARTED = scoring.UnratedReason.NOT_STARTED.value, _("not started")
    NOT_APPLICABLE = scoring.UnratedReason.NOT_APPLICABLE.value, _("not applicable this round")
    NOT_ASSESSED = scoring.UnratedReason.NOT_ASSESSED.value, _("not assessed")


class Answer(models.Model):
    """One item's answer. Fidelity answers point at the adopted component they rate;
    other instruments at the catalog item code. `value` None = not rated / missing.

    A fidelity answer without a value says why in `unrated_reason` (the service requires
    it); rows saved before reasons existed have NULL there and count as not assessed."""

    response = models.ForeignKey(
        Response,
        on_delete=models.CASCADE,
        related_name="answers",
        verbose_name=_("response"),
    )
    item = models.ForeignKey(
        "catalog.InstrumentItem",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("item"),
    )
    adoption = models.ForeignKey(
        ComponentAdoption, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("component"),
    )
    value = models.SmallIntegerField(null=True, blank=True, verbose_name=_("value"))
    # NULL = no reason (a rated component, a survey item, or an answer from before reasons).
    unrated_reason = models.CharField(  # noqa: DJ001
        _("why not rated"), max_length=20, choices=UnratedReason.choices, null=True, blank=True
    )

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["response", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(adoption__isnull=False, item__isnull=True)
                    | models.Q(adoption__isnull=True, item__isnull=False)
                ),
                name="answer_item_or_adoption",
            ),
            models.UniqueConstraint(
                fields=["response", "item"],
                condition=models.Q(item__isnull=False),
                name="answer_unique_item",
            ),
            models.UniqueConstraint(
                fields=["response", "adoption"],
                condition=models.Q(adoption__isnull=False),
                name="answer_unique_adoption",
            ),
            models.CheckConstraint(
                condition=models.Q(value__isnull=True) | models.Q(value__gte=-2, value__lte=5),
                name="answer_value_range",
            ),
            models.CheckConstraint(
                condition=models.Q(unrated_reason__isnull=True)
                | models.Q(
                    value__isnull=True,
                    adoption__isnull=False,
                    unrated_reason__in=UnratedReason.values,
                ),
                name="answer_reason_only_unrated_fidelity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id or self.adoption_id}={self.value}"


class SurveyRelease(models.Model):
    """A released group of survey answers (AIM, IAM, FIM or SUS): the only form in which
    individual answers are ever shown — on the school's and the coordinator's dashboards
    and, pooled further, in the research store.

    Made by ``implementation.services.releases`` when a round is closed, from the complete
    answers that are in no released group yet: one group per school with at least k of
    them, and one for the rest of the round's schools together (``school`` None) when they
    reach k. A released group never changes: its answers are locked, and answers that
    arrive after a reopening form a new group only when k of them have come in. Every
    published number is a sum of whole groups, so no difference between two published
    numbers can isolate fewer than k people (docs/research.md, "Released groups")."""

    round = models.ForeignKey(
        AssessmentRound,
        on_delete=models.CASCADE,
        related_name="releases",
        verbose_name=_("round"),
    )
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, null=True, blank=True, related_name="releases",
        verbose_name=_("school"),
    )
    instrument = models.ForeignKey(
        "catalog.Instrument", on_delete=models.DO_NOTHING, related_name="+",
        verbose_name=_("instrument"),
    )
    n = models.PositiveIntegerField(help_text="Complete respondents.", verbose_name=_("answers"))
    schools = models.PositiveIntegerField(
        help_text="Schools whose answers are in the group.",
        verbose_name=_("schools"),
    )
    total = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        help_text="Σ score.",
        verbose_name=_("sum"),
    )
    total_squares = models.DecimalField(
        max_digits=24, decimal_places=6, help_text="Σ score², for the standard deviation.",
        verbose_name=_("sum of squares"),
    )
    min_group_size = models.PositiveSmallIntegerField(
        help_text="k when it was released.",
        verbose_name=_("minimum group size"),
    )
    released_at = models.DateTimeField(verbose_name=_("released"))

    class Meta:
        verbose_name = _("released group")
        verbose_name_plural = _("released groups")
        ordering = ["round", "instrument", "school", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(n__gte=2), name="survey_release_not_one"),
        ]

    def __str__(self) -> str:
        return f"release {self.pk}: round {self.round_id}, n={self.n}"

    def get_additional_data(self) -> dict[str, int | None]:
        return {"school_id": self.school_id}


# --- Activity log (time use) ---------------------------------------------------------------


class ActivityMode(models.TextChoices):
    ACUTE = "akutt", _("acute")
    OUTREACH = "oppsokende", _("outreach")
    PLANNED = "planlagt", _("planned")
    SYSTEM = "systemniva", _("system level")


SYSTEMATIC_MODES = frozenset({ActivityMode.PLANNED, ActivityMode.SYSTEM})


class Activity(models.Model):
    """Time a social-work staff member spent on a module (and optionally a component)."""

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="activities",
        verbose_name=_("school"),
    )
    staff = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("staff member"),
    )
    performed_on = models.DateField(_("date"), validators=[validate_done_date])
    minutes = models.PositiveSmallIntegerField(
        _("minutes"),
        validators=[
            MinValueValidator(MIN_ACTIVITY_MINUTES),
            MaxValueValidator(MAX_ACTIVITY_MINUTES),
        ],
    )
    module = models.ForeignKey(
        "catalog.Module", on_delete=models.DO_NOTHING, related_name="+", verbose_name=_("module")
    )
    adoption = models.ForeignKey(
        ComponentAdoption,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("component"),
    )
    mode = models.CharField(_("mode"), max_length=20, choices=ActivityMode.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-performed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    minutes__gte=MIN_ACTIVITY_MINUTES, minutes__lte=MAX_ACTIVITY_MINUTES
                ),
                name="activity_minutes_range",
            ),
        ]
        indexes = [models.Index(fields=["school", "performed_on"])]

    def __str__(self) -> str:
        return f"{self.performed_on} {self.minutes} min {self.mode}"

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


# --- Start-up module (Oppstartsmodul) ------------------------------------------------------


class StartupStep(models.TextChoices):
    """The steps of a new school's start-up, in order (implementation.startup has what each
    asks for and how it is seen in the school's own records)."""

    PROFILE = "profile", _("School profile and framework conditions")
    BASELINE = "baseline", _("Current time use")
    READINESS = "readiness", _("Readiness: the determinants (CFIR)")
    COMPONENTS = "components", _("Components to adopt")
    PLAN = "plan", _("A first plan")
    ROUND = "round", _("Invite staff and open the first round")


STARTUP_STEP_ORDER: tuple[str, ...] = tuple(StartupStep.values)


class SchoolStartup(models.Model):
    """A school's way through the start-up module: when and by whom it was started, the step
    it is at (the first one neither done nor skipped) and since when, whether it is paused,
    and when every step was done or skipped."""

    school = models.OneToOneField(
        School, on_delete=models.CASCADE, related_name="startup", verbose_name=_("school")
    )
    started_at = models.DateTimeField(_("started"))
    started_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("start-up", "started by"),
    )
    current_step = models.CharField(
        pgettext_lazy("start-up", "current step"),
        max_length=20,
        choices=StartupStep.choices,
        blank=True,
    )
    current_step_since = models.DateTimeField(_("at this step since"))
    paused_at = models.DateTimeField(pgettext_lazy("start-up", "paused"), null=True, blank=True)
    paused_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("start-up", "paused by"),
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("start-up")
        verbose_name_plural = _("start-ups")
        ordering = ["school"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True, current_step__in=STARTUP_STEP_ORDER)
                | models.Q(finished_at__isnull=False, current_step=""),
                name="startup_finished_has_no_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school}: {self.current_step or 'finished'}"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.school_id}


class StartupStepRecord(models.Model):
    """One step of a start-up confirmed as done (the school's records showed it), or
    skipped with a reason."""

    startup = models.ForeignKey(
        SchoolStartup, on_delete=models.CASCADE, related_name="steps", verbose_name=_("start-up")
    )
    step = models.CharField(
        pgettext_lazy("start-up", "step"), max_length=20, choices=StartupStep.choices
    )
    completed_at = models.DateTimeField(pgettext_lazy("start-up", "completed"))
    completed_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("start-up", "completed by"),
    )
    skipped_reason = models.TextField(
        _("why the step was skipped"), max_length=1000, blank=True,
        help_text=_("Empty when the step was done."),
    )

    class Meta:
        verbose_name = _("start-up step")
        verbose_name_plural = _("start-up steps")
        ordering = ["startup", "completed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["startup", "step"], name="startup_step_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.step} ({'skipped' if self.skipped_reason else 'done'})"

    @property
    def skipped(self) -> bool:
        return bool(self.skipped_reason)

    def get_additional_data(self) -> dict[str, int]:
        return {"school_id": self.startup.school_id}
