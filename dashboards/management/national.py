"""A seeded, national-scale data set: every Norwegian municipality, its schools and ten
years of implementation history (``manage.py generate_national``).

What it makes, per municipality (a tenant, created with ``tenants.services.municipality_create``
like any other, so cloned from the template schema and audited):

* schools (log-normal count, mean ``schools_per``; 40–700 pupils; barneskole, kombinert or
  ungdomsskole) with one to three social-work positions, and three accounts: the
  municipal coordinator, and per school a leader and a social-work staff member;
* per school a seeded "strength" and module biases (as ``demo_history``: variation between
  schools is the research finding), a start round (a national roll-out over the years),
  component adoptions with their status history (a few local components), an
  implementation plan with module priorities, NIRN stage periods and strategy steps;
* ``2 × years`` semester rounds (spring: 1 March – 15 April, autumn: 1 October –
  15 November), all closed, every started school in them with six instruments: the team's
  fidelity self-assessment and CFIR rating (CFIR in autumn rounds and the school's first),
  AIM/IAM/FIM/SUS by one-time links (k+1 … k+7 links, answered at a rate that follows the
  school's strength) and by the staff member's own account;
* logged time (activities) on school days from the school's start, ``activities_per_week``
  on average, the share of planned and system-level work following the strength.

Then the survey groups of the closed rounds are released
(``implementation.services.releases.survey_results_release``, as the nightly run does)
and, unless ``recompute=False``, the aggregates are rebuilt by the worker's full
recomputation (``worker.services.full_recompute_inline``).

**Services or bulk.** The municipality (schema, domain, audit), the research opt-outs
(``research_sharing_set``), the survey release and the recomputation go through the
services. The records of the schools do not: at national size they are ~15 million rows
(8 M answers, 1.5 M responses, 4.6 M activities), and the services write one audit entry
per row and mark the school for recomputation in a transaction per call — measured
≈ 5–20 ms per write in the demo loader, i.e. one to three days for the whole country. The
records are instead generated in Python from the seed and written with PostgreSQL ``COPY``
(explicit ids from 1 in the fresh schema, sequences moved past them afterwards): the rows
the services would have written, without their audit entries and dirty markers (a full
recomputation follows anyway). Accounts and memberships are bulk-created too (one
password hash computed once, not 2 × schools PBKDF2 runs).

Deterministic: the same arguments give the same municipalities, schools and records
(each school draws from its own ``random.Random`` keyed by the seed, the kommunenummer
and the school's index). Only ids of accounts (public schema) and timestamps of the
services' own rows differ. Municipalities whose address exists already are skipped, so an
interrupted run can be resumed with the same arguments.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role, User
from catalog.models import Component, Instrument, InstrumentItem, ModelVersion, Module
from dashboards.management.demo_history import (
    ACTORS,
    ERIC,
    MINUTES,
    STAGES,
    STEP_ACTIONS,
    TARGETS,
    _clamp,
    _rating,
    _scale,
    _school_holiday,
)
from implementation.services.releases import survey_results_release
from research.services import research_sharing_set
from sovei_platform.privacy import min_group_size
from tenants.models import Municipality
from tenants.services import municipality_create
from tenants.validators import COUNTIES

# Municipalities per county (2024, 357 in all): the generator spreads its municipalities
# over the counties in these proportions.
COUNTY_SIZES: dict[str, int] = {
    "03": 1, "11": 23, "15": 26, "18": 41, "31": 12, "32": 21, "33": 18, "34": 47,
    "39": 6, "40": 17, "42": 25, "46": 43, "50": 38, "55": 21, "56": 18,
}
EMAIL_DOMAIN = "nasjonal.sovei.no"
DEFAULT_PASSWORD = "sovei-demo-2026"  # noqa: S105 - generated test data, like the demo's
NOT_SHARING_EVERY = 12  # every 12th municipality has stopped sharing with research
PLACE_PARTS = (
    "Nord", "Sør", "Øst", "Vest", "Berg", "Lia", "Moen", "Vik", "Dal", "Haug", "Strand",
    "Bakke", "Eng", "Skog", "Ås", "Holm", "Nes", "Li", "Sand", "Fjell", "Myr", "Bø",
)
PLACE_ENDS = ("en", "heim", "set", "vollen", "lia", "tun", "bakken", "haugen", "vika", "dalen")
PROFESSIONS = ("sosionom", "barnevernspedagog", "vernepleier", "miljoterapeut")
MODES_SYSTEMATIC = ("planlagt", "planlagt", "systemniva")
MODES_ACUTE = ("akutt", "akutt", "oppsokende")
SURVEY_CODES = ("aim", "iam", "fim", "sus")
INSTRUMENT_CODES = ("fidelity", "cfir", "aim", "iam", "fim", "sus")


@dataclass(frozen=True)
class NationalSize:
    municipalities: int = 357
    schools_per: float = 8.0
    years: int = 10
    seed: int = 1
    last_year: int = 2026  # the year of the last (autumn) round
    activities_per_week: float = 5.0

    @property
    def rounds(self) -> int:
        return 2 * self.years


@dataclass(frozen=True)
class MunicipalitySpec:
    index: int
    kommunenummer: str
    slug: str
    name: str
    schools: int
    shares_research: bool


@dataclass(frozen=True)
class CatalogIds:
    """The catalog rows the records point at (public schema)."""

    version_id: int
    modules: tuple[int, ...]  # ids, by module number
    components: tuple[tuple[int, int], ...]  # (component id, module number)
    instruments: dict[str, int]
    items: dict[str, tuple[tuple[int, str], ...]]  # code → (item id, item code)

    @classmethod
    def load(cls) -> CatalogIds:
        version = ModelVersion.objects.get(code="1.0")
        modules = tuple(
            Module.objects.filter(version=version).order_by("number").values_list("id", flat=True)
        )
        components = tuple(
            Component.objects.filter(module__version=version)
            .order_by("module__number", "number")
            .values_list("id", "module__number")
        )
        instruments = {
            i.code: i.pk for i in Instrument.objects.filter(code__in=INSTRUMENT_CODES)
        }
        items = {
            code: tuple(
                InstrumentItem.objects.filter(instrument_id=pk)
                .order_by("number")
                .values_list("id", "code")
            )
            for code, pk in instruments.items()
        }
        return cls(version.pk, modules, components, instruments, items)


@dataclass(frozen=True)
class RoundSpec:
    number: int
    name: str
    opens_on: date
    closes_on: date


def rounds_of(size: NationalSize) -> list[RoundSpec]:
    first = size.last_year - size.years + 1
    out: list[RoundSpec] = []
    for year in range(first, size.last_year + 1):
        out.append(RoundSpec(len(out) + 1, f"Vår {year}", date(year, 3, 1), date(year, 4, 15)))
        out.append(RoundSpec(len(out) + 1, f"Høst {year}", date(year, 10, 1), date(year, 11, 15)))
    return out


def municipality_specs(size: NationalSize, *, taken: Iterable[str] = ()) -> list[MunicipalitySpec]:
    """The first ``size.municipalities`` of a seeded national list (county proportions as
    in 2024), skipping kommunenummer already used by another municipality."""
    taken_numbers = set(taken)
    numbers = [
        f"{county}{tail:02d}"
        for county, count in sorted(COUNTY_SIZES.items())
        for tail in range(1, count + 1 + 40)
    ]
    assert all(n[:2] in COUNTIES for n in numbers)
    pool = [n for n in numbers if n not in taken_numbers]
    rng = random.Random(f"national:{size.seed}")  # noqa: S311 - generated data, seeded
    # One per county first (so even 3 municipalities come from different counties), then
    # the rest in the counties' proportions.
    remaining: dict[str, list[str]] = {}
    for number in pool:
        remaining.setdefault(number[:2], []).append(number)
    picked = dict.fromkeys(remaining, 0)
    order: list[str] = []
    counties = sorted(remaining)
    rng.shuffle(counties)
    for county in counties:
        order.append(remaining[county].pop(0))
        picked[county] += 1
    while len(order) < size.municipalities and any(remaining.values()):
        live = [c for c in sorted(remaining) if remaining[c]]
        # the counties' real sizes first; beyond 357 any county with numbers left
        weights = [max(0, COUNTY_SIZES[c] - picked[c]) for c in live]
        if not any(weights):
            weights = [1] * len(live)
        county = rng.choices(live, weights=weights)[0]
        order.append(remaining[county].pop(0))
        picked[county] += 1
    mu = math.log(max(size.schools_per, 1.0)) - 0.9**2 / 2
    specs: list[MunicipalitySpec] = []
    for index, number in enumerate(order[: size.municipalities]):
        own = random.Random(f"{size.seed}:{number}")  # noqa: S311
        schools = int(_clamp(round(own.lognormvariate(mu, 0.9)), 1, 25 * size.schools_per))
        specs.append(
            MunicipalitySpec(
                index=index,
                kommunenummer=number,
                slug=f"k{number}",
                name=f"Kommune {number}",
                schools=schools,
                shares_research=(index + 1) % NOT_SHARING_EVERY != 0,
            )
        )
    return specs


# --- Rows of one municipality ---------------------------------------------------------------


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Rows:
    """Rows per table, ids given from 1 (the schema is new)."""

    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> int:
        rows = self.tables.setdefault(table, [])
        rows.append((len(rows) + 1, *row))
        return len(rows)

    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


COLUMNS: dict[str, tuple[str, ...]] = {
    "implementation_school": ("id", "name", "organisation_number", "grade_from", "grade_to",
                              "pupil_count", "created_at", "updated_at"),
    "implementation_staffposition": ("id", "school_id", "profession", "position_percent",
                                     "title"),
    "implementation_localcomponent": ("id", "school_id", "module_id", "title", "description",
                                      "created_at"),
    "implementation_componentadoption": ("id", "school_id", "component_id",
                                         "local_component_id", "status", "status_since",
                                         "responsible_id", "created_at", "updated_at"),
    "implementation_adoptionstatuschange": ("id", "adoption_id", "from_status", "to_status",
                                            "changed_on", "changed_by_id", "note",
                                            "created_at"),
    "implementation_implementationplan": ("id", "school_id", "model_version_id", "title",
                                          "starts_on", "ends_on",
                                          "intended_systematic_percent", "created_at",
                                          "updated_at"),
    "implementation_planmodulepriority": ("id", "plan_id", "module_id", "intended_percent"),
    "implementation_stageperiod": ("id", "school_id", "module_id", "stage", "entered_on",
                                   "exited_on"),
    "implementation_strategystep": ("id", "plan_id", "module_id", "stage", "eric_cluster",
                                    "action", "strategy_actor", "target", "due_on", "dose",
                                    "intended_outcome", "justification", "status", "done_on",
                                    "created_at", "updated_at"),
    "implementation_assessmentround": ("id", "name", "opens_on", "closes_on", "closed_at",
                                       "model_version_id", "created_by_id", "created_at"),
    "implementation_assessmentround_schools": ("id", "assessmentround_id", "school_id"),
    "implementation_roundinstrument": ("id", "round_id", "instrument_id"),
    "implementation_surveylink": ("id", "round_id", "school_id", "token_hash", "expires_at",
                                  "used_at", "created_by_id", "created_at"),
    "implementation_response": ("id", "round_id", "school_id", "instrument_id",
                                "respondent_kind", "survey_link_id", "respondent_id",
                                "submitted_at", "updated_at"),
    "implementation_answer": ("id", "response_id", "item_id", "adoption_id", "value",
                              "unrated_reason"),
    "implementation_activity": ("id", "school_id", "staff_id", "performed_on", "minutes",
                                "module_id", "adoption_id", "mode", "note", "created_at"),
}


@dataclass(frozen=True)
class SchoolPeople:
    leader_id: int
    staff_id: int


def _school_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(PLACE_PARTS)}{rng.choice(PLACE_ENDS)} skole"
        if name not in used:
            used.add(name)
            return name
        name = f"{name} {len(used) + 1}"
        if name not in used:
            used.add(name)
            return name


def municipality_rows(
    spec: MunicipalitySpec,
    size: NationalSize,
    catalog: CatalogIds,
    people: Sequence[SchoolPeople],
    *,
    k: int,
) -> Rows:
    """Every record of one municipality's schema, from the seed alone (pure function)."""
    rows = Rows()
    rounds = rounds_of(size)
    as_of = rounds[-1].closes_on + timedelta(days=14)
    created = _at(rounds[0].opens_on - timedelta(days=120), 9)
    for spec_round in rounds:
        rows.add(
            "implementation_assessmentround",
            (spec_round.name, spec_round.opens_on, spec_round.closes_on, None,
             catalog.version_id, None, _at(spec_round.opens_on - timedelta(days=7))),
        )
        for code in INSTRUMENT_CODES:
            rows.add("implementation_roundinstrument",
                     (spec_round.number, catalog.instruments[code]))
    used_names: set[str] = set()
    for index in range(spec.schools):
        rng = random.Random(f"{size.seed}:{spec.kommunenummer}:{index}")  # noqa: S311
        _school(rows, rng, index + 1, people[index], rounds, as_of, created, used_names,
                size, catalog, k=k, token_prefix=f"{size.seed}:{spec.kommunenummer}:{index}")
    return rows


