"""Provisioning by replay: the template schema's DDL and rows, dumped once, run per schema.

django-tenants' ``clone_schema()`` looks every table, sequence and constraint up by name
across all schemas; with hundreds of schemas (and stale catalog statistics) each clone gets
slower (issue 11: 0.48 s per municipality at 50 schemas, 11.7 s at 357 with autovacuum
off). Replaying ``pg_dump --schema=<template> --inserts`` instead is a fixed list of
``CREATE TABLE`` / ``INSERT`` / ``ALTER TABLE`` statements whose cost does not depend on how
many schemas exist, and it reproduces the template exactly: constraint names, sequence
types, identity columns, indexes and the template's rows (``django_migrations``,
``django_content_type``).

The script is dumped once per process and template state (a fingerprint of the template's
migrations and relations) and reused for every municipality created after it. pg_dump reads
committed data only, so a template that the current transaction has changed cannot be
dumped faithfully; the script is checked against what this connection sees and, when it
differs or no ``pg_dump`` of the server's version is installed, provisioning falls back to
the clone (``tenants.services``).
"""

from __future__ import annotations

import logging
import re
import secrets
import subprocess
import threading
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, transaction
from django.db.models import CheckConstraint

logger = logging.getLogger(__name__)

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")
# Session settings and the schema itself: the replay runs in Django's connection, inside
# the provisioning transaction, and creates the schema on its own.
# pg_dump since 17.6/16.10/15.14 wraps its output in psql's \restrict … \unrestrict.
_SKIPPED_LINE = re.compile(
    r"^(SET |SELECT pg_catalog\.set_config\(|CREATE SCHEMA |--|\\restrict |\\unrestrict )"
)
_TABLE = re.compile(r"^CREATE TABLE ", re.MULTILINE)
# A table constraint line inside pg_dump's CREATE TABLE: "    CONSTRAINT name CHECK (…),".
_CHECK_LINE = re.compile(r'^(\s+)CONSTRAINT ("[^"]+"|\w+) (CHECK \(.*\))(,?)$', re.MULTILINE)


class ReplayUnavailable(Exception):
    """The template cannot be replayed here; the message says why (the clone is used)."""


@dataclass(frozen=True)
class TemplateScript:
    """The template's DDL and rows with every qualified name written as ``{schema}.``."""

    fingerprint: str
    sql: str
    tables: int
    rows: int

    def for_schema(self, schema: str) -> str:
        if not _SCHEMA.match(schema):
            raise ValueError(f"not a schema name: {schema!r}")
        return self.sql.replace("\0schema\0", f'"{schema}"')


_cache: dict[tuple[str, str], TemplateScript] = {}
_cache_lock = threading.Lock()


def template_fingerprint(template: str) -> tuple[str, int, int]:
    """What identifies the template's state as this connection sees it: a digest of its
    applied migrations and of its relations (name, kind, column count), its number of
    tables and the number of rows in them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
            "AND relkind IN ('r', 'p') ORDER BY relname",
            [template],
        )
        tables = [str(row[0]) for row in cursor.fetchall()]
        counts = " + ".join(f'(SELECT count(*) FROM "{template}"."{t}")' for t in tables)
        cursor.execute(
            f"""
            SELECT md5(coalesce(
                     (SELECT string_agg(app || '.' || name, ',' ORDER BY id)
                      FROM "{template}".django_migrations), '')
                   || '|' || coalesce(
                     (SELECT string_agg(relname || ':' || relkind::text || ':' || relnatts, ','
                                        ORDER BY relname)
                      FROM pg_class WHERE relnamespace = %s::regnamespace), '')),
                   {counts or "0"}
            """,
            [template],
        )
        row = cursor.fetchone()
    assert row is not None
    return str(row[0]), len(tables), int(row[1])


def _dump(template: str) -> str:
    from . import backup  # imports tenants.services, which imports this module

    try:
        tools = backup.pg_tools()
    except backup.BackupError as exc:
        raise ReplayUnavailable(str(exc)) from exc
    target = backup.pg_connection()
    command = [
        str(tools.pg_dump),
        f"--schema={template}",
        "--inserts",
        "--no-owner",
        "--no-privileges",
        "--no-comments",
        "--lock-wait-timeout=60s",
        f"--dbname={target.conninfo}",
    ]
    try:
        result = subprocess.run(  # noqa: S603 - pg_dump found by pg_tools(), fixed arguments
            command, env=target.env, capture_output=True, text=True, check=False, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReplayUnavailable(f"pg_dump did not run: {exc}") from exc
    if result.returncode != 0:
        raise ReplayUnavailable(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout


def migration_checks() -> dict[str, str]:
    """The SQL that migrations write for each model's CHECK constraint, by name.

    PostgreSQL stores ``col IN ('a', 'b')`` as ``col = ANY (ARRAY[...])``; pg_dump prints
    that back as ``= ANY ((ARRAY[...])::text[])``, which parses into a different (equivalent)
    expression, so a replayed schema would differ from a migrated one in those constraints.
    The replay uses the migrations' own text for them instead."""
    checks: dict[str, str] = {}
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for model in apps.get_models():
            for constraint in model._meta.constraints:
                if isinstance(constraint, CheckConstraint):
                    checks[constraint.name] = str(constraint.constraint_sql(model, editor))
    return checks


