"""The research tests' world: tenant data full of distinctive strings (school names, person
names, e-mail addresses, free text) and small groups, recomputed and refreshed into the
research store. Other test_research_* modules import `research_world` from here.

Trondheim (5001, county 50; Ila 420 + Lade 300 + Zyxqvik 500 pupils = 1,220 → band
1000-4999) and Volda (1577, county 15; Bratteberg 250 → band <1000).

This semester's closed round (complete respondents per school) and its released groups
(k = 5):

            AIM  IAM  FIM  SUS
    Ila       3    3    3    6     Ila's AIM/IAM/FIM: 3 < k, and no other school of the round
    Lade      6    6    6    6     to pool them with → not released; its SUS is.
    Zyxqvik   7    7    7    6
    Brattebg  6    6    6    2     Bratteberg's SUS: 2 < 5 → not released: Volda, county 15
                                     and size band <1000 have no SUS cell at all.

Trondheim's round of a year earlier: fidelity for Ila and Lade, AIM for Lade (5).
An open round in Volda with answers that must not reach the store (not closed).

The tests publish this semester early (``publish``): normally a semester is published a
month after it ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from catalog.models import InstrumentItem
from dashboards.aggregation import recompute_municipality, recompute_school
from implementation.models import (
    Answer,
    AssessmentRound,
    RespondentKind,
    Response,
    School,
    SurveyLink,
)
from implementation.services import (
    activity_log,
    adaptation_create,
    adoption_change_status,
    adoption_create,
    plan_create,
    round_close,
    school_create,
    staff_position_add,
    stage_period_set,
    step_create,
    team_response_submit,
)
from implementation.services._common import today
from implementation.services.releases import survey_results_release
from research.models import FidelityFact, ResearchSchool
from research.pseudonyms import Semester, school_pseudonym
from research.refresh import RefreshResult, refresh_research_store
from tenants.models import Municipality

from .conftest import World
from .recording import adopt, instrument, module, open_round, version

# Every one of these is in the tenants' data; none may appear in any research output.
SCHOOL_NAMES = ("Ila skole", "Lade skole", "Zyxqvik skole", "Bratteberg skule")
MUNICIPALITY_NAMES = ("Trondheim", "Volda")
PERSON_NAMES = ("Gunnhild Quorpensen", "Quorpensen", "Pelle Zorrovik", "Zorrovik")
EMAILS = (
    "gunnhild.quorpensen@zyx-skole.no",
    "zyx-skole.no",
    "trondheim_leader@example.no",
    "volda_leader@example.no",
)
FREE_TEXTS = (
    "Krakeborg",  # adaptation: what was changed
    "Xylofonia",  # strategy step justification
    "Vrimlebakken",  # local component title
    "Snurrefjell",  # adoption status note
    "Blåbærvik",  # round name in Volda
    "Qwzx-runde",  # round name in Trondheim
    "Trollsprang",  # plan title
    "Miljøterapeut Zorro",  # position title
    "Hemmelig elevsamtale",  # activity note
    "Pusletorget",  # step action/target
)
DISTINCTIVE: tuple[str, ...] = (
    *SCHOOL_NAMES,
    *MUNICIPALITY_NAMES,
    *PERSON_NAMES,
    *EMAILS,
    *FREE_TEXTS,
)

AIM_4: list[int | None] = [4, 4, 4, 5]  # 4.25
SUS_72 = [4, 2, 4, 2, 4, 2, 4, 2, 3, 2]  # 2.5 × (14 + 15) = 72.5


@dataclass
class ResearchWorld:
    trondheim: Municipality
    volda: Municipality
    ila: School
    lade: School
    zyxqvik: School
    bratteberg: School
    semester: Semester  # of this semester's rounds (opened a week ago)
    earlier: Semester  # of Trondheim's round a year before

    def school(self, school: School) -> str:
        """The school's pseudonym."""
        municipality = self.volda if school is self.bratteberg else self.trondheim
        return school_pseudonym(municipality.kommunenummer, school.pk)


