"""The implementation plan page: plan, strategy steps (Proctor, ERIC) and stage periods."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import ImplementationPlan, School, StagePeriod, StrategyStep
from implementation.services import plan_create, step_create
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import module, version

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def url(school_id: int, rest: str = "") -> str:
    return f"/skoler/{school_id}/plan/{rest}"


def plan_data(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "SoVei-plan Ila",
        "starts_on": (today() - timedelta(days=60)).isoformat(),
        "ends_on": (today() + timedelta(days=300)).isoformat(),
        "intended_systematic_percent": "50",
        f"priority_{module(1).pk}": "20",
        f"priority_{module(2).pk}": "30",
    }
    data.update(change)
    return data


def step_data(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": "Kurs i veiledning for lærere",
        "strategy_actor": "Sosionom og rektor",
        "target": "Lærerne på 5.–7. trinn",
        "due_on": (today() + timedelta(days=30)).isoformat(),
        "dose": "2 × 45 min per måned",
        "intended_outcome": "Lærerne ber om veiledning tidlig",
        "justification": "Lærerne etterspør støtte.",
        "module": module(2).pk,
        "stage": "installation",
        "eric_cluster": "train_educate",
        "status": "not_started",
        "done_on": "",
    }
    data.update(change)
    return data


@pytest.fixture
def plan(ila: School) -> ImplementationPlan:
    return plan_create(school=ila, model_version=version(), title="SoVei-plan Ila",
                       starts_on=today() - timedelta(days=60))


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_shows_the_plan_page(
    persona: str, world: World, plan: ImplementationPlan, request: pytest.FixtureRequest
) -> None:
    step_create(plan=plan, **{**step_data(), "module": module(2), "due_on": today(),
                              "done_on": None})
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.status_code == 200
    assert "SoVei-plan Ila" in response.text
    assert "Kurs i veiledning for lærere" in response.text


@pytest.mark.parametrize(("persona", "status"), [("lade_leader", 404), ("volda_leader", 403)])
def test_it_hides_the_plan_from_others(
    persona: str, status: int, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.status_code == status


def test_it_creates_the_plan_with_intended_shares(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, "ny/"), plan_data())

    assert response.status_code == 302
    with tenant_context(trondheim):
        plan = ImplementationPlan.objects.get(school_id=world.ila_id)
        assert plan.intended_systematic_percent == 50
        assert {p.module_id: p.intended_percent for p in plan.priorities.all()} == {
            module(1).pk: 20, module(2).pk: 30}


def test_it_refuses_shares_over_100_percent_and_creates_nothing(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, "ny/"), plan_data(**{f"priority_{module(3).pk}": "70"}))

    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert errors and "100 %" in errors[0] and "%%" not in errors[0]
    with tenant_context(trondheim):
        assert not ImplementationPlan.objects.filter(school_id=world.ila_id).exists()


def test_it_refuses_a_plan_that_ends_before_it_starts(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, "ny/"), plan_data(ends_on=(today() - timedelta(days=90)).isoformat()))

    assert response.status_code == 400
    assert "ends_on" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not ImplementationPlan.objects.filter(school_id=world.ila_id).exists()


def test_it_forbids_staff_to_write_the_plan(
    trondheim_staff: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_staff, host_of(trondheim)).post(
        url(world.ila_id, "ny/"), plan_data())

    assert response.status_code == 403
    with tenant_context(trondheim):
        assert not ImplementationPlan.objects.exists()


def test_it_edits_the_plan(
    trondheim_leader: User, world: World, plan: ImplementationPlan, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))

    page = client.get(url(world.ila_id, "endre/"))
    response = client.post(url(world.ila_id, "endre/"), plan_data(title="Ny tittel"))

    assert page.status_code == 200
    assert response.status_code == 302
    with tenant_context(trondheim):
        plan.refresh_from_db()
        assert plan.title == "Ny tittel"


def test_it_adds_a_step(
    trondheim_leader: User, world: World, plan: ImplementationPlan, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, "tiltak/nytt/"), step_data())

    assert response.status_code == 302
    with tenant_context(trondheim):
        step = StrategyStep.objects.get(plan=plan)
        assert step.eric_cluster == "train_educate"
        assert step.stage == "installation"


def test_it_refuses_a_step_due_before_the_plan_and_adds_nothing(
    trondheim_leader: User, world: World, plan: ImplementationPlan, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    client.cookies["django_language"] = "en"

    response = client.post(url(world.ila_id, "tiltak/nytt/"),
                           step_data(due_on=(today() - timedelta(days=90)).isoformat()))

    assert response.status_code == 400
    assert "due_on" in response.context["form"].errors
    assert "before the plan starts" in response.text
    with tenant_context(trondheim):
        assert not StrategyStep.objects.filter(plan=plan).exists()


def test_it_marks_a_step_as_done(
    trondheim_leader: User, world: World, plan: ImplementationPlan, trondheim: Municipality
) -> None:
    step = step_create(plan=plan, **{**step_data(), "module": module(2), "due_on": today(),
                                     "done_on": None})

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, f"tiltak/{step.pk}/utfort/"))

    assert response.status_code == 302
    with tenant_context(trondheim):
        step.refresh_from_db()
        assert step.status == "done"
        assert step.done_on == today()


def test_it_edits_a_step(
    trondheim_leader: User, world: World, plan: ImplementationPlan, trondheim: Municipality
) -> None:
    step = step_create(plan=plan, **{**step_data(), "module": module(2), "due_on": today(),
                                     "done_on": None})
    client = client_for(trondheim_leader, host_of(trondheim))

    page = client.get(url(world.ila_id, f"tiltak/{step.pk}/"))
    response = client.post(url(world.ila_id, f"tiltak/{step.pk}/"),
                           step_data(status="in_progress", dose="Ukentlig"))

    assert page.status_code == 200
    assert response.status_code == 302
    with tenant_context(trondheim):
        step.refresh_from_db()
        assert (step.status, step.dose) == ("in_progress", "Ukentlig")


def test_it_forbids_staff_to_mark_a_step_done(
    trondheim_staff: User, world: World, plan: ImplementationPlan, trondheim: Municipality
) -> None:
    step = step_create(plan=plan, **{**step_data(), "module": module(2), "due_on": today(),
                                     "done_on": None})

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        url(world.ila_id, f"tiltak/{step.pk}/utfort/"))

    assert response.status_code == 403
    with tenant_context(trondheim):
        step.refresh_from_db()
        assert step.status == "not_started"


def test_it_records_a_stage_period_and_shows_it_in_the_table(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    entered = today() - timedelta(days=10)

    response = client.post(url(world.ila_id, "faser/"), {
        "module": module(1).pk, "stage": "exploration", "entered_on": entered.isoformat(),
        "exited_on": ""})
    page = client.get(url(world.ila_id))

    assert response.status_code == 302
    with tenant_context(trondheim):
        assert StagePeriod.objects.get(school_id=world.ila_id).entered_on == entered
    row = page.context["stage_rows"][0]
    assert row["cells"][0]["score"].days == 10
    assert row["cells"][0]["score"].ongoing


def test_it_refuses_a_stage_that_ends_before_it_begins(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(url(world.ila_id, "faser/"), {
        "module": module(1).pk, "stage": "exploration",
        "entered_on": (today() - timedelta(days=5)).isoformat(),
        "exited_on": (today() - timedelta(days=9)).isoformat()})

    assert response.status_code == 400
    assert "exited_on" in response.context["stage_form"].errors
    with tenant_context(trondheim):
        assert not StagePeriod.objects.filter(school_id=world.ila_id).exists()
