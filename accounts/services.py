"""Writes for accounts and memberships; each one audited and in one transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from sovei_platform.audit import audited_write
from tenants.models import Municipality

from . import selectors
from .models import SCHOOL_SCOPED_ROLES, Invitation, Membership, Role, SignInHandoff, User


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


# --- Invitations and the Feide sign-in ------------------------------------------------------


@dataclass(frozen=True)
class FeideIdentity:
    """Who Feide says signed in (accounts.oidc, from the verified ID token and userinfo)."""

    user_id: str
    email: str = ""
    eppn: str = ""
    name: str = ""


class SignInRefused(Exception):
    """The Feide sign-in cannot go on; `reason` names which page to show (accounts.oidc)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoInvitation(SignInRefused):
    """Feide signed the person in, but they have no account here and no invitation."""

    def __init__(self, identity: FeideIdentity) -> None:
        super().__init__("no_invitation")
        self.identity = identity


def invitation_create(
    *,
    municipality: Municipality,
    email: str,
    role: Role | str,
    school_ids: Iterable[int] = (),
    eppn: str = "",
    actor: User,
    sign_in_url: str = "",
) -> Invitation:
    """Invite a person by e-mail address (or Feide username) to a role, and for staff and
    leaders to schools, in the municipality. Their first Feide sign-in claims it
    (feide_sign_in); it expires after INVITATION_VALID_DAYS. The invitee gets an e-mail
    after the commit, with `sign_in_url` when given."""
    email = (email or "").strip().lower()
    eppn = (eppn or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    if eppn and (eppn.count("@") != 1 or " " in eppn or eppn.startswith("@")):
        raise ValidationError(
            {"eppn": [_("A Feide username looks like name@organisation.no.")]}
        )
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose a role.")]})
    role = Role(role)
    ids = membership_schools_validate(municipality=municipality, role=role, school_ids=school_ids)
    if Membership.objects.filter(
        user__email__iexact=email, municipality=municipality, role=role
    ).exists():
        raise ValidationError({"email": [_("This person already has this role here.")]})
    now = timezone.now()
    if Invitation.objects.filter(
        municipality=municipality,
        email=email,
        role=role,
        claimed_at__isnull=True,
        withdrawn_at__isnull=True,
        expires_at__gt=now,
    ).exists():
        raise ValidationError(
            {"email": [_("This person is already invited to this role and has not yet signed in.")]}
        )
    with audited_write(actor):
        invitation = Invitation.objects.create(
            municipality=municipality,
            email=email,
            eppn=eppn,
            role=role,
            school_ids=ids,
            invited_by=actor,
            expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        transaction.on_commit(lambda: _invitation_mail(invitation, sign_in_url))
    return invitation


def _invitation_mail(invitation: Invitation, sign_in_url: str) -> None:
    lines = [
        _("You are invited to the SoVei implementation platform as %(role)s in %(name)s.")
        % {"role": invitation.get_role_display(), "name": invitation.municipality.name},
        _("Sign in with Feide before %(date)s, with this e-mail address or your Feide user.")
        % {"date": timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d")},
    ]
    if sign_in_url:
        lines.append(sign_in_url)
    send_mail(
        _("Invitation to SoVei"),
        "\n\n".join(lines),
        None,
        [invitation.email],
        fail_silently=True,
    )


def invitation_withdraw(*, invitation: Invitation, actor: User) -> Invitation:
    """Withdraw an invitation nobody has claimed yet; a claimed one stays as it is."""
    with audited_write(actor):
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.claimed_at is not None:
            raise ValidationError(_("The invitation has been accepted; it cannot be withdrawn."))
        if invitation.withdrawn_at is None:
            invitation.withdrawn_at = timezone.now()
            invitation.save(update_fields=["withdrawn_at"])
    return invitation


def invitation_claim(*, invitation: Invitation, user: User) -> Membership | None:
    """Grant `user` the invitation's membership, once: the invitation's row is locked and
    read again, so of two sign-ins at once only the first claims it; the other, and any
    claim of an expired or withdrawn invitation, gets None."""
    now = timezone.now()
    try:
        with audited_write(user):
            locked = (
                Invitation.objects.select_for_update()
                .select_related("municipality")
                .filter(
                    pk=invitation.pk,
                    claimed_at__isnull=True,
                    withdrawn_at__isnull=True,
                    expires_at__gt=now,
                )
                .first()
            )
            if locked is None:
                return None
            membership = membership_grant(
                user=user,
                municipality=locked.municipality,
                role=locked.role,
                school_ids=locked.school_ids,
                actor=user,
            )
            locked.claimed_at = now
            locked.claimed_by = user
            locked.save(update_fields=["claimed_at", "claimed_by"])
    except ValidationError:
        # A school of the invitation was removed since: nothing is granted; the
        # coordinator sees it still open and can invite again.
        return None
    return membership


def feide_sign_in(*, identity: FeideIdentity) -> User:
    """The account a Feide sign-in signs in, and the invitations it claims.

    The account is the one linked to the Feide user id, else the one with the same e-mail
    address (linked now), else a new one — but only for someone with an invitation: who
    has neither an account nor an invitation gets NoInvitation and no account. Every open
    invitation to the e-mail address or the Feide username is claimed (invitation_claim),
    so one sign-in serves every municipality that invited the person."""
    if not identity.user_id:
        raise SignInRefused("token")
    if not identity.email and not identity.eppn:
        raise SignInRefused("no_email")
    with transaction.atomic():
        invitations = list(
            selectors.invitations_open_for(email=identity.email, eppn=identity.eppn)
        )
        user = User.objects.filter(feide_user_id=identity.user_id).first()
        if user is None and identity.email:
            user = User.objects.filter(email__iexact=identity.email).first()
            if user is not None and user.feide_user_id:
                raise SignInRefused("linked")
        if user is not None and not user.is_active:
            raise SignInRefused("inactive")
        if user is None and not invitations:
            raise NoInvitation(identity)
        if user is None:
            user = _feide_user_create(identity)
        elif user.feide_user_id != identity.user_id:
            with audited_write(user):
                user.feide_user_id = identity.user_id
                user.save(update_fields=["feide_user_id"])
        for invitation in invitations:
            invitation_claim(invitation=invitation, user=user)
    return user


def _feide_user_create(identity: FeideIdentity) -> User:
    try:
        with audited_write(None):
            user = User(
                email=(identity.email or identity.eppn).lower(),
                full_name=identity.name[:150],
                feide_user_id=identity.user_id,
            )
            user.set_unusable_password()
            user.full_clean()
            user.save()
    except ValidationError:
        # The same person's other sign-in made the account a moment ago.
        linked = User.objects.filter(feide_user_id=identity.user_id).first()
        if linked is None:
            raise SignInRefused("no_email") from None
        return linked
    return user