def _with_migration_checks(body: str, checks: dict[str, str]) -> str:
    def replaced(match: re.Match[str]) -> str:
        sql = checks.get(match.group(2).strip('"'))
        return match.group(0) if sql is None else match.group(1) + sql + match.group(4)

    return _CHECK_LINE.sub(replaced, body)


def script_from_dump(dump: str, template: str, checks: dict[str, str] | None = None) -> str:
    """The dump without session settings, comments and CREATE SCHEMA, with the template's
    qualified names replaced by a placeholder and the CHECK constraints in ``checks``
    (name → SQL) written as given."""
    kept = [line for line in dump.splitlines() if not _SKIPPED_LINE.match(line)]
    if any(line.startswith("\\") for line in kept):
        raise ReplayUnavailable("the dump holds psql meta-commands other than \\restrict")
    body = "\n".join(kept)
    # pg_dump writes a lower-case schema name unquoted, as ``tenant_template.x``, also inside
    # setval('tenant_template.x_id_seq', …); only qualified names carry it.
    body = re.sub(rf'(?<![\w"]){re.escape(template)}\.', "\0schema\0.", body)
    body = re.sub(rf'"{re.escape(template)}"\.', "\0schema\0.", body)
    if re.search(rf"(?<![\w]){re.escape(template)}(?![\w])", body):
        raise ReplayUnavailable(f"the dump names {template} outside qualified names")
    return _with_migration_checks(body, checks or {}).strip() + "\n"


def template_script(template: str) -> TemplateScript:
    """The replay script of ``template`` in its current state, dumped at most once per
    state and process. Raises ReplayUnavailable when it cannot be had faithfully."""
    fingerprint, tables, rows = template_fingerprint(template)
    key = (str(connection.settings_dict.get("NAME")), template)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached
        sql = script_from_dump(_dump(template), template, migration_checks())
        dumped_tables = len(_TABLE.findall(sql))
        dumped_rows = sql.count("\nINSERT INTO ") + sql.startswith("INSERT INTO ")
        if (dumped_tables, dumped_rows) != (tables, rows):
            # The dump saw committed data only; this transaction sees another template.
            raise ReplayUnavailable(
                f"the dump of {template} has {dumped_tables} tables and {dumped_rows} rows, "
                f"this transaction sees {tables} and {rows}"
            )
        script = TemplateScript(fingerprint, sql, tables, rows)
        _verify(script, template)
        _cache[key] = script
        return script


_DEFINITIONS = """
    SELECT 'constraint', c.relname || '.' || con.conname,
           con.contype::text || ' ' || pg_get_constraintdef(con.oid)
           || ' ' || con.condeferrable::text || con.condeferred::text
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
    WHERE con.connamespace = %(schema)s::regnamespace
    UNION ALL
    SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s
    UNION ALL
    SELECT 'column', c.relname || '.' || a.attname,
           format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
           || a.attidentity::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = %(schema)s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
"""


def _definitions(schema: str) -> set[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(_DEFINITIONS, {"schema": schema})
        return {
            (kind, name, re.sub(rf'"?{re.escape(schema)}"?\.', "", definition))
            for kind, name, definition in cursor.fetchall()
        }


def _verify(script: TemplateScript, template: str) -> None:
    """Replay the script once into a scratch schema, rolled back, and compare its columns,
    constraints and indexes with the template's: a dump that does not reproduce the
    template exactly is never used."""
    scratch = f"replay_check_{secrets.token_hex(6)}"
    with transaction.atomic():
        sid = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{scratch}"')
                cursor.execute(script.for_schema(scratch))
            differences = _definitions(scratch) ^ _definitions(template)
        finally:
            transaction.savepoint_rollback(sid)
    if differences:
        shown = ", ".join(sorted(f"{kind} {name}" for kind, name, _ in differences)[:5])
        raise ReplayUnavailable(f"the replayed template differs from it: {shown}")


def replay_template(template: str, schema: str) -> None:
    """Create ``schema`` as an exact copy of ``template`` (structure and rows) in the
    current transaction."""
    script = template_script(template)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
        # No parameters: psycopg sends the script in one simple-protocol round trip.
        cursor.execute(script.for_schema(schema))


def forget_scripts() -> None:
    """Drop the cached scripts (tests; a process that changed its database settings)."""
    with _cache_lock:
        _cache.clear()
