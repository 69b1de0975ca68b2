"""Provisioning by replaying the template's dump (issue 11): the same schema as migrations
give, the template's rows, one pg_dump per template state, and the clone as the fallback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from django.db import connection

from tenants import backup, schema_replay
from tenants import services as tenant_services
from tenants.backup import BackupError
from tenants.services import municipality_create

from .conftest import World

TEMPLATE = "tenant_template"


def _normalised(text: str | None, schema: str) -> str | None:
    if text is None:
        return None
    return re.sub(rf'"?{re.escape(schema)}"?\.', "<schema>.", text)


def schema_structure(schema: str) -> dict[str, set[tuple[object, ...]]]:
    """Everything about a schema's structure that migrations decide, with its own name
    written as <schema>: columns, constraints, indexes, sequences and their owners."""
    queries = {
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   a.attidentity, pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = %s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
            """,
        "constraints": """
            SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid),
                   con.condeferrable, con.condeferred
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            WHERE con.connamespace = %s::regnamespace
            """,
        "indexes": """
            SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s
            """,
        "sequences": """
            SELECT sequencename, data_type::text, start_value, increment_by, max_value,
                   cycle
            FROM pg_sequences WHERE schemaname = %s
            """,
        "relations": """
            SELECT relname, relkind, relpersistence FROM pg_class
            WHERE relnamespace = %s::regnamespace
            """,
    }
    structure: dict[str, set[tuple[object, ...]]] = {}
    with connection.cursor() as cursor:
        for name, query in queries.items():
            cursor.execute(query, [schema])
            structure[name] = {
                tuple(_normalised(v, schema) if isinstance(v, str) else v for v in row)
                for row in cursor.fetchall()
            }
    return structure


def rows_of(schema: str, table: str, columns: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT {columns} FROM "{schema}"."{table}" ORDER BY {columns}')
        return list(cursor.fetchall())


@pytest.fixture
def no_clone(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records clones instead of making them: a test using it fails if the clone runs."""
    clones: list[str] = []

    def clone(template: str, schema: str) -> None:
        clones.append(schema)
        raise AssertionError(f"{schema} was cloned, not replayed")

    monkeypatch.setattr(tenant_services, "_clone_schema", clone)
    return clones


@pytest.fixture
def dumps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts pg_dump runs, starting from an empty cache."""
    schema_replay.forget_scripts()
    calls: list[str] = []
    dump = schema_replay._dump

    def counting(template: str) -> str:
        calls.append(template)
        return dump(template)

    monkeypatch.setattr(schema_replay, "_dump", counting)
    yield calls
    schema_replay.forget_scripts()


def test_a_new_municipality_is_replayed_with_the_templates_structure(
    world: World, db: None, no_clone: list[str], dumps: list[str]
) -> None:
    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert dumps == [TEMPLATE]
    assert schema_structure(bodo.schema_name) == schema_structure(TEMPLATE)


def test_the_replayed_schema_equals_one_made_by_migrations(
    world: World, db: None, no_clone: list[str], dumps: list[str], settings: object
) -> None:
    replayed = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")
    settings.TENANT_CREATION_FAKES_MIGRATIONS = False  # type: ignore[attr-defined]
    migrated = municipality_create(name="Narvik", kommunenummer="1806", slug="narvik")

    replayed_structure = schema_structure(replayed.schema_name)
    assert len(replayed_structure["constraints"]) > 50
    assert replayed_structure == schema_structure(migrated.schema_name)
    assert rows_of(replayed.schema_name, "django_migrations", "app, name") == rows_of(
        migrated.schema_name, "django_migrations", "app, name"
    )


def test_it_carries_the_templates_rows_and_continues_its_sequences(
    world: World, db: None, no_clone: list[str], dumps: list[str]
) -> None:
    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    for table, columns in (("django_migrations", "id, app, name"),
                           ("django_content_type", "id, app_label, model")):
        assert rows_of(bodo.schema_name, table, columns) == rows_of(TEMPLATE, table, columns)
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "bodo".django_migrations (app, name, applied) '
            "VALUES ('probe', '0001', now()) RETURNING id"
        )
        new_id = int(cursor.fetchone()[0])
    assert new_id > max(int(str(row[0])) for row in rows_of(TEMPLATE, "django_migrations", "id"))


def test_it_dumps_the_template_once_for_many_municipalities(
    world: World, db: None, no_clone: list[str], dumps: list[str]
) -> None:
    for name, number, slug in (("Bodø", "1804", "bodo"), ("Narvik", "1806", "narvik"),
                               ("Harstad", "5503", "harstad")):
        municipality_create(name=name, kommunenummer=number, slug=slug)

    assert dumps == [TEMPLATE]


def test_a_template_changed_in_this_transaction_is_cloned_not_replayed(
    world: World, db: None, dumps: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # pg_dump sees committed data only; a template migrated in the running transaction
    # must not be copied from the stale dump.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TEMPLATE}.django_migrations (app, name, applied) "
            "VALUES ('probe', '0001_uncommitted', now())"
        )

    with caplog.at_level(logging.WARNING, logger="tenants.services"):
        bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert ("probe", "0001_uncommitted") in rows_of(bodo.schema_name, "django_migrations",
                                                    "app, name")
    assert "by clone" in caplog.text
    assert schema_structure(bodo.schema_name) == schema_structure(TEMPLATE)


def test_without_a_matching_pg_dump_it_clones(
    world: World, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema_replay.forget_scripts()

    def no_tools(*args: object, **kwargs: object) -> None:
        raise BackupError("No pg_dump and pg_restore of PostgreSQL 15 found.")

    monkeypatch.setattr(backup, "pg_tools", no_tools)

    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert schema_structure(bodo.schema_name) == schema_structure(TEMPLATE)


def test_a_dump_that_does_not_reproduce_the_template_is_not_used(
    world: World, db: None, dumps: list[str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    # pg_dump's own text of an IN (...) check parses into another expression than the
    # migration's; without the migrations' text the trial replay differs and is refused.
    monkeypatch.setattr(schema_replay, "migration_checks", dict)

    with caplog.at_level(logging.WARNING, logger="tenants.services"):
        bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert "differs from it: constraint implementation_answer." in caplog.text
    assert schema_structure(bodo.schema_name) == schema_structure(TEMPLATE)


def test_the_clone_stays_available_by_setting(
    world: World, db: None, settings: object, dumps: list[str]
) -> None:
    settings.TENANT_PROVISIONING = "clone"  # type: ignore[attr-defined]

    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")

    assert dumps == []
    assert schema_structure(bodo.schema_name) == schema_structure(TEMPLATE)


def test_the_script_names_no_other_schema() -> None:
    dump = (
        "SET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE SCHEMA tenant_template;\n"
        "CREATE TABLE tenant_template.t (id integer NOT NULL);\n"
        "SELECT pg_catalog.setval('tenant_template.t_id_seq', 3, true);\n"
    )

    script = schema_replay.script_from_dump(dump, TEMPLATE)

    assert "SET " not in script and "CREATE SCHEMA" not in script
    replayed = schema_replay.TemplateScript("x", script, 1, 0).for_schema("bodo")
    assert replayed == (
        'CREATE TABLE "bodo".t (id integer NOT NULL);\n'
        "SELECT pg_catalog.setval('\"bodo\".t_id_seq', 3, true);\n"
    )
    with pytest.raises(ValueError):
        schema_replay.TemplateScript("x", script, 1, 0).for_schema('x"; DROP SCHEMA public; --')
