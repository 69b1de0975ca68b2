"""Memberships in the platform administration (issue 10, item 5): schools are chosen by
name, grouped by municipality, and checked against the municipality and the role; the
lists show school names, not ids."""

from __future__ import annotations

import re

from django.test import Client

from accounts.models import Membership, User
from tenants.models import Municipality

from .conftest import World, client_for

ADD = "/admin/accounts/membership/add/"


def admin(platform_admin: User) -> Client:
    return client_for(platform_admin, "localhost")


def school(municipality: Municipality, school_id: int) -> str:
    return f"{municipality.pk}:{school_id}"


def test_it_offers_schools_by_name_grouped_by_municipality(
    platform_admin: User, world: World
) -> None:
    page = admin(platform_admin).get(ADD, HTTP_ACCEPT_LANGUAGE="nb").text

    trondheim = re.search(r'<optgroup label="Trondheim">(.*?)</optgroup>', page, re.S)
    assert trondheim is not None
    assert f'value="{school(world.trondheim, world.ila_id)}"' in trondheim.group(1)
    assert "Ila skole" in trondheim.group(1) and "Lade skole" in trondheim.group(1)
    assert "Bratteberg skule" not in trondheim.group(1)
    assert 'name="school_ids"' not in page  # no box for raw ids


def test_it_adds_a_leader_at_a_school_chosen_by_name(
    platform_admin: User, outsider: User, world: World
) -> None:
    response = admin(platform_admin).post(ADD, {
        "user": outsider.pk, "municipality": world.trondheim.pk, "role": "leader",
        "schools": [school(world.trondheim, world.lade_id)],
    })

    assert response.status_code == 302
    membership = Membership.objects.get(user=outsider)
    assert (membership.municipality, membership.role, membership.school_ids) == (
        world.trondheim, "leader", [world.lade_id])


def test_it_refuses_a_school_of_another_municipality(
    platform_admin: User, outsider: User, world: World
) -> None:
    response = admin(platform_admin).post(ADD, {
        "user": outsider.pk, "municipality": world.trondheim.pk, "role": "staff",
        "schools": [school(world.volda, world.bratteberg_id)],
    }, HTTP_ACCEPT_LANGUAGE="nb")

    assert response.status_code == 200
    assert "Bratteberg skule" in response.text and "Trondheim" in response.text
    assert 'class="errorlist' in response.text
    assert not Membership.objects.filter(user=outsider).exists()


def test_it_asks_for_a_school_for_staff_and_none_for_a_coordinator(
    platform_admin: User, outsider: User, world: World
) -> None:
    client = admin(platform_admin)

    staff = client.post(ADD, {"user": outsider.pk, "municipality": world.trondheim.pk,
                              "role": "staff", "schools": []}, HTTP_ACCEPT_LANGUAGE="nb")
    coordinator = client.post(ADD, {
        "user": outsider.pk, "municipality": world.trondheim.pk, "role": "coordinator",
        "schools": [school(world.trondheim, world.ila_id)],
    }, HTTP_ACCEPT_LANGUAGE="nb")

    assert staff.status_code == coordinator.status_code == 200
    assert "Velg minst én skole" in staff.text
    assert "Denne rollen gjelder alle skoler" in coordinator.text
    assert not Membership.objects.filter(user=outsider).exists()


def test_it_changes_the_schools_of_a_membership(
    platform_admin: User, trondheim_leader: User, world: World
) -> None:
    membership = Membership.objects.get(user=trondheim_leader)

    response = admin(platform_admin).post(f"/admin/accounts/membership/{membership.pk}/change/", {
        "user": trondheim_leader.pk, "municipality": world.trondheim.pk, "role": "leader",
        "schools": [school(world.trondheim, world.ila_id), school(world.trondheim, world.lade_id)],
    })

    assert response.status_code == 302
    membership.refresh_from_db()
    assert sorted(membership.school_ids) == sorted([world.ila_id, world.lade_id])


def test_the_list_shows_school_names(platform_admin: User, trondheim_leader: User) -> None:
    page = admin(platform_admin).get("/admin/accounts/membership/", HTTP_ACCEPT_LANGUAGE="nb")

    assert page.status_code == 200
    assert "Ila skole" in page.text


def test_a_users_page_shows_memberships_with_school_names(
    platform_admin: User, trondheim_leader: User, world: World
) -> None:
    page = admin(platform_admin).get(f"/admin/accounts/user/{trondheim_leader.pk}/change/")

    assert page.status_code == 200
    select = re.search(r'<select name="memberships-0-schools".*?</select>', page.text, re.S)
    assert select is not None
    chosen = re.findall(r'<option value="([0-9:]+)" selected>([^<]+)</option>', select.group(0))
    assert chosen == [(school(world.trondheim, world.ila_id), "Ila skole")]


def test_a_users_page_adds_a_membership_through_the_rules(
    platform_admin: User, outsider: User, world: World
) -> None:
    form = {
        "email": outsider.email, "full_name": "", "preferred_language": "", "is_active": "on",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-municipality": world.volda.pk, "memberships-0-role": "leader",
        "memberships-0-schools": [school(world.trondheim, world.ila_id)],
    }
    client = admin(platform_admin)

    refused = client.post(f"/admin/accounts/user/{outsider.pk}/change/", form)
    form["memberships-0-schools"] = [school(world.volda, world.bratteberg_id)]
    accepted = client.post(f"/admin/accounts/user/{outsider.pk}/change/", form)

    assert refused.status_code == 200
    assert accepted.status_code == 302
    memberships = Membership.objects.filter(user=outsider)
    assert list(memberships.values_list("municipality", "role", "school_ids")) == [
        (world.volda.pk, "leader", [world.bratteberg_id])]
