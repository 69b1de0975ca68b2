"""The start-up module (Oppstartsmodul): the six steps a new school goes through, and how
each is seen in the school's own records.

A step is done when the school's records show it (`evidence`) *and* a leader or the
coordinator has confirmed it (`StartupStepRecord`), or it was skipped with a reason. The
records are read again on every page, so a confirmed step whose records have gone away
(a position removed, the only component dropped) shows as "needs checking again": the
status cannot claim more than the records hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    Activity,
    AdoptionStatus,
    AssessmentRound,
    ComponentAdoption,
    RespondentKind,
    Response,
    School,
    StaffPosition,
    StagePeriod,
    StartupStep,
    StrategyStep,
    SurveyLink,
)

# The step's part of the page address: /skoler/<id>/oppstart/<slug>/.
SLUGS: dict[str, str] = {
    StartupStep.PROFILE: "profil",
    StartupStep.BASELINE: "tidsbruk",
    StartupStep.READINESS: "forutsetninger",
    StartupStep.COMPONENTS: "komponenter",
    StartupStep.PLAN: "plan",
    StartupStep.ROUND: "runde",
}
STEP_OF_SLUG: dict[str, str] = {slug: step for step, slug in SLUGS.items()}

WHY: dict[str, Any] = {
    StartupStep.PROFILE: _(
        "The framework conditions — pupils, grades and the social-work positions — decide "
        "how much the school can take on, and every comparison later starts from them."
    ),
    StartupStep.BASELINE: _(
        "A few weeks of logged time show how social-work time is spent before the model: "
        "how much is acute and outreach work, how much planned and system-level work. "
        "The plan's priorities are set against this baseline later."
    ),
    StartupStep.READINESS: _(
        "The determinants (CFIR 2.0) show what helps and what hinders before you start: "
        "the model, the municipality, the school's culture and capacity, the people and "
        "the process. Barriers found now can be met with strategy steps in the plan."
    ),
    StartupStep.COMPONENTS: _(
        "Few components well in place beat many half done. Choose where to start, with the "
        "resource bank's guides, templates and videos at hand."
    ),
    StartupStep.PLAN: _(
        "A first plan says who does what and when (the strategy steps), and which "
        "implementation stage each module is in, so progress can be followed over time."
    ),
    StartupStep.ROUND: _(
        "The first assessment round sets the starting point: the team's fidelity "
        "self-assessment and the staff's view of the model. Teachers and other staff answer "
        "through one-time links, without an account."
    ),
}

TODO: dict[str, Any] = {
    StartupStep.PROFILE: _(
        "Check the school profile (pupils and grades) and register the social-work positions "
        "with their professions and position percentages."
    ),
    StartupStep.BASELINE: _(
        "Ask the social-work staff to log their time for a few ordinary weeks: minutes, "
        "module and kind of work (acute, outreach, planned, system level)."
    ),
    StartupStep.READINESS: _(
        "Rate the determinants together as a team in an assessment round that includes the "
        "school: from strong barrier (−2) to strong facilitator (+2). If no round is open, "
        "open one with the CFIR instrument."
    ),
    StartupStep.COMPONENTS: _(
        "Read about the components in the resource bank and adopt those the school will "
        "start with, each with a status and a person responsible."
    ),
    StartupStep.PLAN: _(
        "Make the implementation plan, add at least one strategy step (who, what, for whom, "
        "when) and record the stage the school is in for at least one module."
    ),
    StartupStep.ROUND: _(
        "Open the first assessment round for the school and make one-time survey links for "
        "the teachers and other staff who should answer."
    ),
}


@dataclass(frozen=True)
class Requirement:
    """One thing the school's records must show for a step to be done."""

    label: Any  # what is required, e.g. "At least one component is adopted"
    missing: Any  # what to do when it is not, e.g. "Adopt at least one component."
    met: bool


def open_rounds_of(school: School) -> list[AssessmentRound]:
    """The assessment rounds that include the school and are open today."""
    day = timezone.localdate()
    return list(
        AssessmentRound.objects.filter(
            schools=school, closed_at__isnull=True, opens_on__lte=day, closes_on__gte=day
        ).prefetch_related("instruments").order_by("-opens_on", "name")
    )


def evidence(school: School) -> dict[str, list[Requirement]]:
    """Per step, what the school's records must show and whether they do."""
    # The first round: one that has opened (it may have closed since; the step stays done).
    opened = list(AssessmentRound.objects.filter(
        schools=school, opens_on__lte=timezone.localdate()).values_list("pk", flat=True))
    return {
        StartupStep.PROFILE: [
            Requirement(_("The number of pupils is entered"),
                        _("Enter the number of pupils in the school profile."),
                        school.pupil_count is not None),
            Requirement(_("At least one social-work position is registered"),
                        _("Register at least one social-work position."),
                        StaffPosition.objects.filter(school=school).exists()),
        ],
        StartupStep.BASELINE: [
            Requirement(_("At least one time entry is logged"),
                        _("Log at least one time entry in the activity log."),
                        Activity.objects.filter(school=school).exists()),
        ],
        StartupStep.READINESS: [
            Requirement(_("The determinants (CFIR) are rated in an assessment round"),
                        _("Rate the determinants (CFIR) in an assessment round that includes "
                          "the school."),
                        Response.objects.filter(school=school,
                                                respondent_kind=RespondentKind.TEAM,
                                                instrument__code="cfir").exists()),
        ],
        StartupStep.COMPONENTS: [
            Requirement(_("At least one component is adopted"),
                        _("Adopt at least one component."),
                        ComponentAdoption.objects.filter(school=school)
                        .exclude(status=AdoptionStatus.DISCONTINUED).exists()),
        ],
        StartupStep.PLAN: [
            Requirement(_("A plan with at least one strategy step"),
                        _("Make the plan and add at least one strategy step."),
                        StrategyStep.objects.filter(plan__school=school).exists()),
            Requirement(_("The stage of at least one module is recorded"),
                        _("Record the stage the school is in for at least one module."),
                        StagePeriod.objects.filter(school=school).exists()),
        ],
        StartupStep.ROUND: [
            Requirement(_("An assessment round that includes the school has opened"),
                        _("Open an assessment round that includes the school."),
                        bool(opened)),
            Requirement(_("Survey links for the staff are made in such a round"),
                        _("Make survey links for the staff in the round."),
                        SurveyLink.objects.filter(school=school, round_id__in=opened)
                        .exists()),
        ],
    }


def is_new(school: School) -> bool:
    """A school that has not begun: no component adopted and no plan. The start-up is
    offered to it on the home page and the school page."""
    return not (ComponentAdoption.objects.filter(school=school).exists()
                or school.plans.exists())
