"""/api/v1/adaptations/: changes to how a component is carried out, recorded FRAME-style."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from implementation.models import Adaptation, ComponentAdoption, School
from implementation.services import adaptation_create
from implementation.services._common import today

from .conftest import World
from .recording import adopt
from .test_api_support import Case, api, check, count_of, expect, in_trondheim, matrix, schools


def frame(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "what_changed": "Her-og-nå-samtaler også i SFO-tiden",
        "made_on": (today() - timedelta(days=3)).isoformat(),
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
    return {**fields, **changes}


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    adoption: ComponentAdoption
    adaptation: Adaptation


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        adoption = adopt(ila, "2.1")
        data = frame(made_on=today() - timedelta(days=10), planned=False, goals=["fit_staff"])
        adaptation = adaptation_create(adoption=adoption, **data)
        yield Scene(ila, lade, adoption, adaptation)


CASES = [
    Case("list", "get", lambda s: "/api/v1/adaptations/", expect=expect(200, 200, 200, 200)),
    Case(
        "retrieve",
        "get",
        lambda s: f"/api/v1/adaptations/{s.adaptation.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "create",
        "post",
        lambda s: "/api/v1/adaptations/",
        lambda s: {"adoption": s.adoption.pk, **frame()},
        expect(201, 400, 403, 201),
    ),
    Case(
        "put",
        "put",
        lambda s: f"/api/v1/adaptations/{s.adaptation.pk}/",
        lambda s: frame(nature="tailoring"),
        expect(200, 404, 403, 200),
    ),
    Case(
        "patch",
        "patch",
        lambda s: f"/api/v1/adaptations/{s.adaptation.pk}/",
        lambda s: {"fidelity": "inconsistent"},
        expect(200, 404, 403, 200),
    ),
    Case(
        "delete",
        "delete",
        lambda s: f"/api/v1/adaptations/{s.adaptation.pk}/",
        expect=expect(204, 404, 403, 204),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


def test_it_records_an_adaptation(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        "/api/v1/adaptations/",
        {"adoption": scene.adoption.pk, **frame(goals=["reach", "feasibility"])},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["school"] == scene.ila.pk
    assert body["goals"] == ["reach", "feasibility"]
    assert body["planned"] is True
    created = Adaptation.objects.get(pk=body["id"])
    assert created.recorded_by is not None
    assert created.recorded_by.email == "trondheim_leader@example.no"


def test_it_changes_only_what_a_patch_names(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(
        f"/api/v1/adaptations/{scene.adaptation.pk}/", {"fidelity": "inconsistent"}
    )

    assert response.status_code == 200
    scene.adaptation.refresh_from_db()
    assert scene.adaptation.fidelity == "inconsistent"
    assert scene.adaptation.goals == ["fit_staff"]
    assert scene.adaptation.planned is False


def test_it_refuses_a_date_in_the_future(scene: Scene, world: World) -> None:
    before = count_of(Adaptation)
    tomorrow = (today() + timedelta(days=1)).isoformat()

    response = api("leader", world).post(
        "/api/v1/adaptations/", {"adoption": scene.adoption.pk, **frame(made_on=tomorrow)}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["made_on"]
    assert count_of(Adaptation) == before


def test_it_refuses_an_unknown_goal(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        "/api/v1/adaptations/", {"adoption": scene.adoption.pk, **frame(goals=["fun"])}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["goals"]


def test_it_refuses_the_same_goal_twice(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(
        f"/api/v1/adaptations/{scene.adaptation.pk}/", {"goals": ["reach", "reach"]}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["goals"]
    scene.adaptation.refresh_from_db()
    assert scene.adaptation.goals == ["fit_staff"]


def test_it_filters_planned_and_by_date(scene: Scene, world: World) -> None:
    client = api("leader", world)
    client.post("/api/v1/adaptations/", {"adoption": scene.adoption.pk, **frame()})
    since = (today() - timedelta(days=5)).isoformat()

    unplanned = client.get("/api/v1/adaptations/?planned=false").json()
    recent = client.get(f"/api/v1/adaptations/?made_from={since}").json()

    assert [a["id"] for a in unplanned["results"]] == [scene.adaptation.pk]
    assert recent["count"] == 1
    assert recent["results"][0]["planned"] is True
