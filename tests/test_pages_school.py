"""The overview and the school page: profile and social-work positions."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import School, StaffPosition
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import adopt

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def school_url(school_id: int, rest: str = "") -> str:
    return f"/skoler/{school_id}/{rest}"


def test_it_lists_the_users_schools_with_links(trondheim_leader: User, world: World) -> None:
    response = client_for(trondheim_leader, host_of(world.trondheim)).get("/")

    assert response.status_code == 200
    assert f'href="/skoler/{world.ila_id}/"' in response.text
    assert f'href="/skoler/{world.lade_id}/"' not in response.text


def test_it_lists_every_school_for_the_coordinator(
    trondheim_coordinator: User, world: World
) -> None:
    response = client_for(trondheim_coordinator, host_of(world.trondheim)).get("/")

    assert f'href="/skoler/{world.ila_id}/"' in response.text
    assert f'href="/skoler/{world.lade_id}/"' in response.text


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_shows_the_school_page_to_the_school_and_the_municipality(
    persona: str, world: World, ila: School, request: pytest.FixtureRequest
) -> None:
    adopt(ila, "2.1")
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(school_url(world.ila_id))

    assert response.status_code == 200
    assert "Ila skole" in response.text
    assert "badge-in_progress" in response.text  # the adopted component with its status


def test_it_hides_the_school_from_another_schools_leader(
    lade_leader: User, world: World
) -> None:
    response = client_for(lade_leader, host_of(world.trondheim)).get(school_url(world.ila_id))

    assert response.status_code == 404


def test_it_hides_the_school_from_another_municipality(
    volda_leader: User, world: World
) -> None:
    response = client_for(volda_leader, host_of(world.trondheim)).get(school_url(world.ila_id))

    assert response.status_code == 403


def test_it_answers_404_for_a_school_id_unknown_to_the_municipality(
    volda_leader: User, world: World
) -> None:
    response = client_for(volda_leader, host_of(world.volda)).get(school_url(world.lade_id))

    assert response.status_code == 404


def test_it_offers_editing_only_to_those_who_manage_the_school(
    trondheim_leader: User, trondheim_staff: User, world: World
) -> None:
    leader_page = client_for(trondheim_leader, host_of(world.trondheim)).get(
        school_url(world.ila_id))
    staff_page = client_for(trondheim_staff, host_of(world.trondheim)).get(
        school_url(world.ila_id))

    assert school_url(world.ila_id, "profil/") in leader_page.text
    assert school_url(world.ila_id, "profil/") not in staff_page.text


def test_it_saves_the_profile_through_the_service(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        school_url(world.ila_id, "profil/"),
        {"name": "Ila skole", "organisation_number": "", "grade_from": "1", "grade_to": "7",
         "pupil_count": "433"},
    )

    assert response.status_code == 302
    assert response["Location"] == school_url(world.ila_id)
    with tenant_context(trondheim):
        assert School.objects.get(pk=world.ila_id).pupil_count == 433


def test_it_shows_a_profile_error_next_to_the_field_and_saves_nothing(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        school_url(world.ila_id, "profil/"),
        {"name": "Ila skole", "organisation_number": "12345", "grade_from": "1",
         "grade_to": "7", "pupil_count": "433"},
    )

    assert response.status_code == 400
    assert "organisation_number" in response.context["form"].errors
    assert 'role="alert"' in response.text
    with tenant_context(trondheim):
        assert School.objects.get(pk=world.ila_id).pupil_count == 420


def test_it_refuses_a_grade_range_upside_down(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        school_url(world.ila_id, "profil/"),
        {"name": "Ila skole", "grade_from": "7", "grade_to": "1"},
    )

    assert response.status_code == 400
    assert "grade_to" in response.context["form"].errors


def test_it_forbids_staff_to_edit_the_profile(
    trondheim_staff: User, world: World, trondheim: Municipality
) -> None:
    client = client_for(trondheim_staff, host_of(trondheim))

    assert client.get(school_url(world.ila_id, "profil/")).status_code == 403
    response = client.post(school_url(world.ila_id, "profil/"),
                           {"name": "Renamed", "grade_from": "1", "grade_to": "7"})

    assert response.status_code == 403
    with tenant_context(trondheim):
        assert School.objects.get(pk=world.ila_id).name == "Ila skole"


def test_it_adds_and_removes_a_position(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))

    response = client.post(school_url(world.ila_id, "stillinger/ny/"),
                           {"profession": "sosionom", "position_percent": "50,5", "title": ""})

    assert response.status_code == 302
    with tenant_context(trondheim):
        position = StaffPosition.objects.get(school_id=world.ila_id)
        assert str(position.position_percent) == "50.5"
    response = client.post(school_url(world.ila_id, f"stillinger/{position.pk}/fjern/"))
    assert response.status_code == 302
    with tenant_context(trondheim):
        assert not StaffPosition.objects.filter(school_id=world.ila_id).exists()


def test_it_refuses_a_position_over_100_percent(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        school_url(world.ila_id, "stillinger/ny/"),
        {"profession": "sosionom", "position_percent": "150"},
    )

    assert response.status_code == 400
    assert "position_percent" in response.context["form"].errors
    with tenant_context(trondheim):
        assert StaffPosition.objects.filter(school_id=world.ila_id).count() == 0


def test_it_forbids_another_schools_leader_to_add_a_position(
    lade_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(lade_leader, host_of(trondheim)).post(
        school_url(world.ila_id, "stillinger/ny/"),
        {"profession": "sosionom", "position_percent": "50"},
    )

    assert response.status_code == 404
    with tenant_context(trondheim):
        assert StaffPosition.objects.filter(school_id=world.ila_id).count() == 0
