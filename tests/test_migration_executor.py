"""migrate_schemas over many schemas: skip what is up to date, run the rest in parallel.

Also the clone path of provisioning (tenants.services): a schema cloned from the template
matches a migrated one where django-tenants' clone differs (unique-constraint names,
sequence types), and django-tenants' clone_schema() SQL function is installed once, not
before every clone."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.migration_executors import MultiprocessingExecutor, StandardExecutor
from django_tenants.utils import schema_exists

from tenants.migration_executor import (
    SkippingParallelExecutor,
    get_executor,
    schemas_with_pending_migrations,
)
from tenants.models import Municipality
from tenants.services import municipality_create

TEMPLATE: str = settings.TENANT_BASE_SCHEMA


def latest_migration(app: str) -> str:
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return graph.leaf_nodes(app)[0][1]


def unrecord(schema: str, app: str, name: str) -> None:
    """Forget that (app, name) was applied in `schema`; rolled back with the test."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name]
        )
        assert cursor.rowcount == 1


class Recorder:
    """Stands in for an executor class; records which schemas it was asked to migrate."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def executor(self, codename: str) -> type:
        recorder = self

        class Fake:
            def __init__(self, args: Any, options: Any) -> None:
                pass

            def run_migrations(self, tenants: list[str]) -> None:
                recorder.calls.append((codename, list(tenants)))

        return Fake


class OutsideTransaction:
    """The connection as the executor sees it when migrate_schemas runs on its own."""

    in_atomic_block = False

    def __getattr__(self, name: str) -> Any:
        return getattr(connection, name)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(
        "tenants.migration_executor.StandardExecutor", recorder.executor("standard")
    )
    monkeypatch.setattr(
        "tenants.migration_executor.MultiprocessingExecutor", recorder.executor("multiprocessing")
    )
    return recorder


def skipping_executor() -> SkippingParallelExecutor:
    return SkippingParallelExecutor([], {"verbosity": 0})


def test_it_finds_nothing_pending_in_up_to_date_schemas(
    trondheim: Municipality, volda: Municipality
) -> None:
    schemas = [trondheim.schema_name, volda.schema_name, TEMPLATE]

    assert schemas_with_pending_migrations(schemas) == []


def test_it_finds_the_schema_whose_migration_row_was_deleted(
    trondheim: Municipality, volda: Municipality
) -> None:
    unrecord(volda.schema_name, "implementation", latest_migration("implementation"))

    pending = schemas_with_pending_migrations([trondheim.schema_name, volda.schema_name])

    assert pending == [volda.schema_name]


def test_it_counts_a_schema_without_a_django_migrations_table_as_pending(
    trondheim: Municipality,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "bare_schema"')  # rolled back with the test

    pending = schemas_with_pending_migrations([trondheim.schema_name, "bare_schema"])

    assert pending == ["bare_schema"]


def test_it_finds_nothing_for_no_schemas(db: None) -> None:
    assert schemas_with_pending_migrations([]) == []


def test_it_migrates_no_schema_when_all_are_up_to_date(
    trondheim: Municipality, volda: Municipality, recorder: Recorder
) -> None:
    skipping_executor().run_migrations([trondheim.schema_name, volda.schema_name])

    assert recorder.calls == []


def test_it_migrates_only_the_pending_schemas_and_checks_the_template_too(
    trondheim: Municipality, volda: Municipality, recorder: Recorder
) -> None:
    unrecord(volda.schema_name, "implementation", latest_migration("implementation"))
    unrecord(TEMPLATE, "implementation", latest_migration("implementation"))

    skipping_executor().run_migrations([trondheim.schema_name, volda.schema_name])

    # Inside a transaction (as here, and when provisioning) it cannot fork workers.
    assert recorder.calls == [("standard", [volda.schema_name, TEMPLATE])]


def test_it_runs_several_pending_schemas_in_parallel_outside_a_transaction(
    trondheim: Municipality,
    volda: Municipality,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unrecord(trondheim.schema_name, "implementation", latest_migration("implementation"))
    unrecord(volda.schema_name, "implementation", latest_migration("implementation"))

    monkeypatch.setattr("tenants.migration_executor.connection", OutsideTransaction())
    skipping_executor().run_migrations([trondheim.schema_name, volda.schema_name])

    assert recorder.calls == [("multiprocessing", [trondheim.schema_name, volda.schema_name])]


def test_it_migrates_the_public_schema_on_its_own(db: None, recorder: Recorder) -> None:
    skipping_executor().run_migrations(["public"])

    assert recorder.calls == [("standard", ["public"])]


def test_it_uses_the_skipping_executor_by_default() -> None:
    assert get_executor(None) is SkippingParallelExecutor
    assert get_executor("sovei") is SkippingParallelExecutor


def test_it_delegates_other_codenames_to_django_tenants() -> None:
    assert get_executor("standard") is StandardExecutor
    assert get_executor("multiprocessing") is MultiprocessingExecutor
    with pytest.raises(NotImplementedError):
        get_executor("no-such-executor")


def _unique_constraints(schema: str) -> set[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = con.connamespace "
            "WHERE ns.nspname = %s AND con.contype = 'u'",
            [schema],
        )
        return set(cursor.fetchall())


def _sequence_types(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, format_type(s.seqtypid, NULL) FROM pg_sequence s "
            "JOIN pg_class c ON c.oid = s.seqrelid "
            "JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = %s",
            [schema],
        )
        return set(cursor.fetchall())


def test_it_clones_unique_constraints_with_the_templates_names(trondheim: Municipality) -> None:
    assert settings.TENANT_CREATION_FAKES_MIGRATIONS  # so trondheim is a copy of the template
    template = _unique_constraints(TEMPLATE)

    assert ("implementation_school", "school_unique_name", "UNIQUE (name)") in template
    assert _unique_constraints(trondheim.schema_name) == template


def test_it_clones_sequences_with_the_templates_types(trondheim: Municipality) -> None:
    template = _sequence_types(TEMPLATE)

    assert ("django_content_type_id_seq", "integer") in template
    assert _sequence_types(trondheim.schema_name) == template


def _count_clone_function_installs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    installs: list[int] = []
    install = CloneSchema._create_clone_schema_function

    def counting(self: CloneSchema) -> None:
        installs.append(1)
        install(self)

    monkeypatch.setattr(CloneSchema, "_create_clone_schema_function", counting)
    return installs


def test_it_does_not_reinstall_the_clone_function_for_every_municipality(
    trondheim: Municipality, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TENANT_PROVISIONING = "clone"  # replay is the default (test_provisioning_replay)
    municipality_create(name="Narvik", kommunenummer="1806", slug="narvik")  # installs it
    installs = _count_clone_function_installs(monkeypatch)

    municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")
    municipality_create(name="Tromsø", kommunenummer="5501", slug="tromso")

    assert installs == []
    assert schema_exists("bodo")
    assert schema_exists("tromso")


def test_it_reinstalls_a_clone_function_it_did_not_install(
    trondheim: Municipality, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TENANT_PROVISIONING = "clone"  # replay is the default (test_provisioning_replay)
    municipality_create(name="Narvik", kommunenummer="1806", slug="narvik")  # installs it
    with connection.cursor() as cursor:
        cursor.execute(
            "COMMENT ON FUNCTION public.clone_schema(text, text, public.cloneparms[]) IS NULL"
        )
    installs = _count_clone_function_installs(monkeypatch)

    municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")
    municipality_create(name="Tromsø", kommunenummer="5501", slug="tromso")

    assert installs == [1]
    assert _unique_constraints("tromso") == _unique_constraints(TEMPLATE)
