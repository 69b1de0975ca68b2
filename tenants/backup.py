"""Backup and restore of one municipality: its schema and its rows in the public schema.

A backup is one tar file with three members:

* ``schema.dump`` — ``pg_dump --format=custom --schema=<schema>`` of the municipality's
  schema (tables, rows, sequences, indexes, constraints), by a ``pg_dump`` of the
  server's own major version;
* ``public.json`` — the municipality's rows in the public schema that a restore needs:
  its ``Municipality`` row, its ``Domain`` rows and its ``Membership`` rows (Django's JSON
  serialization), with the e-mail address of each member's account;
* ``manifest.json`` — format and version, when, which municipality, the PostgreSQL and
  ``pg_dump`` versions, the rows of every table and the SHA-256 of ``schema.dump``.

The dump and the public rows come from one snapshot: the backup opens a repeatable-read
transaction, exports its snapshot (``pg_export_snapshot()``) to ``pg_dump --snapshot`` and
reads the public rows in that same transaction, so a membership granted or a row written
during the backup is in both parts or in neither.

A restore refuses to overwrite anything: the schema, the address, the municipality number
and the domains must all be free. ``pg_restore --single-transaction`` rebuilds the schema
(all or nothing); the row count of every table is compared with the manifest; then the
public rows are created in one audited transaction. If that fails, the restored schema is
dropped again, so a failed restore leaves nothing behind. A backup made before a later
migration is migrated forward after the restore.

Restoring under another address (``slug=``) renames the restored schema; ``pg_restore``
cannot restore into another schema name, so the archive's own schema name must be free as
well (restore a copy of a municipality that still exists into another database).

A restore targets the platform it was taken from (or a copy of its public schema): the
schema's rows refer to accounts and catalog rows of the public schema by id, and
``pg_restore`` fails, restoring nothing, if one of them is gone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django_tenants.utils import schema_exists
from psycopg import sql
from psycopg.conninfo import make_conninfo

from accounts.models import Membership, User
from sovei_platform.audit import audited_write

from .db import use_public_schema
from .migration_executor import schemas_with_pending_migrations
from .models import Domain, Municipality
from .selectors import table_row_counts
from .services import municipality_access_log, schema_name_for, tenant_domain

logger = logging.getLogger(__name__)

FORMAT = "sovei-municipality-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PUBLIC = "public.json"
DUMP = "schema.dump"
LOCK_WAIT = "60s"  # pg_dump gives up instead of waiting forever behind an exclusive lock


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


# --- PostgreSQL client programs ------------------------------------------------------------


@dataclass(frozen=True)
class PgTools:
    """``pg_dump`` and ``pg_restore`` of one PostgreSQL version, from one directory."""

    bindir: Path
    version: str  # as the programs print it, e.g. "15.20" or "16.2"

    @property
    def major(self) -> int:
        return version_major(self.version)

    @property
    def pg_dump(self) -> Path:
        return self.bindir / "pg_dump"

    @property
    def pg_restore(self) -> Path:
        return self.bindir / "pg_restore"


_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+\S*)")


def version_major(version: str) -> int:
    match = re.match(r"\d+", version)
    if match is None:
        raise ValueError(f"not a PostgreSQL version: {version!r}")
    return int(match.group())


def server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    assert row is not None
    return str(row[0]).split()[0]  # "15.20 (Debian 15.20-0+deb12u1)" → "15.20"


def tool_version(executable: Path) -> str | None:
    """The version ``<executable> --version`` prints, or None if it does not run."""
    try:
        result = subprocess.run(  # noqa: S603 - a PostgreSQL client program, fixed arguments
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(result.stdout)
    return match.group(1) if match else None


def _pgserver_bindir() -> Path | None:
    """The binaries of the embedded PostgreSQL (PyPI ``pgserver``) that ``make run`` and
    ``make test`` start when no server is configured; None when it is not installed."""
    try:
        spec = find_spec("pgserver")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - pg_config from PATH, fixed arguments
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = result.stdout.strip()
    return Path(output) if result.returncode == 0 and output else None


def candidate_bindirs(major: int) -> list[Path]:
    """Where to look for the client programs of PostgreSQL ``major``, in order.

    ``POSTGRES_BIN_DIR`` alone when it is set; otherwise the usual install locations of
    that major version (Debian/Ubuntu, PGDG on RHEL, Homebrew, Postgres.app), the embedded
    server's own binaries, ``pg_config --bindir`` and the ``pg_dump`` on PATH. Which one
    fits is decided by the version each ``pg_dump`` reports, not by its place."""
    configured = str(getattr(settings, "POSTGRES_BIN_DIR", "") or "")
    if configured:
        return [Path(configured)]
    found: list[Path | None] = [
        Path(f"/usr/lib/postgresql/{major}/bin"),
        Path(f"/usr/pgsql-{major}/bin"),
        Path(f"/opt/homebrew/opt/postgresql@{major}/bin"),
        Path(f"/usr/local/opt/postgresql@{major}/bin"),
        Path(f"/Applications/Postgres.app/Contents/Versions/{major}/bin"),
        _pgserver_bindir(),
        _pg_config_bindir(),
    ]
    on_path = shutil.which("pg_dump")
    if on_path:
        found.append(Path(on_path).parent)
    unique: list[Path] = []
    for bindir in found:
        if bindir is not None and bindir not in unique:
            unique.append(bindir)
    return unique


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def pg_tools(major: int | None = None, *, candidates: Sequence[Path] | None = None) -> PgTools:
    """``pg_dump`` and ``pg_restore`` of the server's major version (or ``major``).

    A ``pg_dump`` older than the server cannot dump it and one newer writes archives that
    the server's own ``pg_restore`` cannot read, so only the same major version will do.
    Raises BackupError naming every place looked at and what was found there."""
    if major is None:
        major = version_major(server_version())
    looked: list[str] = []
    for bindir in candidate_bindirs(major) if candidates is None else candidates:
        tools = PgTools(bindir, "")
        if not (_is_executable(tools.pg_dump) and _is_executable(tools.pg_restore)):
            looked.append(f"{bindir} (no pg_dump and pg_restore)")
            continue
        version = tool_version(tools.pg_dump)
        if version is None:
            looked.append(f"{bindir} (pg_dump does not run)")
            continue
        if version_major(version) == major:
            return PgTools(bindir, version)
        looked.append(f"{bindir} (pg_dump {version})")
    raise BackupError(
        f"No pg_dump and pg_restore of PostgreSQL {major} (the server's major version) "
        "found. Looked in:\n  " + "\n  ".join(looked or ["(nowhere)"]) + "\n"
        f"Install the PostgreSQL {major} client programs (e.g. the package "
        f"postgresql-client-{major}) or set POSTGRES_BIN_DIR to their directory."
    )


# --- Connecting the client programs to Django's database ----------------------------------

# Keys of DATABASES["default"]["OPTIONS"] that Django or psycopg consume themselves; every
# other key is a libpq connection parameter (host, port, sslmode, …), as Django passes it.
_NOT_LIBPQ = frozenset(
    {
        "assume_role",
        "autocommit",
        "context",
        "cursor_factory",
        "isolation_level",
        "pool",
        "prepare_threshold",
        "row_factory",
        "server_side_binding",
    }
)


@dataclass(frozen=True)
class PgConnection:
    """How a client program reaches the database: a libpq connection string and the
    environment to run it in (the password travels as PGPASSWORD, never on a command
    line)."""

    conninfo: str
    env: dict[str, str] = field(repr=False)


def pg_connection(settings_dict: Mapping[str, Any] | None = None) -> PgConnection:
    """The connection of ``settings_dict`` (default: Django's default database, i.e. the
    test database during tests), built the way Django's PostgreSQL backend builds its own:
    the name, then OPTIONS, then USER, PASSWORD, HOST and PORT when set. A unix socket
    directory, given as HOST or as OPTIONS["host"] (as ``make test``'s embedded server
    does), is a libpq ``host`` like any other."""
    config = connection.settings_dict if settings_dict is None else settings_dict
    options = {
        str(key): str(value)
        for key, value in (config.get("OPTIONS") or {}).items()
        if key not in _NOT_LIBPQ and value is not None and value != ""
    }
    params: dict[str, str] = {}
    if config.get("NAME"):
        params["dbname"] = str(config["NAME"])
    params.update(options)
    for key, name in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host"),
                      ("PORT", "port")):
        if config.get(key):
            params[name] = str(config[key])
    env = dict(os.environ)
    password = params.pop("password", "")
    if password:
        env["PGPASSWORD"] = password
    return PgConnection(make_conninfo("", **params), env)


def _run(args: Sequence[str | Path], target: PgConnection) -> None:
    command = [str(arg) for arg in args]
    try:
        result = subprocess.run(  # noqa: S603 - pg_dump/pg_restore found by pg_tools()
            command, env=target.env, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise BackupError(f"Could not run {command[0]}: {exc}") from exc
    if result.returncode != 0:
        raise BackupError(
            f"{Path(command[0]).name} failed (exit status {result.returncode}):\n"
            f"{result.stderr.strip()}"
        )


# --- Backup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path
    slug: str
    schema: str
    tables: dict[str, int]
    memberships: int
    size: int

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _public_rows(municipality: Municipality) -> dict[str, Any]:
    row = Municipality.objects.get(pk=municipality.pk)
    domains = list(Domain.objects.filter(tenant=row).order_by("pk"))
    memberships = list(
        Membership.objects.filter(municipality=row).select_related("user").order_by("pk")
    )
    objects: list[Model] = [row, *domains, *memberships]
    return {
        # Django's "python" serialization, written by _json_default: its JSON one would cut
        # the times to milliseconds.
        "objects": serializers.serialize("python", objects),
        "users": {str(m.user_id): m.user.email for m in memberships},
    }


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add_json(archive: tarfile.TarFile, name: str, data: object, directory: Path) -> None:
    path = directory / name
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8"
    )
    archive.add(path, arcname=name)


def place_new_file(source: Path, target: Path) -> bool:
    """Give the finished file ``source`` its name ``target`` unless that exists (False).

    A hard link fails atomically when the name is taken; on a file system without hard
    links the file is moved after a check instead."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError:
        if target.exists():
            return False
        os.replace(source, target)
        return True
    source.unlink()
    return True


