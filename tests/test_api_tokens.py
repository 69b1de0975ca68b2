"""Tokens for programs (issue 12, item 4): made on a page and shown once, kept as a hash,
accepted on /api/v1/ beside the session (no CSRF for a token, CSRF still for a session
write), reaching one municipality with read or write access, refused when expired,
revoked or when the owner lost their role, throttled per token, declared in the OpenAPI
schema. Who may revoke: the owner and the municipality's coordinator.

Personas (tests/conftest.py): trondheim_leader (Ila), trondheim_staff (Ila),
trondheim_coordinator, volda_leader, researcher, outsider."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Membership, User
from accounts.services import membership_revoke
from apitokens.models import ApiToken
from apitokens.services import api_token_create, api_token_revoke
from implementation.models import StaffPosition
from tenants.models import Municipality

from .conftest import World, client_for, host_of

ENGLISH = {"accept-language": "en"}


def make_token(
    user: User, municipality: Municipality | None, access: str = "read", **kw: Any
) -> str:
    return api_token_create(
        user=user, name=kw.pop("name", "Script"), municipality=municipality, access=access,
        expires_on=kw.pop("expires_on", timezone.localdate() + timedelta(days=30)), **kw,
    ).key


def call(
    host: str, method: str, path: str, key: str | None = None, *, scheme: str = "Bearer",
    body: dict[str, Any] | None = None, csrf: bool = True, user: User | None = None,
) -> HttpResponse:
    """A request without a session (unless `user`), CSRF checks on, as a program sends it."""
    tenant = connection.tenant
    client = client_for(user, host)
    client.handler.enforce_csrf_checks = csrf
    headers = {**ENGLISH, **({"authorization": f"{scheme} {key}"} if key is not None else {})}
    try:
        response: HttpResponse = client.generic(
            method, path, "" if body is None else __import__("json").dumps(body),
            content_type="application/json", headers=headers,
        )
    finally:
        connection.set_tenant(tenant)
    return response


def trondheim_host(world: World) -> str:
    return host_of(world.trondheim)


# --- Made on a page, shown once, kept as a hash ----------------------------------------------


def test_it_shows_a_new_token_once_and_keeps_only_its_hash(
    world: World, trondheim_leader: User
) -> None:
    client = client_for(trondheim_leader, trondheim_host(world))
    expires = (timezone.localdate() + timedelta(days=10)).isoformat()

    made = client.post("/api-nokler/", {"name": "Rapport i R", "kind": "personal",
                                        "access": "read", "expires_on": expires})
    listed = client.get("/api-nokler/")

    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    key = re.search(r"sovei_[A-Za-z0-9_-]{43}", made.content.decode()).group(0)  # type: ignore[union-attr]
    token = ApiToken.objects.get(user=trondheim_leader)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert (token.municipality, token.access, token.name) == (world.trondheim, "read",
                                                              "Rapport i R")
    assert timezone.localtime(token.expires_at).date() == timezone.localdate() + timedelta(days=11)
    assert key not in listed.content.decode()
    assert "Rapport i R" in listed.content.decode() and token.prefix in listed.content.decode()
    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(ApiToken),
                                 object_pk=str(token.pk))
    assert entry.actor == trondheim_leader and "key_hash" not in entry.changes_dict


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"expires_on": "2000-01-01"}, "expires_on"),
        ({"expires_on": (timezone.localdate() + timedelta(days=400)).isoformat()},
         "expires_on"),
        ({"access": "admin"}, "access"),
    ],
)
def test_it_answers_a_wrong_form_with_400_and_makes_nothing(
    world: World, trondheim_staff: User, data: dict[str, str], field: str
) -> None:
    form = {"name": "X", "kind": "service", "access": "write",
            "expires_on": (timezone.localdate() + timedelta(days=5)).isoformat(), **data}

    response = client_for(trondheim_staff, trondheim_host(world)).post("/api-nokler/", form)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ApiToken.objects.filter(user=trondheim_staff).exists()


def test_it_refuses_tokens_that_reach_beyond_the_owner(
    world: World, trondheim_leader: User, researcher: User
) -> None:
    def refused(**kw: Any) -> dict[str, Any]:
        with pytest.raises(ValidationError) as caught:
            make_token(**kw)
        return caught.value.message_dict

    assert "municipality" in refused(user=trondheim_leader, municipality=world.volda)
    assert "municipality" in refused(user=trondheim_leader, municipality=None)
    assert "access" in refused(user=researcher, municipality=None, access="write")
    assert "expires_on" in refused(user=researcher, municipality=None,
                                   expires_on=timezone.localdate() - timedelta(days=1))
    assert ApiToken.objects.count() == 0


# --- Beside the session: no CSRF for a token, CSRF for a session write ---------------------


def test_it_reads_and_writes_with_a_token_and_no_csrf(
    world: World, trondheim_leader: User
) -> None:
    key = make_token(trondheim_leader, world.trondheim, "write")
    host = trondheim_host(world)

    read = call(host, "GET", "/api/v1/schools/", key)
    as_token_scheme = call(host, "GET", "/api/v1/schools/", key, scheme="Token")
    written = call(host, "POST", f"/api/v1/schools/{world.ila_id}/positions/", key,
                   body={"profession": "sosionom", "position_percent": "40.0"})

    assert read.status_code == 200
    assert [s["name"] for s in read.json()["results"]] == ["Ila skole"]  # the leader's scope
    assert as_token_scheme.status_code == 200
    assert written.status_code == 201, written.content
    with tenant_context(world.trondheim):
        position = StaffPosition.objects.get(pk=written.json()["id"])
        entry = LogEntry.objects.get_for_object(position).get()
    assert entry.actor == trondheim_leader


def test_it_still_demands_csrf_for_a_session_write(world: World, trondheim_leader: User) -> None:
    response = call(trondheim_host(world), "POST", f"/api/v1/schools/{world.ila_id}/positions/",
                    body={"profession": "sosionom", "position_percent": "40.0"},
                    user=trondheim_leader)

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_it_never_accepts_a_token_on_a_page(world: World, trondheim_leader: User) -> None:
    key = make_token(trondheim_leader, world.trondheim)

    response = call(trondheim_host(world), "GET", "/", key)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Refused: the token's scope, expiry, revocation, the owner's role -----------------------


def test_a_read_token_never_writes(world: World, trondheim_leader: User) -> None:
    key = make_token(trondheim_leader, world.trondheim, "read")

    response = call(trondheim_host(world), "POST",
                    f"/api/v1/schools/{world.ila_id}/positions/", key,
                    body={"profession": "sosionom", "position_percent": "40.0"})
    deleted = call(trondheim_host(world), "DELETE", f"/api/v1/schools/{world.ila_id}/", key)

    assert response.status_code == 403
    assert response.json() == {"detail": "This token may only read."}
    assert deleted.status_code == 403
    with tenant_context(world.trondheim):
        assert not StaffPosition.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/schools/", "/api/schema/",
                                  "/api/v1/dashboards/kommune/status/"])
def test_a_token_of_one_municipality_never_reads_another(
    world: World, trondheim_coordinator: User, volda_leader: User, path: str
) -> None:
    volda_key = make_token(volda_leader, world.volda)

    response = call(trondheim_host(world), "GET", path, volda_key)

    assert response.status_code == 403
    assert response.json() == {"detail": "This token is not valid for this municipality."}


@pytest.mark.parametrize("how", ["expired", "revoked", "unknown", "empty", "owner inactive"])
def test_it_refuses_a_dead_token_with_401(
    world: World, trondheim_leader: User, how: str
) -> None:
    key = make_token(trondheim_leader, world.trondheim)
    token = ApiToken.objects.get(user=trondheim_leader)
    if how == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif how == "revoked":
        api_token_revoke(token=token, actor=trondheim_leader)
    elif how == "unknown":
        key = key[:-1] + ("A" if key[-1] != "A" else "B")
    elif how == "empty":
        key = ""
    else:
        User.objects.filter(pk=trondheim_leader.pk).update(is_active=False)

    response = call(trondheim_host(world), "GET", "/api/v1/schools/", key)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"detail": "The token is unknown, expired or revoked."}


def test_it_refuses_a_token_whose_owner_lost_the_membership(
    world: World, trondheim_staff: User
) -> None:
    key = make_token(trondheim_staff, world.trondheim)
    assert call(trondheim_host(world), "GET", "/api/v1/schools/", key).status_code == 200

    membership_revoke(membership=Membership.objects.get(user=trondheim_staff))
    response = call(trondheim_host(world), "GET", "/api/v1/schools/", key)

    assert response.status_code == 403
    assert response.json() == {"detail": "You have no access to this municipality."}


def test_it_records_when_a_token_was_last_used(world: World, trondheim_leader: User) -> None:
    key = make_token(trondheim_leader, world.trondheim)
    assert ApiToken.objects.get().last_used_at is None
    before = timezone.now()

    call(trondheim_host(world), "GET", "/api/v1/modules/", key)

    used = ApiToken.objects.get().last_used_at
    assert used is not None and used >= before


# --- Throttled per token ----------------------------------------------------------------------


def test_it_throttles_each_token_on_its_own(
    world: World, trondheim_leader: User, trondheim_staff: User, settings: Any
) -> None:
    settings.API_TOKEN_THROTTLE_RATE = "3/minute"
    busy = make_token(trondheim_leader, world.trondheim)
    other = make_token(trondheim_staff, world.trondheim)
    host = trondheim_host(world)

    answers = [call(host, "GET", "/api/v1/modules/", busy).status_code for _ in range(4)]
    limited = call(host, "GET", "/api/v1/modules/", busy)

    assert answers == [200, 200, 200, 429]
    assert int(limited["Retry-After"]) > 0
    assert call(host, "GET", "/api/v1/modules/", other).status_code == 200
    assert [call(host, "GET", "/api/v1/modules/", user=trondheim_leader).status_code
            for _ in range(4)] == [200] * 4  # sessions are not counted per token


# --- In the OpenAPI schema ---------------------------------------------------------------------


def test_it_declares_the_token_as_a_security_scheme(world: World, trondheim_leader: User) -> None:
    key = make_token(trondheim_leader, world.trondheim)

    schema = call(trondheim_host(world), "GET", "/api/schema/?format=json", key).json()

    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    operation = schema["paths"]["/api/v1/schools/"]["get"]
    assert {"apiToken": []} in operation["security"]
    assert "401" in operation["responses"]


# --- Listing and revoking: the owner, the coordinator ------------------------------------------


def revoke_url(token: ApiToken) -> str:
    return f"/api-nokler/{token.pk}/trekk-tilbake/"


def test_the_owner_revokes_their_token_and_nobody_elses(
    world: World, trondheim_leader: User, trondheim_staff: User
) -> None:
    key = make_token(trondheim_leader, world.trondheim)
    make_token(trondheim_staff, world.trondheim)
    mine = ApiToken.objects.get(user=trondheim_leader)
    theirs = ApiToken.objects.get(user=trondheim_staff)
    client = client_for(trondheim_leader, trondheim_host(world))

    assert client.post(revoke_url(theirs)).status_code == 404
    assert client.post(revoke_url(mine)).status_code == 302

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_by == trondheim_leader and theirs.revoked_at is None
    assert call(trondheim_host(world), "GET", "/api/v1/schools/", key).status_code == 401


def test_the_coordinator_sees_and_revokes_the_tokens_that_reach_the_municipality(
    world: World, trondheim_coordinator: User, trondheim_staff: User, volda_leader: User
) -> None:
    key = make_token(trondheim_staff, world.trondheim, name="Ila-rapport")
    make_token(volda_leader, world.volda, name="Volda-rapport")
    ila_token = ApiToken.objects.get(user=trondheim_staff)
    volda_token = ApiToken.objects.get(user=volda_leader)
    client = client_for(trondheim_coordinator, trondheim_host(world))

    page = client.get("/api-nokler/kommune/").content.decode()
    other = client.post(f"/api-nokler/kommune/{volda_token.pk}/trekk-tilbake/")
    revoked = client.post(f"/api-nokler/kommune/{ila_token.pk}/trekk-tilbake/")

    assert "Ila-rapport" in page and "trondheim_staff@example.no" in page
    assert "Volda-rapport" not in page
    assert other.status_code == 404
    assert revoked.status_code == 302
    ila_token.refresh_from_db()
    assert ila_token.revoked_by == trondheim_coordinator
    assert call(trondheim_host(world), "GET", "/api/v1/schools/", key).status_code == 401


@pytest.mark.parametrize("persona", ["trondheim_leader", "trondheim_staff"])
def test_only_the_owner_and_the_coordinator_revoke(world: World, db: None, persona: str) -> None:
    user = User.objects.get(email=f"{persona}@example.no")
    coordinator = User.objects.get(email="trondheim_coordinator@example.no")
    make_token(coordinator, world.trondheim)

    response = client_for(user, trondheim_host(world)).get("/api-nokler/kommune/")

    assert response.status_code == 403
    with pytest.raises(ValidationError):
        api_token_revoke(token=ApiToken.objects.get(), actor=user)
    assert ApiToken.objects.get().revoked_at is None


def test_a_researcher_makes_research_tokens_on_the_public_site(
    world: World, researcher: User, outsider: User
) -> None:
    expires = (timezone.localdate() + timedelta(days=30)).isoformat()

    made = client_for(researcher, "testserver").post(
        "/api-nokler/", {"name": "R", "kind": "personal", "expires_on": expires})
    refused = client_for(outsider, "testserver").post(
        "/api-nokler/", {"name": "R", "kind": "personal", "expires_on": expires})

    assert made.status_code == 200
    token = ApiToken.objects.get()
    assert (token.user, token.municipality, token.access) == (researcher, None, "read")
    assert refused.status_code == 403


def test_it_keeps_the_schema_of_a_read_only_research_token(world: World, researcher: User) -> None:
    """A research token is read-only in the database too."""
    from django.db import IntegrityError, transaction

    make_token(researcher, None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiToken.objects.update(access="write")
