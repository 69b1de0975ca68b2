"""Double submits and races (issue 9, item 2): whatever arrives at once, nobody gets a 500.

Twenty requests at once (threads, each with a database connection of its own) and double
submits (two at once, a few times over) on every write path that a unique constraint or a
delete guards:

* a create that collides answers 201 once and 400 with the field's error to the others
  (the pages show the error on the form, in the user's language);
* an upsert (stage periods, the team's rating, a staff member's answers) answers 201 once
  and 200 to the others;
* a delete answers 204 once and 404 to the others; closing a round closes it once;
* one row is stored, with one audit entry per real change.

As in tests/test_concurrency.py, the requests need committed data: everything lives in a
scratch municipality of this module, created and committed first and dropped (schema and
all) at the end, so the session's `world` is never flushed. Each test sets up its rows
through `committed` (a connection of its own, in autocommit); the test's own connection
stays in its transaction, rolled back afterwards, and reads what the requests committed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections
from django.db.models import Model
from django.test import Client
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from implementation.models import (
    Activity,
    Adaptation,
    AdoptionStatusChange,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    LocalComponent,
    Response,
    School,
    StaffPosition,
    StagePeriod,
    StrategyStep,
)
from implementation.services import (
    activity_log,
    adaptation_create,
    plan_create,
    school_create,
    staff_position_add,
    step_create,
)
from implementation.services._common import today
from sovei_platform.audit import audited_write
from sovei_platform.celery import app as celery_app
from tenants.db import use_public_schema
from tenants.models import Municipality

from .conftest import World, host_of
from .recording import adopt, component, instrument, module, open_round, version
from .worker_support import (
    free_kommunenummer,
    redis_keys_delete,
    scratch_municipality_create,
    scratch_municipality_drop,
    unique_name,
)

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as HttpResponse
else:
    from django.http import HttpResponse


THREADS = 20
PAIRS = 5  # double submits per path: a pair races often, not always
WAIT = 60.0  # bound on a request (a guard against a hang, not a measurement)
NORWEGIAN = {"accept-language": "nb"}

T = TypeVar("T")


@dataclass(frozen=True)
class Town:
    municipality: Municipality
    coordinator: User
    host: str
    people: list[int] = field(default_factory=list)  # users to remove afterwards


@pytest.fixture(scope="module")
def town(world: World, django_db_blocker: Any) -> Iterator[Town]:
    """A committed scratch municipality with its coordinator, who may do all of it."""
    slug = f"rc{unique_name('x')[-8:]}"
    with django_db_blocker.unblock():
        municipality = scratch_municipality_create(slug, free_kommunenummer())
        assert isinstance(municipality, Municipality)
        coordinator = user_create(
            email=f"{slug}-koordinator@example.no", password=None, full_name="Koordinator"
        )
        membership_grant(user=coordinator, municipality=municipality, role=Role.COORDINATOR)
        use_public_schema()
    town = Town(municipality, coordinator, host_of(municipality), [coordinator.pk])
    try:
        yield town
    finally:
        with django_db_blocker.unblock():
            scratch_municipality_drop(municipality.schema_name)
            # The writes' recomputation requests went to this session's broker (no worker
            # runs here); their coalescing keys would expire, but go now.
            redis_keys_delete(str(celery_app.conf.broker_url),
                              f"sovei:recompute:{municipality.schema_name}:*")
            User.objects.filter(pk__in=town.people).delete()


@pytest.fixture
def here(town: Town, db: None) -> Iterator[Town]:
    """The test body, in the scratch municipality's schema. Its own connection stays in the
    test's transaction (rolled back), which sees what the requests commit; it writes only
    through `committed`, since no request would see what it wrote itself."""
    with tenant_context(town.municipality):
        yield town


def committed(town: Town, make: Callable[[], T]) -> T:
    """Run `make` on a connection of its own, in autocommit, in the scratch municipality:
    what it writes is committed at once, for the requests to see."""
    made: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with tenant_context(town.municipality):
                made.append(make())
        except BaseException as exc:
            failed.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=WAIT)
    if failed:
        raise failed[0]
    assert made, "the setup hangs"
    return made[0]


_names = iter(range(1, 1_000_000))


def fresh(prefix: str) -> str:
    return f"{prefix} {next(_names)}"


def fresh_school() -> School:
    return school_create(name=fresh("Skole"))


def rated_school() -> tuple[School, ComponentAdoption, AssessmentRound]:
    """A school with one adopted component, in an open round with the fidelity rating."""
    school = fresh_school()
    adoption = adopt(school, "1.1")
    return school, adoption, open_round([school], codes=("fidelity",), name=fresh("Runde"))


# --- Many requests at once ---------------------------------------------------------------


Call = Callable[[Client], HttpResponse]


def session_cookie(town: Town, user: User) -> str:
    def login() -> str:
        client = Client(HTTP_HOST=town.host)
        client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return committed(town, login)


def staff_member(town: Town, school: School) -> User:
    """A new social-work staff member of `school` (committed)."""
    def make() -> User:
        person = user_create(email=f"{fresh('ansatt').replace(' ', '')}-{town.municipality.slug}"
                                   "@example.no", password=None)
        membership_grant(user=person, municipality=town.municipality, role=Role.STAFF,
                         school_ids=[school.pk])
        return person

    person = committed(town, make)
    town.people.append(person.pk)
    return person


def at_once(town: Town, calls: list[Call], user: User | None = None) -> list[HttpResponse]:
    """Send the calls at the same moment, one thread (and connection) each, as `user` (the
    coordinator by default); a server error comes back as a 500 response, not as an
    exception."""
    cookie = session_cookie(town, user or town.coordinator)
    start = threading.Barrier(len(calls))
    results: list[HttpResponse | BaseException | None] = [None] * len(calls)

    def run(n: int) -> None:
        client = Client(HTTP_HOST=town.host, raise_request_exception=False)
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
        try:
            start.wait(timeout=30)
            results[n] = calls[n](client)
        except BaseException as exc:  # every failure is a finding
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert not any(thread.is_alive() for thread in threads), "a request hangs"
    failures = [r for r in results if not isinstance(r, HttpResponse)]
    assert failures == []
    return [r for r in results if isinstance(r, HttpResponse)]


def same(call: Call, n: int = THREADS) -> list[Call]:
    return [call] * n


def post_json(url: str, body: dict[str, Any]) -> Call:
    return lambda client: client.post(url, json.dumps(body), content_type="application/json")


def patch_json(url: str, body: dict[str, Any]) -> Call:
    return lambda client: client.patch(url, json.dumps(body), content_type="application/json")


def delete(url: str) -> Call:
    return lambda client: client.delete(url)


def post_form(url: str, data: dict[str, Any]) -> Call:
    return lambda client: client.post(url, data, headers=NORWEGIAN)


def norwegian(message: str) -> str:
    """`message` as a Norwegian page shows it (the English source until it is translated)."""
    with translation.override("nb"):
        return translation.gettext(message)


def codes(responses: list[HttpResponse]) -> list[int]:
    return sorted(r.status_code for r in responses)


def assert_one_created(responses: list[HttpResponse], field: str, *, won: int = 201) -> None:
    """One request wins (`won`); every other one is refused with `field`'s error."""
    seen = codes(responses)
    assert seen.count(won) == 1, seen
    refused = [r for r in responses if r.status_code != won]
    assert {r.status_code for r in refused} <= {400, 409}, seen
    for response in refused:
        assert field in response.json(), response.content


