"""The activity log page: the quick form, the user's own entries, the school's weekly totals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import Activity, School
from implementation.services import activity_log
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import adopt, module

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def url(school_id: int, rest: str = "") -> str:
    return f"/skoler/{school_id}/tid/{rest}"


def entry(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "performed_on": today().isoformat(),
        "minutes": "45",
        "module": module(3).pk,
        "adoption": "",
        "mode": "akutt",
        "note": "",
    }
    data.update(change)
    return data


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_shows_the_time_log(
    persona: str, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.status_code == 200


def test_it_defaults_the_date_to_today_and_groups_components_by_module(
    trondheim_staff: User, world: World, ila: School
) -> None:
    adoption = adopt(ila, "3.1")

    response = client_for(trondheim_staff, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.context["form"]["performed_on"].value() == today()
    assert "<optgroup" in response.text
    assert f'value="{adoption.pk}"' in response.text


@pytest.mark.parametrize(("persona", "status"), [("lade_leader", 404), ("volda_leader", 403)])
def test_it_hides_the_log_from_others(
    persona: str, status: int, world: World, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(url(world.ila_id))

    assert response.status_code == status


def test_it_logs_time_for_the_staff_member(
    trondheim_staff: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "3.1")

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        url(world.ila_id), entry(adoption=adoption.pk, mode="oppsokende", note="Friminutt"))

    assert response.status_code == 302
    with tenant_context(trondheim):
        logged = Activity.objects.get(school=ila)
        assert (logged.staff_id, logged.minutes, logged.mode, logged.adoption_id) == (
            trondheim_staff.pk, 45, "oppsokende", adoption.pk)


def test_it_refuses_a_component_of_another_module_and_logs_nothing(
    trondheim_staff: User, world: World, ila: School, trondheim: Municipality
) -> None:
    adoption = adopt(ila, "2.1")

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        url(world.ila_id), entry(adoption=adoption.pk))

    assert response.status_code == 400
    assert "adoption" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not Activity.objects.exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"performed_on": (today() + timedelta(days=1)).isoformat()}, "performed_on"),
    ({"minutes": "0"}, "minutes"),
    ({"minutes": "900"}, "minutes"),
    ({"mode": "hastverk"}, "mode"),
])
def test_it_refuses_bad_input_and_logs_nothing(
    trondheim_staff: User, world: World, trondheim: Municipality,
    change: dict[str, str], field: str,
) -> None:
    response = client_for(trondheim_staff, host_of(trondheim)).post(
        url(world.ila_id), entry(**change))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    with tenant_context(trondheim):
        assert not Activity.objects.exists()


def test_it_forbids_the_coordinator_to_log_time_as_school_staff(
    trondheim_coordinator: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_coordinator, host_of(trondheim)).post(
        url(world.ila_id), entry())

    assert response.status_code == 403
    with tenant_context(trondheim):
        assert not Activity.objects.exists()


def test_it_shows_leaders_the_weekly_totals_by_mode(
    trondheim_leader: User, trondheim_staff: User, world: World, ila: School
) -> None:
    monday = today() - timedelta(days=today().weekday())
    for minutes, mode in ((60, "akutt"), (30, "planlagt"), (90, "systemniva")):
        activity_log(school=ila, staff=trondheim_staff, performed_on=monday, minutes=minutes,
                     module=module(3), mode=mode)

    leader = client_for(trondheim_leader, host_of(world.trondheim)).get(url(world.ila_id))
    staff = client_for(trondheim_staff, host_of(world.trondheim)).get(url(world.ila_id))

    week = leader.context["weeks"][0]
    assert week["start"] == monday
    assert week["minutes"] == [60, 0, 30, 90]
    assert week["modes"] == ["1:00", "0:00", "0:30", "1:30"]
    assert week["total"] == "3:00"
    assert week["systematic_percent"] == 67
    assert len(staff.context["mine"]) == 3
    assert "weeks" not in staff.context


def test_it_lets_staff_delete_their_own_entry_only(
    trondheim_staff: User, trondheim_leader: User, world: World, ila: School,
    trondheim: Municipality,
) -> None:
    leaders_entry = activity_log(school=ila, staff=trondheim_leader, performed_on=today(),
                                 minutes=30, module=module(1), mode="planlagt")
    own = activity_log(school=ila, staff=trondheim_staff, performed_on=today(), minutes=30,
                       module=module(1), mode="planlagt")
    client = client_for(trondheim_staff, host_of(trondheim))

    other = client.post(url(world.ila_id, f"{leaders_entry.pk}/slett/"))
    mine = client.post(url(world.ila_id, f"{own.pk}/slett/"))

    assert other.status_code == 404  # staff do not even see the leader's entries
    assert mine.status_code == 302
    with tenant_context(trondheim):
        assert list(Activity.objects.values_list("pk", flat=True)) == [leaders_entry.pk]
