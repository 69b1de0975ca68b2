"""/api/v1/adoptions/: adopted components (catalog and local), their status history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from accounts.models import User
from implementation.models import (
    AdoptionStatusChange,
    ComponentAdoption,
    LocalComponent,
    School,
)
from implementation.services import adoption_create, team_response_submit
from implementation.services._common import today

from .conftest import World
from .recording import adopt, component, instrument, module, open_round
from .test_api_support import (
    Case,
    api,
    check,
    count_of,
    expect,
    in_trondheim,
    matrix,
    queries_for,
    schools,
)


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    adoption: ComponentAdoption  # Ila, component 2.1, in progress
    lade_adoption: ComponentAdoption


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        yield Scene(ila, lade, adopt(ila, "2.1"), adopt(lade, "2.1"))


def staff_id() -> int:
    return User.objects.get(email="trondheim_staff@example.no").pk


CASES = [
    Case("list", "get", lambda s: "/api/v1/adoptions/", expect=expect(200, 200, 200, 200)),
    Case(
        "retrieve",
        "get",
        lambda s: f"/api/v1/adoptions/{s.adoption.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "create-catalog",
        "post",
        lambda s: "/api/v1/adoptions/",
        lambda s: {"school": s.ila.pk, "component": component("2.2").pk},
        expect(201, 400, 403, 201),
    ),
    Case(
        "create-local",
        "post",
        lambda s: "/api/v1/adoptions/",
        lambda s: {
            "school": s.ila.pk,
            "local_component": {"module": module(3).pk, "title": "Frokostklubb"},
        },
        expect(201, 400, 403, 201),
    ),
    Case(
        "put",
        "put",
        lambda s: f"/api/v1/adoptions/{s.adoption.pk}/",
        lambda s: {"responsible": staff_id()},
        expect(200, 404, 403, 200),
    ),
    Case(
        "patch",
        "patch",
        lambda s: f"/api/v1/adoptions/{s.adoption.pk}/",
        lambda s: {"responsible": None},
        expect(200, 404, 403, 200),
    ),
    Case(
        "status",
        "post",
        lambda s: f"/api/v1/adoptions/{s.adoption.pk}/status/",
        lambda s: {"to_status": "in_place"},
        expect(200, 404, 403, 200),
    ),
    Case(
        "delete",
        "delete",
        lambda s: f"/api/v1/adoptions/{s.adoption.pk}/",
        expect=expect(204, 404, 403, 204),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


def test_it_shows_an_adoption_with_its_history(scene: Scene, world: World) -> None:
    body = api("staff", world).get(f"/api/v1/adoptions/{scene.adoption.pk}/").json()

    assert body["component"] == component("2.1").pk
    assert body["is_local"] is False
    assert body["module"] == module(2).pk
    assert body["status"] == "in_progress"
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [("", "in_progress")]


def test_it_lists_only_the_schools_a_leader_sees(scene: Scene, world: World) -> None:
    leader = api("leader", world).get("/api/v1/adoptions/").json()
    coordinator = api("coordinator", world).get("/api/v1/adoptions/").json()

    assert [a["id"] for a in leader["results"]] == [scene.adoption.pk]
    assert {a["id"] for a in coordinator["results"]} == {
        scene.adoption.pk,
        scene.lade_adoption.pk,
    }


def test_it_filters_by_school_status_and_module(scene: Scene, world: World) -> None:
    client = api("coordinator", world)

    by_school = client.get(f"/api/v1/adoptions/?school={scene.lade.pk}").json()
    by_status = client.get("/api/v1/adoptions/?status=planned").json()
    by_module = client.get(f"/api/v1/adoptions/?module={module(2).pk}").json()
    other_module = client.get(f"/api/v1/adoptions/?module={module(1).pk}").json()

    assert [a["id"] for a in by_school["results"]] == [scene.lade_adoption.pk]
    assert by_status["count"] == 0
    assert by_module["count"] == 2
    assert other_module["count"] == 0


def test_it_adopts_a_local_component(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        "/api/v1/adoptions/",
        {
            "school": scene.ila.pk,
            "local_component": {
                "module": module(3).pk,
                "title": "Frokostklubb",
                "description": "Frokost med elevene tirsdager",
            },
            "status": "in_progress",
            "responsible": staff_id(),
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_local"] is True
    assert body["title"] == "Frokostklubb"
    assert body["local_component"]["module"] == module(3).pk
    assert body["responsible"]["name"] == "trondheim_staff"
    assert body["history"][0]["to_status"] == "in_progress"


def test_it_moves_the_status_and_keeps_the_history(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        f"/api/v1/adoptions/{scene.adoption.pk}/status/",
        {"to_status": "in_place", "note": "Fast ukentlig tid"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "in_place"
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [
        ("", "in_progress"),
        ("in_progress", "in_place"),
    ]
    assert body["history"][1]["note"] == "Fast ukentlig tid"


def test_it_refuses_a_status_jump_that_makes_no_sense(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        planned = adopt(scene.ila, "3.1", status="planned")
    changes = count_of(AdoptionStatusChange)

    response = api("leader", world).post(
        f"/api/v1/adoptions/{planned.pk}/status/", {"to_status": "in_place"}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["to_status"]
    planned.refresh_from_db()
    assert planned.status == "planned"
    assert count_of(AdoptionStatusChange) == changes


def test_it_refuses_an_unknown_status(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        f"/api/v1/adoptions/{scene.adoption.pk}/status/", {"to_status": "finished"}
    )

    assert response.status_code == 400
    assert "to_status" in response.json()


def test_it_refuses_a_status_date_in_the_future(scene: Scene, world: World) -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()

    response = api("leader", world).post(
        f"/api/v1/adoptions/{scene.adoption.pk}/status/", {"to_status": "in_place", "on": tomorrow}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["on"]
    assert count_of(AdoptionStatusChange, adoption=scene.adoption) == 1


def test_it_refuses_both_a_catalog_and_a_local_component(scene: Scene, world: World) -> None:
    before = (count_of(ComponentAdoption), count_of(LocalComponent))

    response = api("leader", world).post(
        "/api/v1/adoptions/",
        {
            "school": scene.ila.pk,
            "component": component("2.2").pk,
            "local_component": {"module": module(2).pk, "title": "Dobbelt"},
        },
    )

    assert response.status_code == 400
    assert list(response.json()) == ["component"]
    assert (count_of(ComponentAdoption), count_of(LocalComponent)) == before


def test_it_refuses_to_adopt_a_component_twice(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        "/api/v1/adoptions/", {"school": scene.ila.pk, "component": component("2.1").pk}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["component"]
    assert count_of(ComponentAdoption, school=scene.ila) == 1


def test_it_refuses_a_responsible_person_from_elsewhere(scene: Scene, world: World) -> None:
    volda_leader = User.objects.get(email="volda_leader@example.no")

    response = api("leader", world).patch(
        f"/api/v1/adoptions/{scene.adoption.pk}/", {"responsible": volda_leader.pk}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["responsible"]
    scene.adoption.refresh_from_db()
    assert scene.adoption.responsible_id is None


def test_it_refuses_another_schools_id_without_revealing_it(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        "/api/v1/adoptions/", {"school": scene.lade.pk, "component": component("2.2").pk}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["school"]
    assert count_of(ComponentAdoption, school=scene.lade) == 1


def test_it_keeps_a_rated_adoption_and_says_why(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        assessment_round = open_round([scene.ila], codes=("fidelity",))
        team_response_submit(
            assessment_round=assessment_round,
            school=scene.ila,
            instrument=instrument("fidelity"),
            answers={str(scene.adoption.pk): 2},
        )

    response = api("leader", world).delete(f"/api/v1/adoptions/{scene.adoption.pk}/")

    assert response.status_code == 400
    assert list(response.json()) == ["adoption"]
    assert count_of(ComponentAdoption, pk=scene.adoption.pk) == 1


def test_it_deletes_a_local_adoption_with_its_local_component(scene: Scene, world: World) -> None:
    client = api("leader", world)
    created = client.post(
        "/api/v1/adoptions/",
        {"school": scene.ila.pk, "local_component": {"module": module(3).pk, "title": "Kafé"}},
    ).json()

    response = client.delete(f"/api/v1/adoptions/{created['id']}/")

    assert response.status_code == 204
    assert count_of(LocalComponent, title="Kafé") == 0


def test_it_lists_adoptions_without_a_query_per_row(scene: Scene, world: World) -> None:
    client = api("coordinator", world)
    few = queries_for(client, "/api/v1/adoptions/")
    with in_trondheim(world):
        for key in ("1.1", "2.2", "3.1", "3.2"):
            adopt(scene.ila, key)
        adoption_create(school=scene.lade, local_module=module(4), local_title="Kafé")

    many = queries_for(client, "/api/v1/adoptions/")

    assert many == few