def audited(model: type[Model], action: int, pk: object | None = None) -> int:
    """Audit entries of `model` (one object's, with `pk`) for the action."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), action=action
    )
    if pk is not None:
        entries = entries.filter(object_pk=str(pk))
    return entries.count()


CREATE, UPDATE, DELETE = LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE


def days(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


# --- API: twenty creates of the same thing -------------------------------------------------


def test_it_opens_one_round_when_twenty_ask_for_the_same_name(here: Town) -> None:
    school = committed(here, fresh_school)
    name = fresh("Vår 2027")
    body = {"name": name, "opens_on": days(0), "closes_on": days(20),
            "schools": [school.pk], "instruments": ["fidelity", "aim"]}

    responses = at_once(here, same(post_json("/api/v1/rounds/", body)))

    assert_one_created(responses, "name")
    assert AssessmentRound.objects.filter(name=name).count() == 1
    created = AssessmentRound.objects.get(name=name)
    assert audited(AssessmentRound, CREATE, created.pk) == 1


def test_it_adopts_a_component_once_when_twenty_ask_at_once(here: Town) -> None:
    school = committed(here, fresh_school)
    body = {"school": school.pk, "component": component("1.1").pk}

    responses = at_once(here, same(post_json("/api/v1/adoptions/", body)))

    assert_one_created(responses, "component")
    adoptions = ComponentAdoption.objects.filter(school=school)
    assert adoptions.count() == 1
    assert audited(ComponentAdoption, CREATE, adoptions.get().pk) == 1


def test_it_adds_one_local_component_when_twenty_give_the_same_title(here: Town) -> None:
    school = committed(here, fresh_school)
    body = {"school": school.pk,
            "local_component": {"module": module(3).pk, "title": "Frokostklubb"}}

    responses = at_once(here, same(post_json("/api/v1/adoptions/", body)))

    assert_one_created(responses, "title")
    local = LocalComponent.objects.filter(school=school)
    assert local.count() == 1
    assert ComponentAdoption.objects.filter(school=school).count() == 1
    assert audited(LocalComponent, CREATE, local.get().pk) == 1


def test_it_adds_one_school_when_twenty_give_the_same_name(here: Town) -> None:
    name = fresh("Byåsen skole")

    responses = at_once(here, same(post_json("/api/v1/schools/", {"name": name})))

    assert_one_created(responses, "name")
    assert School.objects.filter(name=name).count() == 1
    assert audited(School, CREATE, School.objects.get(name=name).pk) == 1


def test_it_adds_one_school_when_twenty_give_the_same_organisation_number(here: Town) -> None:
    bodies = [{"name": fresh("Skole"), "organisation_number": "974760673"}
              for _n in range(THREADS)]

    responses = at_once(here, [post_json("/api/v1/schools/", b) for b in bodies])

    assert_one_created(responses, "organisation_number")
    assert School.objects.filter(organisation_number="974760673").count() == 1


def test_it_writes_one_plan_per_version_when_twenty_ask_at_once(here: Town) -> None:
    school = committed(here, fresh_school)
    body = {"school": school.pk, "title": "SoVei-plan", "starts_on": days(-10),
            "ends_on": days(200), "priorities": [{"module": module(1).pk, "intended_percent": 20}]}

    responses = at_once(here, same(post_json("/api/v1/plans/", body)))

    assert_one_created(responses, "model_version")
    plans = ImplementationPlan.objects.filter(school=school)
    assert plans.count() == 1
    assert audited(ImplementationPlan, CREATE, plans.get().pk) == 1


# --- API: twenty renames to the same name --------------------------------------------------


def test_it_renames_one_of_twenty_rounds_to_the_same_name(here: Town) -> None:
    def make() -> list[AssessmentRound]:
        school = fresh_school()
        return [open_round([school], codes=("fidelity",), name=fresh("Runde"))
                for _n in range(THREADS)]

    rounds = committed(here, make)
    name = fresh("Høst 2027")

    responses = at_once(here, [patch_json(f"/api/v1/rounds/{r.pk}/", {"name": name})
                               for r in rounds])

    assert_one_created(responses, "name", won=200)
    renamed = AssessmentRound.objects.get(name=name)
    assert audited(AssessmentRound, UPDATE, renamed.pk) == 1
    assert sum(audited(AssessmentRound, UPDATE, r.pk) for r in rounds) == 1


def test_it_renames_one_of_twenty_schools_to_the_same_name(here: Town) -> None:
    schools = committed(here, lambda: [fresh_school() for _n in range(THREADS)])
    name = fresh("Strinda skole")

    responses = at_once(here, [patch_json(f"/api/v1/schools/{s.pk}/", {"name": name})
                               for s in schools])

    assert_one_created(responses, "name", won=200)
    assert School.objects.filter(name=name).count() == 1
    assert sum(audited(School, UPDATE, s.pk) for s in schools) == 1


# --- API: upserts ----------------------------------------------------------------------------


def test_it_records_a_stage_period_once_and_answers_the_others_200(here: Town) -> None:
    school = committed(here, fresh_school)
    body = {"school": school.pk, "module": module(3).pk, "stage": "exploration",
            "entered_on": days(-20)}

    responses = at_once(here, same(post_json("/api/v1/stage-periods/", body)))

    assert codes(responses) == [200] * (THREADS - 1) + [201]
    period = StagePeriod.objects.get(school=school)
    assert audited(StagePeriod, CREATE, period.pk) == 1
    assert audited(StagePeriod, UPDATE, period.pk) == 0  # the same dates: no change


def test_it_stores_the_first_team_rating_once_and_answers_201_once(here: Town) -> None:
    school, adoption, assessment_round = committed(here, rated_school)
    body = {"school": school.pk, "instrument": "fidelity", "answers": {str(adoption.pk): 2}}
    url = f"/api/v1/rounds/{assessment_round.pk}/team-responses/"

    responses = at_once(here, same(post_json(url, body)))

    assert codes(responses) == [200] * (THREADS - 1) + [201]
    rating = Response.objects.get(round=assessment_round, school=school)
    assert audited(Response, CREATE, rating.pk) == 1
    assert audited(Response, UPDATE, rating.pk) == 0  # the same answers: no change
    assert rating.answers.count() == 1


def test_it_stores_a_staff_members_answers_once_and_answers_201_once(here: Town) -> None:
    school = committed(here, fresh_school)
    person = staff_member(here, school)
    assessment_round = committed(here, lambda: open_round([school], codes=("aim",),
                                                          name=fresh("Runde")))
    body = {"instrument": "aim", "answers": {f"aim{n}": 4 for n in range(1, 5)}}
    url = f"/api/v1/rounds/{assessment_round.pk}/my-responses/"

    responses = at_once(here, same(post_json(url, body)), user=person)

    assert codes(responses) == [200] * (THREADS - 1) + [201]
    answers = Response.objects.get(round=assessment_round, respondent=person)
    assert audited(Response, CREATE, answers.pk) == 1
    assert audited(Response, UPDATE, answers.pk) == 0


# --- API: twenty deletes of one row ----------------------------------------------------------


def _activity(town: Town) -> tuple[Activity, str]:
    activity = activity_log(school=fresh_school(), staff=town.coordinator,
                            performed_on=today(), minutes=30, module=module(2), mode="akutt")
    return activity, f"/api/v1/activities/{activity.pk}/"


def _step(town: Town) -> tuple[StrategyStep, str]:
    plan = plan_create(school=fresh_school(), model_version=version(), title="Plan",
                       starts_on=today() - timedelta(days=10))
    step = step_create(plan=plan, module=module(2), stage="installation",
                       eric_cluster="train_educate", action="Kurs", strategy_actor="Sosionom",
                       target="Lærerne", due_on=today() + timedelta(days=30), dose="2 × 45 min")
    return step, f"/api/v1/steps/{step.pk}/"


def _adaptation(town: Town) -> tuple[Adaptation, str]:
    adaptation = adaptation_create(
        adoption=adopt(fresh_school(), "2.1"), what_changed="Også i SFO-tiden",
        made_on=today(), timing="implementation", planned=True, decided_by="school_leader",
        level="school", change_type="context", nature="lengthening", fidelity="consistent",
        goals=["reach"], reason_level="organization", reasons="Mange elever går i SFO.",
    )
    return adaptation, f"/api/v1/adaptations/{adaptation.pk}/"


def _position(town: Town) -> tuple[StaffPosition, str]:
    position = staff_position_add(school=fresh_school(), profession="sosionom",
                                  position_percent=80)
    return position, f"/api/v1/schools/{position.school_id}/positions/{position.pk}/"


def _adoption(town: Town) -> tuple[ComponentAdoption, str]:
    adoption = adopt(fresh_school(), "3.1")
    return adoption, f"/api/v1/adoptions/{adoption.pk}/"


DELETABLE: dict[str, Callable[[Town], tuple[Model, str]]] = {
    "activity": _activity,
    "step": _step,
    "adaptation": _adaptation,
    "position": _position,
    "adoption": _adoption,
}


@pytest.mark.parametrize("kind", DELETABLE)
def test_it_deletes_once_when_twenty_delete_at_once(kind: str, here: Town) -> None:
    row, url = committed(here, lambda: DELETABLE[kind](here))
    model = type(row)

    responses = at_once(here, same(delete(url)))

    assert codes(responses) == [204] + [404] * (THREADS - 1)
    assert not model._default_manager.filter(pk=row.pk).exists()
    assert audited(model, DELETE, row.pk) == 1


# --- Pages: double submits -------------------------------------------------------------------


def pages_at_once(town: Town, call: Call) -> list[HttpResponse]:
    responses = at_once(town, same(call, 2))
    assert 500 not in codes(responses), [r.content[:2000] for r in responses]
    return responses


def refused_in_norwegian(responses: list[HttpResponse], text: str, won: int = 302) -> None:
    """The double submit: one went through; the other (if it raced) shows the form again
    with `text`, the error in the user's language (Norwegian here)."""
    seen = codes(responses)
    assert seen.count(won) >= 1, seen
    for response in responses:
        if response.status_code == 400:
            assert text in response.content.decode(), response.content.decode()[:3000]
        else:
            assert response.status_code == won, seen


