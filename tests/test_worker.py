"""The aggregation worker for real: a Celery worker subprocess against Redis and the test
database (no eager mode, no mocks).

The worker only sees committed rows, and pytest-django's ``transactional_db`` would flush
the session's shared municipalities at teardown. So the real-worker tests commit their
writes in a scratch municipality of their own (module fixture ``env``, database
unblocked, autocommit: ``on_commit`` runs at once), which is dropped with its schema
afterwards. The worker consumes its own queue on its own Redis database
(``SOVEI_TEST_REDIS_URL``, default database 15 of the server ``REDIS_URL`` names), so
nothing else sees these tasks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.aggregation import pending_mark, recompute_municipality, recompute_school
from dashboards.models import (
    AggregateStatus,
    FidelityAggregate,
    MunicipalitySpread,
    OutcomeAggregate,
    PendingRecompute,
    ResponseRateAggregate,
    StageAggregate,
)
from dashboards.signals import EnqueueAfterCommit
from implementation.models import School
from implementation.services import activity_log, school_create, team_response_submit
from implementation.services._common import today
from tenants.db import use_public_schema
from tenants.models import Municipality
from worker.dispatch import Enqueued, coalesce_key, enqueue_recompute, publish, release
from worker.models import RecomputeRun
from worker.services import pending_sweep

from .conftest import World, persona
from .recording import adopt, instrument, module, open_round
from .worker_support import (
    CLOSED_PORT_BROKER,
    TEST_REDIS_URL,
    WorkerProcess,
    database_url,
    free_kommunenummer,
    poll,
    redis_keys_delete,
    redis_queue_delete,
    scratch_municipality_drop,
    unique_name,
    use_broker,
)

WAIT = 30.0  # seconds a committed write may take to show up in the aggregates


@dataclass
class Env:
    worker: WorkerProcess
    municipality: Municipality
    school_id: int
    other_school_id: int
    started_at: Any

    @property
    def schema(self) -> str:
        return str(self.municipality.schema_name)


@pytest.fixture(scope="module")
def env(world: World, django_db_blocker: Any) -> Iterator[Env]:
    """A running worker, this process's tasks routed to it, and a scratch municipality
    with two schools (committed)."""
    from tenants.services import municipality_create

    worker = WorkerProcess(database_url=database_url())
    worker.start()
    slug = f"wt{unique_name('x')[-8:]}"
    municipality = None
    started_at = timezone.now()
    try:
        with use_broker(worker.redis_url, worker.queue), django_db_blocker.unblock():
            municipality = municipality_create(
                name=f"Arbeidertest {slug}", kommunenummer=free_kommunenummer(), slug=slug
            )
            with tenant_context(municipality):
                school = school_create(name="Vikhammer skole")
                other = school_create(name="Hommelvik skole")
            use_public_schema()
            yield Env(worker, municipality, school.pk, other.pk, started_at)
    finally:
        worker.cleanup()
        with django_db_blocker.unblock():
            if municipality is not None:
                scratch_municipality_drop(municipality.schema_name)
                redis_keys_delete(TEST_REDIS_URL, f"sovei:recompute:{municipality.schema_name}:*")
            RecomputeRun.objects.filter(kind="manual", started_at__gte=started_at).delete()


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        yield
    use_public_schema()


def idle(school_id: int) -> bool:
    """No recomputation of the school is outstanding (its marker is gone)."""
    return not PendingRecompute.objects.filter(school_id=school_id).exists()


def school_rows(school_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """A school's aggregate rows (and the spread) without ids and timestamps."""
    result = {}
    for model in (FidelityAggregate, StageAggregate, OutcomeAggregate, ResponseRateAggregate):
        names = [f.attname for f in model._meta.concrete_fields
                 if f.name not in {"id", "computed_at"}]
        result[model.__name__] = sorted(
            model.objects.filter(school_id=school_id).values_list(*names), key=repr)
    names = [f.attname for f in MunicipalitySpread._meta.concrete_fields
             if f.name not in {"id", "computed_at"}]
    result["MunicipalitySpread"] = sorted(
        MunicipalitySpread.objects.values_list(*names), key=repr)
    return result


# --- With a real worker --------------------------------------------------------------------


