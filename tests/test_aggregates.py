"""Aggregates (dashboards.aggregation) against hand-computed fixtures and against
implementation.scoring on the same data.

The Trondheim fixture, one round "Høst 2026" (model version 1.0, threshold 70 %):

Fidelity (team rating per adopted component; "-" = left unrated, L = local component):

    component  1.1  2.1 2.2  3.1 3.2 3.3  4.1  5.1  L(m3) | overall
    Ila         2    1   2    1   0   -    -    1    2    | 7/12 = 58.3 %
    Lade        2    2   1    0   0   1    1    0         | 7/16 = 43.75 -> 43.8 %
    Rosten      2    2   2    1   0                       | 7/10 = 70.0 % (reaches 70)

Ila's staff surveys (one line per respondent, "-" = missing item):

    AIM  staff 4 4 5 5 = 4.5; link 3 4 4 3 = 3.5; link 5 5 5 4 = 4.75; link 4 - 4 4 incomplete
    IAM  2 2 2 2 = 2.0; 2 2 2 3 = 2.25                  -> mean 2.125 -> 2.13 (half up)
    FIM  4 4 - 4 incomplete                             -> n = 0, mean None
    SUS  4 2 4 1 5 2 4 2 4 2 = 80.0; all 3 = 50.0       -> mean 65.0, sd 21.2

Ila's CFIR team rating: I.A +2, I.B -1; III.D.1 +2, III.D.2 +1, III.D.3 +1, III.B -2;
V.A 0; everything else missing. Lade: I.A +1.

Ila's plan (from 2025-01-06) for module 1: exploration 2025-01-06..03-03 (56 days, 2 of 2
steps done), installation 03-03..06-16 (105 days, 2 of 3 done), initial from 06-16
(ongoing, 157 days at as_of 2025-11-20; 1 of 3 done, a fourth step cancelled), full (no
steps), sustainment (1 step, not done). Module 2: 8 exploration steps, 1 done (0.125 ->
0.13), no stage entered.

Ila's activity log: this month m1 akutt 60 + 30, m2 planlagt 120, m3 systemnivå 55; last
month m1 oppsøkende 45, m3 planlagt 90. Total 400 min; planned + system level 265 = 66.25
-> 66.3 %; m1 135 = 33.75 -> 33.8 %, m2 30.0 %, m3 145 = 36.25 -> 36.3 %; plan intends
20/30/40 % and 60 % systematic.
"""

from __future__ import annotations

