"""Backup and restore of one municipality (tenants.backup, municipality_backup and
municipality_restore): dump its schema, drop it, restore it, and every row is back.

The municipality is a committed scratch one (pg_dump and pg_restore are processes of their
own and see only committed rows), filled with a semester or two of realistic records by
the demo history builder and aggregated, so every kind of table has rows. Each test that
erases it restores it before it ends."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import Membership, Role, User
from accounts.services import membership_grant, user_create
from dashboards.management.demo_history import HistoryBuilder
from implementation.models import School
from implementation.services import school_create, staff_position_add
from implementation.services._common import today
from tenants.backup import (
    BackupError,
    archive_opened,
    municipality_backup,
    municipality_restore,
    pg_connection,
    pg_tools,
    version_major,
)
from tenants.db import use_public_schema
from tenants.models import Domain, Municipality
from tenants.selectors import ordered_select, schema_tables
from tenants.services import municipality_erase
from worker.services import municipality_recompute_all

from .conftest import World
from .worker_support import (
    TEST_REDIS_URL,
    free_kommunenummer,
    redis_keys_delete,
    scratch_municipality_create,
    scratch_municipality_drop,
    unique_name,
)

Rows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Town:
    slug: str
    schema: str
    backup: Path


def every_row(schema: str) -> Rows:
    """Every row of every table of ``schema``, all columns, in key order."""
    rows: Rows = {}
    with connection.cursor() as cursor:
        for table in schema_tables(schema):
            cursor.execute(ordered_select(schema, table))
            rows[table] = cursor.fetchall()
    return rows


def sequences(schema: str) -> dict[str, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s", [schema]
        )
        return dict(cursor.fetchall())


def public_rows(slug: str) -> dict[str, list[tuple[Any, ...]]]:
    """The municipality's public rows, every field but the municipality's id."""
    municipality = Municipality.objects.get(slug=slug)
    fields = [f.attname for f in Municipality._meta.concrete_fields if f.attname != "id"]
    return {
        "municipality": [tuple(getattr(municipality, f) for f in fields)],
        "domains": list(Domain.objects.filter(tenant=municipality).order_by("domain")
                        .values_list("domain", "is_primary")),
        "memberships": list(
            Membership.objects.filter(municipality=municipality)
            .order_by("user__email", "role")
            .values_list("user__email", "role", "school_ids", "created_at")
        ),
    }


@pytest.fixture(scope="module")
def town(
    world: World, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Town]:
    """A committed municipality with a realistic history, aggregated, and a backup of it."""
    slug = f"bk{unique_name('x')[-8:]}"
    with django_db_blocker.unblock():
        municipality = scratch_municipality_create(slug, free_kommunenummer())
        assert isinstance(municipality, Municipality)
    try:
        with django_db_blocker.unblock():
            with tenant_context(municipality):
                school = school_create(name="Sjøskogen skole", pupil_count=380)
                staff_position_add(school=school, profession="sosionom", position_percent=80)
                school_create(name="Vågen skule", pupil_count=140)
            coordinator = user_create(email=f"koordinator.{slug}@example.no", password=None)
            membership_grant(user=coordinator, municipality=municipality, role=Role.COORDINATOR)
            HistoryBuilder(seed=9, as_of=today(), log=lambda _line: None).municipality(
                municipality, extra_schools=0
            )
            with tenant_context(municipality):
                municipality_recompute_all()
            use_public_schema()
            backup = tmp_path_factory.mktemp("backup") / f"{slug}.tar"
            municipality_backup(municipality=municipality, path=backup)
        yield Town(slug, str(municipality.schema_name), backup)
    finally:
        with django_db_blocker.unblock():
            members = list(
                User.objects.filter(email__contains=f".{slug}@").values_list("pk", flat=True)
            )
            for schema in (str(municipality.schema_name), f"{municipality.schema_name}_copy"):
                scratch_municipality_drop(schema)
                redis_keys_delete(TEST_REDIS_URL, f"sovei:recompute:{schema}:*")
            User.objects.filter(pk__in=members).delete()


@pytest.fixture
def unblocked(town: Town, django_db_blocker: Any) -> Iterator[Town]:
    """The test body with the database unblocked: every write commits."""
    with django_db_blocker.unblock():
        yield town
    use_public_schema()


def erase(slug: str) -> None:
    municipality = Municipality.objects.get(slug=slug)
    municipality_erase(municipality=municipality, confirm=slug)


def test_the_history_fills_every_kind_of_table(unblocked: Town) -> None:
    rows = every_row(unblocked.schema)

    empty = sorted(table for table, found in rows.items() if not found)
    assert {"implementation_school", "implementation_answer", "implementation_surveylink",
            "implementation_activity", "dashboards_fidelityaggregate",
            "auditlog_logentry"} <= {t for t, found in rows.items() if found}
    # Tables the history has no reason to fill (no local components or adaptations).
    assert set(empty) <= {"implementation_localcomponent", "implementation_adaptation",
                          "dashboards_pendingrecompute"}


def test_it_restores_every_row_after_the_municipality_was_dropped(unblocked: Town) -> None:
    rows, numbers, public = every_row(unblocked.schema), sequences(unblocked.schema), \
        public_rows(unblocked.slug)

    erase(unblocked.slug)
    assert not schema_exists(unblocked.schema)
    assert not Municipality.objects.filter(slug=unblocked.slug).exists()

    result = municipality_restore(path=unblocked.backup)

    assert result.municipality.slug == unblocked.slug
    assert every_row(unblocked.schema) == rows
    assert sequences(unblocked.schema) == numbers
    assert public_rows(unblocked.slug) == public
    assert result.rows == sum(len(found) for found in rows.values()) > 1000
    assert result.migrated is False


def test_it_audits_the_restore_in_the_public_schema(unblocked: Town) -> None:
    erase(unblocked.slug)

    restored = municipality_restore(path=unblocked.backup).municipality

    entry = LogEntry.objects.get_for_object(restored).get(action=LogEntry.Action.CREATE)
    assert entry.additional_data["operation"] == "restore"
    assert entry.additional_data["file"] == unblocked.backup.name
    assert entry.changes_dict["slug"] == ["None", unblocked.slug]
    domain = Domain.objects.get(tenant=restored)
    assert LogEntry.objects.get_for_object(domain).filter(action=LogEntry.Action.CREATE).exists()


def test_a_backup_from_before_a_migration_is_migrated_forward(
    unblocked: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated: list[dict[str, object]] = []
    monkeypatch.setattr("tenants.backup.schemas_with_pending_migrations", lambda schemas: schemas)
    monkeypatch.setattr("tenants.backup.call_command",
                        lambda name, **options: migrated.append({"command": name, **options}))
    erase(unblocked.slug)

    result = municipality_restore(path=unblocked.backup)

    assert result.migrated is True
    assert migrated == [{"command": "migrate_schemas", "tenant": True,
                         "schema_name": unblocked.schema, "interactive": False, "verbosity": 0}]


def test_it_skips_the_memberships_of_accounts_that_are_gone(unblocked: Town) -> None:
    email = f"koordinator.{unblocked.slug}@example.no"
    others = Membership.objects.filter(municipality__slug=unblocked.slug).exclude(
        user__email=email).count()
    erase(unblocked.slug)
    User.objects.filter(email=email).delete()

    result = municipality_restore(path=unblocked.backup)

    assert result.skipped_members == [email]
    assert result.memberships == others
    assert Membership.objects.filter(municipality=result.municipality).count() == others


def test_it_refuses_to_restore_over_a_municipality_that_exists(unblocked: Town) -> None:
    before = every_row(unblocked.schema)

    with pytest.raises(BackupError, match="exists; a restore never overwrites"):
        municipality_restore(path=unblocked.backup)

    assert every_row(unblocked.schema) == before
    assert Municipality.objects.filter(slug=unblocked.slug).count() == 1


def test_it_restores_under_another_address(unblocked: Town) -> None:
    rows = every_row(unblocked.schema)
    copy = f"{unblocked.slug}-copy"
    erase(unblocked.slug)

    try:
        restored = municipality_restore(path=unblocked.backup, slug=copy).municipality

        assert restored.schema_name == f"{unblocked.schema}_copy"
        assert every_row(restored.schema_name) == rows
        assert not schema_exists(unblocked.schema)
        assert list(Domain.objects.filter(tenant=restored).values_list("domain", flat=True)) \
            == [f"{copy}.localhost"]
        assert Membership.objects.filter(municipality=restored).count() > 0
    finally:
        erase(copy)
        municipality_restore(path=unblocked.backup)


def test_it_needs_the_backups_own_schema_name_free_to_restore_a_copy(unblocked: Town) -> None:
    with pytest.raises(BackupError, match="restoring under another address restores into it"):
        municipality_restore(path=unblocked.backup, slug=f"{unblocked.slug}-copy")

    assert not schema_exists(f"{unblocked.schema}_copy")


def test_it_leaves_nothing_behind_when_the_restored_rows_do_not_add_up(
    unblocked: Town, tmp_path: Path
) -> None:
    damaged = tmp_path / "counts.tar"
    rewrite(unblocked.backup, damaged, tables={"implementation_school": 99})
    erase(unblocked.slug)

    try:
        with pytest.raises(BackupError, match="implementation_school: 99 in the backup, 2"):
            municipality_restore(path=damaged)

        assert not schema_exists(unblocked.schema)
        assert not Municipality.objects.filter(slug=unblocked.slug).exists()
    finally:
        municipality_restore(path=unblocked.backup)


def test_it_refuses_a_damaged_dump(unblocked: Town, tmp_path: Path) -> None:
    damaged = tmp_path / "dump.tar"
    rewrite(unblocked.backup, damaged, dump_tail=b"tampered")

    with pytest.raises(BackupError, match="damaged"), archive_opened(damaged):
        pass


def test_it_refuses_a_file_that_is_no_backup(unblocked: Town, tmp_path: Path) -> None:
    other = tmp_path / "other.tar"
    other.write_bytes(b"not a tar file at all")

    with pytest.raises(BackupError, match="not a municipality backup"):
        municipality_restore(path=other)


def test_it_never_overwrites_a_backup_file(unblocked: Town) -> None:
    municipality = Municipality.objects.get(slug=unblocked.slug)
    size = unblocked.backup.stat().st_size

    with pytest.raises(BackupError, match="never overwrites"):
        municipality_backup(municipality=municipality, path=unblocked.backup)

    assert unblocked.backup.stat().st_size == size


def test_the_backup_is_readable_by_its_owner_only(unblocked: Town) -> None:
    assert stat.S_IMODE(unblocked.backup.stat().st_mode) == 0o600


def test_the_backup_holds_the_manifest_the_public_rows_and_the_dump(unblocked: Town) -> None:
    with archive_opened(unblocked.backup) as archive:
        manifest, public = archive.manifest, archive.public

    assert manifest["municipality"]["slug"] == unblocked.slug
    assert manifest["tables"]["implementation_school"] == 2
    assert version_major(manifest["postgresql"]["pg_dump"]) == version_major(
        manifest["postgresql"]["server"]
    )
    models = [o["model"] for o in public["objects"]]
    assert models[0] == "tenants.municipality"
    assert "tenants.domain" in models
    assert "accounts.membership" in models
    members = {str(o["fields"]["user"]) for o in public["objects"]
               if o["model"] == "accounts.membership"}
    assert set(public["users"]) == members
    assert f"koordinator.{unblocked.slug}@example.no" in public["users"].values()


def test_the_backup_audits_the_read(unblocked: Town, tmp_path: Path) -> None:
    municipality = Municipality.objects.get(slug=unblocked.slug)

    municipality_backup(municipality=municipality, path=tmp_path / "audited.tar")

    entry = LogEntry.objects.get_for_object(municipality).filter(
        action=LogEntry.Action.ACCESS).latest()
    assert entry.additional_data["operation"] == "backup"
    assert entry.additional_data["file"] == "audited.tar"


def test_a_backup_inside_a_transaction_is_refused(unblocked: Town, tmp_path: Path) -> None:
    municipality = Municipality.objects.get(slug=unblocked.slug)

    with transaction.atomic(), pytest.raises(BackupError, match="outside a transaction"):
        municipality_backup(municipality=municipality, path=tmp_path / "x.tar")


def test_the_commands_back_up_and_refuse_to_overwrite(
    unblocked: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "cmd.tar"

    call_command("municipality_backup", unblocked.slug, str(target))

    assert f"→ {target}" in capsys.readouterr().out
    with tarfile.open(target) as archive:
        assert sorted(archive.getnames()) == ["manifest.json", "public.json", "schema.dump"]
    with pytest.raises(CommandError, match="exists; a restore never overwrites"):
        call_command("municipality_restore", str(target))
    with pytest.raises(CommandError, match="No municipality has the address"):
        call_command("municipality_backup", "nowhere", str(tmp_path / "nowhere.tar"))


def test_the_restore_command_restores(
    unblocked: Town, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = every_row(unblocked.schema)
    erase(unblocked.slug)

    call_command("municipality_restore", str(unblocked.backup))

    assert f"as {unblocked.slug}, schema {unblocked.schema}" in capsys.readouterr().out
    assert every_row(unblocked.schema) == rows
    with tenant_context(Municipality.objects.get(slug=unblocked.slug)):
        assert School.objects.count() == 2


def rewrite(source: Path, target: Path, *, tables: dict[str, int] | None = None,
            dump_tail: bytes = b"") -> None:
    """A copy of the backup with manifest counts changed or bytes added to the dump."""
    with tarfile.open(source) as original, tarfile.open(target, "w") as copy:
        for member in original.getmembers():
            data = original.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name == "manifest.json" and tables:
                manifest = json.loads(content)
                manifest["tables"].update(tables)
                content = json.dumps(manifest).encode()
            if member.name == "schema.dump":
                content += dump_tail
            member.size = len(content)
            copy.addfile(member, io.BytesIO(content))


# --- Finding pg_dump and reaching the database -------------------------------------------


def fake_bindir(root: Path, version: str) -> Path:
    bindir = root / version / "bin"
    bindir.mkdir(parents=True)
    for program in ("pg_dump", "pg_restore"):
        path = bindir / program
        path.write_text(f'#!/bin/sh\necho "{program} (PostgreSQL) {version}"\n')
        path.chmod(0o755)
    return bindir


def test_it_takes_pg_dump_of_the_servers_major_version(tmp_path: Path) -> None:
    newer, same = fake_bindir(tmp_path, "16.2"), fake_bindir(tmp_path, "15.20")

    tools = pg_tools(15, candidates=[tmp_path / "missing", newer, same])

    assert (tools.bindir, tools.version, tools.major) == (same, "15.20", 15)


def test_it_names_what_it_found_when_no_pg_dump_matches(tmp_path: Path) -> None:
    newer = fake_bindir(tmp_path, "16.2")

    with pytest.raises(BackupError) as exc:
        pg_tools(15, candidates=[tmp_path / "missing", newer])

    message = str(exc.value)
    assert "PostgreSQL 15" in message
    assert f"{newer} (pg_dump 16.2)" in message
    assert f"{tmp_path / 'missing'} (no pg_dump and pg_restore)" in message
    assert "POSTGRES_BIN_DIR" in message


def test_a_configured_bin_dir_is_the_only_place_looked_at(tmp_path: Path) -> None:
    older = fake_bindir(tmp_path, "14.9")

    with override_settings(POSTGRES_BIN_DIR=str(older)), pytest.raises(BackupError) as exc:
        pg_tools(15)

    assert str(exc.value).count("\n  ") == 1


def test_it_finds_a_pg_dump_for_the_test_server(world: World, db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000

    assert pg_tools().major == major


def test_it_connects_the_programs_through_a_socket_directory_in_the_options() -> None:
    target = pg_connection(
        {"NAME": "sovei", "USER": "postgres", "PASSWORD": "", "HOST": "", "PORT": "",
         "OPTIONS": {"host": "/run/pg socket", "port": "5433", "isolation_level": 1}}
    )

    assert target.conninfo == "dbname=sovei host='/run/pg socket' port=5433 user=postgres"


def test_host_and_port_settings_win_over_the_options_and_the_password_stays_off_the_line(
) -> None:
    target = pg_connection(
        {"NAME": "sovei", "USER": "sovei", "PASSWORD": "s3cret", "HOST": "db", "PORT": 6432,
         "OPTIONS": {"host": "/ignored", "sslmode": "require"}}
    )

    assert target.conninfo == "dbname=sovei host=db sslmode=require user=sovei port=6432"
    assert "s3cret" not in target.conninfo
    assert target.env["PGPASSWORD"] == "s3cret"
