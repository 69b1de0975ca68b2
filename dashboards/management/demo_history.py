"""Realistic, varied implementation history for the demo municipalities (``load_demo``), so
the dashboards have something to show: adoptions with status changes, a plan with
strategy steps and NIRN stage periods, four assessment rounds (fidelity and CFIR team
ratings, AIM/IAM/FIM/SUS answers by one-time links and by the staff member's account) and
logged time (the last four months, and at least the end of the latest semester already
published to researchers) — all written through the services, as users would, then
aggregated the way the worker does it (one manual full recomputation, recorded as a
``RecomputeRun``). The rounds before the open one are closed, with at least k answers per
school, so the launcher can publish them to the research store.

Schools differ on purpose (variation between schools is the research finding): each gets
a seeded "strength" that drives how fast its components come into place, how far its
stages have come, how its staff rate the model and how much of its time goes to planned
and system-level work rather than acute and outreach work. Trondheim gets extra schools so
the coordinator has a municipality to compare. Rounds are placed relative to today: the
latest is open now, and one school has not answered it yet (an empty state to look at).

Idempotent: a municipality that already has assessment rounds is left alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.text import slugify
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role, User
from accounts.services import membership_grant, user_create
from catalog.models import Component, Instrument, InstrumentItem, ModelVersion, Module
from catalog.selectors import model_version_current
from implementation.models import (
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    School,
)
from implementation.selectors import instrument_by_code
from implementation.services import (
    activity_log,
    adoption_change_status,
    adoption_create,
    link_response_submit,
    plan_create,
    round_create,
    round_update,
    school_create,
    staff_position_add,
    staff_response_submit,
    stage_period_set,
    step_create,
    survey_links_create,
    team_response_submit,
)
from implementation.services._common import today
from research.pseudonyms import published_semester
from sovei_platform.privacy import min_group_size, release_delay_days
from tenants.demo import DEMO_PASSWORD, NOT_STARTED_SCHOOLS, demo_email, demo_startups
from tenants.models import Municipality
from worker.models import RecomputeRun, RunKind
from worker.services import municipality_recompute_all

STAGES = ("exploration", "installation", "initial", "full", "sustainment")
ERIC = ("evaluative_iterative", "interactive_assistance", "adapt_tailor",
        "stakeholder_relationships", "train_educate", "support_educators",
        "engage_consumers", "change_infrastructure")
STEP_ACTIONS: dict[str, tuple[str, ...]] = {
    "exploration": (
        "Kartlegge dagens sosialfaglige praksis ved skolen",
        "Presentere SoVei-modellen for personalet",
        "Forankre arbeidet i skoleledelsen og plangruppen",
    ),
    "installation": (
        "Avklare roller og ansvar mellom lærere og sosialfaglig ansatt",
        "Sette av fast tid til modulen i årshjulet",
        "Opplæring i modulen for hele personalet",
    ),
    "initial": (
        "Prøve ut faste møtepunkter med lærerteamene",
        "Veiledning av lærerteam annenhver uke",
        "Evaluere utprøvingen i plangruppen",
    ),
    "full": (
        "Innarbeide rutinene i skolens årshjul",
        "Dele erfaringer i kommunens nettverk for sosialfaglig ansatte",
    ),
    "sustainment": (
        "Årlig gjennomgang av rutinene med personalet",
        "Introduksjon av modellen for nyansatte",
    ),
}
ACTORS = ("rektor", "sosialfaglig ansatt", "plangruppen", "kommunekoordinator")
TARGETS = ("lærerne", "hele personalet", "elevene", "foresatte", "skoleledelsen")
MINUTES = (15, 20, 30, 30, 45, 45, 60, 60, 90, 120)
EXTRA_TRONDHEIM_SCHOOLS: tuple[tuple[str, int], ...] = (
    ("Lade skole", 310), ("Rosten skole", 380), ("Byåsen skole", 450),
    ("Kattem skole", 290), ("Huseby skole", 240),
)


@dataclass
class SchoolPlan:
    """Everything drawn at random for one school (seeded: the same every run)."""

    school: School
    staff: User
    rng: random.Random
    strength: float
    module_bias: dict[int, float]
    adoptions: list[tuple[Component, date]] = field(default_factory=list)
    made: dict[int, ComponentAdoption] = field(default_factory=dict)
    skips_round: int | None = None


@dataclass(frozen=True)
class RoundDates:
    name: str
    opens_on: date
    closes_on: date


@dataclass
class Summary:
    municipalities: list[str] = field(default_factory=list)
    schools: int = 0
    skipped: list[str] = field(default_factory=list)
    run: RecomputeRun | None = None


def _semester(day: date) -> str:
    return f"{'Høst' if day.month >= 7 else 'Vår'} {day.year}"


def round_dates(as_of: date, count: int = 4) -> list[RoundDates]:
    """``count`` semester rounds, about six months apart; the last one open now."""
    rounds: list[RoundDates] = []
    for index in range(count):
        back = (count - 1 - index) * 182
        opens = as_of - timedelta(days=back + 14)
        rounds.append(RoundDates(_semester(opens), opens, opens + timedelta(days=35)))
    return rounds


def activities_start(as_of: date) -> date:
    """The first day of logged time: the current month and the three before it, and at
    least the last ten weeks of the latest semester published to researchers (so the
    research store has time use to show)."""
    month = as_of.replace(day=1)
    for _ in range(3):
        month = (month - timedelta(days=1)).replace(day=1)
    published = published_semester(as_of, release_delay_days())
    return min(month, published.last_day - timedelta(days=75))


def _school_holiday(day: date) -> bool:
    """Summer (21 June – 14 August) and Christmas (22 December – 2 January): no school."""
    return ((day.month, day.day) >= (6, 21) and (day.month, day.day) <= (8, 14)) or (
        (day.month, day.day) >= (12, 22) or (day.month, day.day) <= (1, 2))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _rating(rng: random.Random, level: float) -> int | None:
    """A fidelity rating 0–2 around ``level`` (0–1); now and then left unrated."""
    if rng.random() < 0.04:
        return None
    return round(_clamp(2 * level + rng.gauss(0, 0.45), 0, 2))


def _scale(rng: random.Random, centre: float, low: int, high: int) -> int:
    return round(_clamp(rng.gauss(centre, 0.8), low, high))


class HistoryBuilder:
    def __init__(self, *, seed: int, as_of: date, log: Callable[[str], None]) -> None:
        self.seed = seed
        self.as_of = as_of
        self.log = log

    # --- Schools and people ---------------------------------------------------------------

    def _staff_user(self, municipality: Municipality, school: School) -> User:
        """The school's social-work staff member: the demo user already at the school (the
        pilot school's ``ansatt.<slug>``), or a new one for the school."""
        existing = Membership.objects.filter(
            municipality=municipality, role=Role.STAFF, school_ids__contains=[school.pk]
        ).select_related("user").first()
        if existing is not None:
            return existing.user
        email = demo_email(f"ansatt.{slugify(school.name)}", municipality.slug)
        user = User.objects.filter(email=email).first()
        if user is None:
            user = user_create(email=email, password=DEMO_PASSWORD,
                               full_name=f"Sosialfaglig ansatt {school.name}")
        membership_grant(user=user, municipality=municipality, role=Role.STAFF,
                         school_ids=[school.pk])
        return user

    def _schools(self, municipality: Municipality, extra: int) -> list[School]:
        if municipality.slug == "trondheim":
            for name, pupils in EXTRA_TRONDHEIM_SCHOOLS[:extra]:
                if not School.objects.filter(name=name).exists():
                    school = school_create(name=name, pupil_count=pupils)
                    staff_position_add(school=school, profession="sosionom",
                                       position_percent=Decimal(
                                           random.Random(name).choice(  # noqa: S311 - demo
                                               [40, 50, 60, 80, 100])))
        # The new school of tenants.demo stays without history: it has not started.
        return list(School.objects.exclude(name__in=NOT_STARTED_SCHOOLS).order_by("name"))

    # --- One municipality -----------------------------------------------------------------

    def municipality(self, municipality: Municipality, *, extra_schools: int) -> int:
        with tenant_context(municipality):
            if AssessmentRound.objects.exists():
                return 0
            version = model_version_current()
            if version is None:
                raise RuntimeError("No published model version: run import_catalog first.")
            with transaction.atomic():
                schools = self._schools(municipality, extra_schools)
                plans = [self._school_plan(municipality, school) for school in schools]
                self._history(plans, version)
                demo_startups([plan.school for plan in plans])
            return len(schools)

    def _school_plan(self, municipality: Municipality, school: School) -> SchoolPlan:
        seed = f"{self.seed}:{municipality.schema_name}:{school.name}"
        rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
        strength = _clamp(rng.betavariate(2.2, 2.0), 0.15, 0.95)
        return SchoolPlan(
            school=school, staff=self._staff_user(municipality, school), rng=rng,
            strength=strength,
            module_bias={n: rng.uniform(-0.2, 0.2) for n in range(1, 8)},
        )

    def _history(self, plans: list[SchoolPlan], version: ModelVersion) -> None:
        rounds = round_dates(self.as_of)
        start = rounds[0].opens_on - timedelta(days=75)
        modules = list(Module.objects.filter(version=version).order_by("number"))
        components = list(Component.objects.filter(module__version=version)
                          .select_related("module").order_by("module__number", "number"))
        if len(plans) > 2:  # one school has not answered the open round yet
            plans[-1].skips_round = len(rounds) - 1
        for plan in plans:
            self._plan_and_stages(plan, version, modules, start)
            self._choose_adoptions(plan, components, start, rounds)
        for index, dates in enumerate(rounds):
            self._round(plans, index, dates, version)
        for plan in plans:
            self._activities(plan, modules)

    # --- Plan, stages and steps -----------------------------------------------------------

    def _plan_and_stages(self, plan: SchoolPlan, version: ModelVersion,
                         modules: Sequence[Module], start: date) -> None:
        rng = plan.rng
        weights = [rng.uniform(0.6, 1.4) for _ in modules]
        shares = [round(100 * w / sum(weights)) for w in weights]
        shares[0] += 100 - sum(shares)
        impl = plan_create(
            school=plan.school, model_version=version, title=f"SoVei ved {plan.school.name}",
            starts_on=start, ends_on=start + timedelta(days=3 * 365),
            intended_systematic_percent=rng.choice([50, 55, 60, 60, 65, 70]),
            priorities={m: s for m, s in zip(modules, shares, strict=True)},
        )
        for module in modules:
            level = _clamp(plan.strength + plan.module_bias[module.number], 0, 1)
            furthest = int(_clamp(round(0.6 + level * 4.2 + rng.gauss(0, 0.4)), 0, 5))
            if module.number == len(modules) and plan.strength < 0.35:
                furthest = 0  # the last module not started at a weak school
            entered = start + timedelta(days=rng.randint(0, 40) + 30 * (module.number - 1))
            periods: list[tuple[str, date, date | None]] = []
            for order, stage in enumerate(STAGES[:furthest], start=1):
                if entered >= self.as_of:
                    break
                leaves = entered + timedelta(days=rng.randint(70, 170))
                last = order == furthest or leaves >= self.as_of
                stage_period_set(school=plan.school, module=module, stage=stage,
                                 entered_on=entered, exited_on=None if last else leaves)
                periods.append((stage, entered, None if last else leaves))
                if last:
                    break
                entered = leaves
            if module.number == 4 and plan.strength < 0.5:
                continue  # a module without strategy steps: an empty state to see
            self._steps(plan, impl, module, periods)

    def _steps(self, plan: SchoolPlan, impl: ImplementationPlan, module: Module,
               periods: Sequence[tuple[str, date, date | None]]) -> None:
        """Steps inside each stage's period; the next stage's steps lie ahead."""
        rng = plan.rng
        reached = len(periods)
        for order, stage in enumerate(STAGES[: min(5, reached + 1)], start=1):
            if order <= reached:
                _stage, begin, left = periods[order - 1]
                end = left or self.as_of + timedelta(days=120)
            else:
                begin = self.as_of + timedelta(days=20)
                end = begin + timedelta(days=150)
            actions = STEP_ACTIONS[stage]
            count = rng.randint(1, len(actions))
            for number in range(count):
                due = begin + (end - begin) * (number + 1) / (count + 1) \
                    + timedelta(days=rng.randint(-7, 7))
                due = max(due, impl.starts_on)
                if due >= self.as_of:
                    status = "in_progress" if order == reached and rng.random() < 0.3 \
                        else "not_started"
                elif order < reached:
                    status = "done" if rng.random() < 0.8 + 0.15 * plan.strength else (
                        "cancelled" if rng.random() < 0.5 else "in_progress")
                else:
                    draw = rng.random()
                    status = ("done" if draw < 0.5 + 0.35 * plan.strength
                              else "in_progress" if draw < 0.9 else "not_started")
                done_on = (min(due + timedelta(days=rng.randint(-14, 10)),
                               self.as_of - timedelta(days=1)) if status == "done" else None)
                step_create(
                    plan=impl, module=module, stage=stage, eric_cluster=rng.choice(ERIC),
                    action=actions[number], strategy_actor=rng.choice(ACTORS),
                    target=rng.choice(TARGETS), due_on=due, status=status, done_on=done_on,
                    dose=rng.choice(["", "2 × 45 min per måned", "ukentlig", "hver 14. dag"]),
                )

    # --- Adoptions and status changes -----------------------------------------------------

    def _choose_adoptions(self, plan: SchoolPlan, components: Sequence[Component],
                          start: date, rounds: Sequence[RoundDates]) -> None:
        rng = plan.rng
        for component in components:
            chance = 0.45 + 0.5 * plan.strength + plan.module_bias[component.module.number]
            if component.module.number == 1 or rng.random() < chance:
                # most before the first round, some between rounds
                window = rng.choice([0, 0, 0, 1, 2])
                latest = rounds[window].opens_on - timedelta(days=5)
                earliest = start if window == 0 else rounds[window - 1].closes_on
                span = max(0, (latest - earliest).days)
                adopted = earliest + timedelta(days=rng.randint(0, span))
                plan.adoptions.append((component, adopted))

    def _adopt_until(self, plan: SchoolPlan, day: date) -> None:
        """Adopt what the school had adopted by ``day``; move statuses on."""
        rng = plan.rng
        for component, adopted in plan.adoptions:
            if adopted <= day and component.pk not in plan.made:
                plan.made[component.pk] = adoption_create(
                    school=plan.school, component=component, status="planned",
                    status_since=adopted)
        for adoption in plan.made.values():
            since = adoption.status_since
            if since >= day:
                continue
            move = rng.random()
            on = since + timedelta(days=rng.randint(1, (day - since).days))
            if adoption.status == "planned" and move < 0.5 + 0.4 * plan.strength:
                adoption_change_status(adoption=adoption, to_status="in_progress", on=on)
            elif adoption.status == "in_progress" and move < 0.15 + 0.55 * plan.strength:
                adoption_change_status(adoption=adoption, to_status="in_place", on=on)
            elif adoption.status == "in_place" and move < 0.04:
                adoption_change_status(adoption=adoption, to_status="discontinued", on=on,
                                       note="Lagt bort i en periode")

    # --- Assessment rounds ----------------------------------------------------------------

    def _round(self, plans: list[SchoolPlan], index: int, dates: RoundDates,
               version: ModelVersion) -> None:
        """Open the round now (answers are only taken while a round is open), answer it as
        the schools would have, then move it to its semester's dates."""
        codes = ["fidelity", "cfir", "aim", "iam", "fim", "sus"]
        instruments = [i for i in (instrument_by_code(c) for c in codes) if i is not None]
        open_from = self.as_of - timedelta(days=3)
        assessment_round = round_create(
            name=dates.name, opens_on=open_from, closes_on=self.as_of + timedelta(days=30),
            schools=[p.school for p in plans], instruments=instruments,
            model_version=version,
        )
        by_code = {i.code: i for i in instruments}
        for plan in plans:
            self._adopt_until(plan, dates.opens_on)
            if plan.skips_round == index:
                continue
            self._rate(plan, assessment_round, by_code, index)
        round_update(assessment_round=assessment_round, name=dates.name,
                     opens_on=dates.opens_on, closes_on=dates.closes_on)

    def _rate(self, plan: SchoolPlan, assessment_round: AssessmentRound,
              instruments: dict[str, Instrument], index: int) -> None:
        rng = plan.rng
        progress = 0.12 * index
        answers: dict[str, int | None] = {}
        reasons: dict[str, str] = {}
        for adoption in plan.made.values():
            if adoption.status == "discontinued":
                continue
            number = adoption.component.module.number if adoption.component else 1
            level = _clamp(0.15 + 0.6 * plan.strength + plan.module_bias[number] + progress,
                           0, 1)
            if adoption.status == "planned":
                level *= 0.4
            answers[str(adoption.pk)] = rating = _rating(rng, level)
            if rating is None:  # every component left unrated needs a reason
                reasons[str(adoption.pk)] = (
                    "not_started" if adoption.status == "planned" else "not_assessed"
                )
        if answers:
            team_response_submit(assessment_round=assessment_round, school=plan.school,
                                 instrument=instruments["fidelity"],
                                 answers=answers, unrated_reasons=reasons)
        if not (index == 0 and rng.random() < 0.4):  # some schools start CFIR later
            cfir = instruments["cfir"]
            items = list(InstrumentItem.objects.filter(instrument=cfir).order_by("number"))
            chosen = rng.sample(items, k=min(len(items), rng.randint(14, 24)))
            centre = (plan.strength - 0.45) * 3 + 0.25 * index
            team_response_submit(
                assessment_round=assessment_round, school=plan.school,
                instrument=cfir,
                answers={item.code: int(_clamp(round(rng.gauss(centre, 1.0)), -2, 2))
                         for item in chosen},
            )
        self._surveys(plan, assessment_round, instruments, index)

    def _survey_answers(self, plan: SchoolPlan, index: int) -> dict[str, dict[str, int]]:
        rng = plan.rng
        centre = 2.6 + 1.8 * plan.strength + 0.1 * index
        answers = {code: {f"{code}{n}": _scale(rng, centre, 1, 5) for n in range(1, 5)}
                   for code in ("aim", "iam", "fim")}
        usable = 2.4 + 1.8 * plan.strength
        answers["sus"] = {
            f"sus{n}": _scale(rng, usable if n % 2 else 6 - usable, 1, 5) for n in range(1, 11)
        }
        return answers

    def _surveys(self, plan: SchoolPlan, assessment_round: AssessmentRound,
                 instruments: dict[str, Instrument], index: int) -> None:
        rng = plan.rng
        k = min_group_size()
        links = survey_links_create(assessment_round=assessment_round, school=plan.school,
                                    count=rng.randint(k + 1, k + 7))
        rate = _clamp(0.35 + 0.5 * plan.strength + rng.gauss(0, 0.1), 0.2, 0.95)
        answering = [issued for issued in links if rng.random() < rate]
        # At least k teachers answer, so every closed round has a released group per school
        # (dashboards and the research store show survey results only as released groups).
        answering += [issued for issued in links if issued not in answering][
            : max(0, k - len(answering))]
        for issued in answering:
            link_response_submit(token=issued.token, answers=self._survey_answers(plan, index))
        own = self._survey_answers(plan, index)
        for code in ("aim", "iam", "fim", "sus"):
            staff_response_submit(assessment_round=assessment_round, school=plan.school,
                                  instrument=instruments[code],
                                  respondent=plan.staff, answers=own[code])

    # --- Activities (time use) ------------------------------------------------------------

    def _activities(self, plan: SchoolPlan, modules: Sequence[Module]) -> None:
        rng = plan.rng
        systematic = _clamp(0.2 + 0.55 * plan.strength + rng.gauss(0, 0.05), 0.1, 0.85)
        weights = [max(0.05, 1 + 2 * plan.module_bias[m.number]) for m in modules]
        day = activities_start(self.as_of)
        while day <= self.as_of:
            if day.weekday() < 5 and not _school_holiday(day):
                for _ in range(rng.randint(2, 4)):
                    if rng.random() < systematic:
                        mode = rng.choice(["planlagt", "planlagt", "systemniva"])
                        module = rng.choices(list(modules), weights=weights)[0]
                    else:
                        mode = rng.choice(["akutt", "akutt", "oppsokende"])
                        module = rng.choices(list(modules), weights=[
                            w * (3 if m.number == 3 else 1) for m, w in zip(modules, weights,
                                                                            strict=True)])[0]
                    activity_log(school=plan.school, staff=plan.staff, performed_on=day,
                                 minutes=rng.choice(MINUTES), module=module, mode=mode)
            day += timedelta(days=1)


