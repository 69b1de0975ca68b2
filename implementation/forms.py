"""Forms of the recording pages.

A form checks the *shape* of the input only: types, required fields, known choices. What
is allowed (status moves, dates against the plan, a round that is open, answers on the
scale, plausible dates and numbers from implementation/validators.py) is the services'
business: the view calls the service and puts its ValidationError
onto the form with `add_service_errors`, field by field, so the user reads the reason next
to the field, in their own language. Form fields are named like the service's error keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog.models import Instrument, InstrumentItem, Module
from catalog.translation import pick_text

from .models import (
    ActivityMode,
    AdaptationDecider,
    AdaptationGoal,
    AdaptationLevel,
    AdaptationNature,
    AdaptationReasonLevel,
    AdaptationTiming,
    AdaptationType,
    AdoptionStatus,
    ComponentAdoption,
    EricCluster,
    FidelityConsistency,
    Profession,
    School,
    Stage,
    StepStatus,
    UnratedReason,
)
from .validators import (
    EARLIEST_DATE,
    MAX_ACTIVITY_MINUTES,
    MAX_GRADE,
    MAX_PUPILS,
    MIN_ACTIVITY_MINUTES,
    MIN_GRADE,
    MIN_PUPILS,
)

# --- The one way a service's errors reach a form -------------------------------------------


def add_service_errors(
    form: forms.BaseForm,
    error: ValidationError,
    *,
    rename: Mapping[str, str] | Callable[[str], str] | None = None,
) -> None:
    """Put a service's ValidationError onto `form`.

    Services raise `{field: [ValidationError(code=...)]}`; each key that names a form field
    (after `rename`, for forms whose field names differ from the service's keys) becomes an
    error of that field, anything else a non-field error, so no reason is ever lost.
    Call it after `form.is_valid()`."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        name = key
        if callable(rename):
            name = rename(key)
        elif rename is not None:
            name = rename.get(key, key)
        if name != NON_FIELD_ERRORS and name in form.fields:
            form.add_error(name, errors)
        else:
            form.add_error(None, errors)


# --- Widgets and small field helpers -------------------------------------------------------


def _date_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(
            attrs={"type": "date", "min": EARLIEST_DATE.isoformat()}, format="%Y-%m-%d"
        ),
    )


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _number_input(low: int | None = None, high: int | None = None) -> forms.NumberInput:
    attrs: dict[str, Any] = {"inputmode": "numeric"}
    if low is not None:
        attrs["min"] = low
    if high is not None:
        attrs["max"] = high
    return forms.NumberInput(attrs=attrs)


class TitledModelChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Shows a catalog row by its `title` in the active language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", _("Choose a module"))
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        number = getattr(obj, "number", None)
        return f"{number}. {obj.title}" if number is not None else str(obj.title)


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() if isinstance(obj, User) else str(obj)


class AdoptionChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", _("Choose a component"))
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return adoption_label(obj)


class InstrumentsField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


def adoption_label(adoption: ComponentAdoption) -> str:
    if adoption.component is not None:
        return f"{adoption.component.key} {adoption.component.title}"
    return f"{adoption.component_title} ({_('local')})"


# --- School profile and positions ----------------------------------------------------------


class SchoolProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    organisation_number = forms.CharField(
        label=_("Organisation number (NSR)"),
        max_length=9,
        required=False,
        help_text=_("Nine digits, from the National School Register (NSR)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    grade_from = forms.IntegerField(
        label=_("Lowest grade"), widget=_number_input(MIN_GRADE, MAX_GRADE)
    )
    grade_to = forms.IntegerField(
        label=_("Highest grade"), widget=_number_input(MIN_GRADE, MAX_GRADE)
    )
    pupil_count = forms.IntegerField(
        label=_("Number of pupils"), required=False, widget=_number_input(MIN_PUPILS, MAX_PUPILS)
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("grade_from"), data.get("grade_to")
        if low is not None and high is not None and low > high:
            self.add_error(
                "grade_to", _("The highest grade cannot be lower than the lowest grade.")
            )
        return data


class PositionForm(forms.Form):
    profession = forms.ChoiceField(label=_("Profession"), choices=Profession.choices)
    position_percent = forms.DecimalField(
        label=_("Position %"),
        max_digits=5,
        decimal_places=1,
        localize=True,
        help_text=_("For example 100 for a full-time position, or 50 for half."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )
    title = forms.CharField(
        label=_("Job title (optional)"), max_length=100, required=False
    )


# --- Component adoption --------------------------------------------------------------------


class AdoptForm(forms.Form):
    """One click on "Adopt" next to a catalog component."""

    component: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, widget=forms.HiddenInput  # type: ignore[arg-type]
    )

    def __init__(self, *args: Any, components: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["component"].queryset = components  # type: ignore[attr-defined]
        self.fields["component"].label = _("Component")


class LocalComponentForm(forms.Form):
    """A school's own component. The names are those of LocalComponent's fields, which the
    service validates and names in its errors."""

    module = TitledModelChoiceField(queryset=None, label=_("Module"))  # type: ignore[arg-type]
    title = forms.CharField(label=_("Title"), max_length=255)
    description = forms.CharField(
        label=_("Description (optional)"), required=False, widget=_textarea()
    )

    def __init__(self, *args: Any, modules: QuerySet[Module], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].queryset = modules  # type: ignore[attr-defined]


class StatusChangeForm(forms.Form):
    """Every status is a valid *shape*; only the moves that make sense from the current
    status are offered. A stale page that posts another move gets the service's reason."""

    to_status = forms.ChoiceField(
        label=_("New status"), choices=AdoptionStatus.choices, widget=forms.RadioSelect
    )
    on = _date_field(_("Date of the change"))
    note = forms.CharField(
        label=_("Note (optional)"),
        max_length=500,
        required=False,
        help_text=_("Why the status changed, in a sentence."),
    )

    def __init__(self, *args: Any, offered: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(AdoptionStatus.choices)
        self.fields["to_status"].widget.choices = [(v, labels[v]) for v in offered]


class ResponsibleForm(forms.Form):
    responsible = PersonChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label=_("Responsible person"),
        required=False,
        empty_label=_("No one yet"),
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = members  # type: ignore[attr-defined]


# --- Adaptations (FRAME) -------------------------------------------------------------------

PLANNED_CHOICES = [
    ("yes", _("Planned (proactive)")),
    ("no", _("Unplanned (reactive)")),
]


class AdaptationForm(forms.Form):
    adoption = AdoptionChoiceField(queryset=None, label=_("Component"))  # type: ignore[arg-type]
    what_changed = forms.CharField(
        label=_("What was changed?"),
        max_length=2000,
        widget=_textarea(4),
        help_text=_("Describe the change in a few sentences."),
    )
    made_on = _date_field(_("When was it changed?"))
    timing = forms.ChoiceField(
        label=_("Implementation phase"), choices=AdaptationTiming.choices, widget=forms.RadioSelect
    )
    planned = forms.TypedChoiceField(
        label=_("Was the change planned?"),
        choices=PLANNED_CHOICES,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    decided_by = forms.ChoiceField(
        label=_("Who decided?"), choices=[("", "—"), *AdaptationDecider.choices]
    )
    level = forms.ChoiceField(
        label=_("For whom was it changed?"), choices=[("", "—"), *AdaptationLevel.choices]
    )
    change_type = forms.ChoiceField(
        label=_("What was modified?"), choices=AdaptationType.choices, widget=forms.RadioSelect
    )
    nature = forms.ChoiceField(
        label=_("Nature of the change"), choices=[("", "—"), *AdaptationNature.choices]
    )
    fidelity = forms.ChoiceField(
        label=_("Relation to the model's core"),
        choices=FidelityConsistency.choices,
        widget=forms.RadioSelect,
    )
    goals = forms.MultipleChoiceField(
        label=_("Goals of the change"),
        choices=AdaptationGoal.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose every goal that applies."),
        error_messages={"required": _("Choose at least one goal.")},
    )
    reason_level = forms.ChoiceField(
        label=_("Where did the reason come from?"),
        choices=AdaptationReasonLevel.choices,
        widget=forms.RadioSelect,
    )
    reasons = forms.CharField(
        label=_("Reasons (optional)"), max_length=2000, required=False, widget=_textarea()
    )

    def __init__(
        self,
        *args: Any,
        adoptions: QuerySet[ComponentAdoption] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if adoptions is None:  # editing: the component of an adaptation does not change
            del self.fields["adoption"]
        else:
            self.fields["adoption"].queryset = adoptions  # type: ignore[attr-defined]

    def service_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "adoption"}

    @staticmethod
    def initial_from(adaptation: Any) -> dict[str, Any]:
        return {
            "what_changed": adaptation.what_changed,
            "made_on": adaptation.made_on,
            "timing": adaptation.timing,
            "planned": "yes" if adaptation.planned else "no",
            "decided_by": adaptation.decided_by,
            "level": adaptation.level,
            "change_type": adaptation.change_type,
            "nature": adaptation.nature,
            "fidelity": adaptation.fidelity,
            "goals": list(adaptation.goals),
            "reason_level": adaptation.reason_level,
            "reasons": adaptation.reasons,
        }


# --- Implementation plan, steps, stages ----------------------------------------------------


def priority_field_name(module: Module) -> str:
    return f"priority_{module.pk}"


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_on = _date_field(_("Start date"))
    ends_on = _date_field(_("End date (optional)"), required=False)
    intended_systematic_percent = forms.IntegerField(
        label=_("Intended share of planned and system-level work (%)"),
        required=False,
        widget=_number_input(0, 100),
        help_text=_("The rest is acute and outreach work."),
    )

    def __init__(self, *args: Any, modules: Iterable[Module], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modules = list(modules)
        for module in self.modules:
            self.fields[priority_field_name(module)] = forms.IntegerField(
                label=f"{module.number}. {module.title}",
                required=False,
                widget=_number_input(0, 100),
            )

    def priority_fields(self) -> list[forms.BoundField]:
        return [self[priority_field_name(m)] for m in self.modules]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("title", "starts_on", "ends_on",
                                        "intended_systematic_percent")]

    def priorities(self) -> dict[Module, int]:
        chosen: dict[Module, int] = {}
        for module in self.modules:
            value = self.cleaned_data.get(priority_field_name(module))
            if value is not None:
                chosen[module] = value
        return chosen

    @staticmethod
    def initial_from(plan: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "title": plan.title,
            "starts_on": plan.starts_on,
            "ends_on": plan.ends_on,
            "intended_systematic_percent": plan.intended_systematic_percent,
        }
        for priority in plan.priorities.all():
            initial[f"priority_{priority.module_id}"] = priority.intended_percent
        return initial


class StepForm(forms.Form):
    """A strategy step as Proctor et al. (2013) specify one."""

    action = forms.CharField(
        label=_("Action"), max_length=300, help_text=_("What is done.")
    )
    strategy_actor = forms.CharField(label=_("Actor"), max_length=200, help_text=_("Who does it."))
    target = forms.CharField(
        label=_("Action target"), max_length=200, help_text=_("Whom or what it aims to change.")
    )
    due_on = _date_field(_("Due date"))
    dose = forms.CharField(
        label=_("Dose (optional)"),
        max_length=200,
        required=False,
        help_text=_("How often and how much, e.g. 2 × 45 min per month."),
    )
    intended_outcome = forms.CharField(
        label=_("Intended outcome (optional)"), max_length=300, required=False
    )
    justification = forms.CharField(
        label=_("Justification (optional)"),
        max_length=2000,
        required=False,
        widget=_textarea(),
        help_text=_("Why this step is expected to work: research, experience or local needs."),
    )
    module = TitledModelChoiceField(queryset=None, label=_("Module"))  # type: ignore[arg-type]
    stage = forms.ChoiceField(label=_("Implementation stage"), choices=Stage.choices)
    eric_cluster = forms.ChoiceField(
        label=_("Kind of strategy (ERIC cluster)"), choices=[("", "—"), *EricCluster.choices]
    )
    status = forms.ChoiceField(label=_("Status"), choices=StepStatus.choices)
    done_on = _date_field(
        _("Done on"), required=False, help_text=_("Only for a step that is done; default today.")
    )

    def __init__(self, *args: Any, modules: QuerySet[Module], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].queryset = modules  # type: ignore[attr-defined]

    @staticmethod
    def initial_from(step: Any) -> dict[str, Any]:
        return {
            name: getattr(step, name)
            for name in (
                "action", "strategy_actor", "target", "due_on", "dose", "intended_outcome",
                "justification", "module", "stage", "eric_cluster", "status", "done_on",
            )
        }


class StagePeriodForm(forms.Form):
    module = TitledModelChoiceField(queryset=None, label=_("Module"))  # type: ignore[arg-type]
    stage = forms.ChoiceField(label=_("Stage"), choices=Stage.choices)
    entered_on = _date_field(_("Entered the stage"))
    exited_on = _date_field(_("Left the stage (optional)"), required=False)

    def __init__(self, *args: Any, modules: QuerySet[Module], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].queryset = modules  # type: ignore[attr-defined]


# --- Assessment rounds and links -----------------------------------------------------------


class SchoolsField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class RoundForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("For example “Høst 2026” or “Vår 2027”.")
    )
    opens_on = _date_field(_("Opens"))
    closes_on = _date_field(_("Closes"))
    instruments = InstrumentsField(
        queryset=None,  # type: ignore[arg-type]
        label=_("Instruments"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one instrument.")},
    )
    schools = SchoolsField(
        queryset=None,  # type: ignore[arg-type]
        label=_("Schools"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one school.")},
    )

    def __init__(
        self,
        *args: Any,
        instruments: QuerySet[Instrument],
        schools: QuerySet[School],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instruments"].queryset = instruments  # type: ignore[attr-defined]
        self.fields["schools"].queryset = schools  # type: ignore[attr-defined]


class LinksForm(forms.Form):
    count = forms.IntegerField(
        label=_("How many links?"),
        help_text=_("One for each person who should answer; each link can be used once."),
        widget=_number_input(1, 200),
    )
    # One key per shown form: the same form sent twice (a double click) makes one batch.
    batch = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


# --- Instruments: fidelity, CFIR, staff survey ---------------------------------------------


def answer_field_name(*parts: object) -> str:
    """"answers.12" (fidelity), "answers.I.A" (CFIR), "answers.aim.aim1" (staff survey):
    the keys the response services name in their errors."""
    return ".".join(["answers", *(str(p) for p in parts)])


class RatingForm(forms.Form):
    """A team rating: one radio group per rated thing, each may stay "not rated"."""

    def __init__(
        self,
        *args: Any,
        instrument: Instrument,
        keys: Sequence[str],
        labels: Mapping[str, str],
        signed: bool = False,
        empty_label: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        values = range(instrument.scale_min, instrument.scale_max + 1)
        choices = [
            (str(v), f"{v:+d} {instrument.label_for(v)}" if signed and v else
             f"{v} {instrument.label_for(v)}")
            for v in values
        ]
        choices.append(("", str(empty_label or _("not rated"))))
        for key in keys:
            self.fields[answer_field_name(key)] = forms.ChoiceField(
                label=labels.get(key, key),
                choices=choices,
                required=False,
                widget=forms.RadioSelect,
            )
        self.keys = list(keys)

    def answers(self) -> dict[str, str | None]:
        return {
            key: (self.cleaned_data.get(answer_field_name(key)) or None) for key in self.keys
        }

    def field_for(self, key: str) -> forms.BoundField:
        return self[answer_field_name(key)]


def reason_field_name(key: object) -> str:
    """"unrated_reasons.12": the key the fidelity service names in its errors."""
    return f"unrated_reasons.{key}"


class FidelityRatingForm(RatingForm):
    """The fidelity self-assessment: a rating per adopted component and, beside it, why a
    component without a rating is not rated. Whether every component has one or the other
    is the service's check. A reason beside a rating is dropped: the rating wins (a team
    that rates a component it first marked "not started" need not clear the reason)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, empty_label=_("no rating"), **kwargs)
        for key in self.keys:
            self.fields[reason_field_name(key)] = forms.ChoiceField(
                label=_("If there is no rating, why?"),
                choices=[("", _("— choose —")), *UnratedReason.choices],
                required=False,
            )

    def unrated_reasons(self) -> dict[str, str]:
        answers = self.answers()
        return {
            key: reason
            for key in self.keys
            if answers[key] is None and (reason := self.cleaned_data.get(reason_field_name(key)))
        }

    def reason_for(self, key: str) -> forms.BoundField:
        return self[reason_field_name(key)]


class SurveyForm(forms.Form):
    """AIM, IAM, FIM and SUS in one form; every item must be answered."""

    def __init__(self, *args: Any, instruments: Sequence[Instrument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instruments = list(instruments)
        self.sections: list[tuple[Instrument, list[tuple[InstrumentItem, str]]]] = []
        for instrument in self.instruments:
            choices = [
                (str(v), f"{v} {instrument.label_for(v)}")
                for v in range(instrument.scale_min, instrument.scale_max + 1)
            ]
            rows = []
            for item in sorted(instrument.items.all(), key=lambda i: i.number):
                name = answer_field_name(instrument.code, item.code)
                self.fields[name] = forms.ChoiceField(
                    label=pick_text(item, "text"),
                    choices=choices,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Answer this question.")},
                )
                rows.append((item, name))
            self.sections.append((instrument, rows))

    def bound_sections(self) -> list[tuple[Instrument, list[forms.BoundField]]]:
        return [(instrument, [self[name] for _item, name in rows])
                for instrument, rows in self.sections]

    def answers(self) -> dict[str, dict[str, str]]:
        return {
            instrument.code: {
                item.code: self.cleaned_data[name]
                for item, name in rows
                if self.cleaned_data.get(name) not in (None, "")
            }
            for instrument, rows in self.sections
        }


# --- Activity log --------------------------------------------------------------------------


class ActivityForm(forms.Form):
    performed_on = _date_field(_("Date"))
    minutes = forms.IntegerField(
        label=_("Minutes"),
        widget=_number_input(MIN_ACTIVITY_MINUTES, MAX_ACTIVITY_MINUTES),
        help_text=_("For example 45."),
    )
    module = TitledModelChoiceField(queryset=None, label=_("Module"))  # type: ignore[arg-type]
    adoption = forms.TypedChoiceField(
        label=_("Component (optional)"), coerce=int, required=False, empty_value=None
    )
    mode = forms.ChoiceField(
        label=_("Kind of work"), choices=ActivityMode.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=300, required=False)

    def __init__(
        self,
        *args: Any,
        modules: QuerySet[Module],
        adoptions: Sequence[ComponentAdoption],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].queryset = modules  # type: ignore[attr-defined]
        self.fields["module"].widget.attrs["data-filters"] = "id_adoption"
        self.adoptions = {a.pk: a for a in adoptions}
        groups: dict[str, list[tuple[int, str]]] = {}
        order: list[str] = []
        labels = {m.pk: f"{m.number}. {m.title}" for m in modules}
        for adoption in adoptions:
            group = labels.get(adoption.module_id, "")
            if group not in groups:
                groups[group] = []
                order.append(group)
            groups[group].append((adoption.pk, adoption_label(adoption)))
        choices: list[Any] = [("", _("— the module in general —"))]
        choices += [(group, groups[group]) for group in order]
        self.fields["adoption"].choices = choices  # type: ignore[attr-defined]

    def chosen_adoption(self) -> ComponentAdoption | None:
        pk = self.cleaned_data.get("adoption")
        return self.adoptions.get(pk) if pk is not None else None


# --- Audit trail ---------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    school: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label=_("School"),
        empty_label=_("All schools"),
    )
    date_from = _date_field(_("From"), required=False)
    date_to = _date_field(_("To"), required=False)

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


# --- Start-up module ------------------------------------------------------------------------


class StartupSkipForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the step skipped?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: the time use is known from last year's log."),
        error_messages={"required": _("Say why the step is skipped.")},
    )