def _school(rows: Rows, rng: random.Random, school_id: int, people: SchoolPeople,
            rounds: Sequence[RoundSpec], as_of: date, created: datetime,
            used_names: set[str], size: NationalSize, catalog: CatalogIds, *, k: int,
            token_prefix: str) -> None:
    kind = rng.choices(((1, 7), (1, 10), (8, 10)), weights=(6, 2, 2))[0]
    pupils = int(_clamp(round(rng.lognormvariate(math.log(230), 0.55)), 40, 700))
    rows.add("implementation_school",
             (_school_name(rng, used_names), "", kind[0], kind[1], pupils, created, created))
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        rows.add("implementation_staffposition",
                 (school_id, rng.choice(PROFESSIONS),
                  Decimal(rng.choice((20, 40, 50, 60, 80, 100))), ""))
    strength = _clamp(rng.betavariate(2.2, 2.0), 0.1, 0.95)
    bias = {n: rng.uniform(-0.2, 0.2) for n in range(1, len(catalog.modules) + 1)}
    # A national roll-out: most schools start in the first rounds, some years later.
    start_round = min(len(rounds) - 1, int(rng.expovariate(1 / 3)))
    start = rounds[start_round].opens_on - timedelta(days=75)

    # Adoptions with their status history: a timeline of (date, status) per adoption.
    timelines: list[tuple[int, int, list[tuple[date, str]]]] = []  # (adoption, module, …)
    candidates: list[tuple[int | None, int | None, int]] = [
        (component_id, None, number) for component_id, number in catalog.components
    ]
    if rng.random() < 0.1:
        module_number = rng.randint(1, len(catalog.modules))
        local = rows.add("implementation_localcomponent",
                         (school_id, catalog.modules[module_number - 1],
                          "Lokal komponent: fast samarbeidsmøte", "", created))
        candidates.append((None, local, module_number))
    for component_id, local_id, module_number in candidates:
        chance = 0.45 + 0.5 * strength + bias[module_number]
        if module_number != 1 and rng.random() >= chance:
            continue
        adopted = start + timedelta(days=rng.randint(0, 720))
        timeline = [(adopted, "planned")]
        day = adopted + timedelta(days=rng.randint(30, 300))
        if day < as_of and rng.random() < 0.5 + 0.45 * strength:
            timeline.append((day, "in_progress"))
            day += timedelta(days=rng.randint(100, 700))
            if day < as_of and rng.random() < 0.2 + 0.7 * strength:
                timeline.append((day, "in_place"))
                day += timedelta(days=rng.randint(200, 2000))
                if day < as_of and rng.random() < 0.08:
                    timeline.append((day, "discontinued"))
        since, final = timeline[-1]
        adoption_id = rows.add(
            "implementation_componentadoption",
            (school_id, component_id, local_id, final, since, people.leader_id,
             _at(adopted), _at(since)),
        )
        previous = ""
        for on, to_status in timeline:
            rows.add("implementation_adoptionstatuschange",
                     (adoption_id, previous, to_status, on, people.leader_id, "", _at(on)))
            previous = to_status
        timelines.append((adoption_id, module_number, timeline))

    # Plan, module priorities, stages and steps.
    plan_id = rows.add(
        "implementation_implementationplan",
        (school_id, catalog.version_id, "SoVei-plan", start, None,
         rng.choice((50, 55, 60, 60, 65, 70)), _at(start), _at(start)),
    )
    weights = [rng.uniform(0.6, 1.4) for _ in catalog.modules]
    shares = [round(100 * w / sum(weights)) for w in weights]
    shares[0] += 100 - sum(shares)
    for module_id, share in zip(catalog.modules, shares, strict=True):
        rows.add("implementation_planmodulepriority", (plan_id, module_id, share))
    for number, module_id in enumerate(catalog.modules, start=1):
        level = _clamp(strength + bias[number], 0, 1)
        furthest = int(_clamp(round(1 + level * 4.2 + rng.gauss(0, 0.5)), 1, 5))
        entered = start + timedelta(days=rng.randint(0, 60) + 30 * (number - 1))
        reached = 0
        periods: list[tuple[date, date | None]] = []
        for order, stage in enumerate(STAGES[:furthest], start=1):
            if entered >= as_of:
                break
            leaves = entered + timedelta(days=rng.randint(150, 700))
            last = order == furthest or leaves >= as_of
            rows.add("implementation_stageperiod",
                     (school_id, module_id, stage, entered, None if last else leaves))
            periods.append((entered, None if last else leaves))
            reached = order
            if last:
                break
            entered = leaves
        for order, stage in enumerate(STAGES[: min(5, reached + 1)], start=1):
            begin, left = periods[order - 1] if order <= reached else (as_of, None)
            end = left or begin + timedelta(days=240)
            actions = STEP_ACTIONS[stage]
            for step in range(rng.randint(1, len(actions))):
                due = begin + (end - begin) * (step + 1) / (len(actions) + 1)
                if due >= as_of:
                    status = "not_started"
                elif order < reached:
                    status = "done" if rng.random() < 0.8 + 0.15 * strength else "cancelled"
                else:
                    status = "done" if rng.random() < 0.5 + 0.35 * strength else "in_progress"
                done_on = due if status == "done" else None
                rows.add(
                    "implementation_strategystep",
                    (plan_id, module_id, stage, rng.choice(ERIC), actions[step],
                     rng.choice(ACTORS), rng.choice(TARGETS), due, "", "", "", status,
                     done_on, _at(begin), _at(done_on or begin)),
                )

    # Rounds: fidelity, CFIR, surveys.
    cfir_items = catalog.items.get("cfir", ())
    for spec_round in rounds[start_round:]:
        round_id = spec_round.number
        rows.add("implementation_assessmentround_schools", (round_id, school_id))
        progress = 0.05 * (spec_round.number - 1 - start_round)
        submitted = _at(spec_round.opens_on + timedelta(days=rng.randint(3, 40)))
        ratings: list[tuple[int, int | None, str | None]] = []
        for adoption_id, number, timeline in timelines:
            current = ""
            for on, to_status in timeline:
                if on <= spec_round.opens_on:
                    current = to_status
            if current in ("", "discontinued"):
                continue
            level = _clamp(0.15 + 0.6 * strength + bias[number] + progress, 0, 1)
            if current == "planned":
                level *= 0.4
            rating = _rating(rng, level)
            reason = None
            if rating is None:
                reason = "not_started" if current == "planned" else "not_assessed"
            ratings.append((adoption_id, rating, reason))
        if ratings:
            response_id = rows.add(
                "implementation_response",
                (round_id, school_id, catalog.instruments["fidelity"], "team", None, None,
                 submitted, submitted),
            )
            for adoption_id, rating, reason in ratings:
                rows.add("implementation_answer",
                         (response_id, None, adoption_id, rating, reason))
        if cfir_items and (spec_round.name.startswith("Høst")
                           or spec_round.number - 1 == start_round):
            response_id = rows.add(
                "implementation_response",
                (round_id, school_id, catalog.instruments["cfir"], "team", None, None,
                 submitted, submitted),
            )
            centre = (strength - 0.45) * 3 + 0.1 * (spec_round.number - 1 - start_round)
            for item_id, _code in sorted(rng.sample(cfir_items, k=rng.randint(14, 24))):
                rows.add("implementation_answer",
                         (response_id, item_id, None,
                          int(_clamp(round(rng.gauss(centre, 1.0)), -2, 2)), None))
        issued = rng.randint(k + 1, k + 7)
        rate = _clamp(0.35 + 0.5 * strength + rng.gauss(0, 0.1), 0.2, 0.95)
        expires = _at(spec_round.closes_on, 23)
        for link in range(issued):
            answered = rng.random() < rate
            token = hashlib.sha256(f"{token_prefix}:{round_id}:{link}".encode()).hexdigest()
            link_id = rows.add(
                "implementation_surveylink",
                (round_id, school_id, token, expires, submitted if answered else None,
                 people.leader_id, _at(spec_round.opens_on)),
            )
            if answered:
                _survey(rows, rng, catalog, round_id, school_id, "link", link_id, None,
                        submitted, strength, progress)
        _survey(rows, rng, catalog, round_id, school_id, "staff", None, people.staff_id,
                submitted, strength, progress)

    # Logged time on school days, from the start to the end of the last round.
    systematic = _clamp(0.2 + 0.55 * strength + rng.gauss(0, 0.05), 0.1, 0.85)
    module_weights = [max(0.05, 1 + 2 * bias[n]) for n in range(1, len(catalog.modules) + 1)]
    acute_weights = [w * (3 if n == 3 else 1) for n, w in enumerate(module_weights, start=1)]
    per_day = size.activities_per_week / 5
    whole, fraction = int(per_day), per_day - int(per_day)
    day = start
    while day <= as_of:
        if day.weekday() < 5 and not _school_holiday(day):
            for _ in range(whole + (1 if rng.random() < fraction else 0)):
                if rng.random() < systematic:
                    mode = rng.choice(MODES_SYSTEMATIC)
                    module_id = rng.choices(catalog.modules, weights=module_weights)[0]
                else:
                    mode = rng.choice(MODES_ACUTE)
                    module_id = rng.choices(catalog.modules, weights=acute_weights)[0]
                rows.add("implementation_activity",
                         (school_id, people.staff_id, day, rng.choice(MINUTES), module_id,
                          None, mode, "", _at(day, 15)))
        day += timedelta(days=1)