def load_demo_history(
    *,
    slugs: Sequence[str] | None = None,
    extra_schools: int = len(EXTRA_TRONDHEIM_SCHOOLS),
    seed: int = 2026,
    recompute: bool = True,
    log: Callable[[str], None] = print,
) -> Summary:
    """Fill the demo municipalities (or the ones named) with history and aggregate it."""
    builder = HistoryBuilder(seed=seed, as_of=today(), log=log)
    summary = Summary()
    query = Municipality.objects.exclude(schema_name="public").order_by("name")
    if slugs:
        query = query.filter(slug__in=slugs)
    municipalities = [m for m in query if m.schema_name != "tenant_template"]
    for municipality in municipalities:
        count = builder.municipality(municipality, extra_schools=extra_schools)
        if count:
            summary.municipalities.append(municipality.slug)
            summary.schools += count
            log(f"  {municipality.name}: history for {count} schools")
        else:
            summary.skipped.append(municipality.slug)
            log(f"  {municipality.name}: has assessment rounds already, left alone")
    if recompute and municipalities:
        totals = {}
        for municipality in municipalities:
            with tenant_context(municipality):
                totals[municipality.slug] = School.objects.count()
        run = RecomputeRun.objects.create(kind=RunKind.MANUAL,
                                          municipalities=len(municipalities),
                                          total=sum(totals.values()))
        for municipality in municipalities:
            with tenant_context(municipality):
                result = municipality_recompute_all(run_id=run.pk)
                log(f"  {municipality.name}: aggregates of {result.done} schools rebuilt")
        run.refresh_from_db()
        summary.run = run
    return summary
