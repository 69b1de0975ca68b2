"""Reads of a municipality's schema as a whole: its tables, their rows and row counts.

Used by the backup, export and erasure of one municipality (tenants.backup,
tenants.export, tenants.services). Every query names the schema explicitly
(``"schema"."table"``), so none depends on the connection's search path, and the schema
name is always one that ``schema_tables`` found in the catalog, never raw input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from psycopg import sql

from .db import use_public_schema
from .models import Municipality


def municipality_by_slug(slug: str) -> Municipality | None:
    use_public_schema()
    return Municipality.objects.filter(slug=slug).first()


@contextmanager
def consistent_read() -> Iterator[None]:
    """Every read inside the block sees one snapshot of the database (a repeatable-read,
    read-only transaction), so rows written meanwhile are in all of them or in none.
    Inside a transaction already (a test), the reads share that one instead."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def schema_tables(schema: str) -> list[str]:
    """The ordinary tables of ``schema``, by name (no views, sequences or indexes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [schema],
        )
        return [row[0] for row in cursor.fetchall()]


def table_primary_key(schema: str, table: str) -> list[str]:
    """The primary-key columns of a table, in key order (empty: it has none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary "
            "ORDER BY k.position",
            [schema, table],
        )
        return [row[0] for row in cursor.fetchall()]


def table_columns(schema: str, table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [schema, table],
        )
        return [row[0] for row in cursor.fetchall()]


def ordered_select(schema: str, table: str) -> str:
    """``SELECT * FROM "schema"."table" ORDER BY <primary key>`` (every column, in the
    table's column order; rows in key order when it has a key, else by every column)."""
    key = table_primary_key(schema, table) or table_columns(schema, table)
    order = sql.SQL(", ").join(sql.Identifier(column) for column in key)
    query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(sql.Identifier(schema, table), order)
    return query.as_string()


def table_row_counts(schema: str) -> dict[str, int]:
    """Rows per table of ``schema``, counted (not estimated)."""
    tables = schema_tables(schema)
    if not tables:
        return {}
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, count(*) FROM {}").format(
            sql.Literal(table), sql.Identifier(schema, table)
        )
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string())
        return {name: int(count) for name, count in cursor.fetchall()}
