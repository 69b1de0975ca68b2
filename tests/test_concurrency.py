"""Survey answers pouring in while real workers recompute: no deadlock, no error for the
person answering, every answer stored, and the aggregates right in the end.

Writers are threads, each with a database connection of its own, submitting at once through
the services a request uses: one-time links (``link_response_submit``), staff members'
answers and changes (``staff_response_submit``) and the team's fidelity rating
(``team_response_submit``), for two schools of one round. Every commit marks its school and
sends a recomputation to two real Celery workers on one queue (the deployment runs two
processes), which rebuild the schools' aggregates and the municipality's spread meanwhile.
Like tests/test_worker.py, everything is committed in a scratch municipality of its own.

Deadlocks are counted by PostgreSQL (``pg_stat_database.deadlocks`` of the test database),
so one that the worker retried silently counts too.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import user_create
from dashboards.aggregation import recompute_municipality, recompute_school
from dashboards.models import (
    FidelityAggregate,
    MunicipalitySpread,
    PendingRecompute,
    ResponseRateAggregate,
)
from implementation.models import Answer, AssessmentRound, Response, School
from implementation.services import (
    link_response_submit,
    school_create,
    staff_response_submit,
    survey_links_create,
    team_response_submit,
)
from tenants.db import use_public_schema
from tenants.models import Municipality

from .conftest import World, persona
from .recording import adopt, instrument, open_round, survey_answers
from .worker_support import (
    TEST_REDIS_URL,
    WorkerProcess,
    database_url,
    free_kommunenummer,
    poll,
    redis_keys_delete,
    scratch_municipality_drop,
    unique_name,
    use_broker,
)

LINKS_PER_SCHOOL = 12
STAFF = 6  # staff members at each school, each answering AIM and SUS, then changing AIM
TEAM_RATINGS = 4  # fidelity ratings per school, one after the other in one thread
THREADS = 16
SURVEY = ("aim", "sus")  # the round's staff survey, besides the team's fidelity rating
WAIT = 60.0  # bound on the workers catching up (a guard, not a measurement)


@dataclass
class Scene:
    workers: list[WorkerProcess]
    municipality: Municipality
    school_ids: list[int]
    round_id: int
    tokens: dict[int, list[str]]  # school id -> one-time link tokens
    staff: list[User]
    adoption_ids: dict[int, list[int]]  # school id -> adopted components


@pytest.fixture(scope="module")
def scene(world: World, django_db_blocker: Any) -> Iterator[Scene]:
    """Two workers on one queue, this process's messages routed to them, and a committed
    scratch municipality: two schools in one open round, links and staff members."""
    from tenants.services import municipality_create

    first = WorkerProcess(database_url=database_url())
    second = WorkerProcess(database_url=database_url(), queue=first.queue)
    workers = [first, second]
    slug = f"ct{unique_name('x')[-8:]}"
    municipality = None
    staff: list[User] = []
    try:
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        with use_broker(first.redis_url, first.queue), django_db_blocker.unblock():
            municipality = municipality_create(
                name=f"Samtidig {slug}", kommunenummer=free_kommunenummer(), slug=slug
            )
            staff = [
                user_create(email=f"{slug}-ansatt{n}@example.no", password=None,
                            full_name=f"Ansatt {n}")
                for n in range(STAFF)
            ]
            with tenant_context(municipality):
                schools = [school_create(name="Charlottenlund skole"),
                           school_create(name="Ranheim skole")]
                adoptions = {s.pk: [adopt(s, "1.1").pk, adopt(s, "2.1").pk] for s in schools}
                survey = open_round(schools, codes=("fidelity", *SURVEY),
                                    name="Høst samtidighet")
                tokens = {
                    s.pk: [issued.token for issued in survey_links_create(
                        assessment_round=survey, school=s, count=LINKS_PER_SCHOOL)]
                    for s in schools
                }
            use_public_schema()
            yield Scene(workers, municipality, [s.pk for s in schools], survey.pk, tokens,
                        staff, adoptions)
    finally:
        for worker in workers:
            worker.cleanup()
        with django_db_blocker.unblock():
            if municipality is not None:
                scratch_municipality_drop(municipality.schema_name)
                redis_keys_delete(TEST_REDIS_URL, f"sovei:recompute:{municipality.schema_name}:*")
            User.objects.filter(pk__in=[u.pk for u in staff]).delete()


def deadlocks() -> int:
    """Deadlocks PostgreSQL has detected in the test database so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