def test_a_double_click_on_open_round_opens_one_round(here: Town) -> None:
    for _pair in range(PAIRS):
        school = committed(here, fresh_school)
        name = fresh("Vår 2027")
        data = {"name": name, "opens_on": days(0), "closes_on": days(30),
                "instruments": [instrument(c).pk for c in ("fidelity", "aim", "sus")],
                "schools": [school.pk]}

        responses = pages_at_once(here, post_form("/runder/ny/", data))

        assert codes(responses) == [302, 400]
        refused_in_norwegian(responses, "Det finnes allerede en runde med dette navnet.")
        assert AssessmentRound.objects.filter(name=name).count() == 1


def test_a_double_click_on_adopt_adopts_once(here: Town) -> None:
    for _pair in range(PAIRS):
        school = committed(here, fresh_school)
        url = f"/skoler/{school.pk}/komponenter/ta-i-bruk/"

        responses = pages_at_once(here, post_form(url, {"component": component("2.2").pk}))

        assert codes(responses) == [302, 400]
        refused_in_norwegian(responses, "Skolen har allerede tatt i bruk denne komponenten.")
        assert ComponentAdoption.objects.filter(school=school).count() == 1


def test_a_double_click_on_add_local_component_adds_one(here: Town) -> None:
    for _pair in range(PAIRS):
        school = committed(here, fresh_school)
        url = f"/skoler/{school.pk}/komponenter/lokal/"

        responses = pages_at_once(
            here, post_form(url, {"module": module(3).pk, "title": "Pausevenn-ordning"}))

        assert codes(responses) == [302, 400]
        refused_in_norwegian(responses, norwegian(
            "The school already has a local component with this title."))
        assert LocalComponent.objects.filter(school=school).count() == 1


