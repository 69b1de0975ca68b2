"""/api/v1/plans/, /api/v1/steps/, /api/v1/stage-periods/: the implementation plan, its
strategy steps (Proctor et al. 2013) and the NIRN stage periods."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from implementation.models import (
    ImplementationPlan,
    PlanModulePriority,
    School,
    StagePeriod,
    StrategyStep,
)
from implementation.services import plan_create, stage_period_set, step_create
from implementation.services._common import today

from .conftest import World
from .recording import module, version
from .test_api_support import Case, api, check, count_of, expect, in_trondheim, matrix, schools


def days(n: int) -> date:
    return today() + timedelta(days=n)


def step_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "module": module(2).pk,
        "stage": "installation",
        "eric_cluster": "train_educate",
        "action": "Kurs i veiledning for lærere",
        "strategy_actor": "Sosionom",
        "target": "Lærerne på 5.–7. trinn",
        "due_on": days(30).isoformat(),
        "dose": "2 × 45 min per måned",
    }
    return {**fields, **changes}


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    plan: ImplementationPlan  # Ila: from 60 days ago to 300 days ahead
    step: StrategyStep
    period: StagePeriod


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        plan = plan_create(
            school=ila,
            model_version=version(),
            title="SoVei ved Ila 2026–2027",
            starts_on=days(-60),
            ends_on=days(300),
            priorities={module(2): 30, module(3): 40},
        )
        fields = step_fields(module=module(2), due_on=days(10))
        step = step_create(plan=plan, **fields)
        period = stage_period_set(
            school=ila, module=module(2), stage="exploration", entered_on=days(-50)
        )
        yield Scene(ila, lade, plan, step, period)


@pytest.fixture
def bare(world: World, db: None) -> Iterator[Scene | None]:
    with in_trondheim(world):
        yield None


def new_plan(school_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "school": school_id,
        "title": "SoVei-plan",
        "starts_on": days(-10).isoformat(),
        "ends_on": days(200).isoformat(),
        "priorities": [{"module": module(1).pk, "intended_percent": 20}],
        **changes,
    }


CASES = [
    Case("plans-list", "get", lambda s: "/api/v1/plans/", expect=expect(200, 200, 200, 200)),
    Case(
        "plans-retrieve",
        "get",
        lambda s: f"/api/v1/plans/{s.plan.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "plans-put",
        "put",
        lambda s: f"/api/v1/plans/{s.plan.pk}/",
        lambda s: {"title": "Ny tittel", "starts_on": days(-60).isoformat()},
        expect(200, 404, 403, 200),
    ),
    Case(
        "plans-patch",
        "patch",
        lambda s: f"/api/v1/plans/{s.plan.pk}/",
        lambda s: {"intended_systematic_percent": 60},
        expect(200, 404, 403, 200),
    ),
    Case("steps-list", "get", lambda s: "/api/v1/steps/", expect=expect(200, 200, 200, 200)),
    Case(
        "steps-retrieve",
        "get",
        lambda s: f"/api/v1/steps/{s.step.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "steps-create",
        "post",
        lambda s: "/api/v1/steps/",
        lambda s: {"plan": s.plan.pk, **step_fields()},
        expect(201, 400, 403, 201),
    ),
    Case(
        "steps-put",
        "put",
        lambda s: f"/api/v1/steps/{s.step.pk}/",
        lambda s: step_fields(action="Kurs for alle lærere"),
        expect(200, 404, 403, 200),
    ),
    Case(
        "steps-patch",
        "patch",
        lambda s: f"/api/v1/steps/{s.step.pk}/",
        lambda s: {"status": "done"},
        expect(200, 404, 403, 200),
    ),
    Case(
        "steps-delete",
        "delete",
        lambda s: f"/api/v1/steps/{s.step.pk}/",
        expect=expect(204, 404, 403, 204),
    ),
    Case(
        "stages-list", "get", lambda s: "/api/v1/stage-periods/", expect=expect(200, 200, 200, 200)
    ),
    Case(
        "stages-retrieve",
        "get",
        lambda s: f"/api/v1/stage-periods/{s.period.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "stages-upsert",
        "post",
        lambda s: "/api/v1/stage-periods/",
        lambda s: {
            "school": s.ila.pk,
            "module": module(3).pk,
            "stage": "exploration",
            "entered_on": days(-20).isoformat(),
        },
        expect(201, 400, 403, 201),
    ),
    Case(
        "stages-put",
        "put",
        lambda s: f"/api/v1/stage-periods/{s.period.pk}/",
        lambda s: {"entered_on": days(-50).isoformat(), "exited_on": days(-5).isoformat()},
        expect(200, 404, 403, 200),
    ),
    Case(
        "stages-patch",
        "patch",
        lambda s: f"/api/v1/stage-periods/{s.period.pk}/",
        lambda s: {"exited_on": days(-5).isoformat()},
        expect(200, 404, 403, 200),
    ),
]

CREATE_CASES = [
    Case(
        "plans-create",
        "post",
        lambda s: "/api/v1/plans/",
        lambda s: new_plan(s),
        expect(201, 400, 403, 201),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


@pytest.mark.parametrize(("case", "persona"), matrix(CREATE_CASES))
def test_it_lets_only_managers_write_a_plan(
    bare: None, world: World, case: Case, persona: str
) -> None:
    check(case, persona, world.ila_id, world)


# --- plans -----------------------------------------------------------------------------------


def test_it_shows_a_plan_with_its_priorities(scene: Scene, world: World) -> None:
    body = api("staff", world).get(f"/api/v1/plans/{scene.plan.pk}/").json()

    assert body["model_version"] == version().pk
    assert body["priorities"] == [
        {"module": module(2).pk, "intended_percent": 30},
        {"module": module(3).pk, "intended_percent": 40},
    ]


def test_it_writes_a_plan_for_the_current_model_version(bare: None, world: World) -> None:
    response = api("leader", world).post("/api/v1/plans/", new_plan(world.ila_id))

    assert response.status_code == 201, response.content
    plan = ImplementationPlan.objects.get(pk=response.json()["id"])
    assert plan.model_version == version()
    assert list(plan.priorities.values_list("module_id", "intended_percent")) == [
        (module(1).pk, 20)
    ]


def test_it_refuses_a_plan_that_ends_before_it_starts(bare: None, world: World) -> None:
    payload = new_plan(world.ila_id, ends_on=days(-20).isoformat())

    response = api("leader", world).post("/api/v1/plans/", payload)

    assert response.status_code == 400
    assert list(response.json()) == ["ends_on"]
    assert count_of(ImplementationPlan) == 0


def test_it_refuses_priorities_over_100_percent(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(
        f"/api/v1/plans/{scene.plan.pk}/",
        {
            "priorities": [
                {"module": module(1).pk, "intended_percent": 60},
                {"module": module(2).pk, "intended_percent": 50},
            ]
        },
    )

    assert response.status_code == 400
    assert list(response.json()) == ["priorities"]
    assert count_of(PlanModulePriority, plan=scene.plan) == 2


def test_it_refuses_a_module_listed_twice(scene: Scene, world: World) -> None:
    same = {"module": module(1).pk, "intended_percent": 10}

    response = api("leader", world).patch(
        f"/api/v1/plans/{scene.plan.pk}/", {"priorities": [same, same]}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["priorities"]


def test_it_keeps_what_a_patch_leaves_out(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(f"/api/v1/plans/{scene.plan.pk}/", {"title": "Ny"})

    assert response.status_code == 200
    scene.plan.refresh_from_db()
    assert scene.plan.title == "Ny"
    assert scene.plan.ends_on == days(300)
    assert count_of(PlanModulePriority, plan=scene.plan) == 2


def test_it_refuses_a_second_plan_for_the_same_version(scene: Scene, world: World) -> None:
    response = api("leader", world).post("/api/v1/plans/", new_plan(scene.ila.pk))

    assert response.status_code == 400
    assert list(response.json()) == ["model_version"]


# --- steps -----------------------------------------------------------------------------------


def test_it_refuses_a_step_due_before_its_plan(scene: Scene, world: World) -> None:
    before = count_of(StrategyStep)

    response = api("leader", world).post(
        "/api/v1/steps/", {"plan": scene.plan.pk, **step_fields(due_on=days(-90).isoformat())}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["due_on"]
    assert count_of(StrategyStep) == before


def test_it_refuses_to_move_a_step_before_its_plan(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(
        f"/api/v1/steps/{scene.step.pk}/", {"due_on": days(-90).isoformat()}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["due_on"]
    scene.step.refresh_from_db()
    assert scene.step.due_on == days(10)


def test_it_marks_a_step_done_today(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(f"/api/v1/steps/{scene.step.pk}/", {"status": "done"})

    assert response.status_code == 200
    assert response.json()["done_on"] == today().isoformat()


def test_it_filters_steps(scene: Scene, world: World) -> None:
    client = api("leader", world)
    client.post(
        "/api/v1/steps/",
        {"plan": scene.plan.pk, **step_fields(module=module(3).pk, stage="exploration")},
    )

    def ids(query: str) -> list[int]:
        return [s["id"] for s in client.get(f"/api/v1/steps/?{query}").json()["results"]]

    assert ids(f"module={module(2).pk}") == [scene.step.pk]
    assert ids("stage=installation") == [scene.step.pk]
    assert len(ids(f"plan={scene.plan.pk}")) == 2
    assert len(ids("status=not_started")) == 2
    assert ids(f"due_to={days(15).isoformat()}") == [scene.step.pk]
    assert ids("status=done") == []


def test_it_does_not_let_a_step_change_plan(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        lade_plan = plan_create(
            school=scene.lade, model_version=version(), title="Lade", starts_on=days(-60)
        )

    response = api("coordinator", world).put(
        f"/api/v1/steps/{scene.step.pk}/", {"plan": lade_plan.pk, **step_fields()}
    )

    assert response.status_code == 200
    scene.step.refresh_from_db()
    assert scene.step.plan_id == scene.plan.pk


# --- stage periods ---------------------------------------------------------------------------


def test_it_upserts_a_stage_period(scene: Scene, world: World) -> None:
    client = api("leader", world)
    payload = {
        "school": scene.ila.pk,
        "module": module(2).pk,
        "stage": "exploration",
        "entered_on": days(-40).isoformat(),
        "exited_on": days(-10).isoformat(),
    }

    response = client.post("/api/v1/stage-periods/", payload)

    assert response.status_code == 200
    assert response.json()["id"] == scene.period.pk
    assert count_of(StagePeriod, school=scene.ila) == 1
    scene.period.refresh_from_db()
    assert (scene.period.entered_on, scene.period.exited_on) == (days(-40), days(-10))


def test_it_refuses_a_stage_that_ends_before_it_begins(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(
        f"/api/v1/stage-periods/{scene.period.pk}/", {"exited_on": days(-55).isoformat()}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["exited_on"]
    scene.period.refresh_from_db()
    assert scene.period.exited_on is None


def test_it_refuses_an_unknown_stage(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        "/api/v1/stage-periods/",
        {
            "school": scene.ila.pk,
            "module": module(2).pk,
            "stage": "launch",
            "entered_on": days(-5).isoformat(),
        },
    )

    assert response.status_code == 400
    assert list(response.json()) == ["stage"]
    assert count_of(StagePeriod) == 1


def test_it_refuses_a_priority_without_its_module_in_a_patch(world: World, db: None) -> None:
    """Found by tests/test_api_fuzz.py: a PATCH validates nested items partially, and a
    priority without "module" was a 500 (KeyError)."""
    with in_trondheim(world):
        ila, _lade = schools(world)
        plan = plan_create(school=ila, model_version=version(), title="Plan",
                           starts_on=today() - timedelta(days=10))

    response = api("leader", world).patch(
        f"/api/v1/plans/{plan.pk}/", {"priorities": [{"intended_percent": 20}]}
    )

    assert response.status_code == 400
    assert "priorities" in response.json()
