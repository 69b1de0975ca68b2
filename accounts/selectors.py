"""Reads about who may do what. Every tenant page and API call goes through `access_for`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone

from tenants.models import Municipality

from .models import Invitation, Membership, Role, User

# What a school leader may change about their school (TenantAccess.school_fields_refused).
LEADER_SCHOOL_FIELDS = frozenset({"organisation_number", "grade_from", "grade_to", "pupil_count"})


@dataclass(frozen=True)
class TenantAccess:
    """What one user may do in one municipality, resolved once per request."""

    user: User
    municipality: Municipality
    roles: frozenset[str]
    leader_school_ids: frozenset[int] = field(default_factory=frozenset)
    staff_school_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_coordinator(self) -> bool:
        return Role.COORDINATOR in self.roles

    @property
    def school_ids(self) -> frozenset[int] | None:
        """The schools this user sees; None means every school of the municipality."""
        if self.is_coordinator:
            return None
        return self.leader_school_ids | self.staff_school_ids

    def can_view_school(self, school_id: int) -> bool:
        ids = self.school_ids
        return ids is None or school_id in ids

    def can_manage_school(self, school_id: int) -> bool:
        """Leaders of the school and coordinators: adoptions, plans, rounds, links."""
        return self.is_coordinator or school_id in self.leader_school_ids

    def works_at_school(self, school_id: int) -> bool:
        """Staff and leaders of the school: they log time and answer as themselves."""
        return school_id in self.leader_school_ids or school_id in self.staff_school_ids

    def can_rate_school(self, school_id: int) -> bool:
        """The school team's ratings (fidelity, CFIR): its staff, its leaders, coordinators."""
        return self.is_coordinator or self.works_at_school(school_id)

    def school_fields_refused(self, school_id: int, fields: Iterable[str]) -> list[str]:
        """The fields of a school's profile this user may not change (pages and API ask
        this one rule): the profile (organisation number, grades, pupils) belongs to the
        school's leaders and the coordinator; the name, the municipality's register of its
        schools, to the coordinator only."""
        if self.is_coordinator:
            return []
        if school_id not in self.leader_school_ids:
            return sorted(fields)
        return sorted(set(fields) - LEADER_SCHOOL_FIELDS)

    @property
    def can_read_audit(self) -> bool:
        return self.is_coordinator or bool(self.leader_school_ids)


def access_for(user: User, municipality: Municipality) -> TenantAccess | None:
    """The user's access to the municipality, or None if they hold no membership there.

    Platform administrators and researchers get no implicit access to tenant data."""
    if not user.is_authenticated or not user.is_active:
        return None
    memberships = list(
        Membership.objects.filter(user=user, municipality=municipality).only("role", "school_ids")
    )
    if not memberships:
        return None
    leader: set[int] = set()
    staff: set[int] = set()
    for m in memberships:
        if m.role == Role.LEADER:
            leader.update(m.school_ids)
        elif m.role == Role.STAFF:
            staff.update(m.school_ids)
    return TenantAccess(
        user=user,
        municipality=municipality,
        roles=frozenset(m.role for m in memberships),
        leader_school_ids=frozenset(leader),
        staff_school_ids=frozenset(staff),
    )


def municipalities_for(user: User) -> list[Municipality]:
    if not user.is_authenticated:
        return []
    return list(Municipality.objects.filter(memberships__user=user).distinct().order_by("name"))


def schools_by_municipality() -> list[tuple[Municipality, list[tuple[int, str]]]]:
    """Every municipality with its schools (id, name), for choosing a membership's schools
    in the platform administration. Schools live in each municipality's schema."""
    from django_tenants.utils import tenant_context

    from implementation.models import School

    result = []
    for municipality in Municipality.objects.exclude(schema_name="public").order_by("name"):
        with tenant_context(municipality):
            schools = list(School.objects.order_by("name").values_list("id", "name"))
        result.append((municipality, schools))
    return result


def school_names(municipality: Municipality, school_ids: Iterable[int]) -> dict[int, str]:
    """The names of these schools of the municipality (unknown ids are left out)."""
    ids = sorted(set(school_ids))
    if not ids:
        return {}
    from django_tenants.utils import tenant_context

    from implementation.models import School

    with tenant_context(municipality):
        return dict(School.objects.filter(id__in=ids).values_list("id", "name"))


def invitations_open_for(*, email: str, eppn: str) -> QuerySet[Invitation]:
    """The invitations, of every municipality, that a sign-in with this e-mail address or
    Feide username may claim: not claimed, withdrawn or expired."""
    match = Q(pk__in=[])
    if email:
        match |= Q(email__iexact=email)
    if eppn:
        match |= Q(eppn__iexact=eppn)
    return Invitation.objects.filter(
        match,
        claimed_at__isnull=True,
        withdrawn_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("created_at")


def invitations_of(municipality: Municipality) -> QuerySet[Invitation]:
    """The municipality's invitations, newest first, with who invited and who accepted."""
    return Invitation.objects.filter(municipality=municipality).select_related(
        "invited_by", "claimed_by"
    )


def invitation_of(municipality: Municipality, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(municipality=municipality, pk=invitation_id).first()


def school_choices(municipality: Municipality) -> list[tuple[int, str]]:
    """The municipality's schools (id, name) by name, for choosing an invitation's schools."""
    from django_tenants.utils import tenant_context

    from implementation.models import School

    with tenant_context(municipality):
        return list(School.objects.order_by("name").values_list("id", "name"))
