"""`celery -A sovei_platform call research.tasks.refresh_research_store`, as docs/research.md
tells an operator to run it: the command sends the message (to an isolated Redis database
and queue here), and a real worker runs the refresh it asks for."""

# ruff: noqa: S603 - runs the project's own celery executable
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis
from django.apps import apps
from django.db import connection

from .conftest import World
from .worker_support import (
    REPO,
    TEST_REDIS_URL,
    WorkerProcess,
    database_url,
    poll,
    redis_queue_delete,
    unique_name,
)

TASK = "research.tasks.refresh_research_store"


def celery_call(*, redis_url: str, queue: str) -> subprocess.CompletedProcess[str]:
    """The documented command, exactly, with the broker and queue given in the environment."""
    celery = str(Path(sys.executable).with_name("celery"))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="sovei_platform.settings.test",
        REDIS_URL=redis_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    return subprocess.run(
        [celery, "-A", "sovei_platform", "call", TASK],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120,
    )


def test_it_sends_the_refresh_from_the_command_line() -> None:
    queue = unique_name("sovei-cli")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        result = celery_call(redis_url=TEST_REDIS_URL, queue=queue)

        assert "AppRegistryNotReady" not in result.stderr
        assert result.returncode == 0, result.stderr
        messages = client.lrange(queue, 0, -1)
        assert len(messages) == 1
        headers = json.loads(messages[0])["headers"]
        assert headers["task"] == TASK
        assert headers["_schema_name"] == "public"  # the refresh runs in the public schema
        assert headers["id"] in result.stdout  # the command prints the task id
    finally:
        client.close()
        redis_queue_delete(TEST_REDIS_URL, queue)


def research_tables() -> dict[str, str]:
    """Table -> primary key column of every model of the research app (public schema)."""
    return {
        model._meta.db_table: model._meta.pk.column
        for model in apps.get_app_config("research").get_models()
    }


def newest_ids() -> dict[str, int]:
    with connection.cursor() as cursor:
        newest = {}
        for table, pk in research_tables().items():
            cursor.execute(f'SELECT COALESCE(MAX("{pk}"), 0) FROM "{table}"')
            newest[table] = int(cursor.fetchone()[0])
    return newest


def research_rows_discard(*, newer_than: dict[str, int]) -> None:
    """Delete the rows a worker committed since `newer_than`, through a connection of its
    own (the test's connection is inside the test's transaction, which is rolled back)."""
    with psycopg.connect(database_url()) as conn, conn.transaction():
        for table, pk in research_tables().items():
            conn.execute(f'DELETE FROM "{table}" WHERE "{pk}" > %s', [newer_than[table]])


@pytest.mark.worker
def test_a_real_worker_runs_the_refresh_the_command_line_sent(world: World, db: None) -> None:
    # What the worker commits (a refresh of the session's municipalities, which share by
    # default) is removed again at the end.
    before = newest_ids()
    worker = WorkerProcess(database_url=database_url())
    worker.start()
    try:
        result = celery_call(redis_url=worker.redis_url, queue=worker.queue)
        assert result.returncode == 0, result.stderr

        # The worker ran the refresh (it publishes only when a publication is due).
        poll(lambda: re.search(rf"{re.escape(TASK)}\[[^]]+\] succeeded", worker.log()),
             timeout=60)
    finally:
        worker.cleanup()
        research_rows_discard(newer_than=before)
