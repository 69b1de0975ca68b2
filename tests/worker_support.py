"""Helpers for tests and benchmarks that run a real Celery worker against Redis.

* ``WorkerProcess``: ``celery -A sovei_platform worker --pool=solo`` as a subprocess on its
  own queue and Redis database, pointed at a given PostgreSQL database; stopped (SIGTERM,
  then SIGKILL) by pid, or killed outright (``kill``: SIGKILL, as a crash or the OOM killer
  would, to its own process group when started with ``new_session``).
* ``use_broker``: point this process's Celery app at another broker URL and queue (the
  producer pool is rebuilt), e.g. a closed port to simulate a broker that is down.
* ``scratch_municipality``: a municipality created and committed for the worker to see,
  removed afterwards with its schema (so pytest-django never has to flush the database).
* ``poll``: wait, bounded, for a condition.

The worker must use exactly the servers of the process that starts it: ``database_url()``
rebuilds the URL of this process's database (a unix socket directory included, as
``make test`` uses for its embedded PostgreSQL) and ``TEST_REDIS_URL`` is a database of the
configured Redis server (``SOVEI_TEST_REDIS_URL`` overrides it).
"""

# ruff: noqa: S603 - runs the project's own celery executable
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis
from django.db import connection

from sovei_platform.celery import app

REPO = Path(__file__).resolve().parent.parent
TEST_REDIS_DB = 15  # of the configured Redis server, unless SOVEI_TEST_REDIS_URL says otherwise
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/15"

T = TypeVar("T")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def redis_url_for_tests(environment: Mapping[str, str], redis_url: str) -> str:
    """``SOVEI_TEST_REDIS_URL``, else database 15 of the server ``redis_url`` names."""
    explicit = environment.get("SOVEI_TEST_REDIS_URL")
    if explicit:
        return explicit
    parts = urllib.parse.urlsplit(redis_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}"))


def _configured_redis_url() -> str:
    from django.conf import settings

    return str(settings.REDIS_URL)


TEST_REDIS_URL = redis_url_for_tests(os.environ, _configured_redis_url())


def database_url(settings_dict: Mapping[str, Any] | None = None) -> str:
    """A DATABASE_URL for exactly the database of ``settings_dict`` (default: this
    process's default connection, i.e. the test database).

    Settings' ``env.db_url`` reads it back into the same NAME, USER, PASSWORD, HOST, PORT
    and OPTIONS. A unix socket directory (in OPTIONS["host"], or a HOST starting with
    "/") travels as libpq's ``?host=`` parameter, since a path cannot be a URL's host."""
    settings = connection.settings_dict if settings_dict is None else settings_dict
    options = {str(k): str(v) for k, v in (settings.get("OPTIONS") or {}).items()}
    host = str(settings.get("HOST") or "")
    port = str(settings.get("PORT") or "")
    if host.startswith("/"):
        options["host"] = host
        if port:
            options["port"] = port
        host = port = ""
    quote = urllib.parse.quote
    auth = quote(str(settings.get("USER") or ""), safe="")
    if settings.get("PASSWORD"):
        auth += ":" + quote(str(settings["PASSWORD"]), safe="")
    netloc = f"{auth}@" if auth else ""
    netloc += (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    query = urllib.parse.urlencode(options, quote_via=urllib.parse.quote, safe="/")
    name = quote(str(settings["NAME"]), safe="")
    return urllib.parse.urlunsplit(("postgresql", netloc, f"/{name}", query, ""))


def poll(
    condition: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Call `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class WorkerProcess:
    """A real Celery worker (solo pool, concurrency 1) on its own queue."""

    database_url: str
    queue: str = field(default_factory=lambda: unique_name("sovei-test"))
    redis_url: str = TEST_REDIS_URL
    log_path: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / f"{unique_name('worker')}.log"
    )
    settings_module: str = "sovei_platform.settings.test"
    extra_env: dict[str, str] = field(default_factory=dict)  # set last, over the rest
    new_session: bool = False  # a process group of its own (``kill`` then kills the group)
    process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings_module,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, *, ready_timeout: float = 90.0) -> None:
        """Start the worker and wait until it consumes its queue."""
        self.launch()
        self.wait_ready(timeout=ready_timeout)

    def launch(self) -> None:
        """Start the process without waiting (to start several workers side by side)."""
        celery = Path(sys.executable).with_name("celery")
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(celery), "-A", "sovei_platform", "worker",
                "--pool=solo", "--concurrency=1", "-Q", self.queue,
                "-n", f"{self.log_path.stem}@%h",  # unique, also for workers of one queue
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-l", "INFO",
            ],
            cwd=str(REPO),
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
        )
        log.close()

    def wait_ready(self, *, timeout: float = 90.0) -> None:
        try:
            poll(self._ready, timeout=timeout, interval=0.2)
        except AssertionError:
            self.stop()
            raise AssertionError(f"worker did not start; log:\n{self.log()}") from None

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")
        return " ready." in self.log()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # warm shutdown: the running task finishes
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, no warm shutdown: the running task dies unacknowledged mid-way."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.new_session:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        """Stop the worker and remove its queue and bookkeeping keys from Redis."""
        self.stop()
        redis_queue_delete(self.redis_url, self.queue)
        if not os.environ.get("SOVEI_KEEP_WORKER_LOG"):
            with contextlib.suppress(OSError):
                self.log_path.unlink()


def redis_queue_delete(url: str, queue: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = [queue, f"_kombu.binding.{queue}"]
        keys += list(client.scan_iter(match=f"*{queue}*", count=1000))
        client.delete(*keys)
    finally:
        client.close()


def redis_keys_delete(url: str, pattern: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _reset_producer_pool() -> None:
    app._pool = None  # type: ignore[attr-defined]
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@contextlib.contextmanager
def use_broker(url: str, queue: str | None = None) -> Iterator[None]:
    """Send this process's tasks to `url` (and `queue`) inside the block."""
    old_url, old_queue = app.conf.broker_url, app.conf.task_default_queue
    app.conf.broker_url = url
    if queue is not None:
        app.conf.task_default_queue = queue
    _reset_producer_pool()
    try:
        yield
    finally:
        app.conf.broker_url = old_url
        app.conf.task_default_queue = old_queue
        _reset_producer_pool()


def scratch_municipality_create(slug: str, kommunenummer: str) -> object:
    """Create and commit a municipality (call with the database unblocked, autocommit)."""
    from tenants.services import municipality_create

    return municipality_create(name=f"Test {slug}", kommunenummer=kommunenummer, slug=slug)


def scratch_municipality_drop(schema_name: str) -> None:
    """Remove a scratch municipality: its row, domains, memberships and schema."""
    from django.db import transaction

    from tenants.db import use_public_schema
    from tenants.models import Municipality

    use_public_schema()
    with transaction.atomic():
        Municipality.objects.filter(schema_name=schema_name).delete()
        with connection.cursor() as cursor:
            schema = connection.ops.quote_name(schema_name)
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    use_public_schema()


def free_kommunenummer() -> str:
    """A valid municipality number no municipality of this database uses."""
    from tenants.models import Municipality
    from tenants.validators import COUNTIES

    taken = set(Municipality.objects.values_list("kommunenummer", flat=True))
    for county in sorted(COUNTIES, reverse=True):
        for tail in range(99, 0, -1):
            number = f"{county}{tail:02d}"
            if number not in taken:
                return number
    raise RuntimeError("no free municipality number")