def _survey(rows: Rows, rng: random.Random, catalog: CatalogIds, round_id: int,
            school_id: int, kind: str, link_id: int | None, respondent_id: int | None,
            submitted: datetime, strength: float, progress: float) -> None:
    centre = 2.6 + 1.8 * strength + progress
    usable = 2.4 + 1.8 * strength
    for code in SURVEY_CODES:
        response_id = rows.add(
            "implementation_response",
            (round_id, school_id, catalog.instruments[code], kind, link_id, respondent_id,
             submitted, submitted),
        )
        for n, (item_id, _code) in enumerate(catalog.items[code], start=1):
            if code == "sus":
                value = _scale(rng, usable if n % 2 else 6 - usable, 1, 5)
            else:
                value = _scale(rng, centre, 1, 5)
            rows.add("implementation_answer", (response_id, item_id, None, value, None))


# --- Writing ---------------------------------------------------------------------------------


def _people(spec: MunicipalitySpec, municipality: Municipality, password_hash: str,
            ) -> list[SchoolPeople]:
    """The coordinator and, per school, a leader and a staff member (accounts and
    memberships, bulk; the school ids are those the rows will get: 1 … n)."""
    emails = [f"koordinator.{spec.slug}@{EMAIL_DOMAIN}"]
    for n in range(1, spec.schools + 1):
        emails += [f"rektor.{n}.{spec.slug}@{EMAIL_DOMAIN}",
                   f"ansatt.{n}.{spec.slug}@{EMAIL_DOMAIN}"]
    names = {emails[0]: f"Koordinator {spec.name}"}
    User.objects.bulk_create(
        [User(email=email, password=password_hash, full_name=names.get(email, email.split("@")[0]))
         for email in emails],
        ignore_conflicts=True,
    )
    ids = dict(User.objects.filter(email__in=emails).values_list("email", "id"))
    memberships = [Membership(user_id=ids[emails[0]], municipality=municipality,
                              role=Role.COORDINATOR, school_ids=[])]
    people: list[SchoolPeople] = []
    for n in range(1, spec.schools + 1):
        leader = ids[f"rektor.{n}.{spec.slug}@{EMAIL_DOMAIN}"]
        staff = ids[f"ansatt.{n}.{spec.slug}@{EMAIL_DOMAIN}"]
        memberships += [
            Membership(user_id=leader, municipality=municipality, role=Role.LEADER,
                       school_ids=[n]),
            Membership(user_id=staff, municipality=municipality, role=Role.STAFF,
                       school_ids=[n]),
        ]
        people.append(SchoolPeople(leader, staff))
    Membership.objects.bulk_create(memberships, ignore_conflicts=True)
    return people


