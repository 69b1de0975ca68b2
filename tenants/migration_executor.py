"""`migrate_schemas` for hundreds of municipalities.

* The template schema that new municipalities are cloned from is migrated with them.
* Schemas with nothing to apply are skipped: one query reads every schema's applied
  migrations, so a no-op run costs one round trip instead of a `migrate` per schema.
* The rest run in parallel (django-tenants' multiprocessing executor) when there is more
  than one and we are not inside a transaction (provisioning runs inside one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import get_executor as default_get_executor
from django_tenants.migration_executors.base import MigrationExecutor
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.migration_executors.standard import StandardExecutor
from django_tenants.utils import get_public_schema_name, schema_exists


def expected_migrations() -> set[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return {key for key in loader.graph.nodes if key not in loader.replacements}


def schemas_with_pending_migrations(schemas: Iterable[str]) -> list[str]:
    schemas = list(schemas)
    if not schemas:
        return []
    expected = expected_migrations()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schemas],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        applied: dict[str, set[tuple[str, str]]] = {s: set() for s in with_table}
        if with_table:
            union = " UNION ALL ".join(
                f'SELECT %s, app, name FROM "{s}".django_migrations' for s in sorted(with_table)
            )
            cursor.execute(union, sorted(with_table))
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return [s for s in schemas if s not in with_table or not expected <= applied[s]]


class SkippingParallelExecutor(MigrationExecutor):
    codename = "sovei"

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        tenants = list(tenants or [])
        public = get_public_schema_name()
        if public in tenants:  # migrate_schemas sends the public schema in a call of its own
            StandardExecutor(self.args, self.options).run_migrations([public])
            return
        template = getattr(settings, "TENANT_BASE_SCHEMA", None)
        if template and not self.options.get("schema_name") and template not in tenants:
            if not schema_exists(template):
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA "{template}"')
            tenants.append(template)
        if self.options.get("fake") or self.options.get("app_label"):
            pending = tenants
        else:
            pending = schemas_with_pending_migrations(tenants)
            skipped = len(tenants) - len(pending)
            if skipped and int(self.options.get("verbosity", 1)) >= 1:
                print(f"[sovei] {skipped} of {len(tenants)} schemas are up to date; skipped.")
        if not pending:
            return
        if len(pending) == 1 or connection.in_atomic_block:
            StandardExecutor(self.args, self.options).run_migrations(pending)
        else:
            MultiprocessingExecutor(self.args, self.options).run_migrations(pending)

    def run_multi_type_migrations(self, tenants: Any) -> None:
        raise NotImplementedError("SoVei has one tenant type.")


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    if codename in (None, SkippingParallelExecutor.codename):
        return SkippingParallelExecutor
    return default_get_executor(codename)  # type: ignore[no-any-return]
