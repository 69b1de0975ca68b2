"""A full recomputation's progress counts every school once (issue 9, item 7): a
municipality's task that is delivered again after a worker died (acks_late,
reject_on_worker_lost) recomputes its schools again but does not count them twice, and the
run is finished only when every school has been counted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context

from implementation.models import School
from worker import services
from worker.models import RecomputeRun, RunKind

from .conftest import World


@pytest.fixture
def run(world: World, db: None) -> Iterator[RecomputeRun]:
    with tenant_context(world.trondheim):
        schools = School.objects.count()
    yield RecomputeRun.objects.create(kind=RunKind.MANUAL, municipalities=1, total=schools)


def test_a_redelivered_municipality_task_counts_each_school_once(
    world: World, run: RecomputeRun
) -> None:
    with tenant_context(world.trondheim):
        first = services.municipality_recompute_all(run_id=run.pk)
        again = services.municipality_recompute_all(run_id=run.pk)  # the redelivery

    run.refresh_from_db()
    assert first.done == again.done == run.total > 0
    assert (run.done, run.failed) == (run.total, 0)
    assert run.is_finished


def test_a_run_interrupted_half_way_is_not_finished_until_every_school_is_counted(
    world: World, run: RecomputeRun
) -> None:
    with tenant_context(world.trondheim):
        first_school = School.objects.order_by("pk").first()
        assert first_school is not None
        services.school_counted(run.pk, first_school.pk, ok=True)  # then the worker died
        services.school_counted(run.pk, first_school.pk, ok=True)  # the rerun, same school

        run.refresh_from_db()
        assert (run.done, run.is_finished) == (1, False)

        services.municipality_recompute_all(run_id=run.pk)  # the rerun goes on

    run.refresh_from_db()
    assert (run.done, run.failed, run.is_finished) == (run.total, 0, True)


def test_a_school_that_failed_and_then_succeeded_counts_as_done(
    world: World, run: RecomputeRun
) -> None:
    with tenant_context(world.trondheim):
        school = School.objects.order_by("pk").first()
        assert school is not None
        services.school_counted(run.pk, school.pk, ok=False)
        services.school_counted(run.pk, school.pk, ok=True)

    run.refresh_from_db()
    assert (run.done, run.failed) == (1, 0)