def respond(
    assessment_round: AssessmentRound,
    school: School,
    answers: dict[str, list[int | None]],
    *,
    staff: User | None = None,
) -> None:
    """One respondent's answers, stored as the services store them (a used one-time link
    unless `staff` is given)."""
    link = None
    if staff is None:
        link = SurveyLink.objects.create(
            round=assessment_round,
            school=school,
            token_hash=secrets.token_hex(32),
            expires_at=timezone.now() + timedelta(days=30),
            used_at=timezone.now(),
        )
    for code, values in answers.items():
        survey = instrument(code)
        response = Response.objects.create(
            round=assessment_round,
            school=school,
            instrument=survey,
            respondent_kind=RespondentKind.STAFF if staff else RespondentKind.LINK,
            respondent=staff,
            survey_link=link,
        )
        items = list(InstrumentItem.objects.filter(instrument=survey).order_by("number"))
        Answer.objects.bulk_create(
            Answer(response=response, item=item, value=value)
            for item, value in zip(items, values, strict=True)
        )


def respondents(assessment_round: AssessmentRound, school: School, counts: dict[str, int]) -> None:
    for code, count in counts.items():
        for index in range(count):
            if code == "sus":
                values: list[int | None] = [*SUS_72[:-1], 1 + index % 4]
            else:
                values = [3 + (index % 3), 4, 4, 3 + (index % 2)]
            respond(assessment_round, school, {code: values})


def rate(assessment_round: AssessmentRound, school: School, ratings: dict[str, int | None]) -> None:
    adoptions = {}
    for key in ratings:
        existing = school.adoptions.filter(
            component__module__number=int(key.split(".")[0]),
            component__number=int(key.split(".")[1]),
        ).first()
        adoptions[key] = existing or adopt(school, key)
    team_response_submit(
        assessment_round=assessment_round,
        school=school,
        instrument=instrument("fidelity"),
        answers={str(adoptions[key].pk): value for key, value in ratings.items()},
    )


def move_back(assessment_round: AssessmentRound, *, days: int) -> None:
    AssessmentRound.objects.filter(pk=assessment_round.pk).update(
        opens_on=assessment_round.opens_on - timedelta(days=days),
        closes_on=assessment_round.closes_on - timedelta(days=days),
        closed_at=timezone.now() - timedelta(days=days),
    )


def recompute_all(municipality: Municipality) -> None:
    with tenant_context(municipality):
        for school_id in School.objects.values_list("id", flat=True):
            recompute_school(school_id)
        recompute_municipality()


