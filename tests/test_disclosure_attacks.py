"""The attacks of the disclosure audit (issue 8), played against the real store, exports,
pages and dashboards, as an outside researcher and as an insider would play them.

The attacker only uses what a person may see: the researcher's CSV exports and pages, and
— for an insider who is also a coordinator — the municipality's dashboards and their JSON.
Between looks, the municipality does what people do: late answers, a second round in the
same semester, a round reopened and closed again or moved to another semester, sharing
stopped and started, one staff member logging time.

What must hold (docs/research.md, "Guarantees"):

* **Differencing**: for any two cells a researcher sees, one nested in the other (a school in
  its municipality, a municipality in its county, …), and for the same cell in any two
  publications, the difference in respondents is 0 or at least k, and a difference of 0
  means the same figures. So no subtraction isolates fewer than k people.
* **Insider**: the published overall minus everything an insider's own dashboards show
  leaves 0 or at least k respondents.
* **Dashboards**: no mean of fewer than k answers appears in any dashboard page or JSON.
* **Dates**: moving every date within its semester changes nothing a researcher receives.
* **Time use**: every published time figure stands for at least k staff, and so does any
  difference of two nested figures.

The last test fails when an export, a research page or chart, or a dashboard figure is
added without being placed in this suite (as tests/test_route_policy.py does for routes).
"""

from __future__ import annotations

import csv
import inspect
import io
import itertools
import json
import re
import secrets
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.test import Client
from django.urls import URLPattern
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from dashboards.api import MUNICIPALITY_ENDPOINTS, SCHOOL_ENDPOINTS
from implementation.models import (
    Activity,
    Adaptation,
    AdoptionStatusChange,
    AssessmentRound,
    ComponentAdoption,
    School,
    StagePeriod,
    StrategyStep,
)
from implementation.services import (
    activity_log,
    link_response_submit,
    round_close,
    survey_links_create,
)
from implementation.services._common import today
from research import charts
from research import urls as research_urls
from research.exports import DATASETS
from research.pseudonyms import Semester
from research.services import research_sharing_set
from sovei_platform.privacy import min_group_size, min_staff_group

from .conftest import PASSWORD, World, client_for, host_of
from .recording import module, open_round, survey_answers
from .test_research_world import (
    ResearchWorld,
    publish,
    recompute_all,
    research_world,
)

__all__ = ["research_world"]

EXPORT = "/forsker/eksport/last-ned/"
PLACES = ("county", "size_band", "municipality", "school")
DEPTH = {"overall": 0, "county": 1, "size_band": 1, "county_band": 2, "municipality": 3,
         "school": 4}


# --- What a researcher sees, and the arithmetic an attacker does with it ---------------------


@dataclass(frozen=True)
class Cell:
    """One published row of a person-level dataset: where, what, and how many people."""

    level: str
    place: tuple[str, str, str, str]  # county, size_band, municipality, school ('' = any)
    what: tuple[str, ...]  # semester, model version, instrument or module × mode
    people: int  # respondents (outcomes) or staff (time use)
    figures: tuple[str, ...]  # mean and sd, or the share


def download(user: User, dataset: str, file_format: str = "csv") -> bytes:
    response = client_for(user, "testserver").post(
        EXPORT, {"dataset": dataset, "file_format": file_format})
    assert response.status_code == 200, response.content[:300]
    return response.content


def data_csv(user: User, dataset: str) -> str:
    return zipfile.ZipFile(io.BytesIO(download(user, dataset))).read("data.csv").decode()


def cells(user: User) -> list[Cell]:
    """The outcome and time-use cells of the researcher's exports (every filter open)."""
    found = []
    for row in csv.DictReader(io.StringIO(data_csv(user, "outcomes"))):
        found.append(Cell(
            row["level"], tuple(row[p] for p in PLACES),  # type: ignore[arg-type]
            ("outcomes", row["semester"], row["model_version"], row["instrument"]),
            int(row["n"]), (row["mean"], row["sd"])))
    for row in csv.DictReader(io.StringIO(data_csv(user, "time_use"))):
        found.append(Cell(
            row["level"], tuple(row[p] for p in PLACES),  # type: ignore[arg-type]
            ("time_use", row["semester"], row["model_version"], row["module_number"],
             row["mode"]),
            int(row["staff"]), (row["share_percent"],)))
    return found


