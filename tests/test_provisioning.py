"""Provisioning a municipality: row, schema and domain together, or nothing."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import User
from implementation.models import School
from tenants.models import Domain, Municipality
from tenants.services import municipality_create

from .conftest import World


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        )
        return {row[0] for row in cursor.fetchall()}


def test_it_creates_row_schema_and_domain(world: World, db: None) -> None:
    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert bodo.schema_name == "bodo"
    assert bodo.county == "18"
    assert schema_exists("bodo")
    assert {"implementation_school", "django_migrations"} <= _tables_in("bodo")
    assert Domain.objects.get(tenant=bodo).domain == "bodo.localhost"


def test_it_gives_the_new_municipality_an_empty_schema_of_its_own(world: World, db: None) -> None:
    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    with tenant_context(bodo):
        assert School.objects.count() == 0
        School.objects.create(name="Bodø skole")
    with tenant_context(world.trondheim):
        assert not School.objects.filter(name="Bodø skole").exists()


def test_it_clones_the_template_with_foreign_keys_intact(world: World, db: None) -> None:
    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.table_constraints "
            "WHERE table_schema = %s AND constraint_type = 'FOREIGN KEY'",
            [bodo.schema_name],
        )
        cloned = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM information_schema.table_constraints "
            "WHERE table_schema = 'tenant_template' AND constraint_type = 'FOREIGN KEY'"
        )
        template = cursor.fetchone()[0]
    assert cloned == template > 0


def codes(exc: ValidationError, field: str) -> list[str | None]:
    return [e.code for e in exc.error_dict[field]]


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("500", "format"),
        ("50011", "max_length"),
        ("50a1", "format"),
        ("9901", "county"),
        ("5000", "county_only"),
    ],
)
def test_it_rejects_an_invalid_kommunenummer(
    world: World, db: None, number: str, code: str
) -> None:
    before = Municipality.objects.count()

    with pytest.raises(ValidationError) as exc:
        municipality_create(name="Feil", kommunenummer=number, slug="feil")

    assert code in codes(exc.value, "kommunenummer")
    assert Municipality.objects.count() == before
    assert not schema_exists("feil")


def test_it_rejects_a_county_that_does_not_match_the_number(world: World, db: None) -> None:
    with pytest.raises(ValidationError) as exc:
        municipality_create(name="Bodø", kommunenummer="1804", slug="bodo", county="50")

    assert codes(exc.value, "county") == ["county_mismatch"]
    assert not schema_exists("bodo")


def test_it_rejects_a_duplicate_slug(world: World, db: None) -> None:
    with pytest.raises(ValidationError) as exc:
        municipality_create(name="Trondheim 2", kommunenummer="5006", slug="trondheim")

    assert codes(exc.value, "slug") == ["unique"]
    assert Municipality.objects.filter(kommunenummer="5006").count() == 0


def test_it_rejects_a_duplicate_kommunenummer(world: World, db: None) -> None:
    with pytest.raises(ValidationError) as exc:
        municipality_create(name="Trondheim 2", kommunenummer="5001", slug="trondheim-to")

    assert codes(exc.value, "kommunenummer") == ["unique"]
    assert not schema_exists("trondheim_to")


def test_it_rejects_a_domain_that_is_taken(world: World, db: None) -> None:
    Domain.objects.create(domain="bodo.localhost", tenant=world.volda, is_primary=False)

    with pytest.raises(ValidationError) as exc:
        municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert codes(exc.value, "slug") == ["domain_taken"]
    assert not schema_exists("bodo")


@pytest.mark.parametrize("slug", ["Bodø", "1bodo", "bodo-", "www", "b"])
def test_it_rejects_a_bad_slug(world: World, db: None, slug: str) -> None:
    with pytest.raises(ValidationError) as exc:
        municipality_create(name="Bodø", kommunenummer="1804", slug=slug)

    assert "slug" in exc.value.message_dict
    assert not Municipality.objects.filter(kommunenummer="1804").exists()


def test_it_leaves_nothing_behind_when_provisioning_fails_halfway(
    world: World, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**kwargs: object) -> None:
        assert schema_exists("bodo"), "the schema should exist by the time the domain is made"
        raise RuntimeError("disk full")

    monkeypatch.setattr(Domain.objects, "create", fail)

    with pytest.raises(RuntimeError, match="disk full"):
        municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert not schema_exists("bodo")
    assert not Municipality.objects.filter(slug="bodo").exists()


def test_it_creates_by_migrations_when_cloning_is_off(
    world: World, db: None, settings: pytest.FixtureRequest
) -> None:
    settings.TENANT_CREATION_FAKES_MIGRATIONS = False  # type: ignore[attr-defined]

    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert "implementation_school" in _tables_in(bodo.schema_name)


def test_the_command_creates_a_municipality(
    world: World, db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_municipality", name="Bodø", number="1804", slug="bodo")

    assert "bodo.localhost" in capsys.readouterr().out
    assert Municipality.objects.filter(slug="bodo", kommunenummer="1804").exists()


def test_the_command_explains_bad_input(world: World, db: None) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("create_municipality", name="Bodø", number="18", slug="bodo")

    assert "kommunenummer" in str(exc.value)
    assert not Municipality.objects.filter(slug="bodo").exists()


def test_it_audits_the_new_municipality_with_its_actor(
    world: World, db: None, platform_admin: User
) -> None:
    bodo = municipality_create(
        name="Bodø",
        kommunenummer="1804",
        slug="bodo",
        actor=platform_admin,
    )

    entries = LogEntry.objects.get_for_object(bodo)
    assert [(e.action, e.actor) for e in entries] == [(LogEntry.Action.CREATE, platform_admin)]