def test_a_double_click_on_create_plan_writes_one_plan(here: Town) -> None:
    for _pair in range(PAIRS):
        school = committed(here, fresh_school)
        data = {"title": "SoVei-plan", "starts_on": days(-60), "ends_on": days(300),
                "intended_systematic_percent": "50", f"priority_{module(1).pk}": "20"}

        responses = pages_at_once(here, post_form(f"/skoler/{school.pk}/plan/ny/", data))

        # The second goes to the plan's edit page when the first was done before it looked.
        refused_in_norwegian(
            responses, "Skolen har allerede en plan for denne modellversjonen.")
        assert ImplementationPlan.objects.filter(school=school).count() == 1


def test_a_double_click_on_a_stage_period_records_it_once(here: Town) -> None:
    for _pair in range(PAIRS):
        school = committed(here, fresh_school)
        data = {"module": module(1).pk, "stage": "exploration", "entered_on": days(-10),
                "exited_on": ""}

        responses = pages_at_once(here, post_form(f"/skoler/{school.pk}/plan/faser/", data))

        assert codes(responses) == [302, 302]
        period = StagePeriod.objects.get(school=school)
        assert audited(StagePeriod, CREATE, period.pk) == 1


def test_a_double_click_on_the_fidelity_rating_stores_one(here: Town) -> None:
    for _pair in range(PAIRS):
        school, adoption, assessment_round = committed(here, rated_school)
        url = f"/skoler/{school.pk}/runder/{assessment_round.pk}/troskap/"

        responses = pages_at_once(here, post_form(url, {f"answers.{adoption.pk}": "2"}))

        assert codes(responses) == [302, 302]
        rating = Response.objects.get(round=assessment_round, school=school)
        assert audited(Response, CREATE, rating.pk) == 1
        assert audited(Response, UPDATE, rating.pk) == 0


