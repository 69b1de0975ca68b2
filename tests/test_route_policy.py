"""One authorization policy, walked route by route (issue 9, item 5).

Every route of both URL configurations — pages and API, tenant and public — is classified
here by who may use it (`POLICY`). A route this test does not know fails it (as a new
export or chart fails tests/test_disclosure_attacks.py). Then, as each persona:

* every tenant route answers as its class says: allowed → not 403/404, denied → 403/404;
* every route that names a school or an object, asked with one of *another school* of the
  same municipality, answers 403/404 and never shows the object;
* every tenant route asked by a member of *another municipality* answers 403 (or sends an
  anonymous visitor to sign in);
* pages and API ask the same rule for the same action (`TWINS`): the page's answer and the
  API's answer agree for every persona.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import School
from implementation.services import (
    activity_log,
    adaptation_create,
    plan_create,
    staff_position_add,
    stage_period_set,
    step_create,
)
from implementation.services._common import today

from .conftest import World, client_for, host_of, persona
from .recording import adopt, module, open_round, version

# --- Who may use a route ---------------------------------------------------------------------

ANYONE = "anyone"  # no sign-in needed (sign-in pages, one-time survey links, language)
MEMBER = "member"  # any role in the municipality
VIEW = "school:view"  # people of the school (leader, staff) and coordinators
MANAGE = "school:manage"  # the school's leaders and coordinators
RATE = "school:rate"  # the school team's ratings: its staff and leaders, coordinators
WORK = "school:work"  # the school's own staff and leaders, as themselves (time, own answers)
LEADER_OR_COORDINATOR = "leader-or-coordinator"  # any leader, or a coordinator
OWN_OR_MANAGE = "own-or-manage"  # one's own entry; the school's leaders and coordinators any
COORDINATOR = "coordinator"
RESEARCHER = "researcher"  # public site: is_researcher
PLATFORM_ADMIN = "platform-admin"  # public site: Django admin
SIGNED_IN = "signed-in"  # public site: any signed-in user, their own things (API tokens)

ALLOWED: dict[str, frozenset[str]] = {
    MEMBER: frozenset({"leader", "staff", "coordinator"}),
    VIEW: frozenset({"leader", "staff", "coordinator"}),
    MANAGE: frozenset({"leader", "coordinator"}),
    RATE: frozenset({"leader", "staff", "coordinator"}),
    WORK: frozenset({"leader", "staff"}),
    LEADER_OR_COORDINATOR: frozenset({"leader", "coordinator"}),
    OWN_OR_MANAGE: frozenset({"leader", "staff", "coordinator"}),  # staff: Ila's own entry
    COORDINATOR: frozenset({"coordinator"}),
}

TENANT: dict[str, str] = {
    "home": MEMBER,
    "implementation:school": VIEW,
    "implementation:school_profile": MANAGE,
    "implementation:position_add": MANAGE,
    "implementation:position_remove": MANAGE,
    "implementation:adoptions": VIEW,
    "implementation:adoption_adopt": MANAGE,
    "implementation:adoption_add_local": MANAGE,
    "implementation:adoption": VIEW,
    "implementation:adoption_status": MANAGE,
    "implementation:adoption_responsible": MANAGE,
    "implementation:adoption_remove": MANAGE,
    "implementation:adaptations": VIEW,
    "implementation:adaptation_create": MANAGE,
    "implementation:adaptation_edit": MANAGE,
    "implementation:adaptation_delete": MANAGE,
    "implementation:plan": VIEW,
    "implementation:plan_create": MANAGE,
    "implementation:plan_edit": MANAGE,
    "implementation:step_create": MANAGE,
    "implementation:step_edit": MANAGE,
    "implementation:step_done": MANAGE,
    "implementation:step_delete": MANAGE,
    "implementation:stage_period": MANAGE,
    "implementation:school_rounds": VIEW,
    "implementation:survey_links": MANAGE,
    "implementation:fidelity": RATE,
    "implementation:cfir": RATE,
    "implementation:staff_survey": WORK,
    "implementation:startup": VIEW,
    "implementation:startup_start": MANAGE,
    "implementation:startup_pause": MANAGE,
    "implementation:startup_resume": MANAGE,
    "implementation:startup_step": VIEW,
    "implementation:startup_step_done": MANAGE,
    "implementation:startup_step_skip": MANAGE,
    "implementation:startup_municipality": COORDINATOR,
    "implementation:activities": VIEW,
    "implementation:activity_remove": OWN_OR_MANAGE,
    "implementation:rounds": MEMBER,
    "implementation:round_create": LEADER_OR_COORDINATOR,
    "implementation:round": MEMBER,
    "implementation:round_close": LEADER_OR_COORDINATOR,
    "implementation:audit": LEADER_OR_COORDINATOR,
    "implementation:survey_thanks": ANYONE,
    "implementation:survey_link": ANYONE,
    "login": ANYONE,
    "logout": ANYONE,
    "password_reset": ANYONE,
    "password_reset_done": ANYONE,
    "password_reset_confirm": ANYONE,
    "password_reset_complete": ANYONE,
    "set_language": ANYONE,
    "sign_in_handoff_accept": ANYONE,  # the one-time token is the credential
    "catalog:resource_bank": MEMBER,
    "research_tenant:sharing": COORDINATOR,
    "dashboards:school": VIEW,
    "dashboards:municipality": COORDINATOR,
    "dashboards:status": COORDINATOR,
    **{f"dashboards-api:school-{key}": VIEW for key in (
        "status", "fidelity", "component-status", "stages", "outcomes", "determinants",
        "time-plan", "time-systematic", "time-monthly")},
    **{f"dashboards-api:municipality-{key}": COORDINATOR for key in (
        "status", "fidelity-heatmap", "fidelity-spread", "stage-progress", "response-rates",
        "time-use")},
    "survey": ANYONE,
    "school-list": MEMBER,
    "school-detail": VIEW,
    "school-members": VIEW,
    "position-list": VIEW,
    "position-detail": VIEW,
    "adoption-list": MEMBER,
    "adoption-detail": VIEW,
    "adoption-change-status": MANAGE,
    "adaptation-list": MEMBER,
    "adaptation-detail": VIEW,
    "plan-list": MEMBER,
    "plan-detail": VIEW,
    "step-list": MEMBER,
    "step-detail": VIEW,
    "stage-period-list": MEMBER,
    "stage-period-detail": VIEW,
    "round-list": MEMBER,
    "round-detail": MEMBER,
    "round-close": LEADER_OR_COORDINATOR,
    "round-link-list": LEADER_OR_COORDINATOR,
    "round-team-response-list": MEMBER,
    "round-my-response-list": MEMBER,
    "round-response-count-list": MEMBER,
    "activity-list": MEMBER,
    "activity-detail": VIEW,
    "audit-list": LEADER_OR_COORDINATOR,
    "module-list": MEMBER,
    "instrument-list": MEMBER,
    "instrument-detail": MEMBER,
    "api-root": MEMBER,
    "api-schema": MEMBER,
    "api-docs": MEMBER,
    "apitokens:tokens": MEMBER,  # one's own tokens (for this municipality)
    "apitokens:revoke": MEMBER,  # one's own token (others': 404)
    "apitokens:municipality": COORDINATOR,
    "apitokens:municipality_revoke": COORDINATOR,
    "invitations:list": COORDINATOR,
    "invitations:withdraw": COORDINATOR,
}

PUBLIC: dict[str, str] = {
    "landing": ANYONE,
    "login": ANYONE,
    "logout": ANYONE,
    "password_reset": ANYONE,
    "password_reset_done": ANYONE,
    "password_reset_confirm": ANYONE,
    "password_reset_complete": ANYONE,
    "set_language": ANYONE,
    "sign_in_handoff": ANYONE,  # signed-in users, to their own municipalities only
    "feide_sign_in": ANYONE,  # Feide (OpenID Connect): state, nonce and PKCE are the guard
    "feide_callback": ANYONE,
    "catalog:resource_bank": ANYONE,
    **{f"research:{name}": RESEARCHER for name in (
        "overview", "fidelity", "outcomes", "stages", "determinants", "export",
        "export_download")},
    **{f"research-api:{name}": RESEARCHER for name in (
        "datasets", "rows", "codebook", "file", "exports")},
    "api-schema": RESEARCHER,
    "api-docs": RESEARCHER,
    "apitokens:tokens": SIGNED_IN,  # research tokens: researchers only
    "apitokens:revoke": SIGNED_IN,
}


def policy_of(conf: str, name: str) -> str | None:
    if conf.endswith("urls_public") and name.startswith("admin:"):
        return PLATFORM_ADMIN  # the Django admin: is_staff platform administrators only
    return (PUBLIC if conf.endswith("urls_public") else TENANT).get(name)


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # the full route, e.g. "skoler/<int:school_id>/profil/" or a router regex


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = namespace + (f"{p.namespace}:" if p.namespace else "")
            yield from walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            yield Route(namespace + (p.name or str(p.pattern)), prefix + str(p.pattern))


def routes(conf: str) -> list[Route]:
    return list(walk(get_resolver(conf).url_patterns))


@pytest.mark.parametrize("conf", ["sovei_platform.urls_tenant", "sovei_platform.urls_public"])
def test_every_route_is_classified(conf: str) -> None:
    unknown = [r.name for r in routes(conf) if policy_of(conf, r.name) is None]
    assert unknown == [], f"classify these routes in POLICY: {unknown}"
    known = TENANT if conf.endswith("urls_tenant") else PUBLIC
    stale = set(known) - {r.name for r in routes(conf)}
    assert stale == set()


# --- A world with one of everything at two schools --------------------------------------------


@dataclass(frozen=True)
class Objects:
    """Ids to fill routes with, per school."""

    school_id: int
    ids: dict[str, int | str]  # url kwarg name → id (a start-up step: its slug)


def _objects(school: School, staff: User) -> Objects:
    adoption = adopt(school, "1.1")
    adaptation = adaptation_create(
        adoption=adoption, what_changed="Kortere samtaler", made_on=today(),
        timing="implementation", planned=True, decided_by="social_work_staff",
        level="pupil", change_type="content", nature="tailoring", fidelity="consistent",
        goals=["fit_recipients"], reason_level="recipient", reasons="Tid",
    )
    plan = plan_create(school=school, model_version=version(), title="Plan",
                       starts_on=today() - timedelta(days=30))
    step = step_create(plan=plan, module=module(1), stage="exploration",
                       eric_cluster="train_educate", action="Kurs", strategy_actor="Rektor",
                       target="Lærerne", due_on=today() + timedelta(days=30), dose="2 × 45",
                       intended_outcome="Kunnskap", justification="Behov")
    period = stage_period_set(school=school, module=module(1), stage="exploration",
                              entered_on=today() - timedelta(days=10))
    position = staff_position_add(school=school, profession="miljoterapeut",
                                  position_percent=50)
    activity = activity_log(school=school, staff=staff, performed_on=today(), minutes=30,
                            module=module(1), mode="planlagt")
    survey = open_round([school], name=f"Runde {school.name}")
    return Objects(school.pk, {
        "school_id": school.pk, "adoption_id": adoption.pk, "adaptation_id": adaptation.pk,
        "step_id": step.pk, "position_id": position.pk, "activity_id": activity.pk,
        "round_id": survey.pk, "round_pk": survey.pk, "school_pk": school.pk,
        "step_slug": "profil",
        # API detail routes: the object the route's basename names
        "school": school.pk, "position": position.pk, "adoption": adoption.pk,
        "adaptation": adaptation.pk, "plan": plan.pk, "step": step.pk,
        "stage-period": period.pk, "round": survey.pk, "activity": activity.pk,
    })


@dataclass(frozen=True)
class Scene:
    world: World
    ila: Objects
    lade: Objects


@pytest.fixture
def scene(world: World, db: None) -> Scene:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        lade = School.objects.get(pk=world.lade_id)
        return Scene(world, _objects(ila, persona("trondheim_staff")),
                     _objects(lade, persona("lade_leader")))


PERSONAS = {"leader": "trondheim_leader", "staff": "trondheim_staff",
            "coordinator": "trondheim_coordinator"}
TOKEN = "x" * 43  # a survey token that does not exist


def url_for(route: Route, objects: Objects) -> str | None:
    """The route's path with every parameter filled from `objects`, or None if one cannot be
    (password-reset tokens, admin)."""
    path = route.pattern
    basename = route.name.rsplit("-", 1)[0] if route.name.endswith("-detail") else ""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "token":
            return TOKEN
        if name == "pk":
            return str(objects.ids[basename])
        if name in objects.ids:
            return str(objects.ids[name])
        raise KeyError(name)

    try:
        path = re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", fill, path)
    except KeyError:
        return None
    path = path.replace("^", "").replace("$", "")
    if route.name.endswith(("-change-status", "-members")) or route.name == "round-close":
        pk_name = route.name.split("-")[0]
        path = re.sub(r"\(\?P<pk>[^)]*\)", str(objects.ids[pk_name]), path)
    return "/" + path


def request(client: Client, route: Route, path: str) -> int:
    """GET, or for a route that only takes POST an empty POST (a refused one is 403/404;
    an allowed one says what is missing, or acts)."""
    status = client.get(path).status_code
    if status == 405:
        status = client.post(path, {}).status_code
    return status


DESTRUCTIVE = re.compile(r"remove|delete|close")


def tenant_routes() -> list[Route]:
    """Every tenant route; the ones whose POST deletes or closes something last, so that
    they do not take away the objects the other routes are asked about."""
    return sorted(routes("sovei_platform.urls_tenant"),
                  key=lambda r: (bool(DESTRUCTIVE.search(r.name)),
                                 r.name == "implementation:adoption_remove"))


@pytest.mark.parametrize("role", list(PERSONAS))
def test_every_tenant_route_answers_each_role_as_classified(scene: Scene, role: str) -> None:
    client = client_for(persona(PERSONAS[role]), host_of(scene.world.trondheim))
    wrong = []
    for route in tenant_routes():
        policy = TENANT[route.name]
        if policy == ANYONE:
            continue
        path = url_for(route, scene.ila)
        if path is None:
            continue
        status = request(client, route, path)
        allowed = role in ALLOWED[policy]
        if allowed and status in (403, 404):
            wrong.append(f"{route.name} {path}: {status}, but {role} may ({policy})")
        if not allowed and status not in (403, 404):
            wrong.append(f"{route.name} {path}: {status}, but {role} may not ({policy})")
    assert wrong == []


SCHOOL_BOUND = (VIEW, MANAGE, RATE, WORK, OWN_OR_MANAGE, MEMBER, LEADER_OR_COORDINATOR)


@pytest.mark.parametrize("role", ["leader", "staff"])
def test_no_route_answers_with_an_object_of_another_school(scene: Scene, role: str) -> None:
    """Ila's leader and staff ask every route with Lade's school and objects."""
    client = client_for(persona(PERSONAS[role]), host_of(scene.world.trondheim))
    asked, wrong = 0, []
    for route in tenant_routes():
        if TENANT[route.name] not in SCHOOL_BOUND or not re.search(r"<|\(\?P<", route.pattern):
            continue
        path = url_for(route, scene.lade)
        if path is None:
            continue
        asked += 1
        response = client.get(path)
        if response.status_code == 405:
            response = client.post(path, {})
        if response.status_code == 405:  # e.g. a position: DELETE only
            response = client.delete(path)
        if response.status_code not in (403, 404) or b"Lade skole" in response.content:
            wrong.append(f"{route.name} {path}: {response.status_code}")
    assert wrong == []
    assert asked >= 56  # every school-bound route with an id (a floor, so none drops out)


def test_no_tenant_route_serves_a_member_of_another_municipality(scene: Scene) -> None:
    client = client_for(persona("volda_leader"), host_of(scene.world.trondheim))
    asked, wrong = 0, []
    for route in tenant_routes():
        path = url_for(route, scene.ila)
        if TENANT[route.name] == ANYONE or path is None:
            continue
        asked += 1
        status = request(client, route, path)
        if status != 403:
            wrong.append(f"{route.name} {path}: {status}")
    assert wrong == []
    assert asked >= 80


# --- Pages and API: the same rule for the same action ----------------------------------------


@dataclass(frozen=True)
class Twin:
    """One action offered by a page and by the API, and how to see whether it happened."""

    page: tuple[str, str, dict[str, Any]]  # route, path template, form data
    api: tuple[str, str, dict[str, Any] | None]  # method, path template, JSON body
    happened: Any  # (Objects) -> bool


def _school(objects: Objects) -> School:
    return School.objects.get(pk=objects.school_id)


def _profile(objects: Objects, **changes: Any) -> dict[str, Any]:
    school = _school(objects)
    return {"name": school.name, "organisation_number": school.organisation_number or "",
            "grade_from": school.grade_from, "grade_to": school.grade_to,
            "pupil_count": school.pupil_count or "", **changes}


def _gone(model: str, key: str) -> Any:
    def check(objects: Objects) -> bool:
        from django.apps import apps

        return not apps.get_model("implementation", model).objects.filter(
            pk=objects.ids[key]).exists()
    return check


TWINS: dict[str, Twin] = {
    "rename the school": Twin(
        ("implementation:school_profile", "/skoler/{school_id}/profil/",
         {"name": "Omdøpt skole"}),
        ("patch", "/api/v1/schools/{school_id}/", {"name": "Omdøpt skole"}),
        lambda o: _school(o).name == "Omdøpt skole"),
    "change the number of pupils": Twin(
        ("implementation:school_profile", "/skoler/{school_id}/profil/", {"pupil_count": 999}),
        ("patch", "/api/v1/schools/{school_id}/", {"pupil_count": 999}),
        lambda o: _school(o).pupil_count == 999),
    "change an adoption's status": Twin(
        ("implementation:adoption_status",
         "/skoler/{school_id}/komponenter/{adoption_id}/status/",
         {"to_status": "in_place", "on": today().isoformat(), "note": ""}),
        ("post", "/api/v1/adoptions/{adoption_id}/status/", {"to_status": "in_place"}),
        lambda o: __import__("implementation.models", fromlist=["x"]).ComponentAdoption.objects
        .get(pk=o.ids["adoption_id"]).status == "in_place"),
    "delete a strategy step": Twin(
        ("implementation:step_delete", "/skoler/{school_id}/plan/tiltak/{step_id}/slett/", {}),
        ("delete", "/api/v1/steps/{step_id}/", None), _gone("StrategyStep", "step_id")),
    "delete a time entry": Twin(
        ("implementation:activity_remove", "/skoler/{school_id}/tid/{activity_id}/slett/", {}),
        ("delete", "/api/v1/activities/{activity_id}/", None), _gone("Activity", "activity_id")),
    "remove a position": Twin(
        ("implementation:position_remove",
         "/skoler/{school_id}/stillinger/{position_id}/fjern/", {}),
        ("delete", "/api/v1/schools/{school_id}/positions/{position_id}/", None),
        _gone("StaffPosition", "position_id")),
    "close a round": Twin(
        ("implementation:round_close", "/runder/{round_id}/lukk/", {}),
        ("post", "/api/v1/rounds/{round_id}/close/", {}),
        lambda o: __import__("implementation.models", fromlist=["x"]).AssessmentRound.objects
        .get(pk=o.ids["round_id"]).closed_at is not None),
}


def _outcome(scene: Scene, twin: Twin, client: Client, side: str) -> bool:
    """Did the action happen? Undone afterwards (savepoint), so both sides start alike."""
    from django.db import transaction

    objects = scene.ila
    with tenant_context(scene.world.trondheim), transaction.atomic():
        if side == "page":
            _route, template, data = twin.page
            if twin.page[0] == "implementation:school_profile":
                data = _profile(objects, **data)
            client.post(template.format(**objects.ids), data)
        else:
            method, template, body = twin.api
            call = getattr(client, method)
            call(template.format(**objects.ids), data=body or {},
                 content_type="application/json")
        happened = bool(twin.happened(objects))
        transaction.set_rollback(True)
    return happened


@pytest.mark.parametrize("role", list(PERSONAS))
@pytest.mark.parametrize("action", list(TWINS))
def test_the_page_and_the_api_allow_the_same_action(scene: Scene, action: str, role: str) -> None:
    client = client_for(persona(PERSONAS[role]), host_of(scene.world.trondheim))
    twin = TWINS[action]

    page, api = _outcome(scene, twin, client, "page"), _outcome(scene, twin, client, "api")

    assert page == api, f"{action} as {role}: page {'does' if page else 'does not'}, API " \
        f"{'does' if api else 'does not'}"
    assert page == (role in ALLOWED[TENANT[twin.page[0]]] and (
        action != "rename the school" or role == "coordinator"))
