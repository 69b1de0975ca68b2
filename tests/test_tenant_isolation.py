"""Shared auth across schemas: a membership of the host's municipality is required for
every tenant page and API call (django-tenants' security notes)."""

from __future__ import annotations

import pytest

from accounts.models import User
from tenants.models import Municipality

from .conftest import World, client_for, host_of

TENANT_PATHS = ["/", "/api/v1/schools/", "/api/schema/", "/api/docs/"]


@pytest.mark.parametrize("path", TENANT_PATHS)
def test_it_forbids_a_user_of_another_municipality(
    trondheim_leader: User, volda: Municipality, path: str
) -> None:
    response = client_for(trondheim_leader, host_of(volda)).get(path)

    assert response.status_code == 403


@pytest.mark.parametrize("path", TENANT_PATHS)
@pytest.mark.parametrize("persona", ["researcher", "platform_admin", "outsider"])
def test_it_forbids_users_without_a_membership(
    world: World, db: None, persona: str, path: str
) -> None:
    user = User.objects.get(email=f"{persona}@example.no")

    response = client_for(user, host_of(world.trondheim)).get(path)

    assert response.status_code == 403


@pytest.mark.parametrize("path", TENANT_PATHS)
def test_it_forbids_a_token_of_another_municipality(
    volda_leader: User, trondheim: Municipality, volda: Municipality, path: str
) -> None:
    """A write token of Volda's leader on Trondheim's host: refused on the API, and no
    page ever takes a token (the sign-in page instead)."""
    from datetime import timedelta

    from django.utils import timezone

    from apitokens.services import api_token_create

    key = api_token_create(user=volda_leader, name="Volda", municipality=volda, access="write",
                           expires_on=timezone.localdate() + timedelta(days=1)).key

    response = client_for(None, host_of(trondheim)).get(
        path, headers={"authorization": f"Bearer {key}"})

    assert response.status_code == (403 if path.startswith("/api/") else 302)


def test_it_sends_anonymous_visitors_to_login(trondheim: Municipality) -> None:
    response = client_for(None, host_of(trondheim)).get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_it_answers_anonymous_api_calls_with_403(trondheim: Municipality) -> None:
    response = client_for(None, host_of(trondheim)).get("/api/v1/schools/")

    assert response.status_code == 403
    assert "detail" in response.json()


def test_it_answers_404_for_an_unknown_municipality(trondheim_leader: User) -> None:
    response = client_for(trondheim_leader, host_of("atlantis")).get("/")

    assert response.status_code == 404


def test_it_shows_a_leader_only_their_own_school(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))

    page = client.get("/")
    api = client.get("/api/v1/schools/").json()

    assert page.status_code == 200
    assert "Ila skole" in page.text
    assert "Lade skole" not in page.text
    assert [s["name"] for s in api["results"]] == ["Ila skole"]


def test_it_hides_another_school_in_the_same_municipality(
    trondheim_leader: User, world: World
) -> None:
    client = client_for(trondheim_leader, host_of(world.trondheim))

    response = client.get(f"/api/v1/schools/{world.lade_id}/")

    assert response.status_code == 404


def test_it_shows_a_coordinator_every_school(
    trondheim_coordinator: User, trondheim: Municipality
) -> None:
    client = client_for(trondheim_coordinator, host_of(trondheim))

    api = client.get("/api/v1/schools/").json()

    assert sorted(s["name"] for s in api["results"]) == ["Ila skole", "Lade skole"]


def test_it_never_shows_another_municipalitys_schools(
    trondheim_coordinator: User, trondheim: Municipality
) -> None:
    api = client_for(trondheim_coordinator, host_of(trondheim)).get("/api/v1/schools/").json()

    assert "Bratteberg skule" not in {s["name"] for s in api["results"]}


def test_it_lets_a_member_read_the_api_schema(
    trondheim_staff: User, trondheim: Municipality
) -> None:
    response = client_for(trondheim_staff, host_of(trondheim)).get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/schools/" in response.content