@pytest.mark.worker
def test_it_recomputes_the_aggregates_a_moment_after_a_committed_write(
    env: Env, unblocked: None
) -> None:
    with tenant_context(env.municipality):
        school = School.objects.get(pk=env.school_id)
        first, second = adopt(school, "1.1"), adopt(school, "2.1")
        autumn = open_round([school], codes=("fidelity",), name="Høst arbeidertest")
        committed = timezone.now()
        team_response_submit(
            assessment_round=autumn, school=school, instrument=instrument("fidelity"),
            answers={str(first.pk): 2, str(second.pk): 1},
        )
        overall = poll(
            lambda: FidelityAggregate.objects.filter(
                school_id=school.pk, round=autumn, module__isnull=True).first(),
            timeout=WAIT,
        )
        assert (overall.points, overall.max_points, overall.percent) == (3, 4, Decimal("75.0"))
        assert overall.meets_threshold is True
        assert overall.computed_at >= committed
        poll(lambda: idle(school.pk), timeout=WAIT)

        # A second write: the aggregate follows.
        team_response_submit(
            assessment_round=autumn, school=school, instrument=instrument("fidelity"),
            answers={str(first.pk): 1, str(second.pk): 0},
        )
        poll(
            lambda: FidelityAggregate.objects.filter(
                school_id=school.pk, round=autumn, module__isnull=True,
                percent=Decimal("25.0")).exists(),
            timeout=WAIT,
        )
        assert AggregateStatus.objects.filter(school_id__isnull=True).exists()
    assert "worker.tasks.recompute_school" in env.worker.log()


@pytest.mark.worker
def test_it_keeps_the_work_when_the_broker_is_down_and_the_sweep_does_it_later(
    env: Env, unblocked: None, caplog: pytest.LogCaptureFixture
) -> None:
    with tenant_context(env.municipality):
        school = School.objects.get(pk=env.other_school_id)
        adoptions = [adopt(school, key) for key in ("1.1", "2.1", "2.2", "3.1")]
        spring = open_round([school], codes=("fidelity",), name="Vår arbeidertest")
        activity_log(school=school, staff=persona("trondheim_staff"), performed_on=today(),
                     minutes=45, module=module(2), mode="planlagt")
        poll(lambda: idle(school.pk), timeout=WAIT)  # the worker has caught up

        with caplog.at_level(logging.WARNING, logger="worker.dispatch"), \
                use_broker(CLOSED_PORT_BROKER):
            started = time.monotonic()
            response = team_response_submit(
                assessment_round=spring, school=school, instrument=instrument("fidelity"),
                answers={str(a.pk): value for a, value in zip(adoptions, [2, 2, 1, 0],
                                                               strict=True)},
            )
            write_seconds = time.monotonic() - started
        # The write succeeded, quickly, and left a durable marker; nothing was lost.
        assert response.pk is not None and response.answers.count() == 4
        assert write_seconds < 5
        assert "stays pending" in caplog.text
        marker = PendingRecompute.objects.get(school_id=school.pk)
        time.sleep(1.0)
        assert PendingRecompute.objects.filter(
            school_id=school.pk, requested_at=marker.requested_at).exists()
        assert not FidelityAggregate.objects.filter(round=spring).exists()

        # The broker is back: the periodic sweep, run by the worker, does the work.
        publish("worker.tasks.sweep_pending", "public",
                kwargs={"min_age_seconds": 0, "schemas": [env.schema]})
        poll(lambda: idle(school.pk), timeout=WAIT)
        swept = school_rows(school.pk)
        assert dict(FidelityAggregate.objects.filter(round=spring).values_list(
            "module_number", "percent")) == {
            1: Decimal("100.0"), 2: Decimal("75.0"), 3: Decimal("0.0"), None: Decimal("62.5")}

        # Exactly what a direct recomputation gives.
        recompute_school(school.pk)
        recompute_municipality()
        assert school_rows(school.pk) == swept


@pytest.mark.worker
def test_it_recomputes_every_school_in_a_full_run_and_reports_progress(
    env: Env, unblocked: None
) -> None:
    sent_at = timezone.now()
    publish("worker.tasks.nightly_recompute", "public",
            kwargs={"kind": "manual", "schemas": [env.schema]})
    run = poll(
        lambda: RecomputeRun.objects.filter(
            kind="manual", started_at__gte=sent_at, finished_at__isnull=False).first(),
        timeout=WAIT,
    )
    assert (run.municipalities, run.total, run.done, run.failed) == (1, 2, 2, 0)
    assert run.progress_percent == 100
    with tenant_context(env.municipality):
        computed = AggregateStatus.objects.filter(computed_at__gte=sent_at)
        assert set(computed.values_list("school_id", flat=True)) == {
            env.school_id, env.other_school_id, None}


