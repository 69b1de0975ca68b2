"""Helpers shared by the API tests (tests/test_api_*.py); no tests of its own.

Personas of the permission matrix, all calling Trondheim's host:
  leader        school leader at Ila skole (trondheim_leader)
  lade_leader   school leader at Lade skole, same municipality
  staff         social-work staff at Ila skole (trondheim_staff)
  coordinator   municipal coordinator in Trondheim
  volda_leader  school leader in another municipality (Volda)
  researcher    NTNU researcher, no municipality
  anonymous     not signed in
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import School

from .conftest import World, client_for, host_of

PERSONAS = (
    "leader",
    "lade_leader",
    "staff",
    "coordinator",
    "volda_leader",
    "researcher",
    "anonymous",
)
# The reasons in "detail" are translated; tests that read them ask for the English source.
ENGLISH = {"accept-language": "en"}
EMAILS = {
    "leader": "trondheim_leader",
    "lade_leader": "lade_leader",
    "staff": "trondheim_staff",
    "coordinator": "trondheim_coordinator",
    "volda_leader": "volda_leader",
    "researcher": "researcher",
}


def user(persona: str) -> User | None:
    if persona == "anonymous":
        return None
    return User.objects.get(email=f"{EMAILS[persona]}@example.no")


class Api:
    """JSON calls on a tenant host. Every call puts the test's database schema back
    afterwards (the tenant middleware switches it), so the test can go on reading rows."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(
        self, method: str, url: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        tenant = connection.tenant
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if data is not None:
            kwargs.update(data=json.dumps(data), content_type="application/json")
        try:
            response: HttpResponse = getattr(self.client, method)(url, **kwargs)
        finally:
            connection.set_tenant(tenant)
        return response

    def get(self, url: str, **kw: Any) -> HttpResponse:
        return self.call("get", url, **kw)

    def post(self, url: str, data: Any = None, **kw: Any) -> HttpResponse:
        return self.call("post", url, data if data is not None else {}, **kw)

    def put(self, url: str, data: Any, **kw: Any) -> HttpResponse:
        return self.call("put", url, data, **kw)

    def patch(self, url: str, data: Any, **kw: Any) -> HttpResponse:
        return self.call("patch", url, data, **kw)

    def delete(self, url: str, **kw: Any) -> HttpResponse:
        return self.call("delete", url, **kw)


def api(persona: str | User | None, world: World, *, csrf: bool = False) -> Api:
    """A client on Trondheim's host signed in as the persona (a name or a user)."""
    who = user(persona) if isinstance(persona, str) else persona
    client = client_for(who, host_of(world.trondheim))
    client.handler.enforce_csrf_checks = csrf
    return Api(client)


@contextmanager
def in_trondheim(world: World) -> Iterator[None]:
    with tenant_context(world.trondheim):
        yield


def schools(world: World) -> tuple[School, School]:
    """(Ila, Lade); call inside Trondheim's schema."""
    return School.objects.get(pk=world.ila_id), School.objects.get(pk=world.lade_id)


# --- The permission matrix -----------------------------------------------------------------

Builder = Callable[[Any], Any]


@dataclass(frozen=True)
class Case:
    """One endpoint × method with the status each persona gets. Personas left out of
    `expect` (another municipality, researcher, anonymous) get 403."""

    name: str
    method: str
    url: Builder
    payload: Builder | None = None
    expect: dict[str, int] = field(default_factory=dict)

    def status_for(self, persona: str) -> int:
        return self.expect.get(persona, 403)


def expect(leader: int, lade_leader: int, staff: int, coordinator: int) -> dict[str, int]:
    return {
        "leader": leader,
        "lade_leader": lade_leader,
        "staff": staff,
        "coordinator": coordinator,
    }


def matrix(cases: list[Case]) -> list[ParameterSet]:
    return [
        pytest.param(case, persona, id=f"{case.name}-{persona}")
        for case in cases
        for persona in PERSONAS
    ]


def check(case: Case, persona: str, scene: Any, world: World) -> HttpResponse:
    """Call the case as the persona and assert the status; a 403 must say why."""
    payload = case.payload(scene) if case.payload is not None else None
    response = api(persona, world).call(case.method, case.url(scene), payload)
    wanted = case.status_for(persona)
    assert response.status_code == wanted, (
        f"{case.method.upper()} {case.url(scene)} as {persona}: "
        f"{response.status_code} {response.content[:300]!r}"
    )
    if wanted == 403:
        assert response.json()["detail"]
    return response


def count_of(model: type[Any], **filters: Any) -> int:
    return int(model.objects.filter(**filters).count())


def queries_for(client: Api, url: str) -> int:
    """How many SQL queries one GET takes (to show a list does not query per row)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)