Job = Callable[[], object]


def run_concurrently(scene: Scene, jobs: list[Job], threads: int) -> list[BaseException]:
    """Run the jobs on `threads` threads, each with its own connection in the scratch
    municipality's schema, all starting at once; returns what they raised."""
    queues = [jobs[n::threads] for n in range(threads)]
    start = threading.Barrier(threads)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(mine: list[Job]) -> None:
        try:
            with tenant_context(scene.municipality):
                start.wait(timeout=30)
                for job in mine:
                    try:
                        job()
                    except BaseException as exc:  # every failure is a finding
                        with lock:
                            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run, args=(q,), daemon=True) for q in queues]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=WAIT)
    assert not any(thread.is_alive() for thread in pool), "a writer hangs"
    return errors


def round_answers(aim: int) -> dict[str, dict[str, int]]:
    """One respondent's answers to the round's staff survey (AIM and SUS)."""
    return {code: items for code, items in survey_answers(aim).items() if code in SURVEY}


def writes(scene: Scene) -> list[Job]:
    """Every submission, shuffled (seeded) so kinds and schools interleave."""
    survey = AssessmentRound.objects.get(pk=scene.round_id)
    schools = {s.pk: s for s in School.objects.filter(pk__in=scene.school_ids)}
    aim, sus, fidelity = instrument("aim"), instrument("sus"), instrument("fidelity")
    jobs: list[Job] = []
    for tokens in scene.tokens.values():
        for n, token in enumerate(tokens):
            jobs.append(lambda t=token, a=1 + n % 5: link_response_submit(
                token=t, answers=round_answers(a)))

    def staff_answers(person: User, school: School) -> None:
        for code, answers in (("aim", round_answers(2)["aim"]),
                              ("sus", round_answers(2)["sus"]),
                              ("aim", round_answers(4)["aim"])):  # changes AIM
            staff_response_submit(
                assessment_round=survey, school=school,
                instrument=aim if code == "aim" else sus,
                respondent=person, answers=answers)

    def team_ratings(school: School) -> None:
        adoption_ids = scene.adoption_ids[school.pk]
        for n in range(TEAM_RATINGS):
            team_response_submit(
                assessment_round=survey, school=school, instrument=fidelity,
                answers={str(a): (n + k) % 3 for k, a in enumerate(adoption_ids)})

    for school in schools.values():
        jobs += [lambda p=p, s=school: staff_answers(p, s) for p in scene.staff]
        jobs.append(lambda s=school: team_ratings(s))
    random.Random(2026).shuffle(jobs)  # noqa: S311 - a fixed order, not a secret
    return jobs


def aggregate_rows(school_ids: list[int]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "fidelity": sorted(FidelityAggregate.objects.filter(school_id__in=school_ids)
                           .values_list("school_id", "module_number", "points", "max_points",
                                        "percent"), key=repr),
        "rates": sorted(ResponseRateAggregate.objects.filter(school_id__in=school_ids)
                        .values_list("school_id", "instrument", "responses", "staff_responses",
                                     "link_responses", "links_used"), key=repr),
        "spread": sorted(MunicipalitySpread.objects.values_list(
            "metric", "round_id", "module_number", "key", "n_schools", "minimum", "maximum",
            "mean"), key=repr),
    }


