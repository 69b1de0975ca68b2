"""/api/v1/schools/: the municipality's schools, their social-work positions and members."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from auditlog.models import LogEntry

from implementation.models import School, StaffPosition
from implementation.services import staff_position_add

from .conftest import World
from .test_api_support import (
    ENGLISH,
    Case,
    api,
    check,
    count_of,
    expect,
    in_trondheim,
    matrix,
    schools,
)


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    position: StaffPosition


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        position = staff_position_add(school=ila, profession="sosionom", position_percent=80)
        yield Scene(ila, lade, position)


CASES = [
    Case("list", "get", lambda s: "/api/v1/schools/", expect=expect(200, 200, 200, 200)),
    Case(
        "retrieve",
        "get",
        lambda s: f"/api/v1/schools/{s.ila.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "create",
        "post",
        lambda s: "/api/v1/schools/",
        lambda s: {"name": "Byåsen skole", "pupil_count": 350},
        expect(403, 403, 403, 201),
    ),
    Case(
        "put",
        "put",
        lambda s: f"/api/v1/schools/{s.ila.pk}/",
        lambda s: {"name": "Ila skole", "grade_from": 1, "grade_to": 7, "pupil_count": 431},
        expect(200, 404, 403, 200),  # the leader keeps the name as it is
    ),
    Case(
        "rename",
        "patch",
        lambda s: f"/api/v1/schools/{s.ila.pk}/",
        lambda s: {"name": "Ila barneskole"},
        expect(403, 404, 403, 200),
    ),
    Case(
        "patch",
        "patch",
        lambda s: f"/api/v1/schools/{s.ila.pk}/",
        lambda s: {"pupil_count": 432},
        expect(200, 404, 403, 200),
    ),
    Case(
        "members",
        "get",
        lambda s: f"/api/v1/schools/{s.ila.pk}/members/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "positions-list",
        "get",
        lambda s: f"/api/v1/schools/{s.ila.pk}/positions/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "positions-add",
        "post",
        lambda s: f"/api/v1/schools/{s.ila.pk}/positions/",
        lambda s: {"profession": "vernepleier", "position_percent": "50.0"},
        expect(201, 404, 403, 201),
    ),
    Case(
        "positions-remove",
        "delete",
        lambda s: f"/api/v1/schools/{s.ila.pk}/positions/{s.position.pk}/",
        expect=expect(204, 404, 403, 204),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


def test_it_lists_a_leaders_school_with_its_positions(scene: Scene, world: World) -> None:
    body = api("leader", world).get("/api/v1/schools/").json()

    assert body["count"] == 1
    [ila] = body["results"]
    assert ila["name"] == "Ila skole"
    assert ila["positions"] == [
        {
            "id": scene.position.pk,
            "school": scene.ila.pk,
            "profession": "sosionom",
            "position_percent": "80.0",
            "title": "",
        }
    ]
    assert ila["position_percent_total"] == "80.0"


def test_it_lets_the_coordinator_add_a_school_with_an_audit_entry(
    scene: Scene, world: World
) -> None:
    response = api("coordinator", world).post(
        "/api/v1/schools/", {"name": "Byåsen skole", "grade_from": 1, "grade_to": 10}
    )

    assert response.status_code == 201
    created = School.objects.get(name="Byåsen skole")
    assert response.json()["id"] == created.pk
    entry = LogEntry.objects.get_for_object(created).get()
    assert entry.actor is not None
    assert entry.actor.email == "trondheim_coordinator@example.no"


def test_it_refuses_a_grade_range_the_wrong_way_round(scene: Scene, world: World) -> None:
    before = count_of(School)

    response = api("coordinator", world).post(
        "/api/v1/schools/", {"name": "Byåsen skole", "grade_from": 8, "grade_to": 2}
    )

    assert response.status_code == 400
    assert response.json().keys() <= {"grade_from", "grade_to", "non_field_errors"}
    assert count_of(School) == before


def test_it_refuses_a_duplicate_school_name(scene: Scene, world: World) -> None:
    response = api("coordinator", world).post("/api/v1/schools/", {"name": "Lade skole"})

    assert response.status_code == 400
    assert "name" in response.json()


def test_it_patches_only_the_fields_given(scene: Scene, world: World) -> None:
    response = api("coordinator", world).patch(
        f"/api/v1/schools/{scene.ila.pk}/", {"pupil_count": 432}
    )

    assert response.status_code == 200
    scene.ila.refresh_from_db()
    assert (scene.ila.name, scene.ila.pupil_count) == ("Ila skole", 432)


def test_it_refuses_a_position_over_100_percent(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        f"/api/v1/schools/{scene.ila.pk}/positions/",
        {"profession": "sosionom", "position_percent": "120"},
    )

    assert response.status_code == 400
    assert "position_percent" in response.json()
    assert count_of(StaffPosition, school=scene.ila) == 1


def test_it_lists_the_people_of_a_school(scene: Scene, world: World) -> None:
    body = api("leader", world).get(f"/api/v1/schools/{scene.ila.pk}/members/").json()

    names = {p["name"] for p in body}
    assert {"trondheim_leader", "trondheim_staff", "trondheim_coordinator"} <= names
    assert "lade_leader" not in names
    assert "volda_leader" not in names


def test_it_says_why_a_leader_cannot_rename_the_school(scene: Scene, world: World) -> None:
    response = api("leader", world).patch(
        f"/api/v1/schools/{scene.ila.pk}/", {"name": "Ila barneskole"}, headers=ENGLISH
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "Only the municipal coordinator can change a school's name."


def test_it_explains_a_grade_range_without_the_constraints_name(
    scene: Scene, world: World
) -> None:
    """Issue 9, item 6: the client got the raw constraint name (school_grade_range)."""
    response = api("coordinator", world).patch(
        f"/api/v1/schools/{scene.ila.pk}/", {"grade_from": 7, "grade_to": 1}, headers=ENGLISH
    )

    assert response.status_code == 400
    assert "school_grade_range" not in response.content.decode()
    assert "The highest grade cannot be lower than the lowest grade." in str(response.json())
