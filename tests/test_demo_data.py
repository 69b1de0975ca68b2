"""The demo command provisions the six pilot municipalities and a user for every role."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role, User
from implementation.models import School, StaffPosition
from tenants.demo import DEMO_PASSWORD, PILOTS, demo_email
from tenants.models import Municipality

from .conftest import World

PILOT_SLUGS = {"volda", "nittedal", "trondheim", "sandefjord", "tromso", "eidsvoll"}


def _counts() -> tuple[int, int, int]:
    return Municipality.objects.count(), User.objects.count(), Membership.objects.count()


@pytest.fixture
def demo(world: World, db: None) -> None:
    # The session world already holds Trondheim (5001) and Volda (1577) with other
    # schools; the demo adds its own pilot school to them.
    call_command("load_demo", verbosity=0)


def test_it_provisions_the_six_pilot_municipalities(demo: None) -> None:
    slugs = set(Municipality.objects.values_list("slug", flat=True))

    assert slugs >= PILOT_SLUGS


@pytest.mark.parametrize("pilot", PILOTS, ids=lambda p: p.slug)
def test_it_gives_each_municipality_its_pilot_school(demo: None, pilot: object) -> None:
    municipality = Municipality.objects.get(slug=pilot.slug)  # type: ignore[attr-defined]

    with tenant_context(municipality):
        school = School.objects.get(name=pilot.school)  # type: ignore[attr-defined]
        assert StaffPosition.objects.filter(school=school).exists()


@pytest.mark.parametrize("role", [Role.LEADER, Role.STAFF, Role.COORDINATOR])
def test_it_creates_a_user_for_every_municipal_role(demo: None, role: Role) -> None:
    for slug in PILOT_SLUGS:
        user = User.objects.get(
            email=demo_email(
                {"leader": "rektor", "staff": "ansatt", "coordinator": "koordinator"}[role], slug
            )
        )
        assert user.check_password(DEMO_PASSWORD)
        assert Membership.objects.filter(user=user, municipality__slug=slug, role=role).exists()


def test_it_creates_a_researcher_and_a_platform_administrator(demo: None) -> None:
    researcher = User.objects.get(email=demo_email("forsker"))
    admin = User.objects.get(email=demo_email("admin"))

    assert researcher.is_researcher and not researcher.memberships.exists()
    assert admin.is_staff and admin.is_superuser


def test_it_scopes_the_demo_leader_to_the_pilot_school(demo: None) -> None:
    membership = Membership.objects.get(user__email=demo_email("rektor", "trondheim"))

    with tenant_context(membership.municipality):
        names = list(
            School.objects.filter(id__in=membership.school_ids).values_list("name", flat=True)
        )
    assert names == ["Ila skole"]


def test_it_creates_nothing_twice(demo: None) -> None:
    before = _counts()
    schools_before = {}
    for m in Municipality.objects.all():
        with tenant_context(m):
            schools_before[m.slug] = (School.objects.count(), StaffPosition.objects.count())

    call_command("load_demo", verbosity=0)

    assert _counts() == before
    for m in Municipality.objects.all():
        with tenant_context(m):
            assert (School.objects.count(), StaffPosition.objects.count()) == schools_before[m.slug]


def test_volda_demo_users_read_nynorsk_and_the_others_their_browsers_language(
    demo: None,
) -> None:
    volda = User.objects.get(email=demo_email("rektor", "volda"))
    trondheim = User.objects.get(email=demo_email("rektor", "trondheim"))

    assert volda.preferred_language == "nn"  # Volda's school writes Nynorsk
    assert trondheim.preferred_language == ""