def test_a_double_click_on_rename_school_keeps_names_unique(here: Town) -> None:
    for _pair in range(PAIRS):
        first, second = committed(here, lambda: (fresh_school(), fresh_school()))
        name = fresh("Charlottenlund skole")
        data = {"name": name, "organisation_number": "", "grade_from": 1, "grade_to": 7,
                "pupil_count": ""}
        calls = [post_form(f"/skoler/{s.pk}/profil/", data) for s in (first, second)]

        responses = at_once(here, calls)

        assert codes(responses) == [302, 400]
        refused_in_norwegian(responses, "finnes allerede")
        assert School.objects.filter(name=name).count() == 1


def test_a_double_click_on_delete_activity_deletes_once(here: Town) -> None:
    for _pair in range(PAIRS):
        activity, _url = committed(here, lambda: _activity(here))
        url = f"/skoler/{activity.school_id}/tid/{activity.pk}/slett/"

        responses = pages_at_once(here, post_form(url, {}))

        assert codes(responses) == [302, 404]
        assert audited(Activity, DELETE, activity.pk) == 1


def test_a_double_click_on_close_round_closes_it_once(here: Town) -> None:
    for _pair in range(PAIRS):
        assessment_round = committed(here, lambda: open_round(
            [fresh_school()], codes=("fidelity",), name=fresh("Runde")))

        responses = pages_at_once(
            here, post_form(f"/runder/{assessment_round.pk}/lukk/", {}))

        assert codes(responses) == [302, 302]
        assert audited(AssessmentRound, UPDATE, assessment_round.pk) == 1


# --- The translation itself ------------------------------------------------------------------


def test_it_names_the_field_of_a_unique_field_that_no_named_constraint_declares(
    world: World, db: None
) -> None:
    """A `unique=True` field's index has a generated name: the field is found by the
    table and the columns PostgreSQL reports."""
    with pytest.raises(ValidationError) as refused, audited_write(None):
        User.objects.create(email="trondheim_leader@example.no")

    [error] = refused.value.error_dict["email"]
    assert error.code == "unique"


def test_it_leaves_other_integrity_errors_alone(world: World, db: None) -> None:
    with pytest.raises(IntegrityError), audited_write(None):
        User.objects.create(email=None)



def test_it_changes_a_status_once_when_twenty_ask_at_once(here: Town) -> None:
    """A double-clicked status change wrote two status changes and two audit entries."""
    adoption, url = committed(here, lambda: _adoption(here))

    responses = at_once(here, same(post_json(f"{url}status/", {"to_status": "in_place"})))

    assert sorted(codes(responses)) == [200] + [400] * (THREADS - 1)
    assert all("to_status" in r.json() for r in responses if r.status_code == 400)
    changes = AdoptionStatusChange.objects.filter(adoption_id=adoption.pk, to_status="in_place")
    assert changes.count() == 1