def k_of(cell: Cell) -> int:
    return min_group_size() if cell.what[0] == "outcomes" else min_staff_group()


def nested(child: Cell, parent: Cell) -> bool:
    return (child.what == parent.what and DEPTH[child.level] > DEPTH[parent.level]
            and all(p == "" or c == p for c, p in zip(child.place, parent.place, strict=True)))


def too_small(difference: int, k: int) -> bool:
    return 0 < abs(difference) < k


def subtractions(seen: list[Cell]) -> list[str]:
    """Every subtraction within one look that leaves between 1 and k − 1 people: a nested
    cell from its parent, and all nested cells of one level (disjoint) from their parent."""
    found = []
    for parent in seen:
        children = [c for c in seen if nested(c, parent)]
        for child in children:
            if too_small(parent.people - child.people, k_of(parent)):
                found.append(f"{parent} − {child}")
        for level, group in itertools.groupby(sorted(children, key=lambda c: c.level),
                                              key=lambda c: c.level):
            rest = parent.people - sum(c.people for c in group)
            if too_small(rest, k_of(parent)):
                found.append(f"{parent} − Σ {level} = {rest}")
    return found


def revisions(before: list[Cell], after: list[Cell]) -> list[str]:
    """Every cell (and every remainder of a parent after its disjoint children) that changed
    between two looks by 1 to k − 1 people, or changed its figures without a change in
    people."""
    def keyed(seen: list[Cell]) -> dict[tuple[Any, ...], Cell]:
        return {(c.level, c.place, c.what): c for c in seen}

    def remainders(seen: list[Cell]) -> dict[tuple[Any, ...], int]:
        rest = {}
        for parent in seen:
            for level in DEPTH:
                group = [c for c in seen if c.level == level and nested(c, parent)]
                rest[(parent.level, parent.place, parent.what, level)] = (
                    parent.people - sum(c.people for c in group))
        return rest

    found = []
    old, new = keyed(before), keyed(after)
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        people = (b.people if b else 0) - (a.people if a else 0)
        cell = a or b
        assert cell is not None
        if too_small(people, k_of(cell)):
            found.append(f"{key}: {people:+d} people")
        if a and b and people == 0 and a.figures != b.figures:
            found.append(f"{key}: figures changed with the same people {a.figures}→{b.figures}")
    old_rest, new_rest = remainders(before), remainders(after)
    k = min(min_group_size(), min_staff_group())
    for key in old_rest.keys() & new_rest.keys():
        if too_small(new_rest[key] - old_rest[key], k):
            found.append(f"remainder {key}: {new_rest[key] - old_rest[key]:+d}")
    return found


def assert_safe(*looks: list[Cell]) -> None:
    """No subtraction within any look and no revision between any two looks isolates fewer
    than k people."""
    for look in looks:
        assert subtractions(look) == []
    for before, after in itertools.combinations(looks, 2):
        assert revisions(before, after) == []


def test_the_attackers_arithmetic_finds_a_difference_of_one() -> None:
    """The checks above can fail: the audit's own findings, as the old store showed them."""
    overall = Cell("overall", ("", "", "", ""), ("outcomes", "2026H", "1.0", "sus"), 35, ("70",
                                                                                          "9"))
    trondheim = Cell("municipality", ("50", "1000-4999", "m1", ""), overall.what, 31,
                     ("71", "9"))
    grown = Cell("overall", overall.place, overall.what, 36, ("69", "9"))
    assert subtractions([overall, trondheim]) != []  # 35 − 31 = 4 < k
    assert revisions([overall], [grown]) != []  # n 35 → 36: one person's SUS
    assert revisions([overall], [Cell("overall", overall.place, overall.what, 35,
                                      ("71", "9"))]) != []
    assert subtractions([overall, Cell("municipality", ("50", "1000-4999", "m1", ""),
                                       overall.what, 30, ("71", "9"))]) == []


