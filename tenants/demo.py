"""Demo data: the six SoVei pilot municipalities, their schools and a user for every role.

Idempotent: every object is looked up by its natural key before it is created."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role, User
from accounts.services import membership_grant, user_create, user_language_set
from implementation.models import STARTUP_STEP_ORDER, School, SchoolStartup
from implementation.services import school_create, staff_position_add

from .models import Municipality
from .services import municipality_create

DEMO_PASSWORD = "sovei-demo-2026"  # noqa: S105 - published demo credential, dev only
DEMO_EMAIL_DOMAIN = "demo.sovei.no"


@dataclass(frozen=True)
class PilotSchool:
    municipality: str
    kommunenummer: str
    slug: str
    school: str
    pupils: int
    grade_to: int
    positions: tuple[tuple[str, int], ...]
    language: str = "nb"  # the language its people read (Volda writes Nynorsk)


PILOTS: tuple[PilotSchool, ...] = (
    PilotSchool(
        "Volda", "1577", "volda", "Bratteberg skule", 250, 7, (("sosionom", 60),), "nn"
    ),
    PilotSchool(
        "Nittedal", "3232", "nittedal", "Elvetangen skole", 380, 7, (("barnevernspedagog", 100),)
    ),
    PilotSchool(
        "Trondheim",
        "5001",
        "trondheim",
        "Ila skole",
        420,
        7,
        (("sosionom", 100), ("miljoterapeut", 50)),
    ),
    PilotSchool(
        "Sandefjord", "3907", "sandefjord", "Mosserød skole", 310, 7, (("vernepleier", 80),)
    ),
    PilotSchool("Tromsø", "5501", "tromso", "Reinen skole", 290, 7, (("miljoterapeut", 100),)),
    PilotSchool(
        "Eidsvoll",
        "3240",
        "eidsvoll",
        "Råholt skole",
        520,
        7,
        (("barnevernspedagog", 100), ("sosionom", 40)),
    ),
)

# A new school that has not begun (no components, no plan, no start-up): the start-up
# module (/skoler/<id>/oppstart/) is offered to it, and its leader can walk it from the
# first step. Its own leader and staff member sign in as rektor.<prefix>.<slug> and
# ansatt.<prefix>.<slug>; the implementation history (load_demo_history) leaves it alone.
@dataclass(frozen=True)
class NewSchool:
    slug: str  # the municipality
    school: str
    pupils: int
    prefix: str  # in the e-mail addresses of its leader and staff member


NEW_SCHOOLS: tuple[NewSchool, ...] = (NewSchool("trondheim", "Ranheim skole", 260, "ranheim"),)
NOT_STARTED_SCHOOLS: frozenset[str] = frozenset(n.school for n in NEW_SCHOOLS)

ROLE_PREFIX = {Role.LEADER: "rektor", Role.STAFF: "ansatt", Role.COORDINATOR: "koordinator"}
ROLE_NAME = {
    Role.LEADER: "Rektor",
    Role.STAFF: "Sosialfaglig ansatt",
    Role.COORDINATOR: "Kommunekoordinator",
}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    where: str


def demo_email(prefix: str, slug: str | None = None) -> str:
    local = f"{prefix}.{slug}" if slug else prefix
    return f"{local}@{DEMO_EMAIL_DOMAIN}"


def _user(
    email: str, full_name: str, *, is_researcher: bool = False, is_platform_admin: bool = False
) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = user_create(
            email=email,
            password=DEMO_PASSWORD,
            full_name=full_name,
            is_researcher=is_researcher,
            is_platform_admin=is_platform_admin,
        )
    return user


def load_demo(*, verbosity: int = 0) -> list[DemoLogin]:
    logins: list[DemoLogin] = []
    for pilot in PILOTS:
        municipality = Municipality.objects.filter(slug=pilot.slug).first()
        if municipality is None:
            municipality = municipality_create(
                name=pilot.municipality,
                kommunenummer=pilot.kommunenummer,
                slug=pilot.slug,
                verbosity=verbosity,
            )
        with tenant_context(municipality):
            school = School.objects.filter(name=pilot.school).first()
            if school is None:
                school = school_create(
                    name=pilot.school, grade_to=pilot.grade_to, pupil_count=pilot.pupils
                )
            if not school.positions.exists():
                for profession, percent in pilot.positions:
                    staff_position_add(
                        school=school, profession=profession, position_percent=Decimal(percent)
                    )
        for role in (Role.LEADER, Role.STAFF, Role.COORDINATOR):
            email = demo_email(ROLE_PREFIX[role], pilot.slug)
            user = _user(email, f"{ROLE_NAME[role]} {pilot.municipality}")
            if pilot.language != "nb" and not user.preferred_language:
                user_language_set(user=user, language=pilot.language)
            if not Membership.objects.filter(
                user=user, municipality=municipality, role=role
            ).exists():
                membership_grant(
                    user=user,
                    municipality=municipality,
                    role=role,
                    school_ids=[school.id] if role != Role.COORDINATOR else [],
                )
            logins.append(DemoLogin(email, str(role.label), pilot.slug))
    for new in NEW_SCHOOLS:
        logins.extend(_new_school(new))
    _user(demo_email("forsker"), "Forsker NTNU", is_researcher=True)
    logins.append(DemoLogin(demo_email("forsker"), "researcher", "public"))
    _user(demo_email("admin"), "Plattformadministrator", is_platform_admin=True)
    logins.append(DemoLogin(demo_email("admin"), "platform administrator", "public"))
    return logins


def _new_school(new: NewSchool) -> list[DemoLogin]:
    """The school that has not started, with its own leader and staff member."""
    municipality = Municipality.objects.get(slug=new.slug)
    with tenant_context(municipality):
        school = School.objects.filter(name=new.school).first()
        if school is None:
            school = school_create(name=new.school, pupil_count=new.pupils)
    logins = []
    for role in (Role.LEADER, Role.STAFF):
        email = demo_email(f"{ROLE_PREFIX[role]}.{new.prefix}", new.slug)
        user = _user(email, f"{ROLE_NAME[role]} {new.school}")
        if not Membership.objects.filter(user=user, municipality=municipality, role=role).exists():
            membership_grant(user=user, municipality=municipality, role=role,
                             school_ids=[school.id])
        logins.append(DemoLogin(email, str(role.label), f"{new.slug} ({new.school})"))
    return logins


HISTORY_SKIP_REASON = "Skolen startet før oppstartsmodulen fantes."


def demo_startups(schools: Sequence[School]) -> None:
    """The start-up of schools with a demo history (dashboards.management.demo_history):
    each step marked as done where the school's records show it, otherwise skipped (the
    school began before the module existed). With several schools, the last one paused at
    the fourth step, so the coordinator's table has something to show. Idempotent."""
    from implementation.services import (
        startup_pause,
        startup_start,
        startup_step_complete,
        startup_step_skip,
    )

    for index, school in enumerate(schools):
        if SchoolStartup.objects.filter(school=school).exists():
            continue
        startup_start(school=school)
        halfway = len(schools) > 1 and index == len(schools) - 1
        for number, step in enumerate(STARTUP_STEP_ORDER):
            if halfway and number == 3:
                startup_pause(school=school)
                break
            try:
                startup_step_complete(school=school, step=step)
            except ValidationError:
                startup_step_skip(school=school, step=step, reason=HISTORY_SKIP_REASON)
