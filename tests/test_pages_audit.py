"""The audit trail page: who changed what and when, for leaders (own schools) and the
coordinator (all schools)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import School
from implementation.services import (
    adoption_change_status,
    adoption_create,
    staff_response_submit,
)
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import component, instrument, open_round


@pytest.fixture
def lade(world: World, db: None) -> School:
    with tenant_context(world.trondheim):
        return School.objects.get(pk=world.lade_id)


@pytest.fixture
def changes(ila: School, lade: School, trondheim_leader: User, lade_leader: User) -> None:
    adoption = adoption_create(school=ila, component=component("2.1"), actor=trondheim_leader,
                               status_since=today() - timedelta(days=3))
    adoption_change_status(adoption=adoption, to_status="in_progress", actor=trondheim_leader)
    adoption_create(school=lade, component=component("4.1"), actor=lade_leader)


def test_it_shows_a_leader_the_changes_of_their_school(
    trondheim_leader: User, world: World, changes: None
) -> None:
    client = client_for(trondheim_leader, host_of(world.trondheim))
    client.cookies["django_language"] = "en"

    response = client.get("/logg/")

    assert response.status_code == 200
    rows = response.context["rows"]
    assert {row["school"] for row in rows} == {"Ila skole"}
    assert "trondheim_leader" in response.text
    status_changes = [change for row in rows if row["action"][0] == "update"
                      for change in row["changes"] if change[0] == "status"]
    assert status_changes == [("status", "planned", "in progress")]


def test_it_shows_the_coordinator_every_school_and_filters_by_school(
    trondheim_coordinator: User, world: World, changes: None
) -> None:
    client = client_for(trondheim_coordinator, host_of(world.trondheim))

    everything = client.get("/logg/")
    only_lade = client.get("/logg/", {"school": world.lade_id})

    assert {row["school"] for row in everything.context["rows"]} >= {"Ila skole", "Lade skole"}
    assert {row["school"] for row in only_lade.context["rows"]} == {"Lade skole"}


def test_it_filters_by_date(
    trondheim_coordinator: User, world: World, changes: None
) -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()

    response = client_for(trondheim_coordinator, host_of(world.trondheim)).get(
        "/logg/", {"date_from": tomorrow})

    assert response.status_code == 200
    assert response.context["rows"] == []


def test_it_does_not_let_a_leader_filter_on_another_school(
    trondheim_leader: User, world: World, changes: None
) -> None:
    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        "/logg/", {"school": world.lade_id})

    assert "school" in response.context["form"].errors
    assert "Lade skole" not in {row["school"] for row in response.context["rows"]}
    assert "4.1" not in " ".join(row["entry"].object_repr for row in response.context["rows"])


def test_it_paginates_and_keeps_the_filters(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("implementation.views.audit.PAGE_SIZE", 5)
    with tenant_context(trondheim):
        for number in range(1, 5):
            adoption_create(school=ila, local_module=component("1.1").module,
                            local_title=f"Lokal {number}", actor=trondheim_leader)
    client = client_for(trondheim_leader, host_of(trondheim))

    first = client.get("/logg/", {"school": world.ila_id})
    second = client.get("/logg/", {"school": world.ila_id, "page": 2})

    assert len(first.context["rows"]) == 5
    assert first.context["page"].has_next()
    assert f"?school={world.ila_id}&amp;page=2" in first.text
    first_ids = {row["entry"].pk for row in first.context["rows"]}
    second_ids = {row["entry"].pk for row in second.context["rows"]}
    assert second_ids and not first_ids & second_ids


@pytest.mark.parametrize(("persona", "status"), [
    ("trondheim_staff", 403), ("volda_leader", 403), ("outsider", 403)])
def test_it_forbids_those_who_do_not_manage_a_school(
    persona: str, status: int, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get("/logg/")

    assert response.status_code == status


def test_it_does_not_show_individual_survey_answers(
    trondheim_coordinator: User, trondheim_staff: User, world: World, ila: School
) -> None:
    assessment_round = open_round([ila], codes=("aim",))
    staff_response_submit(assessment_round=assessment_round, school=ila,
                          instrument=instrument("aim"), respondent=trondheim_staff,
                          answers={"aim1": 1, "aim2": 2, "aim3": 3, "aim4": 4})

    response = client_for(trondheim_coordinator, host_of(world.trondheim)).get("/logg/")

    rows = response.context["rows"]
    assert [row for row in rows if row["entry"].content_type.model == "answer"] == []
    survey = [row for row in rows if row["entry"].content_type.model == "response"]
    assert len(survey) == 1  # that answers came in, not who gave them or what they were
    assert survey[0]["entry"].actor is None
    assert survey[0]["changes"] == []
    assert trondheim_staff.get_full_name() not in response.content.decode()