@pytest.mark.worker
def test_it_stores_every_answer_without_deadlocks_while_the_workers_recompute(
    scene: Scene, db: None
) -> None:
    # The writers' threads commit; this test's own connection (the checks below, and the
    # recomputation it compares with) stays in the test's transaction, rolled back after.
    before = deadlocks()
    with tenant_context(scene.municipality):
        jobs = writes(scene)
    errors = run_concurrently(scene, jobs, THREADS)

    # No one who answered got an error (a deadlock's victim would have had a 500).
    assert [f"{type(e).__name__}: {e}" for e in errors] == []
    with tenant_context(scene.municipality):
        poll(lambda: not PendingRecompute.objects.filter(
            school_id__in=scene.school_ids).exists(), timeout=WAIT)
        assert deadlocks() == before
        for worker in scene.workers:
            assert "deadlock" not in worker.log().lower()

        # Every answer is stored: 12 links × (AIM + SUS) and 6 staff × (AIM + SUS) per school,
        # the staff members' last change included, and one team rating.
        for school_id in scene.school_ids:
            stored = Response.objects.filter(round_id=scene.round_id, school_id=school_id)
            assert stored.filter(respondent_kind="link").count() == LINKS_PER_SCHOOL * 2
            assert stored.filter(respondent_kind="staff").count() == STAFF * 2
            assert stored.filter(respondent_kind="team").count() == 1
        staff_aim = Answer.objects.filter(response__respondent_kind="staff",
                                          response__instrument__code="aim")
        assert set(staff_aim.values_list("value", flat=True)) == {4}
        rates = dict(ResponseRateAggregate.objects.filter(
            school_id=scene.school_ids[0], round_id=scene.round_id).values_list(
            "instrument", "responses"))
        assert rates == {"fidelity": 1, "aim": LINKS_PER_SCHOOL + STAFF,
                         "sus": LINKS_PER_SCHOOL + STAFF}

        # The workers' aggregates are exactly what recomputing now gives.
        seen = aggregate_rows(scene.school_ids)
        for school_id in scene.school_ids:
            recompute_school(school_id)
        recompute_municipality()
        assert aggregate_rows(scene.school_ids) == seen


# --- Lock order, checked statement by statement ---------------------------------------------

SHARED_PARENTS = {"implementation_school", "implementation_assessmentround"}


def locked_for_update(sql: str) -> set[str]:
    """The tables whose rows a statement locks FOR UPDATE (all of a join without OF)."""
    if " FOR UPDATE" not in sql:
        return set()
    only = re.search(r" FOR UPDATE OF (.+?)(?: SKIP LOCKED| NOWAIT)?$", sql)
    if only:
        return set(re.findall(r'"(\w+)"', only.group(1)))
    return set(re.findall(r'(?:FROM|JOIN) "(\w+)"', sql))


def test_it_locks_no_school_or_round_row_while_answers_are_written(
    world: World, db: None
) -> None:
    """Every writer and the worker take the school's marker before their KEY SHARE locks
    on school and round rows (dashboards/signals.py, "Lock order"); a FOR UPDATE on such a
    row before writing reverses the order and deadlocks under load."""
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        adoption = adopt(ila, "1.1")
        survey = open_round([ila], codes=("fidelity", *SURVEY), name="Låserekkefølge")
        [issued] = survey_links_create(assessment_round=survey, school=ila, count=1)
        with CaptureQueriesContext(connection) as queries:
            link_response_submit(token=issued.token, answers=round_answers(3))
            staff_response_submit(assessment_round=survey, school=ila,
                                  instrument=instrument("aim"),
                                  respondent=persona("trondheim_staff"),
                                  answers=round_answers(3)["aim"])
            team_response_submit(assessment_round=survey, school=ila,
                                 instrument=instrument("fidelity"),
                                 answers={str(adoption.pk): 2})

    locked = set().union(*(locked_for_update(q["sql"]) for q in queries.captured_queries))
    assert locked == {"implementation_surveylink", "implementation_response"}
    assert not locked & SHARED_PARENTS
