"""The browser journeys' world: a municipality of their own with a semester and more of
recorded work (the demo history builder), a school that has not started, a published
research store, the app served by gunicorn, a real Celery worker and Debian's Chromium.

Everything is committed (the web server and the worker are other processes) and removed
again when the package's tests are done: the municipality with its schema, its users,
the research store rows, the recompute runs and the public audit entries made here. So
the rest of the suite, which rolls back each test, finds the database as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.db import connection, connections
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from dashboards.management.demo_history import EXTRA_TRONDHEIM_SCHOOLS, HistoryBuilder
from implementation.models import AssessmentRound, School
from implementation.services import school_create, staff_position_add, survey_links_create
from implementation.services._common import today
from research import models as research_models
from research.pseudonyms import Semester
from research.refresh import refresh_research_store
from tenants.db import use_public_schema
from tenants.models import Municipality
from worker.models import RecomputeRun
from worker.services import municipality_recompute_all

from ..conftest import World
from ..worker_support import (
    WorkerProcess,
    database_url,
    free_kommunenummer,
    scratch_municipality_drop,
    use_broker,
)
from .support import AppServer, chromium_missing, chromium_path

SLUG = "nettleser"
EMAIL_DOMAIN = "nettleser.example.no"
PASSWORD = "nettleser-passord-2026"
PILOT_SCHOOL = "Ila skole"
NEW_SCHOOL = "Nyhavna skole"  # has not started: the start-up module's journey
RESEARCH_MODELS = (
    research_models.FidelityFact,
    research_models.StageFact,
    research_models.OutcomeCell,
    research_models.CfirFact,
    research_models.TimeUseCell,
    research_models.TimeUseGroupRow,
    research_models.TimeUseGroup,
    research_models.ResearchRound,
    research_models.ResearchSchool,
    research_models.ResearchMunicipality,
    research_models.ExportLog,
    research_models.ResearchRefresh,
)


def email(local: str) -> str:
    return f"{local}@{EMAIL_DOMAIN}"


@dataclass(frozen=True)
class Site:
    port: int
    slug: str
    municipality: Municipality
    schools: dict[str, int]  # name → id, the new school included
    worker: WorkerProcess
    server: AppServer
    survey_token: str  # an unused one-time link of Ila's open round
    password: str = PASSWORD

    @property
    def public_url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def tenant_url(self) -> str:
        return f"http://{self.slug}.localhost:{self.port}"

    @property
    def pilot_school_id(self) -> int:
        return self.schools[PILOT_SCHOOL]

    @property
    def new_school_id(self) -> int:
        return self.schools[NEW_SCHOOL]


def _remove_leftovers() -> None:
    """What an interrupted earlier run may have left behind."""
    use_public_schema()
    leftover = Municipality.objects.filter(slug=SLUG).first()
    if leftover is not None:
        scratch_municipality_drop(leftover.schema_name)
    User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()


def _person(local: str, full_name: str, **flags: bool) -> User:
    return user_create(email=email(local), password=PASSWORD, full_name=full_name, **flags)


def _seed() -> tuple[Municipality, dict[str, int], str]:
    municipality = municipality_create_for_browser()
    schools: dict[str, int] = {}
    with tenant_context(municipality):
        ila = school_create(name=PILOT_SCHOOL, pupil_count=420)
        staff_position_add(school=ila, profession="sosionom", position_percent=Decimal(100))
        staff_position_add(school=ila, profession="miljoterapeut", position_percent=Decimal(50))
        schools[ila.name] = ila.pk
        for number, (name, pupils) in enumerate(EXTRA_TRONDHEIM_SCHOOLS[:3], start=1):
            school = school_create(name=name, pupil_count=pupils)
            staff_position_add(school=school, profession="sosionom",
                               position_percent=Decimal(60 + 10 * number))
            schools[name] = school.pk
    use_public_schema()
    membership_grant(user=_person("rektor", "Rektor Ila"), municipality=municipality,
                     role=Role.LEADER, school_ids=[schools[PILOT_SCHOOL]])
    membership_grant(user=_person("koordinator", "Kommunekoordinator"),
                     municipality=municipality, role=Role.COORDINATOR)
    for number, (name, school_id) in enumerate(schools.items()):
        local = "ansatt" if name == PILOT_SCHOOL else f"ansatt{number}"
        membership_grant(user=_person(local, f"Sosialfaglig ansatt {name}"),
                         municipality=municipality, role=Role.STAFF, school_ids=[school_id])
    _person("forsker", "Forsker NTNU", is_researcher=True)
    # Two or three semesters of adoptions, plans, rounds, answers and time use.
    HistoryBuilder(seed=2026, as_of=today(), log=lambda _line: None).municipality(
        municipality, extra_schools=0
    )
    with tenant_context(municipality):
        new = school_create(name=NEW_SCHOOL, pupil_count=180)
        schools[new.name] = new.pk
        municipality_recompute_all()
        open_round = AssessmentRound.objects.filter(
            closed_at__isnull=True, closes_on__gte=today(), schools__id=schools[PILOT_SCHOOL]
        ).order_by("-opens_on").first()
        assert open_round is not None, "the demo history leaves the latest round open"
        [link] = survey_links_create(assessment_round=open_round,
                                     school=School.objects.get(pk=schools[PILOT_SCHOOL]),
                                     count=1)
    use_public_schema()
    membership_grant(user=_person("rektor.ny", "Rektor Nyhavna"), municipality=municipality,
                     role=Role.LEADER, school_ids=[new.pk])
    membership_grant(user=_person("ansatt.ny", "Sosialfaglig ansatt Nyhavna"),
                     municipality=municipality, role=Role.STAFF, school_ids=[new.pk])
    refresh_research_store(through=Semester.of(today()))
    return municipality, schools, link.token


def municipality_create_for_browser() -> Municipality:
    from tenants.services import municipality_create

    return municipality_create(name="Trondheim", kommunenummer=free_kommunenummer(), slug=SLUG)


@pytest.fixture(scope="package")
def site(world: World, django_db_blocker: Any) -> Iterator[Site]:
    """The seeded municipality, the web server and the worker (see the module docstring)."""
    problem = chromium_missing()
    if problem:
        pytest.fail(problem, pytrace=False)
    url = database_url()
    worker = WorkerProcess(database_url=url)
    server = AppServer(database_url=url, redis_url=worker.redis_url, queue=worker.queue)
    started = time.monotonic()
    worker.launch()
    server.launch()
    research_empty = False
    municipality = None
    with django_db_blocker.unblock():
        marks = {
            "audit": LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            "runs": RecomputeRun.objects.order_by("-pk").values_list("pk", flat=True).first()
            or 0,
        }
        research_empty = not any(model.objects.exists() for model in RESEARCH_MODELS)
    try:
        with use_broker(worker.redis_url, worker.queue), django_db_blocker.unblock():
            _remove_leftovers()
            municipality, schools, token = _seed()
            use_public_schema()
            worker.wait_ready()
            server.wait_ready()
            print(f"\n[browser] world ready in {time.monotonic() - started:.1f} s")
            yield Site(port=server.port, slug=SLUG, municipality=municipality,
                       schools=schools, worker=worker, server=server, survey_token=token)
    finally:
        server.cleanup()
        worker.cleanup()
        with django_db_blocker.unblock():
            kommunenummer = municipality.kommunenummer if municipality is not None else ""
            _remove_leftovers()
            use_public_schema()
            if research_empty:  # the store was empty before: empty it again
                for model in RESEARCH_MODELS:
                    model.objects.all().delete()
            else:  # rebuild it without this municipality
                research_models.TimeUseGroup.objects.filter(kommunenummer=kommunenummer).delete()
                refresh_research_store()
            RecomputeRun.objects.filter(pk__gt=marks["runs"]).delete()
            LogEntry.objects.filter(pk__gt=marks["audit"]).delete()
            connection.set_schema_to_public()


@pytest.fixture(scope="package")
def browser(site: Site) -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the journeys also read the
    # database (synchronously, between browser steps), which Django otherwise refuses.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True,
            args=["--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()
    finally:
        # The sync API runs Playwright in a greenlet with a context of its own, and the
        # journeys' database reads opened a connection in it: close it, or it outlives the
        # session and the test database cannot be dropped.
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) in Bokmål, for one test."""
    ctx = browser.new_context(locale="nb-NO", accept_downloads=True,
                              viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(15000)
    try:
        yield ctx
    finally:
        ctx.close()