def _seed_trondheim(world: World, gunnhild: User) -> tuple[School, School, School]:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        lade = School.objects.get(pk=world.lade_id)
        zyxqvik = school_create(name="Zyxqvik skole", pupil_count=500)
        membership_grant(
            user=gunnhild, municipality=world.trondheim, role=Role.STAFF, school_ids=[zyxqvik.pk]
        )
        staff_position_add(
            school=zyxqvik,
            profession="miljoterapeut",
            position_percent=80,
            title="Miljøterapeut Zorro",
        )
        # A year earlier (two semesters back): Ila and Lade rate fidelity, Lade's staff AIM.
        earlier = open_round([ila, lade], codes=("fidelity", "aim"), name="Vrimle-runde 1")
        rate(earlier, ila, {"1.1": 1, "2.1": 0, "3.1": 1})
        rate(earlier, lade, {"1.1": 2, "2.1": 1})
        respondents(earlier, lade, {"aim": 5})
        move_back(earlier, days=365)
        survey_results_release()  # as the nightly run does for a round closed by date

        current = open_round([ila, lade, zyxqvik], name="Qwzx-runde Gunnhild Quorpensen")
        rate(current, ila, {"1.1": 2, "2.1": 1, "2.2": 2, "3.1": 1, "3.2": 0, "5.1": 1})
        rate(current, lade, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": 0, "4.1": 1})
        rate(current, zyxqvik, {"1.1": 2, "2.1": 2, "2.2": 2, "3.1": 2, "3.2": 1})
        local = adoption_create(
            school=zyxqvik,
            local_module=module(3),
            local_title="Vrimlebakken lokalkomponent",
            local_description="Krakeborg-beskrivelse",
            status="in_progress",
            status_since=today() - timedelta(days=20),
        )
        team_response_submit(
            assessment_round=current,
            school=zyxqvik,
            instrument=instrument("fidelity"),
            answers={
                **{str(a.pk): 2 for a in zyxqvik.adoptions.exclude(pk=local.pk)},
                str(local.pk): 1,
            },
        )
        for school, cfir in (
            (ila, {"I.A": 2, "I.B": -1, "V.A": 0}),
            (lade, {"I.A": -1, "II.A": -2}),
            (zyxqvik, {"I.A": 2, "II.A": 1, "III.B": 2}),
        ):
            team_response_submit(
                assessment_round=current,
                school=school,
                instrument=instrument("cfir"),
                answers=cfir,
            )
        respondents(current, ila, {"aim": 3, "iam": 3, "fim": 3, "sus": 6})
        respondents(current, lade, {"aim": 6, "iam": 6, "fim": 6, "sus": 6})
        respondents(current, zyxqvik, {"aim": 6, "iam": 7, "fim": 7, "sus": 6})
        respond(current, zyxqvik, {"aim": AIM_4}, staff=gunnhild)  # Zyxqvik's 7th AIM
        round_close(assessment_round=current)

        adoption = zyxqvik.adoptions.filter(component__isnull=False).first()
        assert adoption is not None
        adaptation_create(
            adoption=adoption,
            what_changed="Krakeborg: vi endret samtalene med Pelle Zorrovik",
            made_on=today() - timedelta(days=3),
            timing="implementation",
            planned=False,
            decided_by="social_work_staff",
            level="pupil",
            change_type="content",
            nature="tailoring",
            fidelity="consistent",
            goals=["fit_recipients"],
            reason_level="recipient",
            reasons="Gunnhild Quorpensen mente det (Krakeborg)",
        )
        adoption_change_status(
            adoption=adoption,
            to_status="in_place",
            note="Snurrefjell: Gunnhild sa ja",
        )
        plan = plan_create(
            school=zyxqvik,
            model_version=version(),
            title="Trollsprang-planen til Quorpensen",
            starts_on=today() - timedelta(days=200),
            intended_systematic_percent=60,
            priorities={module(1): 30, module(2): 30},
        )
        stage_period_set(
            school=zyxqvik,
            module=module(1),
            stage="exploration",
            entered_on=today() - timedelta(days=200),
            exited_on=today() - timedelta(days=120),
        )
        stage_period_set(
            school=zyxqvik,
            module=module(1),
            stage="installation",
            entered_on=today() - timedelta(days=120),
        )
        stage_period_set(
            school=ila,
            module=module(1),
            stage="exploration",
            entered_on=today() - timedelta(days=60),
        )
        step_create(
            plan=plan,
            module=module(1),
            stage="exploration",
            eric_cluster="train_educate",
            action="Pusletorget: Gunnhild Quorpensen leder kurs",
            strategy_actor="Gunnhild Quorpensen",
            target="Pusletorget-lærerne",
            due_on=today() - timedelta(days=150),
            dose="Krakeborg 2 × 45",
            intended_outcome="Xylofonia-målet",
            justification="Xylofonia: fordi Pelle Zorrovik trenger det",
            status="done",
            done_on=today() - timedelta(days=140),
        )
        for days_ago, minutes, number, mode in (
            (2, 60, 1, "akutt"),
            (3, 90, 2, "planlagt"),
            (4, 30, 3, "systemniva"),
        ):
            activity_log(
                school=zyxqvik,
                staff=gunnhild,
                performed_on=today() - timedelta(days=days_ago),
                minutes=minutes,
                module=module(number),
                mode=mode,
                note="Hemmelig elevsamtale med Pelle Zorrovik",
            )
    return ila, lade, zyxqvik


def _seed_volda(world: World) -> School:
    with tenant_context(world.volda):
        bratteberg = School.objects.get(pk=world.bratteberg_id)
        current = open_round([bratteberg], name="Blåbærvik-runden")
        rate(current, bratteberg, {"1.1": 2, "2.1": 2, "3.1": 1})
        team_response_submit(
            assessment_round=current,
            school=bratteberg,
            instrument=instrument("cfir"),
            answers={"I.A": 1, "II.A": 0},
        )
        respondents(current, bratteberg, {"aim": 6, "iam": 6, "fim": 6, "sus": 2})
        round_close(assessment_round=current)
        # Still open: its answers must not reach the store.
        ongoing = open_round([bratteberg], codes=("aim",), name="Blåbærvik åpen")
        respondents(ongoing, bratteberg, {"aim": 9})
    return bratteberg


def publish(**options: Any) -> RefreshResult:
    """Publish the store through this semester (ahead of its release date)."""
    result = refresh_research_store(through=Semester.of(today()), **options)
    assert result is not None
    return result


@pytest.fixture
def research_world(world: World, db: None) -> Iterator[ResearchWorld]:
    gunnhild = user_create(
        email="gunnhild.quorpensen@zyx-skole.no",
        password="x-" + secrets.token_hex(8),
        full_name="Gunnhild Quorpensen",
    )
    ila, lade, zyxqvik = _seed_trondheim(world, gunnhild)
    bratteberg = _seed_volda(world)
    recompute_all(world.trondheim)
    recompute_all(world.volda)
    publish()
    yield ResearchWorld(
        trondheim=world.trondheim,
        volda=world.volda,
        ila=ila,
        lade=lade,
        zyxqvik=zyxqvik,
        bratteberg=bratteberg,
        semester=Semester.of(today() - timedelta(days=7)),
        earlier=Semester.of(today() - timedelta(days=7 + 365)),
    )


def test_it_builds_a_store_with_every_sharing_school(research_world: ResearchWorld) -> None:
    w = research_world
    expected = {
        school_pseudonym(w.trondheim.kommunenummer, w.ila.pk),
        school_pseudonym(w.trondheim.kommunenummer, w.lade.pk),
        school_pseudonym(w.trondheim.kommunenummer, w.zyxqvik.pk),
        school_pseudonym(w.volda.kommunenummer, w.bratteberg.pk),
    }

    assert set(ResearchSchool.objects.values_list("pseudonym", flat=True)) == expected
    overall = FidelityFact.objects.filter(
        school=school_pseudonym(w.trondheim.kommunenummer, w.zyxqvik.pk),
        semester=w.semester.code,
        module_number__isnull=True,
    ).get()
    # 2.1/2.2/3.1/1.1 = 2 (four components), 3.2 = 2 by the second submission: 10/10.
    assert (overall.points, overall.max_points, overall.percent) == (10, 10, Decimal("100.0"))


def log_time_at_lade(w: ResearchWorld, staff: int = 5) -> None:
    """`staff` social-work staff at Lade log an hour each today (two acute, the rest
    planned): enough people for a released time-use group."""
    with tenant_context(w.trondheim):
        for index in range(staff):
            person = user_create(email=f"lade-staff-{index}@example.no",
                                 password="x-" + secrets.token_hex(8))
            membership_grant(user=person, municipality=w.trondheim, role=Role.STAFF,
                             school_ids=[w.lade.pk])
            activity_log(school=w.lade, staff=person, performed_on=today(), minutes=60,
                         module=module(1), mode="akutt" if index < 2 else "planlagt")
