"""/api/v1/audit/: every create, update and delete — who, when, what changed — readable by
school leaders (their schools) and the coordinator (all schools)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from accounts.models import User
from implementation.models import ComponentAdoption, School
from implementation.services import (
    adoption_change_status,
    adoption_create,
    staff_response_submit,
)
from implementation.services._common import today

from .conftest import World
from .recording import component, instrument, open_round
from .test_api_support import ENGLISH, Case, api, check, expect, in_trondheim, matrix, schools


def person(name: str) -> User:
    return User.objects.get(email=f"{name}@example.no")


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    ila_adoption: ComponentAdoption
    lade_adoption: ComponentAdoption


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        since = today() - timedelta(days=5)
        ila_adoption = adoption_create(
            school=ila,
            component=component("2.1"),
            status="in_progress",
            status_since=since,
            actor=person("trondheim_leader"),
        )
        adoption_change_status(
            adoption=ila_adoption, to_status="in_place", actor=person("trondheim_leader")
        )
        lade_adoption = adoption_create(
            school=lade, component=component("2.1"), actor=person("lade_leader")
        )
        yield Scene(ila, lade, ila_adoption, lade_adoption)


CASES = [
    Case("list", "get", lambda s: "/api/v1/audit/", expect=expect(200, 200, 403, 200)),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


def test_it_shows_a_leader_their_schools_entries_only(scene: Scene, world: World) -> None:
    leader = api("leader", world).get("/api/v1/audit/").json()
    coordinator = api("coordinator", world).get("/api/v1/audit/").json()

    assert {e["school"] for e in leader["results"]} == {scene.ila.pk}
    assert {e["school"] for e in coordinator["results"]} >= {scene.ila.pk, scene.lade.pk}


def test_it_says_who_did_what_and_when(scene: Scene, world: World) -> None:
    body = (
        api("leader", world)
        .get(f"/api/v1/audit/?model=componentadoption&object_id={scene.ila_adoption.pk}")
        .json()
    )

    actions = [e["action"] for e in body["results"]]
    assert actions == ["update", "create"]
    update, create = body["results"]
    assert update["actor"]["name"] == "trondheim_leader"
    assert update["changes"]["status"] == ["in_progress", "in_place"]
    assert create["object_repr"] == str(scene.ila_adoption)
    assert create["timestamp"] <= update["timestamp"]


def test_it_filters_by_school_action_and_date(scene: Scene, world: World) -> None:
    client = api("coordinator", world)

    lade = client.get(f"/api/v1/audit/?school={scene.lade.pk}").json()
    updates = client.get("/api/v1/audit/?action=update&model=componentadoption").json()
    tomorrow = (today() + timedelta(days=1)).isoformat()
    future = client.get(f"/api/v1/audit/?date_from={tomorrow}").json()

    assert lade["count"] >= 1
    assert {e["school"] for e in lade["results"]} == {scene.lade.pk}
    assert {e["object_id"] for e in updates["results"]} == {scene.ila_adoption.pk}
    assert future["count"] == 0


def test_it_never_shows_the_values_of_answers(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        assessment_round = open_round([scene.ila], codes=("aim",))
        staff_response_submit(
            assessment_round=assessment_round,
            school=scene.ila,
            instrument=instrument("aim"),
            respondent=person("trondheim_staff"),
            answers={"aim1": 1, "aim2": 2, "aim3": 1, "aim4": 2},
        )

    answers = api("coordinator", world).get("/api/v1/audit/?model=answer").json()
    responses = api("coordinator", world).get("/api/v1/audit/?model=response").json()

    assert answers["count"] == 0
    assert responses["count"] == 1
    assert responses["results"][0]["actor"] is None
    assert responses["results"][0]["changes"] in (None, {})


def test_it_says_why_staff_cannot_read_the_trail(scene: Scene, world: World) -> None:
    response = api("staff", world).get("/api/v1/audit/", headers=ENGLISH)

    assert response.status_code == 403
    assert "audit" in response.json()["detail"]
