"""Adaptations recorded FRAME-style: list per school and component, add, edit, delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import Adaptation, ComponentAdoption, School
from implementation.services import adaptation_create
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import adopt

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def url(school_id: int, rest: str = "") -> str:
    return f"/skoler/{school_id}/tilpasninger/{rest}"


def frame(adoption: ComponentAdoption, **change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "adoption": adoption.pk,
        "what_changed": "Her-og-nå-samtaler også i SFO-tiden",
        "made_on": today().isoformat(),
        "timing": "implementation",
        "planned": "yes",
        "decided_by": "school_leader",
        "level": "school",
        "change_type": "context",
        "nature": "lengthening",
        "fidelity": "consistent",
        "goals": ["reach", "fit_recipients"],
        "reason_level": "organization",
        "reasons": "Mange elever går i SFO.",
    }
    data.update(change)
    return data


def recorded(adoption: ComponentAdoption, leader: User) -> Adaptation:
    values = frame(adoption)
    del values["adoption"]
    values.update({"made_on": today(), "planned": True})
    return adaptation_create(adoption=adoption, actor=leader, **values)


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_lists_the_schools_adaptations(
    persona: str, world: World, ila: School, trondheim_leader: User,
    request: pytest.FixtureRequest,
) -> None:
    recorded(adopt(ila, "3.2"), trondheim_leader)
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.status_code == 200
    assert "Her-og-nå-samtaler også i SFO-tiden" in response.text


def test_it_filters_the_list_by_component(
    trondheim_leader: User, world: World, ila: School
) -> None:
    first, second = adopt(ila, "3.2"), adopt(ila, "2.1")
    recorded(first, trondheim_leader)

    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        url(world.ila_id), {"komponent": second.pk})

    assert response.status_code == 200
    assert response.context["adaptations"] == []


@pytest.mark.parametrize(("persona", "status"), [("lade_leader", 404), ("volda_leader", 403)])
def test_it_hides_the_list_from_others(
    persona: str, status: int, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.status_code == status


def test_it_shows_the_frame_form_with_fieldsets(
    trondheim_leader: User, world: World, ila: School
) -> None:
    adoption = adopt(ila, "3.2")

    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        url(world.ila_id, "ny/"), {"komponent": adoption.pk})

    assert response.status_code == 200
    assert response.context["form"]["adoption"].value() == adoption.pk
    assert "<legend>" in response.text
    assert 'type="checkbox" name="goals"' in response.text


def test_it_records_an_adaptation(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.2")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, "ny/"), frame(adoption))

    assert response.status_code == 302
    with tenant_context(trondheim):
        adaptation = Adaptation.objects.get(adoption=adoption)
        assert adaptation.planned is True
        assert adaptation.goals == ["reach", "fit_recipients"]
        assert adaptation.recorded_by_id == trondheim_leader.pk


def test_it_refuses_a_date_in_the_future_and_records_nothing(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.2")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, "ny/"),
        frame(adoption, made_on=(today() + timedelta(days=3)).isoformat()),
    )

    assert response.status_code == 400
    assert "made_on" in response.context["form"].errors
    with tenant_context(trondheim):
        assert Adaptation.objects.count() == 0


def test_it_refuses_an_adaptation_without_goals(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.2")
    data = frame(adoption)
    del data["goals"]

    response = client_for(trondheim_leader, host_of(trondheim)).post(url(world.ila_id, "ny/"), data)

    assert response.status_code == 400
    assert "goals" in response.context["form"].errors
    with tenant_context(trondheim):
        assert Adaptation.objects.count() == 0


def test_it_refuses_a_component_of_another_school(
    lade_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.2")

    response = client_for(lade_leader, host_of(trondheim)).post(
        url(world.lade_id, "ny/"), frame(adoption))

    assert response.status_code == 400
    assert "adoption" in response.context["form"].errors
    with tenant_context(trondheim):
        assert Adaptation.objects.count() == 0


def test_it_forbids_staff_to_record_an_adaptation(
    trondheim_staff: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.2")

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        url(world.ila_id, "ny/"), frame(adoption))

    assert response.status_code == 403
    with tenant_context(trondheim):
        assert Adaptation.objects.count() == 0


def test_it_edits_an_adaptation(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adaptation = recorded(adopt(ila, "3.2"), trondheim_leader)
    client = client_for(trondheim_leader, host_of(trondheim))

    page = client.get(url(world.ila_id, f"{adaptation.pk}/"))
    response = client.post(url(world.ila_id, f"{adaptation.pk}/"),
                           frame(adaptation.adoption, planned="no", nature="shortening"))

    assert page.status_code == 200
    assert page.context["form"]["planned"].value() == "yes"
    assert response.status_code == 302
    with tenant_context(trondheim):
        adaptation.refresh_from_db()
        assert adaptation.planned is False
        assert adaptation.nature == "shortening"


def test_it_keeps_an_adaptation_when_the_edit_is_invalid(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adaptation = recorded(adopt(ila, "3.2"), trondheim_leader)

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        url(world.ila_id, f"{adaptation.pk}/"),
        frame(adaptation.adoption, what_changed="", nature="improvising"),
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"what_changed", "nature"}
    with tenant_context(trondheim):
        adaptation.refresh_from_db()
        assert adaptation.nature == "lengthening"


def test_it_deletes_an_adaptation_after_confirmation(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adaptation = recorded(adopt(ila, "3.2"), trondheim_leader)
    client = client_for(trondheim_leader, host_of(trondheim))

    confirm = client.get(url(world.ila_id, f"{adaptation.pk}/slett/"))
    response = client.post(url(world.ila_id, f"{adaptation.pk}/slett/"))

    assert confirm.status_code == 200
    assert response.status_code == 302
    with tenant_context(trondheim):
        assert not Adaptation.objects.filter(pk=adaptation.pk).exists()


def test_it_hides_an_adaptation_from_another_schools_leader(
    trondheim_leader: User, lade_leader: User, world: World, ila: School,
    trondheim: Municipality,
) -> None:
    adaptation = recorded(adopt(ila, "3.2"), trondheim_leader)

    response = client_for(lade_leader, host_of(trondheim)).post(
        url(world.lade_id, f"{adaptation.pk}/slett/"))

    assert response.status_code == 404
    with tenant_context(trondheim):
        assert Adaptation.objects.filter(pk=adaptation.pk).exists()