# --- Sending: coalescing and a broker that is down -----------------------------------------


def test_it_coalesces_a_burst_of_requests_into_one_message() -> None:
    queue = unique_name("sovei-idle")  # a queue nobody consumes
    schema, school_id = "coalesce_test", 4242
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        with use_broker(TEST_REDIS_URL, queue):
            burst = [enqueue_recompute(schema, school_id) for _ in range(5)]
            assert burst == [Enqueued.QUEUED] + [Enqueued.COALESCED] * 4
            assert client.llen(queue) == 1
            release(schema, school_id)  # what the task does as it starts
            assert enqueue_recompute(schema, school_id) == Enqueued.QUEUED
            assert client.llen(queue) == 2
    finally:
        client.delete(coalesce_key(schema, school_id))
        client.close()
        redis_queue_delete(TEST_REDIS_URL, queue)


def test_it_gives_up_without_raising_when_the_broker_is_down() -> None:
    # How fast it gives up is a benchmark matter (the connect timeout is 0.5 s).
    with use_broker(CLOSED_PORT_BROKER):
        assert enqueue_recompute("down_test", 1) == Enqueued.UNAVAILABLE


def test_it_marks_each_school_once_per_transaction(
    world: World, db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        lade = School.objects.get(pk=world.lade_id)
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            adopt(ila, "1.1")
            adopt(ila, "2.1")
            activity_log(school=ila, staff=persona("trondheim_staff"), performed_on=today(),
                         minutes=30, module=module(1), mode="akutt")
            adopt(lade, "1.1")
        sent = sorted(c.key for c in callbacks if isinstance(c, EnqueueAfterCommit))
        assert sent == sorted([("trondheim", ila.pk), ("trondheim", lade.pk)])
        assert set(PendingRecompute.objects.values_list("school_id", flat=True)) >= {
            ila.pk, lade.pk}


def test_it_marks_every_school_of_a_round(
    world: World, db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        lade = School.objects.get(pk=world.lade_id)
        with django_capture_on_commit_callbacks() as callbacks:
            open_round([ila, lade], codes=("aim",), name="Runde for to skoler")
        sent = sorted(c.key for c in callbacks if isinstance(c, EnqueueAfterCommit))
        assert sent == sorted([("trondheim", ila.pk), ("trondheim", lade.pk)])


def test_the_sweep_backs_off_from_a_school_whose_recomputation_keeps_failing(
    world: World, db: None
) -> None:
    queue = unique_name("sovei-idle")
    with tenant_context(world.trondheim):
        pending_mark(world.ila_id)
        pending_mark(world.lade_id)
        PendingRecompute.objects.filter(school_id=world.ila_id).update(
            attempts=4, last_attempt_at=timezone.now())  # failed 4 times, just now
    use_public_schema()
    try:
        with use_broker(TEST_REDIS_URL, queue):
            result = pending_sweep(min_age_seconds=0, schemas=["trondheim"])
        assert (result.pending, result.queued) == (1, 1)  # Lade now, Ila in 16 s
    finally:
        redis_queue_delete(TEST_REDIS_URL, queue)
        redis_keys_delete(TEST_REDIS_URL, "sovei:recompute:trondheim:*")


def test_it_marks_nothing_when_the_write_rolls_back(
    world: World, db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        PendingRecompute.objects.filter(school_id=ila.pk).delete()
        with django_capture_on_commit_callbacks() as callbacks:
            try:
                with transaction.atomic():
                    adopt(ila, "1.1")
                    raise RuntimeError("the write fails")
            except RuntimeError:
                pass
        assert callbacks == []
        assert not PendingRecompute.objects.filter(school_id=ila.pk).exists()


def test_it_recomputes_everything_inline_from_the_command_line(world: World, db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("recompute_aggregates", "--inline", "--schema", "trondheim", stdout=out)
    run = RecomputeRun.objects.filter(kind="manual").latest("id")
    assert (run.municipalities, run.total, run.done, run.failed) == (1, 2, 2, 0)
    assert run.finished_at is not None
    assert "2 schools; 2 done, 0 failed" in out.getvalue()
    with tenant_context(world.trondheim):
        assert set(AggregateStatus.objects.values_list("school_id", flat=True)) >= {
            world.ila_id, world.lade_id, None}