def municipality_backup(
    *, municipality: Municipality, path: Path | str, actor: User | None = None
) -> BackupResult:
    """Write a backup of ``municipality`` to ``path`` (a new file; never overwritten).

    The file holds personal data: it is created readable by its owner only."""
    if connection.in_atomic_block:
        raise BackupError("A backup runs outside a transaction: it takes a snapshot of its own.")
    use_public_schema()
    schema = municipality.schema_name
    if not schema_exists(schema):
        raise BackupError(f"The municipality {municipality.slug} has no schema {schema}.")
    target = Path(path)
    if target.exists():
        raise BackupError(f"{target} exists; a backup never overwrites a file.")
    if not target.parent.is_dir():
        raise BackupError(f"The directory {target.parent} does not exist.")
    tools = pg_tools()
    database = pg_connection()

    with tempfile.TemporaryDirectory(prefix=".sovei-backup-", dir=target.parent) as tmp:
        work = Path(tmp)
        dump = work / DUMP
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot_row = cursor.fetchone()
            assert snapshot_row is not None
            counts = table_row_counts(schema)
            public = _public_rows(municipality)
            _run(
                [
                    tools.pg_dump,
                    "--format=custom",
                    f'--schema="{schema}"',  # quoted: the exact name, not a pattern
                    "--no-owner",
                    "--no-privileges",
                    "--no-tablespaces",
                    f"--snapshot={snapshot_row[0]}",
                    f"--lock-wait-timeout={LOCK_WAIT}",
                    f"--file={dump}",
                    f"--dbname={database.conninfo}",
                ],
                database,
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "municipality": {
                "slug": municipality.slug,
                "name": municipality.name,
                "kommunenummer": municipality.kommunenummer,
                "schema_name": schema,
            },
            "postgresql": {"server": server_version(), "pg_dump": tools.version},
            "tables": counts,
            "schema_dump_sha256": _sha256(dump),
            "schema_dump_bytes": dump.stat().st_size,
        }
        partial = work / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            _add_json(archive, MANIFEST, manifest, work)
            _add_json(archive, PUBLIC, public, work)
            archive.add(dump, arcname=DUMP)
        partial.chmod(0o600)
        if not place_new_file(partial, target):
            raise BackupError(f"{target} exists; a backup never overwrites a file.")

    memberships = sum(1 for o in public["objects"] if o["model"] == "accounts.membership")
    municipality_access_log(
        municipality=municipality, actor=actor, operation="backup", file=target.name,
        tables=len(counts), rows=sum(counts.values()),
    )
    logger.info("Backed up %s (%s rows) to %s", municipality.slug, sum(counts.values()), target)
    return BackupResult(
        target, municipality.slug, schema, counts, memberships, target.stat().st_size
    )


