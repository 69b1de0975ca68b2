"""/api/v1/activities/: the activity log. Staff log and see their own time, a leader sees
the school's, the coordinator the municipality's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from accounts.models import User
from implementation.models import Activity, ComponentAdoption, School
from implementation.services import activity_log
from implementation.services._common import today

from .conftest import World
from .recording import adopt, module
from .test_api_support import Case, api, check, count_of, expect, in_trondheim, matrix, schools


def days(n: int) -> date:
    return today() + timedelta(days=n)


def person(name: str) -> User:
    return User.objects.get(email=f"{name}@example.no")


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    adoption: ComponentAdoption  # Ila, 2.1
    staffs: Activity  # logged by trondheim_staff at Ila
    leaders: Activity  # logged by trondheim_leader at Ila
    lades: Activity  # logged by lade_leader at Lade


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        adoption = adopt(ila, "2.1")

        def log(school: School, who: str, minutes: int, on: date) -> Activity:
            return activity_log(
                school=school,
                staff=person(who),
                performed_on=on,
                minutes=minutes,
                module=module(2),
                mode="planlagt",
            )

        yield Scene(
            ila,
            lade,
            adoption,
            log(ila, "trondheim_staff", 45, days(-2)),
            log(ila, "trondheim_leader", 30, days(-20)),
            log(lade, "lade_leader", 60, days(-1)),
        )


def entry(school_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "school": school_id,
        "performed_on": days(-1).isoformat(),
        "minutes": 90,
        "module": module(2).pk,
        "mode": "akutt",
        "note": "Samtale i friminuttet",
        **changes,
    }


CASES = [
    Case("list", "get", lambda s: "/api/v1/activities/", expect=expect(200, 200, 200, 200)),
    Case(
        "retrieve",
        "get",
        lambda s: f"/api/v1/activities/{s.staffs.pk}/",
        expect=expect(200, 404, 200, 200),
    ),
    Case(
        "create",
        "post",
        lambda s: "/api/v1/activities/",
        lambda s: entry(s.ila.pk),
        expect(201, 400, 201, 403),
    ),
    Case(
        "delete",
        "delete",
        lambda s: f"/api/v1/activities/{s.staffs.pk}/",
        expect=expect(204, 404, 204, 204),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


def test_it_shows_each_role_its_part_of_the_log(scene: Scene, world: World) -> None:
    def ids(persona: str) -> set[int]:
        return {a["id"] for a in api(persona, world).get("/api/v1/activities/").json()["results"]}

    assert ids("staff") == {scene.staffs.pk}
    assert ids("leader") == {scene.staffs.pk, scene.leaders.pk}
    assert ids("lade_leader") == {scene.lades.pk}
    assert ids("coordinator") == {scene.staffs.pk, scene.leaders.pk, scene.lades.pk}


def test_it_logs_time_as_the_signed_in_person(scene: Scene, world: World) -> None:
    response = api("staff", world).post(
        "/api/v1/activities/", entry(scene.ila.pk, adoption=scene.adoption.pk)
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["staff"]["name"] == "trondheim_staff"
    assert body["adoption"] == scene.adoption.pk
    assert Activity.objects.get(pk=body["id"]).staff == person("trondheim_staff")


def test_it_hides_a_colleagues_entry_from_staff(scene: Scene, world: World) -> None:
    response = api("staff", world).delete(f"/api/v1/activities/{scene.leaders.pk}/")

    assert response.status_code == 404
    assert count_of(Activity, pk=scene.leaders.pk) == 1


def test_it_refuses_a_date_in_the_future(scene: Scene, world: World) -> None:
    before = count_of(Activity)

    response = api("staff", world).post(
        "/api/v1/activities/", entry(scene.ila.pk, performed_on=days(1).isoformat())
    )

    assert response.status_code == 400
    assert list(response.json()) == ["performed_on"]
    assert count_of(Activity) == before


def test_it_refuses_minutes_outside_a_working_day(scene: Scene, world: World) -> None:
    response = api("staff", world).post("/api/v1/activities/", entry(scene.ila.pk, minutes=0))

    assert response.status_code == 400
    assert list(response.json()) == ["minutes"]


def test_it_refuses_a_component_of_another_module(scene: Scene, world: World) -> None:
    response = api("staff", world).post(
        "/api/v1/activities/",
        entry(scene.ila.pk, module=module(3).pk, adoption=scene.adoption.pk),
    )

    assert response.status_code == 400
    assert list(response.json()) == ["adoption"]


def test_it_refuses_an_unknown_mode(scene: Scene, world: World) -> None:
    response = api("staff", world).post("/api/v1/activities/", entry(scene.ila.pk, mode="fri"))

    assert response.status_code == 400
    assert list(response.json()) == ["mode"]


def test_it_filters_by_date_range_and_mode(scene: Scene, world: World) -> None:
    client = api("coordinator", world)

    recent = client.get(f"/api/v1/activities/?date_from={days(-5).isoformat()}").json()
    older = client.get(f"/api/v1/activities/?date_to={days(-10).isoformat()}").json()
    acute = client.get("/api/v1/activities/?mode=akutt").json()
    at_lade = client.get(f"/api/v1/activities/?school={scene.lade.pk}").json()

    assert {a["id"] for a in recent["results"]} == {scene.staffs.pk, scene.lades.pk}
    assert [a["id"] for a in older["results"]] == [scene.leaders.pk]
    assert acute["count"] == 0
    assert [a["id"] for a in at_lade["results"]] == [scene.lades.pk]
