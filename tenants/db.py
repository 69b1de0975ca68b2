"""The connection's schema, typed (django-tenants adds these methods to the backend)."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection


def tenant_connection() -> Any:
    return cast(Any, connection)


def use_public_schema() -> None:
    tenant_connection().set_schema_to_public()