# --- Restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archive:
    manifest: dict[str, Any]
    public: dict[str, Any]
    dump: Path


def _read_json(archive: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    source = archive.extractfile(member)
    if source is None:
        raise BackupError(f"{member.name} in the backup is not a file.")
    with source:
        data = json.load(source)
    if not isinstance(data, dict):
        raise BackupError(f"{member.name} in the backup is not a JSON object.")
    return data


def _extract(source: IO[bytes], target: Path) -> str:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _tar_opened(source: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(source, "r:")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{source} is not a municipality backup: {exc}") from exc


@contextmanager
def archive_opened(path: Path | str) -> Iterator[Archive]:
    """The backup at ``path``, checked (format, version, members, dump checksum), with its
    dump extracted to a private temporary directory for as long as the block runs."""
    source = Path(path)
    with tempfile.TemporaryDirectory(prefix="sovei-restore-") as tmp:
        with _tar_opened(source) as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            missing = sorted({MANIFEST, PUBLIC, DUMP} - set(members))
            if missing:
                raise BackupError(
                    f"{source} is not a municipality backup: {', '.join(missing)} missing."
                )
            manifest = _read_json(archive, members[MANIFEST])
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{source} is not a municipality backup.")
            if manifest.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"{source} has backup format version {manifest.get('format_version')}; "
                    f"this version of the platform reads version {FORMAT_VERSION}."
                )
            public = _read_json(archive, members[PUBLIC])
            dump_source = archive.extractfile(members[DUMP])
            if dump_source is None:
                raise BackupError(f"{DUMP} in the backup is not a file.")
            dump = Path(tmp) / DUMP
            with dump_source:
                checksum = _extract(dump_source, dump)
        if checksum != manifest.get("schema_dump_sha256"):
            raise BackupError(f"{source} is damaged: the schema dump's checksum differs.")
        yield Archive(manifest, public, dump)


@dataclass
class _Plan:
    municipality: Municipality
    domains: list[Domain]
    memberships: list[Membership]
    skipped_members: list[str]
    source_schema: str  # the schema name in the dump, where pg_restore puts it

    @property
    def schema(self) -> str:
        return str(self.municipality.schema_name)


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def _restore_plan(archive: Archive, slug: str | None) -> _Plan:
    """The public rows to create, checked against what exists (nothing is overwritten)."""
    try:
        objects = [
            item.object for item in serializers.deserialize("python", archive.public["objects"])
        ]
    except (KeyError, TypeError, DeserializationError) as exc:
        raise BackupError(f"The backup's public rows cannot be read: {exc}") from exc
    found = [o for o in objects if isinstance(o, Municipality)]
    if len(found) != 1:
        raise BackupError("The backup holds no municipality row.")
    municipality = found[0]
    source_schema = str(municipality.schema_name)
    domains = [o for o in objects if isinstance(o, Domain)]
    memberships = [o for o in objects if isinstance(o, Membership)]
    if slug is not None and slug != municipality.slug:
        municipality.slug = slug
        municipality.schema_name = schema_name_for(slug)
        domains = [Domain(domain=tenant_domain(slug), is_primary=True)]

    problems: list[str] = []
    if schema_exists(source_schema, case_sensitive=False):
        if source_schema == municipality.schema_name:
            problems.append(f"The schema {source_schema} exists; a restore never overwrites one.")
        else:
            problems.append(
                f"The backup's schema {source_schema} exists: restoring under another "
                "address restores into it first, so it must be free (restore into another "
                "database to copy a municipality that still exists)."
            )
    if municipality.schema_name != source_schema and schema_exists(
        municipality.schema_name, case_sensitive=False
    ):
        problems.append(f"The schema {municipality.schema_name} exists.")
    if Municipality.objects.filter(pk=municipality.pk).exists():
        municipality.pk = None  # the id is taken: the restored row gets a new one
    try:
        municipality.full_clean()
    except ValidationError as exc:
        problems.append(_errors(exc))
    for domain in domains:
        if Domain.objects.filter(domain=domain.domain).exists():
            problems.append(f"The domain {domain.domain} is taken.")
        if domain.pk is not None and Domain.objects.filter(pk=domain.pk).exists():
            domain.pk = None
    if problems:
        raise BackupError("Cannot restore:\n  " + "\n  ".join(problems))

    emails: dict[str, str] = archive.public.get("users", {})
    kept: list[Membership] = []
    skipped: list[str] = []
    for membership in memberships:
        email = emails.get(str(membership.user_id), "")
        user = User.objects.filter(pk=membership.user_id, email=email).first()
        user = user or User.objects.filter(email=email).first()
        if user is None:
            skipped.append(email or f"user {membership.user_id}")
            continue
        membership.user = user
        if Membership.objects.filter(pk=membership.pk).exists():
            membership.pk = None
        kept.append(membership)
    return _Plan(municipality, domains, kept, skipped, source_schema)


def _sequences_advance(models: Sequence[type[Model]]) -> None:
    """Move each model's id sequence past the ids restored (never back)."""
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            query = sql.SQL(
                "SELECT setval(s.seq, GREATEST(COALESCE(pg_sequence_last_value(s.seq), 1), "
                "(SELECT COALESCE(MAX(id), 1) FROM {}))) "
                "FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s "
                "WHERE s.seq IS NOT NULL"
            ).format(sql.Identifier(table))
            cursor.execute(query.as_string(), [sql.Identifier(table).as_string()])


def _drop_schema(schema: str) -> None:
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(schema)).as_string())


