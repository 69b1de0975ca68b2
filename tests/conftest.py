"""Shared fixtures. Two municipalities (Trondheim, Volda) are built once per test session
and committed; each test then runs in a transaction that is rolled back.

Personas:
  trondheim_leader       school leader at Ila skole (Trondheim)
  trondheim_staff        social-work staff at Ila skole
  trondheim_coordinator  municipal coordinator in Trondheim
  volda_leader           school leader at Bratteberg skule (Volda)
  researcher             NTNU researcher, no municipality
  platform_admin         platform administrator, no municipality
  outsider               signed-in user with no role anywhere
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from catalog.instruments import SHIPPED as SHIPPED_INSTRUMENTS
from catalog.instruments import instruments_import
from catalog.services import catalog_import
from implementation.models import School
from implementation.services import school_create
from tenants.models import Municipality
from tenants.services import municipality_create

PASSWORD = "correct-horse-battery-staple"
SHIPPED_CATALOG = (
    Path(__file__).resolve().parent.parent / "catalog" / "data" / "sovei-model-1.0.yaml"
)


@dataclass(frozen=True)
class World:
    trondheim: Municipality
    volda: Municipality
    ila_id: int
    lade_id: int
    bratteberg_id: int


@pytest.fixture(scope="session")
def world(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> World:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        catalog_import(path=SHIPPED_CATALOG)
        instruments_import(path=SHIPPED_INSTRUMENTS)
        trondheim = municipality_create(name="Trondheim", kommunenummer="5001", slug="trondheim")
        volda = municipality_create(name="Volda", kommunenummer="1577", slug="volda")
        with tenant_context(trondheim):
            ila = school_create(name="Ila skole", pupil_count=420)
            lade = school_create(name="Lade skole", pupil_count=300)
        with tenant_context(volda):
            bratteberg = school_create(name="Bratteberg skule", pupil_count=250)
        people = {
            "trondheim_leader": (trondheim, Role.LEADER, [ila.id]),
            "trondheim_staff": (trondheim, Role.STAFF, [ila.id]),
            "trondheim_coordinator": (trondheim, Role.COORDINATOR, []),
            "lade_leader": (trondheim, Role.LEADER, [lade.id]),
            "volda_leader": (volda, Role.LEADER, [bratteberg.id]),
        }
        for name, (municipality, role, schools) in people.items():
            user = user_create(email=f"{name}@example.no", password=PASSWORD, full_name=name)
            membership_grant(user=user, municipality=municipality, role=role, school_ids=schools)
        user_create(email="researcher@example.no", password=PASSWORD, is_researcher=True)
        user_create(email="platform_admin@example.no", password=PASSWORD, is_platform_admin=True)
        user_create(email="outsider@example.no", password=PASSWORD)
        connection.set_schema_to_public()
    return World(trondheim, volda, ila.id, lade.id, bratteberg.id)


@pytest.fixture(autouse=True)
def _public_schema_after_test() -> Iterator[None]:
    yield
    connection.set_schema_to_public()


def persona(email_local: str) -> User:
    return User.objects.get(email=f"{email_local}@example.no")


@pytest.fixture
def trondheim(world: World, db: None) -> Municipality:
    return world.trondheim


@pytest.fixture
def volda(world: World, db: None) -> Municipality:
    return world.volda


@pytest.fixture
def ila(world: World, db: None) -> Iterator[School]:
    with tenant_context(world.trondheim):
        yield School.objects.get(id=world.ila_id)


@pytest.fixture
def trondheim_leader(world: World, db: None) -> User:
    return persona("trondheim_leader")


@pytest.fixture
def trondheim_staff(world: World, db: None) -> User:
    return persona("trondheim_staff")


@pytest.fixture
def trondheim_coordinator(world: World, db: None) -> User:
    return persona("trondheim_coordinator")


@pytest.fixture
def lade_leader(world: World, db: None) -> User:
    return persona("lade_leader")


@pytest.fixture
def volda_leader(world: World, db: None) -> User:
    return persona("volda_leader")


@pytest.fixture
def researcher(world: World, db: None) -> User:
    return persona("researcher")


@pytest.fixture
def platform_admin(world: World, db: None) -> User:
    return persona("platform_admin")


@pytest.fixture
def outsider(world: World, db: None) -> User:
    return persona("outsider")


def host_of(municipality: Municipality | str) -> str:
    slug = municipality if isinstance(municipality, str) else municipality.slug
    return f"{slug}.localhost"


def client_for(user: User | None, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client
