"""Plausible dates and numbers (issue 9, item 3). Every date and number a person types is
checked against one rule (implementation/validators.py), the same through the pages, the
API and the services: an implausible value is refused with the field named and a reason,
and nothing is written — no row, no change, no audit entry.

The rules, as the tests below use them:
  every date                                        2000-01-01 or later
  done, entered, left, changed, made, performed on  not after today
  a plan's start and end, a step's due date         at most 10 years ahead
  a round's opening and closing                     at most 2 years ahead, open ≤ 366 days
  minutes of one activity                           1–720
  pupils of a school                                1–3000 (empty: unknown)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation import services
from implementation.models import (
    Activity,
    Adaptation,
    AdoptionStatusChange,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    LocalComponent,
    PlanModulePriority,
    School,
    StaffPosition,
    StagePeriod,
    StrategyStep,
    SurveyLink,
)
from implementation.services._common import today
from implementation.validators import (
    EARLIEST_DATE,
    MAX_ACTIVITY_MINUTES,
    MAX_PUPILS,
    MAX_ROUND_DAYS,
    PLAN_YEARS_AHEAD,
    ROUND_YEARS_AHEAD,
    years_after,
)

from .conftest import World, client_for, host_of
from .recording import adopt, component, instrument, module, open_round, version
from .test_api_adaptations import frame
from .test_api_plans import step_fields
from .test_api_support import ENGLISH, api, in_trondheim, schools

# The values the security test typed, and a few more of the same kind.
YEAR_9999 = "9999-12-31"
YEAR_873 = "0873-05-01"
YEAR_1 = "0001-01-01"
YEAR_1620 = "1620-05-17"

# What the reasons say (in English; the pages and the API give the same reason).
TOO_EARLY = "Enter a date in 2000 or later."
TOO_FAR = "years from today."
TOO_LONG = f"A round can be open for at most {MAX_ROUND_DAYS} days."
FUTURE = "The date cannot be in the future."
TOO_MANY = "less than or equal to"
TOO_FEW = "greater than or equal to"


def days(n: int) -> date:
    return today() + timedelta(days=n)


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    adoption: ComponentAdoption  # Ila, 2.1, in progress since 30 days ago
    plan: ImplementationPlan  # Ila, from 60 days ago, no end date
    step: StrategyStep  # due in 30 days
    period: StagePeriod  # Ila, module 2, exploration since 50 days ago
    adaptation: Adaptation
    round: AssessmentRound  # open, Ila, every instrument


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        adoption = adopt(ila, "2.1")
        plan = services.plan_create(
            school=ila, model_version=version(), title="SoVei ved Ila", starts_on=days(-60)
        )
        step = services.step_create(plan=plan, **step_fields(module=module(2), due_on=days(30)))
        period = services.stage_period_set(
            school=ila, module=module(2), stage="exploration", entered_on=days(-50)
        )
        adaptation = services.adaptation_create(
            adoption=adoption, **{**frame(), "made_on": days(-3), "planned": True}
        )
        yield Scene(ila, lade, adoption, plan, step, period, adaptation, open_round([ila]))


WATCHED = (
    School,
    StaffPosition,
    LocalComponent,
    ComponentAdoption,
    AdoptionStatusChange,
    Adaptation,
    ImplementationPlan,
    PlanModulePriority,
    StrategyStep,
    StagePeriod,
    AssessmentRound,
    SurveyLink,
    Activity,
)


def stored(world: World) -> dict[str, Any]:
    """Every row of the recording tables as stored, and the number of audit entries."""
    with tenant_context(world.trondheim):
        rows: dict[str, Any] = {
            model.__name__: list(model.objects.order_by("pk").values()) for model in WATCHED
        }
        rows["audit entries"] = LogEntry.objects.count()
    return rows


# --- Request bodies ---------------------------------------------------------------------------


def new_round(school_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Vår 2027",
        "opens_on": today().isoformat(),
        "closes_on": days(30).isoformat(),
        "schools": [school_id],
        "instruments": ["fidelity", "aim"],
        **changes,
    }


def new_plan(school_id: int, **changes: Any) -> dict[str, Any]:
    return {"school": school_id, "title": "SoVei-plan", "starts_on": days(-10).isoformat(),
            **changes}


def new_activity(school_id: int, **changes: Any) -> dict[str, Any]:
    return {"school": school_id, "performed_on": today().isoformat(), "minutes": 45,
            "module": module(3).pk, "mode": "akutt", **changes}


# --- The API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCase:
    name: str
    persona: str
    method: str
    url: Callable[[Scene], str]
    body: Callable[[Scene], dict[str, Any]]
    field: str
    reason: str


API_CASES = [
    ApiCase("round-closing-in-9999", "coordinator", "post", lambda s: "/api/v1/rounds/",
            lambda s: new_round(s.ila.pk, closes_on=YEAR_9999), "closes_on", TOO_FAR),
    ApiCase("round-in-873", "coordinator", "post", lambda s: "/api/v1/rounds/",
            lambda s: new_round(s.ila.pk, opens_on=YEAR_873, closes_on="0873-06-15"),
            "opens_on", TOO_EARLY),
    ApiCase("round-opening-in-5-years", "coordinator", "post", lambda s: "/api/v1/rounds/",
            lambda s: new_round(s.ila.pk, opens_on=days(5 * 366).isoformat(),
                                closes_on=days(5 * 366 + 30).isoformat()),
            "opens_on", TOO_FAR),
    ApiCase("round-open-for-a-year-and-a-half", "coordinator", "post",
            lambda s: "/api/v1/rounds/",
            lambda s: new_round(s.ila.pk, closes_on=days(540).isoformat()),
            "closes_on", TOO_LONG),
    ApiCase("round-moved-to-1620", "coordinator", "patch",
            lambda s: f"/api/v1/rounds/{s.round.pk}/",
            lambda s: {"opens_on": "1620-01-10", "closes_on": "1620-02-10"},
            "opens_on", TOO_EARLY),
    ApiCase("round-extended-to-9999", "leader", "put",
            lambda s: f"/api/v1/rounds/{s.round.pk}/",
            lambda s: {"name": s.round.name, "opens_on": s.round.opens_on.isoformat(),
                       "closes_on": YEAR_9999},
            "closes_on", TOO_FAR),
    ApiCase("plan-starting-in-year-1", "coordinator", "post", lambda s: "/api/v1/plans/",
            lambda s: new_plan(s.lade.pk, starts_on=YEAR_1), "starts_on", TOO_EARLY),
    ApiCase("plan-ending-in-9999", "coordinator", "post", lambda s: "/api/v1/plans/",
            lambda s: new_plan(s.lade.pk, ends_on=YEAR_9999), "ends_on", TOO_FAR),
    ApiCase("plan-moved-to-1620", "leader", "put", lambda s: f"/api/v1/plans/{s.plan.pk}/",
            lambda s: {"title": "SoVei ved Ila", "starts_on": YEAR_1620}, "starts_on", TOO_EARLY),
    ApiCase("step-due-in-9999", "leader", "post", lambda s: "/api/v1/steps/",
            lambda s: {"plan": s.plan.pk, **step_fields(due_on=YEAR_9999)}, "due_on", TOO_FAR),
    ApiCase("step-done-in-year-1", "leader", "post", lambda s: "/api/v1/steps/",
            lambda s: {"plan": s.plan.pk, **step_fields(status="done", done_on=YEAR_1)},
            "done_on", TOO_EARLY),
    ApiCase("step-marked-done-in-year-1", "leader", "patch",
            lambda s: f"/api/v1/steps/{s.step.pk}/",
            lambda s: {"status": "done", "done_on": YEAR_1}, "done_on", TOO_EARLY),
    ApiCase("stage-entered-in-year-1", "leader", "post", lambda s: "/api/v1/stage-periods/",
            lambda s: {"school": s.ila.pk, "module": module(3).pk, "stage": "exploration",
                       "entered_on": YEAR_1},
            "entered_on", TOO_EARLY),
    ApiCase("stage-moved-to-1620", "leader", "patch",
            lambda s: f"/api/v1/stage-periods/{s.period.pk}/",
            lambda s: {"entered_on": YEAR_1620}, "entered_on", TOO_EARLY),
    ApiCase("adoption-since-year-1", "leader", "post", lambda s: "/api/v1/adoptions/",
            lambda s: {"school": s.ila.pk, "component": component("3.1").pk,
                       "status_since": YEAR_1},
            "status_since", TOO_EARLY),
    ApiCase("status-changed-in-year-1", "leader", "post",
            lambda s: f"/api/v1/adoptions/{s.adoption.pk}/status/",
            lambda s: {"to_status": "in_place", "on": YEAR_1}, "on", TOO_EARLY),
    ApiCase("adaptation-made-in-year-1", "leader", "post", lambda s: "/api/v1/adaptations/",
            lambda s: frame(adoption=s.adoption.pk, made_on=YEAR_1), "made_on", TOO_EARLY),
    ApiCase("adaptation-moved-to-1620", "leader", "patch",
            lambda s: f"/api/v1/adaptations/{s.adaptation.pk}/",
            lambda s: {"made_on": YEAR_1620}, "made_on", TOO_EARLY),
    ApiCase("activity-in-year-1", "staff", "post", lambda s: "/api/v1/activities/",
            lambda s: new_activity(s.ila.pk, performed_on=YEAR_1), "performed_on",
            "more than a year ago"),
    ApiCase("activity-of-25-hours", "staff", "post", lambda s: "/api/v1/activities/",
            lambda s: new_activity(s.ila.pk, minutes=1500), "minutes", TOO_MANY),
    ApiCase("school-of-a-million-pupils", "coordinator", "patch",
            lambda s: f"/api/v1/schools/{s.ila.pk}/",
            lambda s: {"pupil_count": 1_000_000}, "pupil_count", TOO_MANY),
    ApiCase("school-of-no-pupils", "coordinator", "patch",
            lambda s: f"/api/v1/schools/{s.ila.pk}/",
            lambda s: {"pupil_count": 0}, "pupil_count", TOO_FEW),
    ApiCase("new-school-of-a-million-pupils", "coordinator", "post",
            lambda s: "/api/v1/schools/",
            lambda s: {"name": "Byåsen skole", "pupil_count": 1_000_000}, "pupil_count",
            TOO_MANY),
    ApiCase("position-of-250-percent", "leader", "post",
            lambda s: f"/api/v1/schools/{s.ila.pk}/positions/",
            lambda s: {"profession": "sosionom", "position_percent": "250"},
            "position_percent", TOO_MANY),
]


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.name)
def test_it_refuses_an_implausible_value_through_the_api_and_writes_nothing(
    case: ApiCase, scene: Scene, world: World
) -> None:
    before = stored(world)

    response = api(case.persona, world).call(
        case.method, case.url(scene), case.body(scene), headers=ENGLISH
    )

    assert response.status_code == 400, response.content
    errors = response.json()
    assert case.field in errors, errors
    assert any(case.reason in reason for reason in errors[case.field]), errors
    assert stored(world) == before


# --- The pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageCase:
    name: str
    persona: str
    url: Callable[[Scene], str]
    data: Callable[[Scene], dict[str, Any]]
    field: str
    reason: str
    form: str = "form"


def school_page(tail: str) -> Callable[[Scene], str]:
    return lambda s: f"/skoler/{s.ila.pk}/{tail.format(s=s)}"


def round_form(s: Scene, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Vår 2027",
        "opens_on": today().isoformat(),
        "closes_on": days(30).isoformat(),
        "instruments": [instrument(c).pk for c in ("fidelity", "aim")],
        "schools": [s.ila.pk],
        **changes,
    }


def plan_form(**changes: Any) -> dict[str, Any]:
    return {"title": "SoVei ved Ila", "starts_on": days(-60).isoformat(), "ends_on": "",
            "intended_systematic_percent": "", **changes}


def step_form(**changes: Any) -> dict[str, Any]:
    return {**step_fields(), "justification": "", "intended_outcome": "",
            "status": "not_started", "done_on": "", **changes}


def adaptation_form(s: Scene, **changes: Any) -> dict[str, Any]:
    return {**frame(), "adoption": s.adoption.pk, "planned": "yes", **changes}


def activity_form(**changes: Any) -> dict[str, Any]:
    return {"performed_on": today().isoformat(), "minutes": "45", "module": module(3).pk,
            "adoption": "", "mode": "akutt", "note": "", **changes}


def profile_form(**changes: Any) -> dict[str, Any]:
    return {"name": "Ila skole", "organisation_number": "", "grade_from": "1",
            "grade_to": "7", "pupil_count": "420", **changes}


PAGE_CASES = [
    PageCase("round-closing-in-9999", "trondheim_coordinator", lambda s: "/runder/ny/",
             lambda s: round_form(s, closes_on=YEAR_9999), "closes_on", TOO_FAR),
    PageCase("round-in-873", "trondheim_coordinator", lambda s: "/runder/ny/",
             lambda s: round_form(s, opens_on=YEAR_873, closes_on="0873-06-15"),
             "opens_on", TOO_EARLY),
    PageCase("round-open-for-a-year-and-a-half", "trondheim_leader", lambda s: "/runder/ny/",
             lambda s: round_form(s, closes_on=days(540).isoformat()), "closes_on", TOO_LONG),
    PageCase("plan-ending-in-9999", "trondheim_leader", school_page("plan/endre/"),
             lambda s: plan_form(ends_on=YEAR_9999), "ends_on", TOO_FAR),
    PageCase("plan-moved-to-1620", "trondheim_leader", school_page("plan/endre/"),
             lambda s: plan_form(starts_on=YEAR_1620), "starts_on", TOO_EARLY),
    PageCase("step-due-in-9999", "trondheim_leader", school_page("plan/tiltak/nytt/"),
             lambda s: step_form(due_on=YEAR_9999), "due_on", TOO_FAR),
    PageCase("step-done-in-year-1", "trondheim_leader", school_page("plan/tiltak/{s.step.pk}/"),
             lambda s: step_form(status="done", done_on=YEAR_1), "done_on", TOO_EARLY),
    PageCase("stage-entered-in-year-1", "trondheim_leader", school_page("plan/faser/"),
             lambda s: {"module": module(3).pk, "stage": "exploration", "entered_on": YEAR_1,
                        "exited_on": ""},
             "entered_on", TOO_EARLY, form="stage_form"),
    PageCase("status-changed-in-year-1", "trondheim_leader",
             school_page("komponenter/{s.adoption.pk}/status/"),
             lambda s: {"to_status": "in_place", "on": YEAR_1, "note": ""},
             "on", TOO_EARLY, form="status_form"),
    PageCase("adaptation-made-in-year-1", "trondheim_leader", school_page("tilpasninger/ny/"),
             lambda s: adaptation_form(s, made_on=YEAR_1), "made_on", TOO_EARLY),
    PageCase("adaptation-moved-to-1620", "trondheim_leader",
             school_page("tilpasninger/{s.adaptation.pk}/"),
             lambda s: adaptation_form(s, made_on=YEAR_1620), "made_on", TOO_EARLY),
    PageCase("activity-in-year-1", "trondheim_staff", school_page("tid/"),
             lambda s: activity_form(performed_on=YEAR_1), "performed_on",
             "more than a year ago"),
    PageCase("activity-of-25-hours", "trondheim_staff", school_page("tid/"),
             lambda s: activity_form(minutes="1500"), "minutes", TOO_MANY),
    PageCase("school-of-a-million-pupils", "trondheim_leader", school_page("profil/"),
             lambda s: profile_form(pupil_count="1000000"), "pupil_count", TOO_MANY),
    PageCase("school-of-no-pupils", "trondheim_leader", school_page("profil/"),
             lambda s: profile_form(pupil_count="0"), "pupil_count", TOO_FEW),
    PageCase("position-of-250-percent", "trondheim_leader", school_page("stillinger/ny/"),
             lambda s: {"profession": "sosionom", "position_percent": "250", "title": ""},
             "position_percent", TOO_MANY),
]


@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda c: c.name)
def test_it_refuses_an_implausible_value_on_the_page_and_writes_nothing(
    case: PageCase, scene: Scene, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(case.persona)
    client = client_for(user, host_of(world.trondheim))
    client.cookies["django_language"] = "en"
    before = stored(world)

    response = client.post(case.url(scene), case.data(scene))

    assert response.status_code == 400
    errors = response.context[case.form].errors
    assert case.field in errors, errors
    assert any(case.reason in reason for reason in errors[case.field]), errors
    assert stored(world) == before


# --- The services -----------------------------------------------------------------------------

ServiceCall = Callable[[Scene], object]

SERVICE_CASES: list[tuple[str, ServiceCall, str]] = [
    ("round-closing-in-9999", lambda s: services.round_create(
        name="Vår 2027", opens_on=today(), closes_on=date(9999, 12, 31), schools=[s.ila],
        instruments=[instrument("aim")], model_version=version()), "closes_on"),
    ("round-moved-to-873", lambda s: services.round_update(
        assessment_round=s.round, name=s.round.name, opens_on=date(873, 1, 10),
        closes_on=date(873, 2, 10)), "opens_on"),
    ("round-open-for-two-years", lambda s: services.round_update(
        assessment_round=s.round, name=s.round.name, opens_on=today(),
        closes_on=days(730)), "closes_on"),
    ("plan-ending-in-9999", lambda s: services.plan_create(
        school=s.lade, model_version=version(), title="Plan", starts_on=today(),
        ends_on=date(9999, 12, 31)), "ends_on"),
    ("plan-moved-to-year-1", lambda s: services.plan_update(
        plan=s.plan, starts_on=date(1, 1, 1)), "starts_on"),
    ("step-due-in-9999", lambda s: services.step_create(
        plan=s.plan, **step_fields(module=module(2), due_on=date(9999, 12, 31))), "due_on"),
    ("step-done-in-year-1", lambda s: services.step_update(
        step=s.step, status="done", done_on=date(1, 1, 1)), "done_on"),
    ("stage-entered-in-year-1", lambda s: services.stage_period_set(
        school=s.ila, module=module(3), stage="exploration", entered_on=date(1, 1, 1)),
     "entered_on"),
    ("adoption-since-year-1", lambda s: services.adoption_create(
        school=s.ila, component=component("3.1"), status_since=date(1, 1, 1)), "status_since"),
    ("status-changed-in-year-1", lambda s: services.adoption_change_status(
        adoption=s.adoption, to_status="in_place", on=date(1, 1, 1)), "on"),
    ("adaptation-made-in-year-1", lambda s: services.adaptation_create(
        adoption=s.adoption, **{**frame(), "made_on": date(1, 1, 1)}), "made_on"),
    ("adaptation-moved-to-1620", lambda s: services.adaptation_update(
        adaptation=s.adaptation, made_on=date(1620, 5, 17)), "made_on"),
    ("activity-of-25-hours", lambda s: services.activity_log(
        school=s.ila, staff=User.objects.get(email="trondheim_staff@example.no"),
        performed_on=today(), minutes=1500, module=module(3), mode="akutt"), "minutes"),
    ("school-of-a-million-pupils", lambda s: services.school_update(
        school=s.ila, pupil_count=1_000_000), "pupil_count"),
    ("new-school-of-no-pupils", lambda s: services.school_create(
        name="Byåsen skole", pupil_count=0), "pupil_count"),
]


@pytest.mark.parametrize(("call", "field"), [pytest.param(c, f, id=n)
                                             for n, c, f in SERVICE_CASES])
def test_it_refuses_an_implausible_value_in_the_service_and_writes_nothing(
    call: ServiceCall, field: str, scene: Scene, world: World
) -> None:
    before = stored(world)

    with pytest.raises(ValidationError) as refused:
        call(scene)

    assert field in refused.value.message_dict
    assert stored(world) == before


# --- The edges of each rule are accepted ------------------------------------------------------


def test_it_accepts_a_round_open_for_the_longest_time_allowed(
    scene: Scene, world: World
) -> None:
    opens = years_after(today(), ROUND_YEARS_AHEAD) - timedelta(days=MAX_ROUND_DAYS)

    response = api("coordinator", world).post("/api/v1/rounds/", new_round(
        scene.ila.pk, opens_on=opens.isoformat(),
        closes_on=(opens + timedelta(days=MAX_ROUND_DAYS)).isoformat()))

    assert response.status_code == 201, response.content


def test_it_accepts_a_plan_to_the_last_day_allowed_and_a_step_due_then(
    scene: Scene, world: World
) -> None:
    last = years_after(today(), PLAN_YEARS_AHEAD).isoformat()
    client = api("leader", world)

    plan = client.put(f"/api/v1/plans/{scene.plan.pk}/",
                      {"title": "SoVei ved Ila", "starts_on": EARLIEST_DATE.isoformat(),
                       "ends_on": last})
    step = client.post("/api/v1/steps/", {"plan": scene.plan.pk, **step_fields(due_on=last)})

    assert (plan.status_code, step.status_code) == (200, 201), (plan.content, step.content)


def test_it_accepts_the_earliest_date_and_today_for_what_has_happened(
    scene: Scene, world: World
) -> None:
    client = api("leader", world)

    adoption = client.post("/api/v1/adoptions/", {
        "school": scene.ila.pk, "component": component("3.1").pk, "status": "in_progress",
        "status_since": EARLIEST_DATE.isoformat()})
    period = client.patch(f"/api/v1/stage-periods/{scene.period.pk}/", {
        "entered_on": EARLIEST_DATE.isoformat(), "exited_on": today().isoformat()})
    adaptation = client.patch(f"/api/v1/adaptations/{scene.adaptation.pk}/",
                              {"made_on": today().isoformat()})

    assert [r.status_code for r in (adoption, period, adaptation)] == [201, 200, 200]


def test_it_accepts_a_full_working_day_and_the_largest_school(
    scene: Scene, world: World
) -> None:
    activity = api("staff", world).post(
        "/api/v1/activities/", new_activity(scene.ila.pk, minutes=MAX_ACTIVITY_MINUTES))
    school = api("coordinator", world).patch(
        f"/api/v1/schools/{scene.ila.pk}/", {"pupil_count": MAX_PUPILS})

    assert (activity.status_code, school.status_code) == (201, 200)


def test_it_still_refuses_an_activity_logged_for_tomorrow(scene: Scene, world: World) -> None:
    response = api("staff", world).post(
        "/api/v1/activities/", new_activity(scene.ila.pk, performed_on=days(1).isoformat()),
        headers=ENGLISH)

    assert response.status_code == 400
    assert response.json() == {"performed_on": [FUTURE]}


# --- Survey links of a round saved with an implausible date before the rule --------------------


@pytest.fixture
def round_closing_in_9999(scene: Scene, world: World) -> AssessmentRound:
    """A round stored before the dates were checked, as the security test left it."""
    with tenant_context(world.trondheim):
        AssessmentRound.objects.filter(pk=scene.round.pk).update(closes_on=date(9999, 12, 31))
        scene.round.refresh_from_db()
    return scene.round


def test_it_refuses_links_for_a_round_closing_in_9999_in_the_service(
    round_closing_in_9999: AssessmentRound, scene: Scene, world: World
) -> None:
    before = stored(world)

    with pytest.raises(ValidationError) as refused:
        services.survey_links_create(
            assessment_round=round_closing_in_9999, school=scene.ila, count=3)

    assert "round" in refused.value.message_dict
    assert stored(world) == before


def test_it_refuses_links_for_a_round_closing_in_9999_through_the_api(
    round_closing_in_9999: AssessmentRound, scene: Scene, world: World
) -> None:
    before = stored(world)

    response = api("leader", world).post(
        f"/api/v1/rounds/{round_closing_in_9999.pk}/links/",
        {"school": scene.ila.pk, "count": 3}, headers=ENGLISH)

    assert response.status_code == 400
    assert "correct the round's dates" in response.json()["round"][0]
    assert stored(world) == before


def test_it_refuses_links_for_a_round_closing_in_9999_on_the_page(
    round_closing_in_9999: AssessmentRound, scene: Scene, world: World,
    trondheim_leader: User,
) -> None:
    client = client_for(trondheim_leader, host_of(world.trondheim))
    client.cookies["django_language"] = "en"
    before = stored(world)

    response = client.post(
        f"/skoler/{scene.ila.pk}/runder/{round_closing_in_9999.pk}/lenker/", {"count": "3"})

    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert any("correct the round's dates" in reason for reason in errors), errors
    assert stored(world) == before