@dataclass(frozen=True)
class RestoreResult:
    municipality: Municipality
    tables: dict[str, int]
    memberships: int
    skipped_members: list[str]
    migrated: bool

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def municipality_restore(
    *,
    path: Path | str,
    slug: str | None = None,
    actor: User | None = None,
    verbosity: int = 0,
) -> RestoreResult:
    """Restore the backup at ``path`` as a new municipality (under ``slug`` if given).

    Raises BackupError if anything it would create exists, if the archive is damaged, or
    if the restored schema does not hold exactly the rows the manifest counted; nothing is
    left behind then."""
    if connection.in_atomic_block:
        raise BackupError("A restore runs outside a transaction (pg_restore commits its own).")
    use_public_schema()
    with archive_opened(path) as archive:
        plan = _restore_plan(archive, slug)
        tools = pg_tools()
        database = pg_connection()
        _run(
            [
                tools.pg_restore,
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                "--no-tablespaces",
                f"--dbname={database.conninfo}",
                archive.dump,
            ],
            database,
        )
        try:
            counts = _restore_public_rows(plan, archive, Path(path).name, actor)
        except BaseException:
            _drop_schema(plan.source_schema)  # made by this pg_restore: it was free before
            raise
    migrated = False
    if schemas_with_pending_migrations([plan.schema]):
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=plan.schema,
            interactive=False,
            verbosity=verbosity,
        )
        migrated = True
    use_public_schema()
    logger.info("Restored %s from %s", plan.municipality.slug, path)
    return RestoreResult(
        plan.municipality, counts, len(plan.memberships), plan.skipped_members, migrated
    )


