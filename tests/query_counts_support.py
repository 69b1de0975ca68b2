"""Helpers for counting a request's SQL statements (tests/test_query_counts.py,
tests/test_search_path.py); no tests of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants.routing import forget_routes

SET_SEARCH_PATH = "SET search_path"


@dataclass(frozen=True)
class Statements:
    """The SQL statements one request sent, in order."""

    status: int
    sql: list[str]

    @property
    def count(self) -> int:
        return len(self.sql)

    @property
    def search_paths(self) -> list[str]:
        return [s for s in self.sql if s.startswith(SET_SEARCH_PATH)]

    def listing(self) -> str:
        return "\n".join(f"  {s[:160]}" for s in self.sql)


def statements_of(client: Client, url: str) -> Statements:
    """One GET and the statements it sent. The connection is put back on the public
    schema afterwards (the request leaves it on its municipality's)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    connection.set_schema_to_public()
    return Statements(response.status_code, [q["sql"] for q in captured.captured_queries])


@pytest.fixture
def remembered_hosts(settings: pytest.FixtureRequest) -> Iterator[None]:
    """Host routing as in production: a process remembers a host's municipality
    (the test settings look it up on every request, see sovei_platform/settings/test.py)."""
    settings.TENANT_HOST_CACHE_SECONDS = 60  # type: ignore[attr-defined]
    forget_routes()
    yield
    forget_routes()
