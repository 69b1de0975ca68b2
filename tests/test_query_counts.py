"""The SQL statements of every API list and detail under /api/v1/ and of each role's main
pages, counted for a fixed data set — and again after every kind of row has grown from 3
to 30, so that a query per row (an N+1) fails here instead of in production. Each request
also sends exactly one `SET search_path` (tests/test_search_path.py).

The budgets are exact: a change that adds a statement to a request has to say so here.
If a change removes one, lower the budget. With 30 rows a request may send fewer statements
than with 3 (the audit trail reads the records its entries name once per kind of record,
and the latest 50 entries are then of fewer kinds), never more. Figures: docs/benchmarks.md,
"Per-request cost".

Personas, on Trondheim's host unless said otherwise:
  leader       school leader at Ila skole (trondheim_leader)
  staff        social-work staff at Ila skole (trondheim_staff), who logs the time
  coordinator  municipal coordinator in Trondheim
  researcher   NTNU researcher, on the public site
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from implementation.models import (
    Activity,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    School,
    StrategyStep,
)
from implementation.services import (
    activity_log,
    adaptation_create,
    adoption_change_status,
    adoption_create,
    link_response_submit,
    plan_create,
    school_create,
    staff_position_add,
    stage_period_set,
    step_create,
    survey_links_create,
)
from implementation.services._common import today

from .conftest import World, client_for, host_of
from .query_counts_support import Statements, remembered_hosts, statements_of
from .recording import module, open_round, survey_answers, version

__all__ = ["remembered_hosts"]  # the fixture, used by name

FEW, MANY = 3, 30
STAGES = ("exploration", "installation", "initial", "full", "sustainment")
ADAPTATION = {
    "what_changed": "Her-og-nå-samtaler også i SFO-tiden",
    "timing": "implementation",
    "planned": True,
    "decided_by": "school_leader",
    "level": "school",
    "change_type": "context",
    "nature": "lengthening",
    "fidelity": "consistent",
    "goals": ["reach"],
    "reason_level": "organization",
    "reasons": "Mange elever går i SFO.",
}
STEP = {
    "stage": "installation",
    "eric_cluster": "train_educate",
    "action": "Opplæring i SoVei",
    "strategy_actor": "Sosialfaglig ansatt",
    "target": "Lærerne på 5.–7. trinn",
    "dose": "2 × 45 min",
    "intended_outcome": "Lærerne kjenner modellen",
    "justification": "Kunnskap er en forutsetning",
}


@dataclass
class Scene:
    """Ila skole with a plan, an open round and, after `grow(n)`, n of every kind of row:
    schools, positions, members, adoptions (with adaptations and status changes), steps,
    stage periods, rounds, one-time links (answered), logged time."""

    world: World
    leader: User
    staff: User
    ila: School
    plan: ImplementationPlan
    round: AssessmentRound
    token: str
    made: dict[str, int] = field(default_factory=dict)

    def grow(self, n: int) -> None:
        with tenant_context(self.world.trondheim):
            for kind, add in (
                ("schools", self._school), ("positions", self._position),
                ("members", self._member), ("adoptions", self._adoption),
                ("steps", self._step), ("stages", self._stage), ("rounds", self._round),
                ("links", self._link), ("activities", self._activity),
            ):
                for i in range(self.made.get(kind, 0), n):
                    add(i)
                self.made[kind] = n

    def _school(self, i: int) -> None:
        school_create(name=f"Skole {i:02d}", pupil_count=100 + i)

    def _position(self, i: int) -> None:
        staff_position_add(school=self.ila, profession="sosionom", position_percent=10)

    def _member(self, i: int) -> None:
        user = user_create(email=f"member{i}@example.no", password="x", full_name=f"M {i}")
        membership_grant(user=user, municipality=self.world.trondheim, role=Role.STAFF,
                         school_ids=[self.ila.pk])

    def _adoption(self, i: int) -> None:
        adoption = adoption_create(
            school=self.ila, local_module=module(1 + i % 5), local_title=f"Lokal {i}",
            status="in_progress", status_since=today() - timedelta(days=60),
        )
        adaptation_create(adoption=adoption, made_on=today(), **ADAPTATION)
        first = ComponentAdoption.objects.filter(school=self.ila).order_by("id").first()
        assert first is not None
        adoption_change_status(
            adoption=first, to_status="in_place" if first.status == "in_progress"
            else "in_progress",
        )

    def _step(self, i: int) -> None:
        step_create(plan=self.plan, module=module(1 + i % 5),
                    due_on=today() + timedelta(days=10 + i), **STEP)

    def _stage(self, i: int) -> None:
        if i >= 25:  # 5 modules × 5 stages
            return
        stage_period_set(school=self.ila, module=module(1 + i % 5), stage=STAGES[i // 5],
                         entered_on=today() - timedelta(days=300 - 10 * (i // 5)))

    def _round(self, i: int) -> None:
        open_round([self.ila], codes=("fidelity", "aim"), name=f"Runde {i:02d}")

    def _link(self, i: int) -> None:
        issued = survey_links_create(assessment_round=self.round, school=self.ila, count=1)
        link_response_submit(token=issued[0].token, answers=survey_answers(3))

    def _activity(self, i: int) -> None:
        activity_log(school=self.ila, staff=self.staff, performed_on=today() - timedelta(days=i),
                     minutes=30, module=module(1 + i % 5), mode="planlagt")


@pytest.fixture
def scene(world: World, db: None, trondheim_leader: User, trondheim_staff: User,
          remembered_hosts: None) -> Iterator[Scene]:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        plan = plan_create(school=ila, model_version=version(), title="Plan",
                           starts_on=today() - timedelta(days=30),
                           ends_on=today() + timedelta(days=300))
        assessment_round = open_round([ila])
        token = survey_links_create(assessment_round=assessment_round, school=ila,
                                    count=1)[0].token
    made = Scene(world, trondheim_leader, trondheim_staff, ila, plan, assessment_round, token)
    made.grow(FEW)
    yield made


# --- What is measured ------------------------------------------------------------------------

Url = Callable[[Scene], str]


@dataclass(frozen=True)
class Endpoint:
    name: str
    who: str  # leader, staff, coordinator, researcher (public site), anonymous
    url: Url
    statements: int
    public: bool = False


def first(model: type[Any], **filters: Any) -> Url:
    def url_part(scene: Scene) -> str:
        with tenant_context(scene.world.trondheim):
            return str(model.objects.filter(**filters).order_by("id").values_list(
                "id", flat=True).first())
    return url_part


ADOPTION = first(ComponentAdoption)
STEP_ID = first(StrategyStep)
ACTIVITY = first(Activity)

API = [
    Endpoint("schools", "coordinator", lambda s: "/api/v1/schools/", 7),
    Endpoint("school", "leader", lambda s: f"/api/v1/schools/{s.ila.pk}/", 6),
    Endpoint("school members", "leader", lambda s: f"/api/v1/schools/{s.ila.pk}/members/", 7),
    Endpoint("positions", "leader", lambda s: f"/api/v1/schools/{s.ila.pk}/positions/", 7),
    Endpoint("adoptions", "leader", lambda s: "/api/v1/adoptions/", 7),
    Endpoint("adoption", "leader", lambda s: f"/api/v1/adoptions/{ADOPTION(s)}/", 6),
    Endpoint("adaptations", "leader", lambda s: "/api/v1/adaptations/", 6),
    Endpoint("plans", "leader", lambda s: "/api/v1/plans/", 7),
    Endpoint("plan", "leader", lambda s: f"/api/v1/plans/{s.plan.pk}/", 6),
    Endpoint("steps", "leader", lambda s: "/api/v1/steps/", 6),
    Endpoint("step", "leader", lambda s: f"/api/v1/steps/{STEP_ID(s)}/", 5),
    Endpoint("stage periods", "leader", lambda s: "/api/v1/stage-periods/", 6),
    Endpoint("rounds", "coordinator", lambda s: "/api/v1/rounds/", 8),
    Endpoint("round", "coordinator", lambda s: f"/api/v1/rounds/{s.round.pk}/", 7),
    Endpoint("round links", "leader", lambda s: f"/api/v1/rounds/{s.round.pk}/links/", 10),
    Endpoint("team responses", "leader",
             lambda s: f"/api/v1/rounds/{s.round.pk}/team-responses/", 8),
    Endpoint("my responses", "staff",
             lambda s: f"/api/v1/rounds/{s.round.pk}/my-responses/", 8),
    Endpoint("response counts", "leader",
             lambda s: f"/api/v1/rounds/{s.round.pk}/response-counts/", 8),
    Endpoint("activities", "staff", lambda s: "/api/v1/activities/", 6),
    Endpoint("activity", "staff", lambda s: f"/api/v1/activities/{ACTIVITY(s)}/", 5),
    Endpoint("audit", "coordinator", lambda s: "/api/v1/audit/", 6),
    Endpoint("modules", "leader", lambda s: "/api/v1/modules/", 7),
    Endpoint("instruments", "leader", lambda s: "/api/v1/instruments/", 9),
    Endpoint("survey by link", "anonymous", lambda s: f"/api/v1/survey/{s.token}/", 4),
    Endpoint("dashboard school fidelity", "leader",
             lambda s: f"/api/v1/dashboards/schools/{s.ila.pk}/fidelity/", 11),
    Endpoint("dashboard municipality heatmap", "coordinator",
             lambda s: "/api/v1/dashboards/municipality/fidelity-heatmap/", 15),
]

PAGES = [
    Endpoint("home (leader)", "leader", lambda s: "/", 9),
    Endpoint("home (staff)", "staff", lambda s: "/", 8),
    Endpoint("home (coordinator)", "coordinator", lambda s: "/", 9),
    Endpoint("school", "leader", lambda s: f"/skoler/{s.ila.pk}/", 14),
    Endpoint("adoptions", "leader", lambda s: f"/skoler/{s.ila.pk}/komponenter/", 15),
    Endpoint("adaptations", "leader", lambda s: f"/skoler/{s.ila.pk}/tilpasninger/", 8),
    Endpoint("plan", "leader", lambda s: f"/skoler/{s.ila.pk}/plan/", 12),
    Endpoint("time log (staff)", "staff", lambda s: f"/skoler/{s.ila.pk}/tid/", 11),
    Endpoint("school rounds", "leader", lambda s: f"/skoler/{s.ila.pk}/runder/", 10),
    Endpoint("fidelity form", "leader",
             lambda s: f"/skoler/{s.ila.pk}/runder/{s.round.pk}/troskap/", 12),
    Endpoint("rounds (coordinator)", "coordinator", lambda s: "/runder/", 7),
    Endpoint("round (coordinator)", "coordinator", lambda s: f"/runder/{s.round.pk}/", 9),
    Endpoint("audit (leader)", "leader", lambda s: "/logg/", 20),
    Endpoint("audit (coordinator)", "coordinator", lambda s: "/logg/", 21),
    Endpoint("school dashboard", "leader", lambda s: f"/dashboards/skoler/{s.ila.pk}/", 19),
    Endpoint("coordinator dashboard", "coordinator", lambda s: "/dashboards/kommune/", 24),
    Endpoint("recompute status", "coordinator", lambda s: "/dashboards/status/", 10),
    Endpoint("resource bank", "staff", lambda s: "/ressursbank/", 12),
    Endpoint("landing (public site)", "coordinator", lambda s: "/", 4, public=True),
    Endpoint("research overview", "researcher", lambda s: "/forsker/", 14, public=True),
]


def client_of(scene: Scene, endpoint: Endpoint) -> Client:
    people = {
        "leader": scene.leader, "staff": scene.staff,
        "coordinator": User.objects.get(email="trondheim_coordinator@example.no"),
        "researcher": User.objects.get(email="researcher@example.no"), "anonymous": None,
    }
    host = settings.BASE_DOMAIN if endpoint.public else host_of(scene.world.trondheim)
    return client_for(people[endpoint.who], host)


def measure(scene: Scene, endpoints: list[Endpoint]) -> dict[str, Statements]:
    found = {}
    for endpoint in endpoints:
        client = client_of(scene, endpoint)
        url = endpoint.url(scene)
        client.get(url)  # the host is remembered, as on any request after a process's first
        cache.clear()  # dashboards: build the figures, not read them from the cache
        found[endpoint.name] = statements_of(client, url)
    return found


def problems(endpoints: list[Endpoint], few: dict[str, Statements],
             many: dict[str, Statements]) -> list[str]:
    found = []
    for endpoint in endpoints:
        small, large = few[endpoint.name], many[endpoint.name]
        if small.status != 200 or large.status != 200:
            found.append(f"{endpoint.name}: status {small.status}, {large.status}")
        elif large.count > small.count:
            found.append(f"{endpoint.name}: {small.count} statements with {FEW} rows of each "
                         f"kind, {large.count} with {MANY} — a query per row?\n"
                         f"{large.listing()}")
        elif small.count != endpoint.statements:
            found.append(f"{endpoint.name}: {small.count} statements, budget "
                         f"{endpoint.statements}\n{small.listing()}")
        elif len(small.search_paths) != 1:
            found.append(f"{endpoint.name}: {len(small.search_paths)} SET search_path")
    return found


def test_it_keeps_each_requests_statements_and_does_not_grow_with_rows(scene: Scene) -> None:
    """One test for every endpoint: the rows are made once (the slow part), and a failure
    lists every endpoint that is off, with its statements."""
    endpoints = [
        *[Endpoint(f"API {e.name}", e.who, e.url, e.statements, e.public) for e in API],
        *[Endpoint(f"page {e.name}", e.who, e.url, e.statements, e.public) for e in PAGES],
    ]
    few = measure(scene, endpoints)
    scene.grow(MANY)
    many = measure(scene, endpoints)

    assert problems(endpoints, few, many) == []