import random
import secrets
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from catalog.models import InstrumentItem
from dashboards import aggregation
from dashboards.aggregation import (
    pending_mark,
    pending_school_ids,
    recompute_municipality,
    recompute_pending_school,
    recompute_school,
)
from dashboards.models import (
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
from implementation.models import (
    Answer,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    RespondentKind,
    Response,
    School,
    SurveyLink,
)
from implementation.scoring import (
    CfirRating,
    FidelityRating,
    SicStageInput,
    UnratedReason,
    aggregate,
    aggregate_scale_scores,
    aggregate_sus_scores,
    round_half_up,
    score_aim,
    score_cfir,
    score_fidelity,
    score_sic,
    score_sus,
)
from implementation.services import (
    activity_log,
    adoption_create,
    plan_create,
    round_close,
    school_create,
    stage_period_set,
    step_create,
    team_response_submit,
)
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World
from .recording import adopt, instrument, module, open_round, version

AS_OF = date(2025, 11, 20)
PLAN_START = date(2025, 1, 6)
D = Decimal


# --- Fixture builders ----------------------------------------------------------------------


def respond(
    assessment_round: AssessmentRound,
    school: School,
    answers: Mapping[str, Sequence[int | None]],
    *,
    staff: User | None = None,
) -> None:
    """One respondent's answers to staff surveys, stored as the services store them (a
    one-time link unless `staff` is given). Incomplete answer sets, which the survey form
    refuses, are written directly: they occur in imported data and must be left out."""
    link = None
    if staff is None:
        link = SurveyLink.objects.create(
            round=assessment_round,
            school=school,
            token_hash=secrets.token_hex(32),
            expires_at=timezone.now() + timedelta(days=30),
            used_at=timezone.now(),
        )
    for code, values in answers.items():
        survey = instrument(code)
        response = Response.objects.create(
            round=assessment_round,
            school=school,
            instrument=survey,
            respondent_kind=RespondentKind.STAFF if staff else RespondentKind.LINK,
            respondent=staff,
            survey_link=link,
        )
        items = list(InstrumentItem.objects.filter(instrument=survey).order_by("number"))
        assert len(items) == len(values), code
        Answer.objects.bulk_create(
            Answer(response=response, item=item, value=value)
            for item, value in zip(items, values, strict=True)
        )


def unused_links(assessment_round: AssessmentRound, school: School, count: int) -> None:
    for _ in range(count):
        SurveyLink.objects.create(
            round=assessment_round,
            school=school,
            token_hash=secrets.token_hex(32),
            expires_at=timezone.now() + timedelta(days=30),
        )


Mark = int | UnratedReason  # a rating 0-2, or why the component is not rated


def rate_fidelity(
    assessment_round: AssessmentRound,
    school: School,
    ratings: dict[str, Mark],
    local: dict[str, Mark] | None = None,
) -> dict[str, ComponentAdoption]:
    adoptions = {key: adopt(school, key) for key in ratings}
    for title, _value in (local or {}).items():
        adoptions[title] = adoption_create(
            school=school, local_module=module(3), local_title=title, status="in_progress",
            status_since=today() - timedelta(days=30),
        )
    values = {**ratings, **(local or {})}
    team_response_submit(
        assessment_round=assessment_round,
        school=school,
        instrument=instrument("fidelity"),
        answers={str(adoptions[key].pk): None if isinstance(value, UnratedReason) else value
                 for key, value in values.items()},
        unrated_reasons={str(adoptions[key].pk): value for key, value in values.items()
                         if isinstance(value, UnratedReason)},
    )
    return adoptions


def fidelity_ratings(ratings: dict[str, Mark]) -> list[FidelityRating]:
    """The same marks as scoring.py's input (component key "m.c" -> module m)."""
    return [
        FidelityRating(int(key.split(".")[0]), key, None, UnratedReason(value))
        if isinstance(value, UnratedReason)
        else FidelityRating(int(key.split(".")[0]), key, value)
        for key, value in ratings.items()
    ]


# Ila leaves 3.3 (not assessed) and 4.1 (not applicable) unrated: 6 of 8 rated = 75 %, below
# the 80 % a measured score needs.
ILA_FIDELITY: dict[str, Mark] = {
    "1.1": 2, "2.1": 1, "2.2": 2, "3.1": 1, "3.2": 0, "3.3": UnratedReason.NOT_ASSESSED,
    "4.1": UnratedReason.NOT_APPLICABLE, "5.1": 1,
}
LADE_FIDELITY: dict[str, Mark] = {
    "1.1": 2, "2.1": 2, "2.2": 1, "3.1": 0, "3.2": 0, "3.3": 1, "4.1": 1, "5.1": 0,
}
ROSTEN_FIDELITY: dict[str, Mark] = {"1.1": 2, "2.1": 2, "2.2": 2, "3.1": 1, "3.2": 0}
ILA_CFIR = {"I.A": 2, "I.B": -1, "III.D.1": 2, "III.D.2": 1, "III.D.3": 1, "III.B": -2, "V.A": 0}
SUS_80 = [4, 2, 4, 1, 5, 2, 4, 2, 4, 2]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


@dataclass
class Trondheim:
    municipality: Municipality
    ila: School
    lade: School
    rosten: School
    round: AssessmentRound
    plan: ImplementationPlan
    this_month: date
    last_month: date

    def recompute_all(self) -> None:
        for school in (self.ila, self.lade, self.rosten):
            recompute_school(school.pk, as_of=AS_OF)
        recompute_municipality(as_of=AS_OF)


def _stage_steps(plan: ImplementationPlan, module_number: int, stage: str,
                 statuses: list[str]) -> None:
    for index, status in enumerate(statuses, start=1):
        step_create(
            plan=plan, module=module(module_number), stage=stage, eric_cluster="train_educate",
            action=f"{stage} step {index}", strategy_actor="rektor", target="lærere",
            due_on=PLAN_START + timedelta(days=index),
            status=status, done_on=date(2025, 2, 1) if status == "done" else None,
        )


@pytest.fixture
def trondheim_data(world: World, db: None) -> Iterator[Trondheim]:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        lade = School.objects.get(pk=world.lade_id)
        rosten = school_create(name="Rosten skole", pupil_count=380)
        staff = User.objects.get(email="trondheim_staff@example.no")
        høst = open_round([ila, lade, rosten])

        rate_fidelity(høst, ila, ILA_FIDELITY, local={"Ukentlig elevrådsmøte": 2})
        rate_fidelity(høst, lade, LADE_FIDELITY)
        rate_fidelity(høst, rosten, ROSTEN_FIDELITY)

        respond(høst, ila, {"aim": [4, 4, 5, 5]}, staff=staff)
        respond(høst, ila, {"iam": [2, 2, 2, 2], "sus": SUS_80})
        respond(høst, ila, {"aim": [3, 4, 4, 3], "iam": [2, 2, 2, 3], "sus": [3] * 10})
        respond(høst, ila, {"aim": [5, 5, 5, 4]})
        respond(høst, ila, {"aim": [4, None, 4, 4], "fim": [4, 4, None, 4]})
        unused_links(høst, ila, 2)

        team_response_submit(
            assessment_round=høst, school=ila, instrument=instrument("cfir"), answers=ILA_CFIR
        )
        team_response_submit(
            assessment_round=høst, school=lade, instrument=instrument("cfir"),
            answers={"I.A": 1},
        )

        plan = plan_create(
            school=ila, model_version=version(), title="SoVei ved Ila", starts_on=PLAN_START,
            intended_systematic_percent=60,
            priorities={module(1): 20, module(2): 30, module(3): 40},
        )
        stage_period_set(school=ila, module=module(1), stage="exploration",
                         entered_on=date(2025, 1, 6), exited_on=date(2025, 3, 3))
        stage_period_set(school=ila, module=module(1), stage="installation",
                         entered_on=date(2025, 3, 3), exited_on=date(2025, 6, 16))
        stage_period_set(school=ila, module=module(1), stage="initial",
                         entered_on=date(2025, 6, 16))
        stage_period_set(school=lade, module=module(1), stage="exploration",
                         entered_on=date(2025, 8, 18))
        _stage_steps(plan, 1, "exploration", ["done", "done"])
        _stage_steps(plan, 1, "installation", ["done", "done", "not_started"])
        _stage_steps(plan, 1, "initial", ["done", "in_progress", "not_started", "cancelled"])
        _stage_steps(plan, 1, "sustainment", ["not_started"])
        _stage_steps(plan, 2, "exploration", ["done"] + ["not_started"] * 7)

        this_month = first_of_month(today())
        last_month = first_of_month(this_month - timedelta(days=1))
        for day, minutes, number, mode in [
            (this_month, 60, 1, "akutt"),
            (this_month, 30, 1, "akutt"),
            (this_month, 120, 2, "planlagt"),
            (this_month, 55, 3, "systemniva"),
            (last_month, 45, 1, "oppsokende"),
            (last_month, 90, 3, "planlagt"),
        ]:
            activity_log(school=ila, staff=staff, performed_on=day, minutes=minutes,
                         module=module(number), mode=mode)

        yield Trondheim(world.trondheim, ila, lade, rosten, høst, plan, this_month, last_month)


def rows(model: Any, *fields: str, **filters: Any) -> list[tuple[Any, ...]]:
    return list(model.objects.filter(**filters).order_by(*fields[:3]).values_list(*fields))


# --- Fidelity ------------------------------------------------------------------------------

FIDELITY_FIELDS = ("module_number", "points", "max_points", "rated_count", "unrated_count",
                   "percent", "meets_threshold", "local_points", "local_rated_count",
                   "rated_share_percent", "measured")


def test_it_computes_fidelity_per_module_and_overall_with_the_threshold(
    trondheim_data: Trondheim,
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        got = {
            row[0]: row
            for row in rows(FidelityAggregate, *FIDELITY_FIELDS, school=data.ila, round=data.round)
        }
    assert got == {
        1: (1, 2, 2, 1, 0, D("100.0"), True, 0, 0, D("100.0"), True),
        2: (2, 3, 4, 2, 0, D("75.0"), True, 0, 0, D("100.0"), True),
        # the local component is left out; 2 of 3 rated = 66.7 % < 80 %: not measured
        3: (3, 1, 4, 2, 1, D("25.0"), None, 2, 1, D("66.7"), False),
        4: (4, 0, 0, 0, 1, None, None, 0, 0, D("0.0"), False),  # nothing rated, not 0 %
        5: (5, 1, 2, 1, 0, D("50.0"), False, 0, 0, D("100.0"), True),
        # pooled, not the module mean: 7 / 12 = 58.3 %, but 6 of 8 rated = 75 % < 80 %
        None: (None, 7, 12, 6, 2, D("58.3"), None, 2, 1, D("75.0"), False),
    }


def test_it_rounds_fidelity_half_up_and_reaches_the_threshold_at_exactly_70(
    trondheim_data: Trondheim,
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        data.recompute_all()
        overall = dict(
            FidelityAggregate.objects.filter(round=data.round, module__isnull=True)
            .values_list("school__name", "percent")
        )
        meets = dict(
            FidelityAggregate.objects.filter(round=data.round, module__isnull=True)
            .values_list("school__name", "meets_threshold")
        )
        lade_modules = rows(FidelityAggregate, "module_number", "percent",
                            school=data.lade, round=data.round, module__isnull=False)
    assert overall == {"Ila skole": D("58.3"), "Lade skole": D("43.8"), "Rosten skole": D("70.0")}
    # Ila rated 6 of 8 components (75 % < 80 %): its 58.3 % is not measured, so not judged.
    assert meets == {"Ila skole": None, "Lade skole": False, "Rosten skole": True}
    assert lade_modules == [(1, D("100.0")), (2, D("75.0")), (3, D("16.7")), (4, D("50.0")),
                            (5, D("0.0"))]  # module 5 rated 0 of 2: a real zero


def test_it_agrees_with_the_scoring_rules_on_the_same_fidelity_ratings(
    trondheim_data: Trondheim,
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        data.recompute_all()
        for school, ratings in ((data.ila, ILA_FIDELITY), (data.lade, LADE_FIDELITY),
                                (data.rosten, ROSTEN_FIDELITY)):
            expected = score_fidelity(
                fidelity_ratings(ratings),
                threshold=version().fidelity_threshold_percent,
                min_rated_percent=version().fidelity_min_rated_percent,
            )
            stored = {
                row.module_number: row
                for row in FidelityAggregate.objects.filter(school=school, round=data.round)
            }
            assert stored[None].percent == expected.overall.percent
            assert stored[None].meets_threshold == expected.overall.meets_threshold
            assert stored[None].rated_count == expected.overall.rated_count
            assert stored[None].rated_share_percent == expected.overall.rated_share_percent
            assert stored[None].measured == expected.overall.measured
            for item in expected.modules:
                row = stored[item.module_number]
                assert (row.points, row.max_points, row.rated_count, row.unrated_count,
                        row.not_started_count) == (
                    item.score.points, item.score.max_points, item.score.rated_count,
                    item.score.unrated_count, item.score.not_started_count)
                assert row.percent == item.score.percent
                assert row.rated_share_percent == item.score.rated_share_percent
                assert row.measured == item.score.measured
                assert row.meets_threshold == item.score.meets_threshold


SPREAD_FIELDS = ("module_number", "n_schools", "minimum", "median", "maximum", "mean", "sd",
                 "n_meets_threshold")


def test_it_shows_the_spread_of_fidelity_across_schools(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        data.recompute_all()
        got = {
            row[0]: row[1:]
            for row in rows(MunicipalitySpread, *SPREAD_FIELDS, metric="fidelity",
                            round=data.round)
        }
    assert got == {
        # Only measured scores: Ila's 58.33… (6 of 8 rated) is left out. 43.75 and 70: the
        # median is their midpoint 56.875, the mean too; sample sd = 26.25 / √2 = 18.56…
        None: (2, D("43.8"), D("56.9"), D("70.0"), D("56.9"), D("18.6"), 1),
        1: (3, D("100.0"), D("100.0"), D("100.0"), D("100.0"), D("0.0"), 3),
        2: (3, D("75.0"), D("75.0"), D("100.0"), D("83.3"), D("14.4"), 3),
        # Ila's module 3 (2 of 3 rated) is not measured: 16.66… and 25, sd 8.33… / √2
        3: (2, D("16.7"), D("20.8"), D("25.0"), D("20.8"), D("5.9"), 0),
        4: (1, D("50.0"), D("50.0"), D("50.0"), D("50.0"), None, 0),  # Ila's module 4 unrated
        5: (2, D("0.0"), D("25.0"), D("50.0"), D("25.0"), D("35.4"), 0),  # even n: midpoint
    }
    # The same numbers from the scoring module's aggregate() over the exact percentages.
    exact = [Fraction(700, 16), Fraction(70)]
    reference = aggregate(exact, places=1)
    assert (got[None][4], got[None][5]) == (reference.mean, reference.sd)
    assert got[None][2] == round_half_up(statistics.median(exact), 1)


# --- Stages (SIC) --------------------------------------------------------------------------

STAGE_FIELDS = ("module_number", "stage_order", "stage", "entered_on", "exited_on", "ongoing",
                "days", "steps_total", "steps_done", "steps_cancelled", "steps_share",
                "is_furthest")


def test_it_computes_days_in_stage_and_share_of_steps_done(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        got = rows(StageAggregate, *STAGE_FIELDS, school=data.ila)
    assert got == [
        (1, 1, "exploration", date(2025, 1, 6), date(2025, 3, 3), False, 56, 2, 2, 0, D("1.00"),
         False),
        (1, 2, "installation", date(2025, 3, 3), date(2025, 6, 16), False, 105, 3, 2, 0,
         D("0.67"), False),
        (1, 3, "initial", date(2025, 6, 16), None, True, 157, 3, 1, 1, D("0.33"), True),
        (1, 4, "full", None, None, False, None, 0, 0, 0, None, False),  # no steps: None
        (1, 5, "sustainment", None, None, False, None, 1, 0, 0, D("0.00"), False),
        (2, 1, "exploration", None, None, False, None, 8, 1, 0, D("0.13"), False),  # 0.125
        (2, 2, "installation", None, None, False, None, 0, 0, 0, None, False),
        (2, 3, "initial", None, None, False, None, 0, 0, 0, None, False),
        (2, 4, "full", None, None, False, None, 0, 0, 0, None, False),
        (2, 5, "sustainment", None, None, False, None, 0, 0, 0, None, False),
    ]


def test_it_agrees_with_the_sic_scoring_rules(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        stored = {row.stage: row for row in StageAggregate.objects.filter(
            school=data.ila, module_number=1)}
    expected = score_sic(
        [
            SicStageInput("exploration", date(2025, 1, 6), date(2025, 3, 3), [True, True]),
            SicStageInput("installation", date(2025, 3, 3), date(2025, 6, 16),
                          [True, True, False]),
            # the cancelled step is not one of the stage's steps
            SicStageInput("initial", date(2025, 6, 16), None, [True, False, False]),
            SicStageInput("sustainment", None, None, [False]),
        ],
        as_of=AS_OF,
    )
    for score in expected.stages:
        row = stored[score.stage.value]
        assert (row.days, row.steps_total, row.steps_done, row.steps_share, row.ongoing) == (
            score.days, score.steps_total, score.steps_done, score.proportion, score.ongoing)
    assert expected.furthest_stage is not None
    assert [s for s, row in stored.items() if row.is_furthest] == [expected.furthest_stage.value]


def test_it_shows_the_spread_of_stage_progress(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        data.recompute_all()
        reached = rows(MunicipalitySpread, *SPREAD_FIELDS[:7], metric="stage_reached")
        share = rows(MunicipalitySpread, *SPREAD_FIELDS[:7], metric="steps_share")
    # Ila reached stage 3 (initial) of module 1, Lade stage 1 (exploration).
    assert reached == [(1, 2, D("1.0"), D("2.0"), D("3.0"), D("2.0"), D("1.4"))]
    # Ila: module 1 has 5 of 9 steps done (0.56), module 2 1 of 8 (0.13); Lade has no steps.
    assert share == [(1, 1, D("0.56"), D("0.56"), D("0.56"), D("0.56"), None),
                     (2, 1, D("0.13"), D("0.13"), D("0.13"), D("0.13"), None)]


# --- Implementation outcomes (AIM, IAM, FIM, SUS) -------------------------------------------


def release_small_groups(settings: Any, assessment_round: AssessmentRound) -> None:
    """Close the round and release its results with k = 2 (these tests check the numbers of
    small hand-computed groups; the group rule itself: tests/test_survey_releases.py)."""
    settings.RESEARCH_MIN_GROUP_SIZE = 2
    round_close(assessment_round=assessment_round)


def test_it_computes_outcome_means_over_complete_respondents(
    trondheim_data: Trondheim, settings: Any
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        release_small_groups(settings, data.round)
        recompute_school(data.ila.pk, as_of=AS_OF)
        got = rows(OutcomeAggregate, "instrument", "n", "n_incomplete", "mean", "sd", "places",
                   school=data.ila, round=data.round)
    assert got == [
        ("aim", 3, 1, D("4.25"), D("0.66"), 2),
        ("fim", 0, 1, None, None, 2),  # nobody completed it: no mean, not 0
        ("iam", 2, 0, D("2.13"), D("0.18"), 2),  # 2.125 rounds half up
        ("sus", 2, 0, D("65.0"), D("21.2"), 1),
    ]
    aim = aggregate_scale_scores(
        score_aim(a) for a in ([4, 4, 5, 5], [3, 4, 4, 3], [5, 5, 5, 4], [4, None, 4, 4])
    )
    iam = aggregate_scale_scores(score_aim(a) for a in ([2, 2, 2, 2], [2, 2, 2, 3]))
    sus = aggregate_sus_scores(score_sus(a) for a in (SUS_80, [3] * 10))
    assert [(r[1], r[2], r[3], r[4]) for r in got if r[0] != "fim"] == [
        (s.n, s.n_missing, s.mean, s.sd) for s in (aim, iam, sus)
    ]


def test_it_counts_responses_against_links_issued(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        got = rows(ResponseRateAggregate, "instrument", "responses", "staff_responses",
                   "link_responses", "links_issued", "links_used", "rate_percent",
                   school=data.ila, round=data.round)
    assert got == [
        ("aim", 4, 1, 3, 6, 4, D("50.0")),
        ("cfir", 1, 0, 0, 0, 0, None),
        ("fidelity", 1, 0, 0, 0, 0, None),
        ("fim", 1, 0, 1, 6, 4, D("16.7")),
        ("iam", 2, 0, 2, 6, 4, D("33.3")),
        ("sus", 2, 0, 2, 6, 4, D("33.3")),
    ]


# --- CFIR ----------------------------------------------------------------------------------

CFIR_FIELDS = ("level", "code", "n", "n_missing", "n_barrier", "n_neutral", "n_facilitator",
               "mean")


def test_it_averages_cfir_constructs_and_domains(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        base = {"school": data.ila, "round": data.round}
        domains = rows(CfirAggregate, *CFIR_FIELDS, level="domain", **base)
        constructs = rows(CfirAggregate, *CFIR_FIELDS, level="construct", n__gt=0, **base)
        items = rows(CfirAggregate, *CFIR_FIELDS, level="item", code__startswith="III.D", **base)
    assert domains == [
        ("domain", "I", 2, 6, 1, 0, 1, D("0.50")),
        ("domain", "II", 0, 7, 0, 0, 0, None),  # nothing rated: no mean
        # construct means 4/3 and -2: (4/3 - 2) / 2 = -0.33 (pooled ratings would give 0.5)
        ("domain", "III", 2, 9, 1, 0, 1, D("-0.33")),
        ("domain", "IV", 0, 4, 0, 0, 0, None),
        ("domain", "V", 1, 8, 0, 1, 0, D("0.00")),
    ]
    assert constructs == [
        ("construct", "I.A", 1, 0, 0, 0, 1, D("2.00")),
        ("construct", "I.B", 1, 0, 1, 0, 0, D("-1.00")),
        ("construct", "III.B", 1, 0, 1, 0, 0, D("-2.00")),
        ("construct", "III.D", 3, 1, 0, 0, 3, D("1.33")),  # mean of its rated subconstructs
        ("construct", "V.A", 1, 0, 0, 1, 0, D("0.00")),
    ]
    assert items == [
        ("item", "III.D.1", 1, 0, 0, 0, 1, D("2.00")),
        ("item", "III.D.2", 1, 0, 0, 0, 1, D("1.00")),
        ("item", "III.D.3", 1, 0, 0, 0, 1, D("1.00")),
        ("item", "III.D.4", 0, 1, 0, 0, 0, None),
    ]


def test_it_agrees_with_the_cfir_scoring_rules(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        stored = {(row.level, row.code): row for row in CfirAggregate.objects.filter(
            school=data.ila, round=data.round)}
        items = InstrumentItem.objects.filter(instrument=instrument("cfir")).select_related(
            "domain").order_by("number")
        expected = score_cfir(
            CfirRating(item.domain.code if item.domain else "", item.parent_code or item.code,
                       ILA_CFIR.get(item.code))
            for item in items
        )
    for domain in expected.domains:
        row = stored[("domain", domain.domain)]
        assert (row.mean, row.n, row.n_missing) == (
            domain.mean, domain.n_constructs, domain.n_constructs_missing)
        assert (row.n_barrier, row.n_neutral, row.n_facilitator) == (
            domain.barrier_constructs, domain.neutral_constructs, domain.facilitator_constructs)
        for construct in domain.constructs:
            crow = stored[("construct", construct.construct)]
            assert (crow.mean, crow.n, crow.n_missing) == (
                construct.mean, construct.n, construct.n_missing)


def test_it_shows_the_spread_of_cfir_domains_and_outcomes(
    trondheim_data: Trondheim, settings: Any
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        release_small_groups(settings, data.round)
        data.recompute_all()
        domains = rows(MunicipalitySpread, "key", "n_schools", "minimum", "median", "maximum",
                       "mean", "sd", metric="cfir_domain", round=data.round)
        outcomes = rows(MunicipalitySpread, "key", "n_schools", "mean", "sd",
                        metric="outcome", round=data.round)
    assert domains == [
        ("I", 2, D("0.50"), D("0.75"), D("1.00"), D("0.75"), D("0.35")),  # Ila 0.5, Lade 1
        ("III", 1, D("-0.33"), D("-0.33"), D("-0.33"), D("-0.33"), None),
        ("V", 1, D("0.00"), D("0.00"), D("0.00"), D("0.00"), None),
    ]
    # Only Ila answered the staff surveys; FIM had no complete respondent anywhere.
    assert outcomes == [("aim", 1, D("4.25"), None), ("iam", 1, D("2.13"), None),
                        ("sus", 1, D("65.0"), None)]


# --- Time use ------------------------------------------------------------------------------


def test_it_sums_time_use_per_month_module_and_mode(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.ila.pk, as_of=AS_OF)
        got = set(TimeUseAggregate.objects.filter(school=data.ila).values_list(
            "month", "module_number", "mode", "minutes", "activities"))
    assert got == {
        (data.this_month, 1, "akutt", 90, 2),
        (data.this_month, 2, "planlagt", 120, 1),
        (data.this_month, 3, "systemniva", 55, 1),
        (data.last_month, 1, "oppsokende", 45, 1),
        (data.last_month, 3, "planlagt", 90, 1),
    }


def test_it_sets_time_use_against_the_plan(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        data.recompute_all()
        got = rows(TimeUsePlanAggregate, "kind", "module_number", "minutes", "total_minutes",
                   "share_percent", "intended_percent", "plan_id", "period_from",
                   school=data.ila)
        systematic = rows(MunicipalitySpread, "n_schools", "mean", metric="systematic_share")
    plan = (data.plan.pk, PLAN_START)
    assert got == [
        ("module", 1, 135, 400, D("33.8"), 20, *plan),  # 33.75 half up
        ("module", 2, 120, 400, D("30.0"), 30, *plan),
        ("module", 3, 145, 400, D("36.3"), 40, *plan),
        ("systematic", None, 265, 400, D("66.3"), 60, *plan),  # planned + system level
    ]
    assert systematic == [(1, D("66.3"))]


# --- Empty states --------------------------------------------------------------------------


def test_it_writes_no_misleading_rows_for_an_empty_round_or_a_school_without_records(
    trondheim_data: Trondheim,
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        spring = open_round([data.ila, data.rosten], name="Vår 2027")
        empty = school_create(name="Tom skole")
        recompute_school(data.ila.pk, as_of=AS_OF)
        recompute_school(empty.pk, as_of=AS_OF)
        recompute_municipality(as_of=AS_OF)
        by_round: tuple[Any, ...] = (FidelityAggregate, OutcomeAggregate, CfirAggregate)
        for model in by_round:
            assert not model.objects.filter(round=spring).exists(), model.__name__
        assert not MunicipalitySpread.objects.filter(round=spring).exists()
        rates = rows(ResponseRateAggregate, "instrument", "responses", "rate_percent",
                     school=data.ila, round=spring)
        assert all(responses == 0 and rate is None for _, responses, rate in rates)
        by_school: tuple[Any, ...] = (FidelityAggregate, StageAggregate, OutcomeAggregate,
                                      CfirAggregate, TimeUseAggregate, TimeUsePlanAggregate,
                                      ResponseRateAggregate)
        for model in by_school:
            assert not model.objects.filter(school=empty).exists(), model.__name__
        # …but the school was computed: "nothing recorded yet", not "not computed yet".
        assert AggregateStatus.objects.filter(school=empty, as_of=AS_OF).exists()


def test_it_removes_the_aggregates_of_a_school_that_no_longer_has_the_records(
    trondheim_data: Trondheim,
) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        recompute_school(data.rosten.pk, as_of=AS_OF)
        assert FidelityAggregate.objects.filter(school=data.rosten).exists()
        Response.objects.filter(school=data.rosten).delete()
        recompute_school(data.rosten.pk, as_of=AS_OF)
        assert not FidelityAggregate.objects.filter(school=data.rosten).exists()


# --- Idempotency, dirty markers ------------------------------------------------------------

AGGREGATE_MODELS = (FidelityAggregate, StageAggregate, OutcomeAggregate, CfirAggregate,
                    TimeUseAggregate, TimeUsePlanAggregate, ResponseRateAggregate,
                    MunicipalitySpread)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate row of the current schema without its id and computed_at."""
    result = {}
    for model in AGGREGATE_MODELS:
        names = [f.attname for f in model._meta.concrete_fields
                 if f.name not in {"id", "computed_at"}]
        result[model.__name__] = sorted(model.objects.values_list(*names), key=repr)
    return result


def test_it_gives_identical_rows_when_recomputed_twice(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        data.recompute_all()
        first = snapshot()
        data.recompute_all()
        assert snapshot() == first
        assert sum(len(v) for v in first.values()) > 100


def test_it_marks_the_school_dirty_in_the_writing_transaction(trondheim_data: Trondheim) -> None:
    data = trondheim_data
    with tenant_context(data.municipality):
        # The fixture's writes marked the three schools (rolled back with the test).
        assert set(pending_school_ids()) >= {data.ila.pk, data.lade.pk, data.rosten.pk}
        result = recompute_pending_school(data.ila.pk, as_of=AS_OF)
        assert result.marker_cleared
        assert data.ila.pk not in pending_school_ids()
        assert result.municipality_rows


def test_it_keeps_the_marker_when_a_newer_write_arrives_during_the_run(
    trondheim_data: Trondheim, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = trondheim_data
    original = aggregation.recompute_school

    def recompute_while_someone_writes(school_id: int, **kwargs: Any) -> dict[str, int]:
        rows = original(school_id, **kwargs)
        pending_mark(school_id)  # a write commits meanwhile: a new requested_at
        return rows

    monkeypatch.setattr(aggregation, "recompute_school", recompute_while_someone_writes)
    with tenant_context(data.municipality):
        before = PendingRecompute.objects.get(school_id=data.ila.pk)
        result = recompute_pending_school(data.ila.pk, as_of=AS_OF)
        after = PendingRecompute.objects.get(school_id=data.ila.pk)
    assert not result.marker_cleared
    assert after.requested_at > before.requested_at
    assert after.attempts == 0  # a new request: its count starts again


# --- SQL against scoring on random data -----------------------------------------------------


def test_it_matches_the_scoring_module_on_random_answer_sets(
    world: World, db: None, settings: Any
) -> None:
    rng = random.Random(20261126)  # noqa: S311 - reproducible test data
    settings.RESEARCH_MIN_GROUP_SIZE = 2
    with tenant_context(world.trondheim):
        schools = [school_create(name=f"Tilfeldig {n}") for n in range(4)]
        spring = open_round(schools, codes=("fidelity", "aim", "sus"), name="Tilfeldig runde")
        overall: list[Fraction] = []
        expected_outcomes = {}
        all_ratings: dict[int, dict[str, Mark]] = {}
        for school in schools:
            ratings = {key: rng.choice([0, 1, 2] * 3 + list(UnratedReason)) for key in
                       ("1.1", "2.1", "2.2", "3.1", "3.2", "3.3", "4.1", "5.1")}
            rate_fidelity(spring, school, ratings)
            aims, suses = [], []
            for _ in range(rng.randint(2, 9)):
                aim: list[int | None] = [rng.randint(1, 5) for _ in range(4)]
                if rng.random() < 0.2:
                    aim[rng.randrange(4)] = None  # an incomplete respondent
                sus = [rng.randint(1, 5) for _ in range(10)]
                respond(spring, school, {"aim": aim, "sus": sus})
                aims.append(score_aim(aim))
                suses.append(score_sus(sus))
            expected_outcomes[school.pk] = (aggregate_scale_scores(aims),
                                            aggregate_sus_scores(suses))
            all_ratings[school.pk] = ratings
        round_close(assessment_round=spring)  # releases every school's group of ≥ 2
        for school in schools:
            ratings = all_ratings[school.pk]
            result = score_fidelity(fidelity_ratings(ratings), threshold=70,
                                    min_rated_percent=80)
            recompute_school(school.pk)
            stored = {r.module_number: r for r in FidelityAggregate.objects.filter(
                school=school, round=spring)}
            if result.overall.measured and result.overall.percent_exact is not None:
                overall.append(result.overall.percent_exact)
            assert stored[None].percent == result.overall.percent
            assert stored[None].meets_threshold == result.overall.meets_threshold
            assert (stored[None].rated_share_percent, stored[None].measured) == (
                result.overall.rated_share_percent, result.overall.measured)
            for item in result.modules:
                row = stored[item.module_number]
                assert (row.percent, row.rated_share_percent, row.measured,
                        row.meets_threshold, row.not_started_count) == (
                    item.score.percent, item.score.rated_share_percent, item.score.measured,
                    item.score.meets_threshold, item.score.not_started_count)
            outcome = {r.instrument: r for r in OutcomeAggregate.objects.filter(
                school=school, round=spring)}
            aim_ref, sus_ref = expected_outcomes[school.pk]
            if aim_ref.n < 2:  # a single complete answer is never shown on its own
                aim_ref = aggregate_scale_scores([])
            assert (outcome["aim"].n, outcome["aim"].mean, outcome["aim"].sd) == (
                aim_ref.n, aim_ref.mean, aim_ref.sd)
            assert (outcome["sus"].n, outcome["sus"].mean, outcome["sus"].sd) == (
                sus_ref.n, sus_ref.mean, sus_ref.sd)
        assert 0 < len(overall) < len(schools)  # the data has measured and unmeasured scores
        recompute_municipality()
        spread = MunicipalitySpread.objects.get(metric="fidelity", round=spring,
                                                module__isnull=True)
        reference = aggregate(overall, places=1)
        assert (spread.n_schools, spread.mean, spread.sd) == (
            reference.n, reference.mean, reference.sd)
        assert spread.median == round_half_up(statistics.median(overall), 1)
