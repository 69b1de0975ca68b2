"""tests/worker_support.py: the real worker the tests start must use exactly the database
and the Redis server of the test process, including an embedded PostgreSQL that listens
only on a unix socket in ./var/run/pg and an embedded Redis on another port (what
`make test` starts on a machine with no servers of its own)."""

from __future__ import annotations

from typing import Any

import environ
import psycopg
import pytest
from django.db import connection

from . import worker_support
from .worker_support import database_url

SOCKET_DIR = "/work/main/var/run/pg"
COMPARED = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def parsed(url: str) -> dict[str, Any]:
    """What the worker's settings make of the URL (base.py reads DATABASE_URL this way)."""
    config = environ.Env.db_url_config(url)
    return {key: config.get(key) or None for key in COMPARED}


def expected(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: settings.get(key) or None for key in COMPARED}


def test_it_keeps_the_socket_directory_of_an_embedded_database() -> None:
    # What settings make of deploy/local.py's postgresql://postgres@/sovei?host=<dir>.
    embedded = {"NAME": "test_sovei", "USER": "postgres", "PASSWORD": "", "HOST": "",
                "PORT": "", "OPTIONS": {"host": SOCKET_DIR}}

    url = database_url(embedded)

    assert parsed(url) == expected(embedded)
    assert "127.0.0.1" not in url


def test_it_keeps_a_socket_directory_given_as_the_host() -> None:
    socket_host = {"NAME": "test_sovei", "USER": "postgres", "PASSWORD": "",
                   "HOST": "/var/run/postgresql", "PORT": 5433, "OPTIONS": {}}

    assert parsed(database_url(socket_host)) == {
        **expected(socket_host), "HOST": None, "PORT": None,
        "OPTIONS": {"host": "/var/run/postgresql", "port": 5433}}


def test_it_keeps_host_port_credentials_and_options() -> None:
    remote = {"NAME": "test_sovei", "USER": "sovei app", "PASSWORD": "p@ss:w/rd?",
              "HOST": "db.example.no", "PORT": 6432, "OPTIONS": {"sslmode": "require"}}
    ipv6 = {**remote, "HOST": "::1"}

    assert parsed(database_url(remote)) == expected(remote)
    assert parsed(database_url(ipv6)) == expected(ipv6)


def test_it_points_the_worker_at_the_server_and_database_this_process_uses(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT system_identifier FROM pg_control_system()")
        ours = cursor.fetchone()

    with psycopg.connect(database_url(), connect_timeout=5) as conn:
        theirs = conn.execute(
            "SELECT system_identifier FROM pg_control_system()").fetchone()
        name = conn.execute("SELECT current_database()").fetchone()

    assert theirs == ours
    assert name == (connection.settings_dict["NAME"],)


@pytest.mark.parametrize(
    ("environment", "redis_url", "wanted"),
    [
        # make test without services: the embedded Redis on 6390 (db 1 for the tests)
        ({}, "redis://127.0.0.1:6390/1", "redis://127.0.0.1:6390/15"),
        ({}, "redis://:secret@cache.example.no:6380", "redis://:secret@cache.example.no:6380/15"),
        # an explicit choice wins
        ({"SOVEI_TEST_REDIS_URL": "redis://127.0.0.1:6379/14"}, "redis://127.0.0.1:6390/1",
         "redis://127.0.0.1:6379/14"),
    ],
)
def test_it_gives_the_worker_a_redis_database_on_the_configured_server(
    environment: dict[str, str], redis_url: str, wanted: str
) -> None:
    assert worker_support.redis_url_for_tests(environment, redis_url) == wanted
