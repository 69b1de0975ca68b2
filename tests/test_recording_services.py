"""The write services behind the recording pages and API: every bad input is refused
with the field and a reason, and leaves nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from implementation.models import (
    Activity,
    Adaptation,
    AdoptionStatusChange,
    Answer,
    AssessmentRound,
    ComponentAdoption,
    Response,
    School,
    StrategyStep,
    SurveyLink,
)
from implementation.services import (
    activity_log,
    adaptation_create,
    adoption_change_status,
    adoption_create,
    adoption_delete,
    link_response_submit,
    plan_create,
    plan_update,
    round_create,
    staff_response_submit,
    stage_period_set,
    step_create,
    survey_links_create,
    team_response_submit,
)
from implementation.services._common import today

from .recording import adopt, component, instrument, module, open_round, version


def codes(exc: pytest.ExceptionInfo[ValidationError], field: str) -> list[str | None]:
    return [e.code for e in exc.value.error_dict[field]]


ADAPTATION = {
    "what_changed": "Her-og-nå-samtaler også i SFO-tiden",
    "made_on": None,
    "timing": "implementation",
    "planned": True,
    "decided_by": "school_leader",
    "level": "school",
    "change_type": "context",
    "nature": "lengthening",
    "fidelity": "consistent",
    "goals": ["reach"],
    "reason_level": "organization",
    "reasons": "Mange elever går i SFO.",
}


# --- adoptions -------------------------------------------------------------------------------


def test_it_adopts_a_component_with_its_first_status(ila: School, trondheim_leader: User) -> None:
    adoption = adoption_create(school=ila, component=component("2.1"), actor=trondheim_leader)

    assert adoption.status == "planned"
    assert list(adoption.status_changes.values_list("from_status", "to_status")) == [
        ("", "planned")
    ]


def test_it_refuses_to_adopt_a_component_twice(ila: School) -> None:
    adopt(ila, "2.1")

    with pytest.raises(ValidationError) as exc:
        adopt(ila, "2.1")

    assert codes(exc, "component") == ["duplicate"]
    assert ComponentAdoption.objects.filter(school=ila).count() == 1


def test_it_adopts_a_local_component(ila: School) -> None:
    adoption = adoption_create(
        school=ila,
        local_module=module(3),
        local_title="Pausevenn-ordning",
        local_description="Faste voksne i friminuttene.",
    )

    assert adoption.is_local
    assert adoption.component_title == "Pausevenn-ordning"
    assert adoption.module_id == module(3).pk


def test_it_wants_exactly_one_kind_of_component(ila: School) -> None:
    with pytest.raises(ValidationError) as exc:
        adoption_create(
            school=ila, component=component("2.1"), local_module=module(2), local_title="x"
        )

    assert codes(exc, "component") == ["one_of"]


def test_it_moves_an_adoption_through_sensible_statuses(ila: School) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    adoption_change_status(
        adoption=adoption, to_status="in_progress", on=today() - timedelta(days=3)
    )
    adoption_change_status(adoption=adoption, to_status="in_place", on=today())

    assert adoption.status == "in_place"
    assert [c.to_status for c in adoption.status_changes.all()] == [
        "planned",
        "in_progress",
        "in_place",
    ]


@pytest.mark.parametrize(("start", "target"), [("planned", "in_place"), ("planned", "planned")])
def test_it_refuses_a_status_jump_that_makes_no_sense(ila: School, start: str, target: str) -> None:
    adoption = adopt(ila, "3.1", status=start)

    with pytest.raises(ValidationError) as exc:
        adoption_change_status(adoption=adoption, to_status=target)

    assert codes(exc, "to_status") == ["transition"]
    adoption.refresh_from_db()
    assert adoption.status == start
    assert AdoptionStatusChange.objects.filter(adoption=adoption).count() == 1


def test_it_refuses_a_status_date_before_the_current_status(ila: School) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    with pytest.raises(ValidationError) as exc:
        adoption_change_status(
            adoption=adoption, to_status="in_progress", on=adoption.status_since - timedelta(days=1)
        )

    assert codes(exc, "on") == ["before_current"]


def test_it_refuses_a_status_date_in_the_future(ila: School) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    with pytest.raises(ValidationError) as exc:
        adoption_change_status(
            adoption=adoption, to_status="in_progress", on=today() + timedelta(days=1)
        )

    assert codes(exc, "on") == ["future"]


def test_it_keeps_a_rated_adoption_instead_of_deleting_it(ila: School) -> None:
    adoption = adopt(ila, "2.1")
    team_response_submit(
        assessment_round=open_round([ila]),
        school=ila,
        instrument=instrument("fidelity"),
        answers={str(adoption.pk): 1},
    )

    with pytest.raises(ValidationError) as exc:
        adoption_delete(adoption=adoption)

    assert codes(exc, "adoption") == ["in_use"]
    assert ComponentAdoption.objects.filter(pk=adoption.pk).exists()


# --- adaptations -------------------------------------------------------------------------------


def test_it_records_a_frame_adaptation(ila: School, trondheim_leader: User) -> None:
    adoption = adopt(ila, "3.2")

    adaptation = adaptation_create(
        adoption=adoption, actor=trondheim_leader, **{**ADAPTATION, "made_on": today()}
    )

    assert adaptation.recorded_by == trondheim_leader
    assert adaptation.fidelity == "consistent"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"made_on": "tomorrow"}, "made_on"),
        ({"nature": "improvising"}, "nature"),
        ({"goals": ["reach", "reach"]}, "goals"),
        ({"what_changed": ""}, "what_changed"),
    ],
)
def test_it_refuses_a_bad_adaptation(ila: School, change: dict[str, object], field: str) -> None:
    adoption = adopt(ila, "3.2")
    values = {**ADAPTATION, "made_on": today(), **change}
    if values["made_on"] == "tomorrow":
        values["made_on"] = today() + timedelta(days=1)

    with pytest.raises(ValidationError) as exc:
        adaptation_create(adoption=adoption, **values)

    assert field in exc.value.error_dict
    assert not Adaptation.objects.filter(adoption=adoption).exists()


# --- plans, steps and stages -----------------------------------------------------------------


def test_it_creates_a_plan_with_intended_shares(ila: School) -> None:
    plan = plan_create(
        school=ila,
        model_version=version(),
        title="SoVei-plan Ila",
        starts_on=today() - timedelta(days=60),
        priorities={module(1): 20, module(3): 50},
    )

    assert {p.module.number: p.intended_percent for p in plan.priorities.all()} == {1: 20, 3: 50}


def test_it_refuses_shares_above_100_percent(ila: School) -> None:
    with pytest.raises(ValidationError) as exc:
        plan_create(
            school=ila,
            model_version=version(),
            title="Plan",
            starts_on=today(),
            priorities={module(1): 60, module(2): 50},
        )

    assert codes(exc, "priorities") == ["sum"]
    assert not ila.plans.exists()


def _plan(ila: School) -> object:
    return plan_create(
        school=ila,
        model_version=version(),
        title="Plan",
        starts_on=today() - timedelta(days=30),
        ends_on=today() + timedelta(days=300),
    )


STEP = {
    "stage": "installation",
    "eric_cluster": "train_educate",
    "action": "Opplæring i SoVei",
    "strategy_actor": "Sosialfaglig ansatt",
    "target": "Lærerne på 5.–7. trinn",
    "dose": "2 × 45 min",
    "intended_outcome": "Lærerne kjenner modellen",
    "justification": "Kunnskap er en forutsetning",
}


def test_it_adds_a_strategy_step(ila: School) -> None:
    step = step_create(
        plan=_plan(ila), module=module(2), due_on=today() + timedelta(days=10), **STEP
    )

    assert step.status == "not_started"
    assert step.done_on is None


def test_it_refuses_a_step_due_before_its_plan(ila: School) -> None:
    plan = _plan(ila)

    with pytest.raises(ValidationError) as exc:
        step_create(plan=plan, module=module(2), due_on=plan.starts_on - timedelta(days=1), **STEP)

    assert codes(exc, "due_on") == ["before_plan"]
    assert not StrategyStep.objects.filter(plan=plan).exists()


def test_it_dates_a_step_when_it_is_done(ila: School) -> None:
    step = step_create(plan=_plan(ila), module=module(2), due_on=today(), status="done", **STEP)

    assert step.done_on == today()


def test_it_refuses_to_move_a_plan_start_past_its_steps(ila: School) -> None:
    plan = _plan(ila)
    step_create(plan=plan, module=module(2), due_on=today(), **STEP)

    with pytest.raises(ValidationError) as exc:
        plan_update(plan=plan, starts_on=today() + timedelta(days=1), ends_on=plan.ends_on)

    assert codes(exc, "starts_on") == ["steps_before"]


def test_it_refuses_a_stage_that_ends_before_it_begins(ila: School) -> None:
    with pytest.raises(ValidationError) as exc:
        stage_period_set(
            school=ila,
            module=module(1),
            stage="exploration",
            entered_on=today() - timedelta(days=5),
            exited_on=today() - timedelta(days=9),
        )

    assert codes(exc, "exited_on") == ["order"]
    assert not ila.stage_periods.exists()


def test_it_corrects_a_stage_period_in_place(ila: School) -> None:
    stage_period_set(
        school=ila, module=module(1), stage="exploration", entered_on=today() - timedelta(days=50)
    )
    stage_period_set(
        school=ila,
        module=module(1),
        stage="exploration",
        entered_on=today() - timedelta(days=40),
        exited_on=today() - timedelta(days=2),
    )

    assert ila.stage_periods.count() == 1
    assert ila.stage_periods.get().exited_on == today() - timedelta(days=2)


# --- rounds and responses --------------------------------------------------------------------


def test_it_refuses_a_round_that_closes_before_it_opens(ila: School) -> None:
    with pytest.raises(ValidationError) as exc:
        round_create(
            name="Vår 2027",
            opens_on=today(),
            closes_on=today() - timedelta(days=1),
            schools=[ila],
            instruments=[instrument("fidelity")],
            model_version=version(),
        )

    assert codes(exc, "closes_on") == ["order"]
    assert not AssessmentRound.objects.filter(name="Vår 2027").exists()


def test_it_stores_one_team_rating_however_often_it_is_submitted(ila: School) -> None:
    a, b = adopt(ila, "2.1"), adopt(ila, "3.1")
    assessment_round = open_round([ila])

    for _ in range(2):
        team_response_submit(
            assessment_round=assessment_round,
            school=ila,
            instrument=instrument("fidelity"),
            answers={str(a.pk): 2, str(b.pk): 1},
        )

    response = Response.objects.get(round=assessment_round, school=ila)
    assert sorted(response.answers.values_list("value", flat=True)) == [1, 2]


def test_it_updates_a_team_rating_on_resubmission(ila: School) -> None:
    a = adopt(ila, "2.1")
    assessment_round = open_round([ila])
    fidelity = instrument("fidelity")
    team_response_submit(
        assessment_round=assessment_round, school=ila, instrument=fidelity, answers={str(a.pk): 0}
    )

    team_response_submit(
        assessment_round=assessment_round, school=ila, instrument=fidelity, answers={str(a.pk): 2}
    )

    assert list(Answer.objects.filter(adoption=a).values_list("value", flat=True)) == [2]


@pytest.mark.parametrize(
    ("value", "code"), [(3, "range"), (-1, "range"), ("ja", "type"), (True, "type")]
)
def test_it_refuses_an_out_of_range_fidelity_rating(ila: School, value: object, code: str) -> None:
    a = adopt(ila, "2.1")

    with pytest.raises(ValidationError) as exc:
        team_response_submit(
            assessment_round=open_round([ila]),
            school=ila,
            instrument=instrument("fidelity"),
            answers={str(a.pk): value},
        )

    assert codes(exc, f"answers.{a.pk}") == [code]
    assert not Response.objects.exists()


def test_it_refuses_a_rating_of_a_component_the_school_has_not_adopted(ila: School) -> None:
    adopt(ila, "2.1")

    with pytest.raises(ValidationError) as exc:
        team_response_submit(
            assessment_round=open_round([ila]),
            school=ila,
            instrument=instrument("fidelity"),
            answers={"999999": 1},
        )

    assert codes(exc, "answers.999999") == ["unknown_item"]


def test_it_refuses_answers_to_a_closed_round(ila: School, trondheim_leader: User) -> None:
    a = adopt(ila, "2.1")
    assessment_round = open_round([ila])
    assessment_round.closed_at = timezone.now()
    assessment_round.save()

    with pytest.raises(ValidationError) as exc:
        team_response_submit(
            assessment_round=assessment_round,
            school=ila,
            instrument=instrument("fidelity"),
            answers={str(a.pk): 1},
        )

    assert codes(exc, "round") == ["closed"]
    assert not Response.objects.exists()


def test_it_refuses_an_instrument_the_round_does_not_include(ila: School) -> None:
    with pytest.raises(ValidationError) as exc:
        team_response_submit(
            assessment_round=open_round([ila], codes=("fidelity",)),
            school=ila,
            instrument=instrument("cfir"),
            answers={},
        )

    assert codes(exc, "instrument") == ["not_in_round"]


def test_it_accepts_cfir_with_missing_ratings_and_refuses_unknown_constructs(ila: School) -> None:
    assessment_round = open_round([ila])
    cfir = instrument("cfir")

    response = team_response_submit(
        assessment_round=assessment_round,
        school=ila,
        instrument=cfir,
        answers={"I.A": 2, "III.C": -1},
    )
    with pytest.raises(ValidationError) as exc:
        team_response_submit(
            assessment_round=assessment_round, school=ila, instrument=cfir, answers={"IX.Z": 1}
        )

    assert codes(exc, "answers.IX.Z") == ["unknown_item"]
    values = dict(response.answers.values_list("item__code", "value"))
    assert values["I.A"] == 2 and values["III.C"] == -1 and values["II.A"] is None


def test_it_requires_every_aim_item_from_a_staff_member(ila: School, trondheim_staff: User) -> None:
    with pytest.raises(ValidationError) as exc:
        staff_response_submit(
            assessment_round=open_round([ila]),
            school=ila,
            instrument=instrument("aim"),
            respondent=trondheim_staff,
            answers={"aim1": 4, "aim2": 4, "aim3": 5},
        )

    assert codes(exc, "answers.aim4") == ["required"]
    assert not Response.objects.exists()


def test_it_keeps_one_response_per_staff_member(ila: School, trondheim_staff: User) -> None:
    assessment_round = open_round([ila])
    for value in (3, 5):
        staff_response_submit(
            assessment_round=assessment_round,
            school=ila,
            instrument=instrument("aim"),
            respondent=trondheim_staff,
            answers={f"aim{i}": value for i in range(1, 5)},
        )

    response = Response.objects.get(respondent=trondheim_staff)
    assert set(response.answers.values_list("value", flat=True)) == {5}


def _link_answers() -> dict[str, dict[str, int]]:
    answers = {code: {f"{code}{i}": 4 for i in range(1, 5)} for code in ("aim", "iam", "fim")}
    answers["sus"] = {f"sus{i}": 3 for i in range(1, 11)}
    return answers


def test_it_takes_one_anonymous_answer_per_link(ila: School, trondheim_leader: User) -> None:
    [issued] = survey_links_create(
        assessment_round=open_round([ila]), school=ila, count=1, actor=trondheim_leader
    )

    responses = link_response_submit(token=issued.token, answers=_link_answers())
    with pytest.raises(ValidationError) as exc:
        link_response_submit(token=issued.token, answers=_link_answers())

    assert codes(exc, "token") == ["used"]
    assert len(responses) == 4
    assert all(r.respondent_id is None for r in responses)
    assert Response.objects.filter(survey_link=issued.link).count() == 4


def test_it_stores_only_a_hash_of_the_link_token(ila: School) -> None:
    [issued] = survey_links_create(assessment_round=open_round([ila]), school=ila, count=1)

    assert issued.token not in issued.link.token_hash
    assert not SurveyLink.objects.filter(token_hash=issued.token).exists()


def test_it_refuses_an_expired_link(ila: School) -> None:
    [issued] = survey_links_create(assessment_round=open_round([ila]), school=ila, count=1)
    SurveyLink.objects.filter(pk=issued.link.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    with pytest.raises(ValidationError) as exc:
        link_response_submit(token=issued.token, answers=_link_answers())

    assert codes(exc, "token") == ["expired"]
    assert not Response.objects.exists()


def test_it_refuses_an_unknown_link(ila: School) -> None:
    with pytest.raises(ValidationError) as exc:
        link_response_submit(token="not-a-token", answers=_link_answers())

    assert codes(exc, "token") == ["unknown"]


def test_it_writes_nothing_when_one_part_of_a_link_answer_is_bad(ila: School) -> None:
    [issued] = survey_links_create(assessment_round=open_round([ila]), school=ila, count=1)
    answers = _link_answers()
    answers["sus"]["sus10"] = 6

    with pytest.raises(ValidationError) as exc:
        link_response_submit(token=issued.token, answers=answers)

    assert codes(exc, "answers.sus.sus10") == ["range"]
    assert not Response.objects.exists()
    issued.link.refresh_from_db()
    assert issued.link.used_at is None


def test_it_makes_no_links_for_a_closed_round(ila: School) -> None:
    assessment_round = open_round([ila])
    AssessmentRound.objects.filter(pk=assessment_round.pk).update(closed_at=timezone.now())
    assessment_round.refresh_from_db()

    with pytest.raises(ValidationError) as exc:
        survey_links_create(assessment_round=assessment_round, school=ila, count=3)

    assert codes(exc, "round") == ["closed"]


# --- activity log ------------------------------------------------------------------------------


def test_it_logs_time(ila: School, trondheim_staff: User) -> None:
    adoption = adopt(ila, "3.2")

    activity = activity_log(
        school=ila,
        staff=trondheim_staff,
        performed_on=today(),
        minutes=45,
        module=module(3),
        adoption=adoption,
        mode="akutt",
    )

    assert activity.minutes == 45


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"minutes": 0}, "minutes", "min_value"),
        ({"minutes": 800}, "minutes", "max_value"),
        ({"mode": "kaffe"}, "mode", "invalid_choice"),
        ({"performed_on": "tomorrow"}, "performed_on", "future"),
        ({"module": 2}, "adoption", "module"),
    ],
)
def test_it_refuses_a_bad_activity(
    ila: School, trondheim_staff: User, change: dict[str, object], field: str, code: str
) -> None:
    values: dict[str, object] = {
        "performed_on": today(),
        "minutes": 30,
        "module": module(3),
        "mode": "planlagt",
        "adoption": adopt(ila, "3.2"),
    }
    values.update(change)
    if values["performed_on"] == "tomorrow":
        values["performed_on"] = today() + timedelta(days=1)
    if isinstance(values["module"], int):
        values["module"] = module(values["module"])

    with pytest.raises(ValidationError) as exc:
        activity_log(school=ila, staff=trondheim_staff, **values)  # type: ignore[arg-type]

    assert codes(exc, field) == [code]
    assert not Activity.objects.exists()


# --- audit ---------------------------------------------------------------------------------------


def test_it_audits_every_write_with_the_actor_and_the_school(
    ila: School, trondheim_leader: User
) -> None:
    adoption = adoption_create(school=ila, component=component("2.1"), actor=trondheim_leader)
    adoption_change_status(adoption=adoption, to_status="in_progress", actor=trondheim_leader)

    entries = LogEntry.objects.get_for_object(adoption).order_by("timestamp")
    assert [e.action for e in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert {e.actor for e in entries} == {trondheim_leader}
    assert all(e.additional_data == {"school_id": ila.pk} for e in entries)
    assert entries.last().changes_dict["status"] == ["planned", "in_progress"]  # type: ignore[union-attr]