# --- The municipality's side: what people do between two looks -------------------------------


def current_round(municipality: Any, name_starts: str) -> AssessmentRound:
    with tenant_context(municipality):
        return AssessmentRound.objects.get(name__startswith=name_starts)


def answer(assessment_round: AssessmentRound, school: School, count: int,
           answers: dict[str, dict[str, int]] | None = None) -> None:
    """`count` people answer the whole staff survey through one-time links."""
    for issued in survey_links_create(assessment_round=assessment_round, school=school,
                                      count=count):
        link_response_submit(token=issued.token, answers=answers or survey_answers(2, 4))


def patch_round(coordinator: User, municipality: Any, round_id: int, **fields: str) -> int:
    response = client_for(coordinator, host_of(municipality)).patch(
        f"/api/v1/rounds/{round_id}/", data=json.dumps(fields),
        content_type="application/json")
    assert response.status_code in (200, 400), response.content[:300]
    return response.status_code


def republish(w: ResearchWorld) -> None:
    recompute_all(w.trondheim)
    recompute_all(w.volda)
    publish()


def test_a_second_round_of_the_same_semester_adds_no_one_who_can_be_isolated(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Audit 1: a school's cell grew 5 → 6 when a second round of the semester closed."""
    w = research_world
    first = cells(researcher)
    with tenant_context(w.trondheim):
        late = open_round([w.lade, w.ila], name="Andre runde samme semester")
        answer(late, w.lade, 1, survey_answers(5, 5))
        round_close(assessment_round=late)
    republish(w)
    second = cells(researcher)
    with tenant_context(w.trondheim):
        third_round = open_round([w.lade], name="Tredje runde samme semester")
        answer(third_round, w.lade, min_group_size())
        round_close(assessment_round=third_round)
    republish(w)
    third = cells(researcher)

    assert second == first  # one late answer: nothing changes at all
    grew = {(c.level, c.place, c.what): c.people for c in third} .items() - {
        (c.level, c.place, c.what): c.people for c in first}.items()
    assert grew  # a whole group of k was added, and the store shows it
    assert_safe(first, second, third)


def test_a_round_closed_early_with_fewer_than_k_moves_no_total(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Audit 1: a municipality's round with n = 4 closed early; the overall went 31 → 35."""
    w = research_world
    before = cells(researcher)
    with tenant_context(w.volda):
        early = open_round([w.bratteberg], name="Tidlig lukket")
        answer(early, w.bratteberg, min_group_size() - 1)
        round_close(assessment_round=early)
    republish(w)

    after = cells(researcher)
    assert after == before
    assert_safe(before, after)


def test_reopening_and_closing_a_round_again_releases_only_whole_groups(
    research_world: ResearchWorld, researcher: User, trondheim_coordinator: User
) -> None:
    """Audit 1: rounds can be reopened (a new closing date), closed again and answered late."""
    w = research_world
    with tenant_context(w.trondheim):
        survey = open_round([w.ila, w.lade], name="Gjenåpnet runde")
        answer(survey, w.lade, min_group_size())
        answer(survey, w.ila, 1)
    yesterday, later = today() - timedelta(days=1), today() + timedelta(days=10)
    opens = (today() - timedelta(days=7)).isoformat()
    looks = [cells(researcher)]
    for ila_late, lade_late in ((1, 1), (min_group_size() - 2, 0)):
        assert patch_round(trondheim_coordinator, w.trondheim, survey.pk,
                           closes_on=yesterday.isoformat(), opens_on=opens) == 200
        republish(w)
        looks.append(cells(researcher))
        assert patch_round(trondheim_coordinator, w.trondheim, survey.pk,
                           closes_on=later.isoformat(), opens_on=opens) == 200
        with tenant_context(w.trondheim):
            survey.refresh_from_db()
            answer(survey, w.ila, ila_late)
            if lade_late:
                answer(survey, w.lade, lade_late)
    assert patch_round(trondheim_coordinator, w.trondheim, survey.pk,
                       closes_on=yesterday.isoformat(), opens_on=opens) == 200
    republish(w)
    looks.append(cells(researcher))

    assert_safe(*looks)
    assert looks[-1] != looks[0]  # Ila's k answers and Lade's first k were published


def test_moving_a_released_round_to_another_semester_moves_whole_groups(
    research_world: ResearchWorld, researcher: User, trondheim_coordinator: User
) -> None:
    """Audit 1: PATCH /rounds/{id}/ moves a round to another semester."""
    w = research_world
    before = cells(researcher)
    survey = current_round(w.trondheim, "Qwzx-runde")
    spring = Semester.of(today()).previous()
    status = patch_round(trondheim_coordinator, w.trondheim, survey.pk,
                         opens_on=spring.first_day.isoformat(),
                         closes_on=(spring.first_day + timedelta(days=20)).isoformat())
    republish(w)
    after = cells(researcher)

    assert_safe(before, after)
    if status == 200:
        assert {c.what[1] for c in after if c.what[0] == "outcomes"} >= {spring.code}


def test_leaving_and_rejoining_research_sharing_reveals_no_small_group(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Audit 1: municipalities can leave and rejoin sharing."""
    w = research_world
    looks = [cells(researcher)]
    research_sharing_set(municipality=w.volda, shares=False, actor=None)
    looks.append(cells(researcher))  # at once: Volda's own cells are gone
    republish(w)
    looks.append(cells(researcher))  # the next publication: the totals without Volda
    research_sharing_set(municipality=w.volda, shares=True, actor=None)
    with tenant_context(w.volda):
        late = open_round([w.bratteberg], name="Mens Volda ikke delte")
        answer(late, w.bratteberg, min_group_size() - 1)
        round_close(assessment_round=late)
    republish(w)
    looks.append(cells(researcher))

    assert looks[0] != looks[2]
    assert looks[3] == looks[0]  # back as it was: the late 4 answers stay unpublished
    assert_safe(*looks)


# --- The insider: coordinator and researcher in one person -----------------------------------


def test_a_coordinator_who_is_a_researcher_recovers_no_other_municipalitys_hidden_group(
    research_world: ResearchWorld, world: World
) -> None:
    """Audit 3: the published overall minus one's own dashboards gave another
    municipality's suppressed group (here: Bratteberg's 2 SUS answers, Ila's 3 AIM)."""
    w = research_world
    insider = user_create(email="insider@example.no", password=PASSWORD, is_researcher=True)
    membership_grant(user=insider, municipality=w.trondheim, role=Role.COORDINATOR,
                     school_ids=[])
    client = client_for(insider, host_of(w.trondheim))
    with tenant_context(w.trondheim):  # the insider knows when their own rounds ran
        this_semester = {r.pk for r in AssessmentRound.objects.all()
                         if Semester.of(r.opens_on) == w.semester}
    own: dict[str, int] = {}
    for school in (w.ila, w.lade, w.zyxqvik):
        payload = client.get(f"/api/v1/dashboards/schools/{school.pk}/outcomes/").json()
        for row in payload["rows"]:
            if row["round_id"] not in this_semester:
                continue
            own[row["instrument"]] = own.get(row["instrument"], 0) + (
                row["n"] if row["mean"] is not None else 0)
            assert row["mean"] is None or row["n"] >= min_group_size()
    published = cells(insider)
    semester = w.semester.code

    for cell in published:
        if cell.level == "overall" and cell.what[:2] == ("outcomes", semester):
            rest = cell.people - own.get(cell.what[3], 0)
            assert not too_small(rest, min_group_size()), (cell, own)
    sus = [c for c in published if c.level == "overall" and c.what[1] == semester
           and c.what[3] == "sus"]
    # Trondheim's 18 SUS answers are all there is: Bratteberg's 2 are in no total.
    assert [c.people for c in sus] == [own["sus"]] == [18]


# --- Dashboards inside the municipality ------------------------------------------------------

SUS_97_5 = {f"sus{n}": (5 if n % 2 else 1) for n in range(1, 11)} | {"sus10": 2}
TELLTALES = ("97.5", "73.75", "73.8", "1.75", "1.8", "2.13", "2.12")


def school_views(client: Client, school: School) -> Iterator[tuple[str, str]]:
    yield "page", client.get(f"/dashboards/skoler/{school.pk}/").content.decode()
    for endpoint in SCHOOL_ENDPOINTS:
        response = client.get(f"/api/v1/dashboards/schools/{school.pk}/{endpoint.key}/")
        assert response.status_code == 200, endpoint.key
        yield endpoint.key, response.content.decode()


def municipality_views(client: Client) -> Iterator[tuple[str, str]]:
    yield "page", client.get("/dashboards/kommune/").content.decode()
    for endpoint in MUNICIPALITY_ENDPOINTS:
        response = client.get(f"/api/v1/dashboards/municipality/{endpoint.key}/")
        assert response.status_code == 200, endpoint.key
        yield endpoint.key, response.content.decode()


def test_no_dashboard_shows_the_answers_of_one_or_two_teachers(
    world: World, db: None, trondheim_leader: User, trondheim_coordinator: User
) -> None:
    """Audit 2: leaders saw teacher 1's SUS at n = 1, then teacher 2's by subtraction."""
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        survey = open_round([ila], name="To lærere")
        first = survey_answers(1) | {"sus": SUS_97_5}
        first["aim"] = {"aim1": 1, "aim2": 2, "aim3": 2, "aim4": 2}  # 1.75
        answer(survey, ila, 1, first)
        round_close(assessment_round=survey)
        second = open_round([ila], name="To lærere, runde to")
        answer(second, ila, 1, first)
        answer(second, ila, 1, survey_answers(2, 3))  # SUS 50: the two together 73.75
        round_close(assessment_round=second)
        recompute_all(world.trondheim)
    leader = client_for(trondheim_leader, host_of(world.trondheim))
    coordinator = client_for(trondheim_coordinator, host_of(world.trondheim))
    seen = [*school_views(leader, ila), *school_views(coordinator, ila),
            *municipality_views(coordinator)]

    for where, text in seen:
        assert not [t for t in TELLTALES if t in text], where
    outcomes = json.loads(dict(school_views(leader, ila))["outcomes"])
    assert outcomes["rows"] and all(r["mean"] is None for r in outcomes["rows"])
    assert any(str(min_group_size()) in note for note in outcomes["notes"])


def test_the_survey_page_promises_what_the_dashboards_keep(world: World, db: None) -> None:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        survey = open_round([ila], name="Løftet")
        [issued] = survey_links_create(assessment_round=survey, school=ila, count=1)
    html = Client(HTTP_HOST=host_of(world.trondheim), HTTP_ACCEPT_LANGUAGE="en").get(
        f"/s/{issued.token}/").content.decode()
    assert f"only for groups of at least {min_group_size()} people" in html


# --- Dates no finer than a semester ----------------------------------------------------------


def within_semester(day: date, *, shift: int) -> date:
    """`day` moved by `shift` days, held inside its semester and not after today."""
    semester = Semester.of(day)
    moved = day + timedelta(days=shift)
    return min(max(moved, semester.first_day), semester.last_day, today())


def shift_dates(municipality: Any, shift: int) -> int:
    moved = 0
    fields: list[tuple[Any, tuple[str, ...]]] = [
        (StagePeriod, ("entered_on", "exited_on")),
        (StrategyStep, ("done_on", "due_on")),
        (Activity, ("performed_on",)),
        (AdoptionStatusChange, ("changed_on",)),
        (ComponentAdoption, ("status_since",)),
        (Adaptation, ("made_on",)),
    ]
    with tenant_context(municipality):
        for model, names in fields:
            for row in model.objects.all():
                for name in names:
                    value = getattr(row, name)
                    if value is not None:
                        setattr(row, name, within_semester(value, shift=shift))
                        moved += value != getattr(row, name)
                model.objects.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
    return moved


# The CSRF token and the CSP nonce differ on every request.
PER_REQUEST = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]+|(?<=nonce=")[^"]+')


def everything_a_researcher_receives(user: User) -> dict[str, str]:
    client = client_for(user, "testserver")
    seen = {f"data:{name}": data_csv(user, name) for name in DATASETS}
    for name in research_page_names():
        html = client.get(f"/forsker/{research_page_path(name)}").content.decode()
        seen[f"page:{name}"] = PER_REQUEST.sub("…", html)
    return seen


def test_moving_every_date_within_its_semester_changes_nothing_a_researcher_receives(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Audit 4: refresh date − an ongoing stage's days gave its exact entry date. Here every
    date the tenants hold (stages, steps, time, status changes, adaptations) moves within
    its semester, and everything a researcher receives stays byte for byte the same: no
    duration, order or refresh time carries a date finer than the semester."""
    w = research_world
    with tenant_context(w.trondheim):
        activity_log(school=w.ila, staff=User.objects.get(email="trondheim_staff@example.no"),
                     performed_on=today() - timedelta(days=2), minutes=45, module=module(2),
                     mode="planlagt")
    republish(w)
    before = everything_a_researcher_receives(researcher)

    moved = shift_dates(w.trondheim, -40) + shift_dates(w.volda, -40)
    republish(w)
    after = everything_a_researcher_receives(researcher)

    assert moved > 10
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], name


# --- Time use --------------------------------------------------------------------------------


def test_one_staff_members_time_is_never_published_on_its_own_or_by_difference(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Audit 5: most schools have one social-work employee, and their time split was
    published per school."""
    w = research_world
    looks = [cells(researcher)]

    def log(school: School, people: int, tag: str) -> None:
        with tenant_context(w.trondheim):
            for n in range(people):
                person = user_create(email=f"{tag}-{n}-{secrets.token_hex(3)}@example.no",
                                     password=None)
                membership_grant(user=person, municipality=w.trondheim, role=Role.STAFF,
                                 school_ids=[school.pk])
                activity_log(school=school, staff=person, performed_on=today(), minutes=90,
                             module=module(1 + n % 2), mode="akutt" if n else "oppsokende")

    log(w.ila, 1, "ila")  # the school's one social worker
    republish(w)
    looks.append(cells(researcher))
    log(w.lade, min_staff_group(), "lade")
    republish(w)
    looks.append(cells(researcher))
    log(w.zyxqvik, 1, "zyx")
    republish(w)
    looks.append(cells(researcher))

    assert [c for c in looks[1] if c.what[0] == "time_use"] == []
    time_use = [c for c in looks[-1] if c.what[0] == "time_use"]
    assert time_use and all(c.people >= min_staff_group() for c in time_use)
    assert w.school(w.ila) not in {c.place[3] for c in time_use}
    assert_safe(*looks)


def test_the_coordinators_time_use_comparison_shows_no_one_more_than_a_school_dashboard(
    world: World, db: None, trondheim_coordinator: User, lade_leader: User,
    trondheim_staff: User,
) -> None:
    """Issue 10, item 7: the coordinator's time-use comparison of schools. Time use on the
    dashboards is a work record shown to those who lead the work, with no small-group rule
    (docs/research.md): so the comparison may show a school with one social worker, but only
    what that school's own dashboard shows the same coordinator — no number more, nothing
    finer — and nothing of it to a leader or staff member (one school's leader would
    otherwise see another school's one social worker)."""
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        for minutes, mode in ((45, "akutt"), (75, "planlagt"), (20, "oppsokende")):
            activity_log(school=ila, staff=trondheim_staff, performed_on=today(),
                         minutes=minutes, module=module(1), mode=mode)
        recompute_all(world.trondheim)
    coordinator = client_for(trondheim_coordinator, host_of(world.trondheim))
    comparison = coordinator.get("/api/v1/dashboards/municipality/time-use/").json()
    own = coordinator.get(f"/api/v1/dashboards/schools/{ila.pk}/time-systematic/").json()

    assert [r for r in comparison["rows"] if r["school_id"] == ila.pk] == [
        r for r in own["rows"] if r["kind"] == "systematic"]
    assert {r["school_id"] for r in comparison["rows"]} == {ila.pk}  # Lade logged nothing
    for outsider in (lade_leader, trondheim_staff):
        client = client_for(outsider, host_of(world.trondheim))
        assert client.get("/api/v1/dashboards/municipality/time-use/").status_code == 403
        assert client.get("/dashboards/kommune/").status_code == 403


# --- Every carrier of person-level data is in this suite -------------------------------------


def research_page_names() -> list[str]:
    return [p.name for p in research_urls.urlpatterns
            if isinstance(p, URLPattern) and p.name and p.name != "export_download"]


def research_page_path(name: str) -> str:
    [pattern] = [p for p in research_urls.urlpatterns if isinstance(p, URLPattern)
                 and p.name == name]
    return str(pattern.pattern)


def chart_functions() -> set[str]:
    return {name for name, fn in inspect.getmembers(charts, inspect.isfunction)
            if fn.__module__ == charts.__name__ and not name.startswith("_")
            and "Figure" in str(inspect.signature(fn).return_annotation)}


# What carries data about people, and where this suite attacks it. Team ratings (fidelity,
# CFIR) and stages are a team's or a school's, not a respondent's: they are covered by the
# date test only.
COVERAGE: dict[str, tuple[Callable[..., None], ...]] = {
    **{f"dataset:{name}": (
        test_moving_every_date_within_its_semester_changes_nothing_a_researcher_receives,)
       for name in ("fidelity", "stages", "determinants")},
    "dataset:outcomes": (
        test_a_second_round_of_the_same_semester_adds_no_one_who_can_be_isolated,
        test_a_round_closed_early_with_fewer_than_k_moves_no_total,
        test_reopening_and_closing_a_round_again_releases_only_whole_groups,
        test_moving_a_released_round_to_another_semester_moves_whole_groups,
        test_leaving_and_rejoining_research_sharing_reveals_no_small_group,
        test_a_coordinator_who_is_a_researcher_recovers_no_other_municipalitys_hidden_group,
        test_moving_every_date_within_its_semester_changes_nothing_a_researcher_receives,
    ),
    "dataset:time_use": (
        test_one_staff_members_time_is_never_published_on_its_own_or_by_difference,
        test_leaving_and_rejoining_research_sharing_reveals_no_small_group,
        test_moving_every_date_within_its_semester_changes_nothing_a_researcher_receives,
    ),
    **{f"research-page:{name}": (
        test_moving_every_date_within_its_semester_changes_nothing_a_researcher_receives,)
       for name in ("overview", "fidelity", "outcomes", "stages", "determinants", "export")},
    # Every chart of the research pages is drawn from the exported cells above.
    **{f"research-chart:{name}": (
        test_moving_every_date_within_its_semester_changes_nothing_a_researcher_receives,)
       for name in ("cfir_profile_figure", "fidelity_distribution", "fidelity_over_time",
                    "outcome_school_spread", "outcomes_over_time", "stage_durations",
                    "stage_progress", "time_use_figure")},
    **{f"school-chart:{e.key}": (test_no_dashboard_shows_the_answers_of_one_or_two_teachers,)
       for e in SCHOOL_ENDPOINTS},
    **{f"municipality-chart:{e.key}": (
        test_no_dashboard_shows_the_answers_of_one_or_two_teachers,)
       for e in MUNICIPALITY_ENDPOINTS},
    "municipality-chart:time-use": (
        test_the_coordinators_time_use_comparison_shows_no_one_more_than_a_school_dashboard,
        test_no_dashboard_shows_the_answers_of_one_or_two_teachers,
    ),
}


def carriers() -> set[str]:
    return ({f"dataset:{name}" for name in DATASETS}
            | {f"research-page:{name}" for name in research_page_names()}
            | {f"research-chart:{name}" for name in chart_functions()}
            | {f"school-chart:{e.key}" for e in SCHOOL_ENDPOINTS}
            | {f"municipality-chart:{e.key}" for e in MUNICIPALITY_ENDPOINTS})


def test_every_export_page_and_chart_with_data_about_people_is_attacked_here() -> None:
    """A new dataset, research page or chart, or dashboard figure fails this test until it
    is placed in COVERAGE with the attacks that cover it."""
    assert set(COVERAGE) == carriers()
    for tests in COVERAGE.values():
        assert tests and all(globals().get(t.__name__) is t for t in tests)

