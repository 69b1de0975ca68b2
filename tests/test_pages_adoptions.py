"""Adopting components: the catalog page, local components, status and responsible person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import AdoptionStatusChange, ComponentAdoption, LocalComponent, School
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import adopt, component, module

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def adoptions_url(school_id: int, rest: str = "") -> str:
    return f"/skoler/{school_id}/komponenter/{rest}"


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_shows_the_catalog_with_example_tasks(
    persona: str, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(adoptions_url(world.ila_id))

    assert response.status_code == 200
    assert "Veiledning av lærere" in response.text
    assert "<details>" in response.text  # example tasks, collapsible


def test_it_offers_the_adopt_action_only_to_managers(
    trondheim_leader: User, trondheim_staff: User, world: World
) -> None:
    leader = client_for(trondheim_leader, host_of(world.trondheim)).get(adoptions_url(world.ila_id))
    staff = client_for(trondheim_staff, host_of(world.trondheim)).get(adoptions_url(world.ila_id))

    assert adoptions_url(world.ila_id, "ta-i-bruk/") in leader.text
    assert adoptions_url(world.ila_id, "ta-i-bruk/") not in staff.text


@pytest.mark.parametrize(("persona", "status"), [("lade_leader", 404), ("volda_leader", 403)])
def test_it_hides_the_page_from_other_schools_and_municipalities(
    persona: str, status: int, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(adoptions_url(world.ila_id))

    assert response.status_code == status


def test_it_adopts_a_catalog_component(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, "ta-i-bruk/"), {"component": component("2.1").pk}
    )

    assert response.status_code == 302
    with tenant_context(trondheim):
        adoption = ComponentAdoption.objects.get(school_id=world.ila_id)
        assert adoption.component == component("2.1")
        assert adoption.status == "planned"
    assert response["Location"] == adoptions_url(world.ila_id, f"{adoption.pk}/")


def test_it_refuses_to_adopt_a_component_twice(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adopt(ila, "2.1")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, "ta-i-bruk/"), {"component": component("2.1").pk}
    )

    assert response.status_code == 400
    assert "component" in response.context["adopt_form"].errors
    with tenant_context(trondheim):
        assert ComponentAdoption.objects.filter(school_id=world.ila_id).count() == 1


@pytest.mark.parametrize(("persona", "status"), [("trondheim_staff", 403), ("lade_leader", 404)])
def test_it_lets_only_the_schools_managers_adopt(
    persona: str, status: int, world: World, trondheim: Municipality,
    request: pytest.FixtureRequest,
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(trondheim)).post(
        adoptions_url(world.ila_id, "ta-i-bruk/"), {"component": component("2.1").pk}
    )

    assert response.status_code == status
    with tenant_context(trondheim):
        assert not ComponentAdoption.objects.filter(school_id=world.ila_id).exists()


def test_it_adds_a_local_component(
    trondheim_coordinator: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_coordinator, host_of(trondheim)).post(
        adoptions_url(world.ila_id, "lokal/"),
        {"module": module(3).pk, "title": "Pausevenn-ordning", "description": "Faste voksne."},
    )

    assert response.status_code == 302
    with tenant_context(trondheim):
        adoption = ComponentAdoption.objects.get(school_id=world.ila_id)
        assert adoption.is_local
        assert adoption.component_title == "Pausevenn-ordning"


def test_it_refuses_a_local_component_without_a_title(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, "lokal/"), {"module": module(3).pk, "title": ""}
    )

    assert response.status_code == 400
    assert "title" in response.context["local_form"].errors
    with tenant_context(trondheim):
        assert not LocalComponent.objects.filter(school_id=world.ila_id).exists()


def test_it_refuses_a_duplicate_local_title_with_the_services_reason(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    data = {"module": module(3).pk, "title": "Pausevenn-ordning"}
    client.post(adoptions_url(world.ila_id, "lokal/"), data)

    response = client.post(adoptions_url(world.ila_id, "lokal/"), data)

    assert response.status_code == 400
    [error] = response.context["local_form"].errors.as_data()["title"]
    assert error.code == "duplicate"
    with tenant_context(trondheim):
        assert LocalComponent.objects.filter(school_id=world.ila_id).count() == 1


def test_it_offers_only_the_status_moves_that_make_sense(
    trondheim_leader: User, world: World, ila: School
) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        adoptions_url(world.ila_id, f"{adoption.pk}/"))

    assert response.status_code == 200
    assert 'value="in_progress"' in response.text
    assert 'value="discontinued"' in response.text
    assert 'value="in_place"' not in response.text


def test_it_changes_the_status_with_a_date_and_a_note(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, f"{adoption.pk}/status/"),
        {"to_status": "in_progress", "on": today().isoformat(), "note": "Oppstart"},
    )

    assert response.status_code == 302
    with tenant_context(trondheim):
        adoption.refresh_from_db()
        assert adoption.status == "in_progress"
        change = adoption.status_changes.order_by("-id").first()
        assert change is not None and change.note == "Oppstart"


def test_it_refuses_a_status_jump_with_the_reason_in_the_users_language(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.1", status="planned")
    client = client_for(trondheim_leader, host_of(trondheim))
    client.cookies["django_language"] = "en"

    response = client.post(
        adoptions_url(world.ila_id, f"{adoption.pk}/status/"),
        {"to_status": "in_place", "on": today().isoformat()},
    )

    assert response.status_code == 400
    assert "to_status" in response.context["status_form"].errors
    assert "cannot go from" in response.text
    with tenant_context(trondheim):
        assert AdoptionStatusChange.objects.filter(adoption=adoption).count() == 1
        adoption.refresh_from_db()
        assert adoption.status == "planned"


def test_it_refuses_a_status_date_in_the_future(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, f"{adoption.pk}/status/"),
        {"to_status": "in_progress", "on": (today() + timedelta(days=2)).isoformat()},
    )

    assert response.status_code == 400
    assert "on" in response.context["status_form"].errors
    with tenant_context(trondheim):
        assert AdoptionStatusChange.objects.filter(adoption=adoption).count() == 1


def test_it_forbids_staff_to_change_a_status(
    trondheim_staff: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        adoptions_url(world.ila_id, f"{adoption.pk}/status/"),
        {"to_status": "in_progress", "on": today().isoformat()},
    )

    assert response.status_code == 403
    with tenant_context(trondheim):
        adoption.refresh_from_db()
        assert adoption.status == "planned"


def test_it_sets_the_responsible_person_from_the_schools_members(
    trondheim_leader: User, trondheim_staff: User, world: World, ila: School,
    trondheim: Municipality,
) -> None:
    adoption = adopt(ila, "3.1")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, f"{adoption.pk}/ansvarlig/"),
        {"responsible": trondheim_staff.pk},
    )

    assert response.status_code == 302
    with tenant_context(trondheim):
        adoption.refresh_from_db()
        assert adoption.responsible_id == trondheim_staff.pk


def test_it_refuses_a_responsible_person_from_outside_the_school(
    trondheim_leader: User, lade_leader: User, world: World, ila: School,
    trondheim: Municipality,
) -> None:
    adoption = adopt(ila, "3.1")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        adoptions_url(world.ila_id, f"{adoption.pk}/ansvarlig/"),
        {"responsible": lade_leader.pk},
    )

    assert response.status_code == 400
    assert "responsible" in response.context["responsible_form"].errors
    with tenant_context(trondheim):
        adoption.refresh_from_db()
        assert adoption.responsible_id is None


def test_it_shows_the_status_history(
    trondheim_staff: User, world: World, ila: School
) -> None:
    adoption = adopt(ila, "3.1", status="planned")

    response = client_for(trondheim_staff, host_of(world.trondheim)).get(
        adoptions_url(world.ila_id, f"{adoption.pk}/"))

    assert response.status_code == 200
    assert len(response.context["history"]) == 1
    assert adoptions_url(world.ila_id, f"{adoption.pk}/status/") not in response.text


def test_it_hides_an_adoption_of_another_school(
    lade_leader: User, world: World, ila: School
) -> None:
    adoption = adopt(ila, "3.1")

    response = client_for(lade_leader, host_of(world.trondheim)).get(
        adoptions_url(world.lade_id, f"{adoption.pk}/"))

    assert response.status_code == 404
