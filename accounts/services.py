"""Writes for accounts and memberships; each one audited and in one transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from sovei_platform.audit import audited_write
from tenants.models import Municipality

from .models import SCHOOL_SCOPED_ROLES, Membership, Role, SignInHandoff, User


def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str = "",
    is_researcher: bool = False,
    is_platform_admin: bool = False,
    actor: User | None = None,
) -> User:
    email = (email or "").strip().lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": [_("A user with this e-mail address exists.")]})
    with audited_write(actor):
        user = User(
            email=email,
            full_name=full_name,
            is_researcher=is_researcher,
            is_staff=is_platform_admin,
            is_superuser=is_platform_admin,
        )
        user.set_password(password)
        user.full_clean()
        user.save()
    return user


def membership_grant(
    *,
    user: User,
    municipality: Municipality,
    role: Role | str,
    school_ids: Iterable[int] = (),
    actor: User | None = None,
) -> Membership:
    """Give a user a role in a municipality; for staff and leaders, at these schools.

    Granting a role the user already holds adds the schools to it."""
    role = Role(role)
    ids = membership_schools_validate(municipality=municipality, role=role, school_ids=school_ids)
    with audited_write(actor):
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user, municipality=municipality, role=role, defaults={"school_ids": ids}
        )
        if not created and not set(ids) <= set(membership.school_ids):
            membership.school_ids = sorted(set(membership.school_ids) | set(ids))
            membership.save(update_fields=["school_ids"])
    return membership


def membership_schools_validate(
    *, municipality: Municipality, role: Role | str, school_ids: Iterable[int]
) -> list[int]:
    """The schools, sorted, if they fit the role and exist in the municipality; otherwise a
    ValidationError on `school_ids`."""
    ids = sorted(set(school_ids))
    if Role(role) in SCHOOL_SCOPED_ROLES and not ids:
        raise ValidationError({"school_ids": [_("Choose at least one school for this role.")]})
    if Role(role) not in SCHOOL_SCOPED_ROLES and ids:
        raise ValidationError({"school_ids": [_("This role covers every school; choose none.")]})
    if ids:
        from implementation.models import School

        with tenant_context(municipality):
            known = set(School.objects.filter(id__in=ids).values_list("id", flat=True))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValidationError(
                {
                    "school_ids": [
                        _("No such school in this municipality: %(ids)s")
                        % {"ids": ", ".join(map(str, unknown))}
                    ]
                }
            )
    return ids


def membership_update(
    *,
    membership: Membership,
    municipality: Municipality,
    role: Role | str,
    school_ids: Iterable[int],
    actor: User | None = None,
) -> Membership:
    """Change a membership's municipality, role and schools (the platform administration)."""
    role = Role(role)
    ids = membership_schools_validate(municipality=municipality, role=role, school_ids=school_ids)
    clash = Membership.objects.filter(
        user_id=membership.user_id, municipality=municipality, role=role
    ).exclude(pk=membership.pk)
    if clash.exists():
        raise ValidationError({"role": [_("The user already has this role here.")]})
    with audited_write(actor):
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        membership.municipality = municipality
        membership.role = role
        membership.school_ids = ids
        membership.save(update_fields=["municipality", "role", "school_ids"])
    return membership


def membership_revoke(*, membership: Membership, actor: User | None = None) -> None:
    with audited_write(actor):
        membership.delete()


def user_language_set(*, user: User, language: str, actor: User | None = None) -> User:
    """Remember the language the user chose; it applies wherever they sign in next."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("Choose Bokmål, Nynorsk or English.")]})
    if user.preferred_language == language:
        return user
    with audited_write(actor if actor is not None else user):
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    return user


HANDOFF_SECONDS = 60


def _handoff_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in_handoff_create(*, user: User, municipality: Municipality) -> str:
    """A one-time token that signs `user` in at `municipality`'s host (see SignInHandoff);
    only for a member of that municipality. Returns the token; only its hash is kept."""
    if not user.is_active or not Membership.objects.filter(
        user=user, municipality=municipality
    ).exists():
        raise ValidationError({"municipality": [_("You have no access to this municipality.")]})
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with audited_write(user):
        SignInHandoff.objects.filter(user=user, expires_at__lt=now).delete()
        SignInHandoff.objects.create(
            token_hash=_handoff_hash(token),
            user=user,
            municipality=municipality,
            expires_at=now + timedelta(seconds=HANDOFF_SECONDS),
        )
    return token


def sign_in_handoff_redeem(*, token: str, municipality: Municipality) -> User | None:
    """The user the token signs in at this municipality, once; None if the token is
    unknown, used, expired, for another municipality, or the membership has ended."""
    if not token:
        return None
    now = timezone.now()
    with audited_write(None):
        handoff = (
            SignInHandoff.objects.select_for_update()
            .select_related("user")
            .filter(token_hash=_handoff_hash(token))
            .first()
        )
        if handoff is None or handoff.used_at is not None:
            return None
        handoff.used_at = now
        handoff.save(update_fields=["used_at"])
        user = handoff.user
        if (
            handoff.expires_at <= now
            or handoff.municipality_id != municipality.pk
            or not user.is_active
            or not Membership.objects.filter(user=user, municipality=municipality).exists()
        ):
            return None
    return user