def _restore_public_rows(
    plan: _Plan, archive: Archive, name: str, actor: User | None
) -> dict[str, int]:
    municipality = plan.municipality
    with audited_write(actor):
        if plan.source_schema != plan.schema:
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}")
                    .format(sql.Identifier(plan.source_schema), sql.Identifier(plan.schema))
                    .as_string()
                )
        counts = table_row_counts(plan.schema)
        expected = {str(k): int(v) for k, v in archive.manifest.get("tables", {}).items()}
        if counts != expected:
            differ = sorted(
                f"{t}: {expected.get(t)} in the backup, {counts.get(t)} restored"
                for t in set(counts) | set(expected)
                if counts.get(t) != expected.get(t)
            )
            raise BackupError("The restored schema differs from the backup:\n  "
                              + "\n  ".join(differ))
        # Raw saves keep every value of the backup (created_at too, which a normal save
        # would set to now); the audit entries are written all the same.
        with disable_auditlog():
            Model.save_base(municipality, raw=True, force_insert=True)
        LogEntry.objects.log_create(
            municipality,
            action=LogEntry.Action.CREATE,
            changes=model_instance_diff(None, municipality),
            actor=actor,
            additional_data={
                "operation": "restore",
                "file": name,
                "backup_created_at": archive.manifest.get("created_at"),
                "backup_slug": archive.manifest.get("municipality", {}).get("slug"),
                "tables": len(counts),
                "rows": sum(counts.values()),
            },
        )
        for domain in plan.domains:
            domain.tenant = municipality
            Model.save_base(domain, raw=True, force_insert=True)
        for membership in plan.memberships:
            membership.municipality = municipality
            Model.save_base(membership, raw=True, force_insert=True)
        _sequences_advance([Municipality, Domain, Membership])
    return counts
