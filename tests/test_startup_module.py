"""The start-up module (Oppstartsmodul, issue 10 item 1): a guided flow for a new school
over the existing recording features — profile, time-use baseline, CFIR readiness,
components, a first plan, and the first round with survey links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import (
    ComponentAdoption,
    School,
    SchoolStartup,
    StartupStepRecord,
)
from implementation.services import (
    activity_log,
    adoption_delete,
    plan_create,
    round_close,
    round_create,
    staff_position_add,
    stage_period_set,
    step_create,
    survey_links_create,
    team_response_submit,
)
from implementation.services._common import today

from .conftest import World, client_for, host_of
from .recording import adopt, component, instrument, module, open_round, version

STEPS = ["profil", "tidsbruk", "forutsetninger", "komponenter", "plan", "runde"]


def startup_url(school_id: int, rest: str = "") -> str:
    return f"/skoler/{school_id}/oppstart/{rest}"


def startup_of(world: World, school_id: int) -> SchoolStartup | None:
    with tenant_context(world.trondheim):
        return SchoolStartup.objects.filter(school_id=school_id).first()


def records(world: World, school_id: int) -> dict[str, str]:
    """step → "" (done) or the reason it was skipped."""
    with tenant_context(world.trondheim):
        return dict(StartupStepRecord.objects.filter(startup__school_id=school_id)
                    .values_list("step", "skipped_reason"))


def audited(world: World, model: type[Model]) -> int:
    with tenant_context(world.trondheim):
        return LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model)).count()


def changes(world: World) -> int:
    return audited(world, SchoolStartup) + audited(world, StartupStepRecord)


@pytest.fixture
def leader(trondheim_leader: User, world: World) -> Client:
    return client_for(trondheim_leader, host_of(world.trondheim))


def start(client: Client, school_id: int) -> None:
    assert client.post(startup_url(school_id, "start/")).status_code == 302


def done(client: Client, school_id: int, step: str) -> int:
    return client.post(startup_url(school_id, f"{step}/ferdig/")).status_code


# --- Where the start-up is offered --------------------------------------------------------


def test_it_offers_the_start_up_on_a_new_schools_page_and_the_home_page(
    leader: Client, world: World
) -> None:
    school_page = leader.get(f"/skoler/{world.ila_id}/")
    home = leader.get("/")

    assert f'href="{startup_url(world.ila_id)}"' in school_page.text
    assert f'href="{startup_url(world.ila_id)}"' in home.text


def test_it_does_not_offer_the_start_up_to_a_school_that_is_under_way(
    leader: Client, world: World, ila: School
) -> None:
    adopt(ila, "1.1")

    home = leader.get("/")

    assert f'href="{startup_url(world.ila_id)}"' not in home.text


def test_it_shows_the_six_steps_before_the_school_starts(leader: Client, world: World) -> None:
    response = leader.get(startup_url(world.ila_id))

    assert response.status_code == 200
    assert response.context["startup"] is None
    assert [s["slug"] for s in response.context["steps"]] == STEPS
    assert "Start oppstarten" in response.text  # the main button, in Bokmål
    assert 'aria-current="step"' not in response.text


# --- A leader walks every step ------------------------------------------------------------


def test_a_leader_walks_every_step_with_a_pause_and_a_resume(
    leader: Client, world: World, ila: School, trondheim_staff: User
) -> None:
    school = ila
    start(leader, world.ila_id)
    overview = leader.get(startup_url(world.ila_id))
    assert overview.context["current"]["slug"] == "profil"
    assert f'href="{startup_url(world.ila_id, "profil/")}" aria-current="step"' in overview.text

    # 1. Profile: pupils are there, but no social-work position yet: the status cannot lie.
    refused = leader.post(startup_url(world.ila_id, "profil/ferdig/"))
    assert refused.status_code == 400
    assert "step" in refused.context["errors"]
    assert records(world, world.ila_id) == {}
    staff_position_add(school=school, profession="sosionom", position_percent=80)
    assert done(leader, world.ila_id, "profil") == 302

    # Continue later: paused, nothing can be marked done until the school resumes.
    assert leader.post(startup_url(world.ila_id, "pause/")).status_code == 302
    startup = startup_of(world, world.ila_id)
    assert startup is not None and startup.paused_at is not None
    activity_log(school=school, staff=trondheim_staff, performed_on=today(),
                 minutes=45, module=module(1), mode="akutt")
    assert done(leader, world.ila_id, "tidsbruk") == 400
    assert "Fortsett oppstarten" in leader.get(startup_url(world.ila_id)).text
    assert leader.post(startup_url(world.ila_id, "fortsett/")).status_code == 302
    startup = startup_of(world, world.ila_id)
    assert startup is not None and startup.paused_at is None

    # 2. Baseline of time use.
    assert done(leader, world.ila_id, "tidsbruk") == 302
    # 3. Readiness: the CFIR rating of a round that includes the school.
    assert done(leader, world.ila_id, "forutsetninger") == 400
    survey = open_round([school], name="Oppstart Ila")
    team_response_submit(assessment_round=survey, school=school, instrument=instrument("cfir"),
                         answers={"I.A": 1})
    assert done(leader, world.ila_id, "forutsetninger") == 302
    # 4. Components.
    assert done(leader, world.ila_id, "komponenter") == 400
    adopt(school, "1.1")
    assert done(leader, world.ila_id, "komponenter") == 302
    # 5. A plan with a stage period and a strategy step.
    plan = plan_create(school=school, model_version=version(), title="Oppstart",
                       starts_on=today())
    step_create(plan=plan, module=module(1), stage="exploration", eric_cluster="train_educate",
                action="Kurs", strategy_actor="Rektor", target="Lærerne",
                due_on=today() + timedelta(days=30))
    assert done(leader, world.ila_id, "plan") == 400  # no stage period yet
    stage_period_set(school=school, module=module(1), stage="exploration",
                     entered_on=today())
    assert done(leader, world.ila_id, "plan") == 302
    # 6. The round is open; staff are invited when the links exist.
    assert done(leader, world.ila_id, "runde") == 400
    survey_links_create(assessment_round=survey, school=school, count=3)
    assert done(leader, world.ila_id, "runde") == 302

    startup = startup_of(world, world.ila_id)
    assert startup is not None and startup.finished_at is not None
    assert startup.current_step == ""
    assert records(world, world.ila_id) == {
        "profile": "", "baseline": "", "readiness": "", "components": "", "plan": "",
        "round": ""}
    finished = leader.get(startup_url(world.ila_id))
    assert finished.context["current"] is None
    assert "Oppstarten er fullført" in finished.text


def test_a_new_schools_leader_walks_the_start_up_on_the_pages_alone(
    lade_leader: User, world: World
) -> None:
    """Lade skole (pupils, nothing else) through every step with the ordinary forms, as a
    browser would: each "Marker som fullført" leads on to the next step."""
    client = client_for(lade_leader, host_of(world.trondheim))
    sid = world.lade_id
    day = today().isoformat()

    def mark(slug: str, then: str) -> None:
        response = client.post(startup_url(sid, f"{slug}/ferdig/"))
        assert response.status_code == 302, (slug, response.context and
                                              response.context.get("errors"))
        assert response["Location"] == startup_url(sid, then)

    def post(path: str, data: dict[str, object]) -> None:
        response = client.post(path, data)
        assert response.status_code == 302, (path, response.context and
                                              response.context["form"].errors)

    start(client, sid)
    post(f"/skoler/{sid}/stillinger/ny/", {"profession": "sosionom", "position_percent": "80",
                                           "title": ""})
    mark("profil", "tidsbruk/")
    post(f"/skoler/{sid}/tid/", {"performed_on": day, "minutes": "45",
                                 "module": module(1).pk, "mode": "akutt"})
    mark("tidsbruk", "forutsetninger/")
    post("/runder/ny/", {"name": "Oppstart Lade", "opens_on": day,
                         "closes_on": (today() + timedelta(days=42)).isoformat(),
                         "instruments": [instrument(c).pk for c in ("fidelity", "cfir", "aim")],
                         "schools": [sid]})
    cfir_link = client.get(startup_url(sid, "forutsetninger/"))
    [round_path] = re.findall(rf'href="(/skoler/{sid}/runder/\d+/)cfir/"', cfir_link.text)
    post(f"{round_path}cfir/", {"answers.I.A": "1", "answers.II.A": "-1"})
    mark("forutsetninger", "komponenter/")
    post(f"/skoler/{sid}/komponenter/ta-i-bruk/", {"component": component("1.1").pk})
    mark("komponenter", "plan/")
    post(f"/skoler/{sid}/plan/ny/", {"title": "Oppstart", "starts_on": day})
    post(f"/skoler/{sid}/plan/tiltak/nytt/", {
        "module": module(1).pk, "stage": "exploration", "eric_cluster": "train_educate",
        "action": "Kurs", "strategy_actor": "Rektor", "target": "Lærerne",
        "due_on": (today() + timedelta(days=30)).isoformat(), "status": "not_started"})
    post(f"/skoler/{sid}/plan/faser/", {"module": module(1).pk, "stage": "exploration",
                                        "entered_on": day})
    mark("plan", "runde/")
    links = client.post(f"{round_path}lenker/", {"count": "3"})
    assert links.status_code in (200, 302, 303)
    mark("runde", "")

    startup = startup_of(world, sid)
    assert startup is not None and startup.finished_at is not None
    assert set(records(world, sid).values()) == {""}  # all six done, none skipped


def test_each_step_page_says_what_to_do_and_links_the_existing_feature(
    leader: Client, world: World
) -> None:
    start(leader, world.ila_id)
    links = {
        "profil": f"/skoler/{world.ila_id}/profil/",
        "tidsbruk": f"/skoler/{world.ila_id}/tid/",
        "forutsetninger": f"/skoler/{world.ila_id}/runder/",
        "komponenter": "/ressursbank/",
        "plan": f"/skoler/{world.ila_id}/plan/",
        "runde": "/runder/ny/",
    }
    for slug, link in links.items():
        page = leader.get(startup_url(world.ila_id, f"{slug}/"))
        assert page.status_code == 200, slug
        assert f'href="{link}' in page.text, slug
        assert "Marker som fullført" in page.text, slug
        assert page.text.count('aria-current="step"') == 1, slug


def test_the_readiness_step_links_the_cfir_form_of_an_open_round(
    leader: Client, world: World, ila: School
) -> None:
    survey = open_round([ila], name="Oppstart Ila")

    page = leader.get(startup_url(world.ila_id, "forutsetninger/"))

    assert f'href="/skoler/{world.ila_id}/runder/{survey.pk}/cfir/"' in page.text


def test_a_step_can_be_skipped_with_a_reason_and_not_without(
    leader: Client, world: World
) -> None:
    start(leader, world.ila_id)
    before = changes(world)

    blank = leader.post(startup_url(world.ila_id, "tidsbruk/hopp-over/"), {"reason": "  "})
    too_long = leader.post(startup_url(world.ila_id, "tidsbruk/hopp-over/"),
                           {"reason": "x" * 1001})

    assert blank.status_code == 400 and "reason" in blank.context["form"].errors
    assert too_long.status_code == 400 and "reason" in too_long.context["form"].errors
    assert changes(world) == before
    skipped = leader.post(startup_url(world.ila_id, "tidsbruk/hopp-over/"),
                          {"reason": "Vi har tall fra i fjor"})
    assert skipped.status_code == 302
    assert records(world, world.ila_id) == {"baseline": "Vi har tall fra i fjor"}
    assert "Vi har tall fra i fjor" in leader.get(startup_url(world.ila_id)).text


def test_a_step_already_done_is_refused_a_second_time(
    leader: Client, world: World, ila: School
) -> None:
    staff_position_add(school=ila, profession="sosionom", position_percent=80)
    start(leader, world.ila_id)
    assert done(leader, world.ila_id, "profil") == 302
    before = changes(world)

    assert done(leader, world.ila_id, "profil") == 400
    assert leader.post(startup_url(world.ila_id, "start/")).status_code == 400
    assert changes(world) == before


def test_nothing_can_be_marked_before_the_start(leader: Client, world: World, ila: School) -> None:
    staff_position_add(school=ila, profession="sosionom", position_percent=80)

    assert done(leader, world.ila_id, "profil") == 400
    assert leader.post(startup_url(world.ila_id, "pause/")).status_code == 400
    assert startup_of(world, world.ila_id) is None


def test_the_status_cannot_lie_when_the_data_goes_away(
    leader: Client, world: World, ila: School
) -> None:
    adoption = adopt(ila, "1.1")
    start(leader, world.ila_id)
    assert done(leader, world.ila_id, "komponenter") == 302
    with tenant_context(world.trondheim):
        adoption_delete(adoption=ComponentAdoption.objects.get(pk=adoption.pk))

    overview = leader.get(startup_url(world.ila_id))

    step = next(s for s in overview.context["steps"] if s["slug"] == "komponenter")
    assert step["state"] == "lapsed"
    assert "Må sjekkes igjen" in overview.text


def test_the_round_step_stays_done_when_the_first_round_closes(
    leader: Client, world: World, ila: School
) -> None:
    survey = open_round([ila], name="Oppstart Ila")
    survey_links_create(assessment_round=survey, school=ila, count=2)
    start(leader, world.ila_id)
    assert done(leader, world.ila_id, "runde") == 302
    round_close(assessment_round=survey)

    overview = leader.get(startup_url(world.ila_id))

    step = next(s for s in overview.context["steps"] if s["slug"] == "runde")
    assert step["state"] == "done"


def test_a_round_that_has_not_opened_yet_is_not_the_first_round(
    leader: Client, world: World, ila: School
) -> None:
    later = round_create(name="Senere", opens_on=today() + timedelta(days=10),
                         closes_on=today() + timedelta(days=40), schools=[ila],
                         instruments=[instrument("aim")], model_version=version())
    survey_links_create(assessment_round=later, school=ila, count=2)
    start(leader, world.ila_id)

    assert done(leader, world.ila_id, "runde") == 400


def test_an_unknown_step_is_not_found(leader: Client, world: World) -> None:
    assert leader.get(startup_url(world.ila_id, "ukjent/")).status_code == 404
    assert leader.post(startup_url(world.ila_id, "ukjent/ferdig/")).status_code == 404


# --- One audit entry per real change ------------------------------------------------------


def test_it_writes_one_audit_entry_per_changed_row(
    leader: Client, world: World, ila: School
) -> None:
    staff_position_add(school=ila, profession="sosionom", position_percent=80)
    adopt(ila, "1.1")

    start(leader, world.ila_id)
    assert (audited(world, SchoolStartup), audited(world, StartupStepRecord)) == (1, 0)
    assert done(leader, world.ila_id, "komponenter") == 302  # not the current step
    assert (audited(world, SchoolStartup), audited(world, StartupStepRecord)) == (1, 1)
    assert done(leader, world.ila_id, "profil") == 302  # the current one: it moves on
    assert (audited(world, SchoolStartup), audited(world, StartupStepRecord)) == (2, 2)
    assert leader.post(startup_url(world.ila_id, "pause/")).status_code == 302
    assert leader.post(startup_url(world.ila_id, "pause/")).status_code == 400
    assert (audited(world, SchoolStartup), audited(world, StartupStepRecord)) == (3, 2)
    startup = startup_of(world, world.ila_id)
    assert startup is not None and startup.current_step == "baseline"
    with tenant_context(world.trondheim):
        entry = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(StartupStepRecord)).first()
    assert entry is not None and entry.actor is not None
    assert entry.actor.email == "trondheim_leader@example.no"
    assert entry.additional_data == {"school_id": world.ila_id}


def test_the_audit_trail_names_the_steps_in_the_readers_language(
    leader: Client, world: World, ila: School
) -> None:
    staff_position_add(school=ila, profession="sosionom", position_percent=80)
    start(leader, world.ila_id)
    assert done(leader, world.ila_id, "profil") == 302
    assert leader.post(startup_url(world.ila_id, "tidsbruk/hopp-over/"),
                       {"reason": "Kjent fra i fjor"}).status_code == 302

    trail = leader.get(f"/logg/?school={world.ila_id}").text

    assert "Skoleprofil og rammefaktorer (Fullført)" in trail
    assert "Tidsbruk nå (Hoppet over)" in trail
    assert "Ila skole: Forutsetninger: determinantene (CFIR)" in trail


# --- Who may do what ----------------------------------------------------------------------


def test_staff_can_follow_the_start_up_but_not_change_it(
    trondheim_staff: User, leader: Client, world: World
) -> None:
    staff = client_for(trondheim_staff, host_of(world.trondheim))
    assert staff.post(startup_url(world.ila_id, "start/")).status_code == 403
    start(leader, world.ila_id)
    before = changes(world)

    assert staff.get(startup_url(world.ila_id)).status_code == 200
    assert staff.get(startup_url(world.ila_id, "plan/")).status_code == 200
    assert "Marker som fullført" not in staff.get(startup_url(world.ila_id, "plan/")).text
    for rest, data in [("pause/", {}), ("fortsett/", {}), ("profil/ferdig/", {}),
                       ("profil/hopp-over/", {"reason": "Nei"})]:
        assert staff.post(startup_url(world.ila_id, rest), data).status_code == 403, rest
    assert changes(world) == before


@pytest.mark.parametrize("rest", ["", "profil/", "start/", "pause/", "profil/ferdig/"])
def test_another_schools_leader_does_not_see_the_school(
    lade_leader: User, world: World, rest: str
) -> None:
    client = client_for(lade_leader, host_of(world.trondheim))

    response = client.post(startup_url(world.ila_id, rest)) if rest.endswith(
        ("start/", "pause/", "ferdig/")) else client.get(startup_url(world.ila_id, rest))

    assert response.status_code == 404
    assert startup_of(world, world.ila_id) is None


def test_a_member_of_another_municipality_is_refused(volda_leader: User, world: World) -> None:
    client = client_for(volda_leader, host_of(world.trondheim))

    assert client.get(startup_url(world.ila_id)).status_code == 403
    assert client.post(startup_url(world.ila_id, "start/")).status_code == 403
    assert client.get("/oppstart/").status_code == 403


def test_the_coordinator_may_start_a_schools_start_up(
    trondheim_coordinator: User, world: World
) -> None:
    client = client_for(trondheim_coordinator, host_of(world.trondheim))

    assert client.post(startup_url(world.lade_id, "start/")).status_code == 302
    startup = startup_of(world, world.lade_id)
    assert startup is not None and startup.started_by_id == trondheim_coordinator.pk


# --- The coordinator's table --------------------------------------------------------------


def test_the_coordinator_sees_which_school_is_at_which_step(
    trondheim_coordinator: User, leader: Client, world: World, ila: School
) -> None:
    staff_position_add(school=ila, profession="sosionom", position_percent=80)
    start(leader, world.ila_id)
    assert done(leader, world.ila_id, "profil") == 302
    assert leader.post(startup_url(world.ila_id, "pause/")).status_code == 302
    client = client_for(trondheim_coordinator, host_of(world.trondheim))

    response = client.get("/oppstart/")
    home = client.get("/")

    assert response.status_code == 200
    rows = {r["school"].name: r for r in response.context["rows"]}
    assert rows["Ila skole"]["current"]["slug"] == "tidsbruk"
    assert rows["Ila skole"]["startup"].paused_at is not None
    assert rows["Lade skole"]["startup"] is None
    assert "badge-startup-paused" in response.text and "Ikke startet" in response.text
    assert 'href="/oppstart/"' in home.text.split('class="mainnav"')[1].split("</nav>")[0]


@pytest.mark.parametrize("persona", ["trondheim_leader", "trondheim_staff"])
def test_only_the_coordinator_sees_the_municipalitys_table(
    persona: str, world: World, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(persona), host_of(world.trondheim))

    assert client.get("/oppstart/").status_code == 403


# --- Language -----------------------------------------------------------------------------


def test_it_speaks_nynorsk_and_english(leader: Client, world: World) -> None:
    """The page in Bokmål (the default), and its texts in Nynorsk and English (which
    language a signed-in user reads is the language middleware's business)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from implementation.models import StartupStep

    bokmal = leader.get(startup_url(world.ila_id)).text
    with translation.override("nn"):
        nynorsk = render_to_string("implementation/includes/startup_progress.html", {
            "steps": [{"slug": "tidsbruk", "number": 2, "title": StartupStep.BASELINE.label,
                       "state": "todo", "state_label": translation.pgettext(
                           "start-up", "Not done yet"), "key": "baseline"}],
            "school": School(pk=world.ila_id)})
        start_nn = translation.gettext("Start the start-up")
    with translation.override("en"):
        english = str(StartupStep.BASELINE.label)

    assert "Start oppstarten" in bokmal and "Tidsbruk nå" in bokmal
    assert "Tidsbruk no" in nynorsk and "Ikkje gjort enno" in nynorsk
    assert "Stega i oppstarten" in nynorsk  # the list's label
    assert start_nn == "Start oppstarten"
    assert english == "Current time use"


# --- Demo data: a school that has not started ----------------------------------------------


def test_the_demo_leaves_a_new_school_to_start_up(world: World, db: None) -> None:
    from django.core.management import call_command

    from dashboards.management.demo_history import HistoryBuilder
    from tenants.demo import NEW_SCHOOLS, demo_email

    call_command("load_demo", verbosity=0)
    [new] = NEW_SCHOOLS
    leader = User.objects.get(email=demo_email(f"rektor.{new.prefix}", new.slug))
    with tenant_context(world.trondheim):
        school = School.objects.get(name=new.school)
        history = HistoryBuilder(seed=1, as_of=today(), log=lambda _line: None)
        assert school not in history._schools(world.trondheim, extra=0)
        assert not SchoolStartup.objects.filter(school=school).exists()
    home = client_for(leader, host_of(world.trondheim)).get("/")

    assert f'href="{startup_url(school.pk)}"' in home.text