def _copy(schema: str, rows: Rows) -> None:
    raw = connection.connection  # psycopg's connection, in Django's transaction
    assert raw is not None
    with raw.cursor() as cursor:
        for table, columns in COLUMNS.items():
            data = rows.tables.get(table)
            if not data:
                continue
            target = f'"{schema}".{table}'
            with cursor.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), {len(data)})"
            )


CATALOG_TABLES = (
    "pg_catalog.pg_class", "pg_catalog.pg_attribute", "pg_catalog.pg_constraint",
    "pg_catalog.pg_index", "pg_catalog.pg_depend", "pg_catalog.pg_namespace",
    "pg_catalog.pg_type", "pg_catalog.pg_attrdef",
)


@dataclass
class Generated:
    municipalities: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    schools: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


def generate_national(
    size: NationalSize,
    *,
    password: str = DEFAULT_PASSWORD,
    recompute: bool = True,
    log: Callable[[str], None] = print,
) -> Generated:
    """Create and fill the municipalities of ``size`` (skipping those that exist)."""
    from worker.models import RunKind
    from worker.services import full_recompute_inline

    catalog = CatalogIds.load()
    k = min_group_size()
    existing = {m.slug: m for m in Municipality.objects.all()}
    taken = {m.kommunenummer for m in existing.values() if m.slug != f"k{m.kommunenummer}"}
    specs = municipality_specs(size, taken=taken)
    password_hash = make_password(password)
    result = Generated()
    started = time.perf_counter()
    for count, spec in enumerate(specs, start=1):
        if spec.slug in existing:
            result.skipped.append(spec.slug)
            continue
        t0 = time.perf_counter()
        with transaction.atomic():
            municipality = municipality_create(
                name=spec.name, kommunenummer=spec.kommunenummer, slug=spec.slug
            )
            t1 = time.perf_counter()
            people = _people(spec, municipality, password_hash)
            rows = municipality_rows(spec, size, catalog, people, k=k)
            t2 = time.perf_counter()
            _copy(municipality.schema_name, rows)
            t3 = time.perf_counter()
            with tenant_context(municipality):
                survey_results_release()
            if not spec.shares_research:
                research_sharing_set(municipality=municipality, shares=False, actor=None)
            if count % 10 == 0:
                # Each schema adds ~30 tables to the system catalogs; with stale catalog
                # statistics the next clones slow down tenfold (docs/benchmarks.md).
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {', '.join(CATALOG_TABLES)}")
        t4 = time.perf_counter()
        result.add_time("create", t1 - t0)
        result.add_time("generate", t2 - t1)
        result.add_time("copy", t3 - t2)
        result.add_time("release", t4 - t3)
        result.municipalities.append(spec.slug)
        result.schools += spec.schools
        for table, data in rows.tables.items():
            key = table.removeprefix("implementation_")
            result.rows[key] = result.rows.get(key, 0) + len(data)
        if count % 25 == 0 or count == len(specs):
            log(f"  {count}/{len(specs)} municipalities, {result.schools} schools, "
                f"{time.perf_counter() - started:.0f} s")
    if result.municipalities:
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        result.add_time("analyze", time.perf_counter() - t0)
    if recompute and result.municipalities:
        t0 = time.perf_counter()
        run = full_recompute_inline(
            kind=RunKind.MANUAL,
            schemas=[
                m.schema_name
                for m in Municipality.objects.filter(slug__in=result.municipalities)
            ],
        )
        result.add_time("recompute", time.perf_counter() - t0)
        log(f"  recomputed {run.done}/{run.total} schools ({run.failed} failed)")
    return result
