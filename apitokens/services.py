"""Writes of API tokens: each in one transaction with its audit entry
(sovei_platform.audit.audited_write). The key is returned once, by ``api_token_create``,
and never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from sovei_platform.audit import audited_write
from tenants.models import Municipality

from .keys import SHOWN_PREFIX, key_hash, key_new
from .models import ApiToken, TokenAccess, TokenKind

MAX_DAYS = 365  # a token lives at most a year; a new one is made in a minute
MAX_ACTIVE_PER_USER = 20
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    key: str  # shown once


def expiry_of(expires_on: date) -> datetime:
    """A token chosen to expire on a day works through that day (Oslo time)."""
    return timezone.make_aware(datetime.combine(expires_on + timedelta(days=1), time.min))


def api_token_create(
    *,
    user: User,
    name: str,
    municipality: Municipality | None,
    access: str,
    expires_on: date | None,
    kind: str = TokenKind.PERSONAL,
) -> NewToken:
    """A new token of ``user`` for one municipality's API (read or write), or with no
    municipality for the research API (researchers only, read). Refused with the field
    and the reason: a municipality the user is no member of, a research token for
    someone who is not a researcher, write access to research, an expiry in the past or
    more than a year ahead."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name, e.g. the program that uses it.")]
    elif len(name) > 100:
        errors["name"] = [_("At most 100 characters.")]
    if kind not in TokenKind.values:
        errors["kind"] = [_("Choose personal or service.")]
    if access not in TokenAccess.values:
        errors["access"] = [_("Choose read or read and write.")]
    if municipality is None:
        if not user.is_researcher:
            errors["municipality"] = [
                _("Tokens for the research API are for researchers only.")
            ]
        elif access == TokenAccess.WRITE:
            errors["access"] = [_("The research API only reads.")]
    elif not Membership.objects.filter(user=user, municipality=municipality).exists():
        errors["municipality"] = [_("You have no access to this municipality.")]
    today = timezone.localdate()
    if expires_on is None:
        errors["expires_on"] = [_("Choose the day the token expires.")]
    elif expires_on < today:
        errors["expires_on"] = [_("The day has passed.")]
    elif expires_on > today + timedelta(days=MAX_DAYS):
        errors["expires_on"] = [
            _("At most %(days)s days ahead (%(last)s).")
            % {"days": MAX_DAYS, "last": (today + timedelta(days=MAX_DAYS)).isoformat()}
        ]
    if not user.is_active:
        errors["user"] = [_("The account is not active.")]
    if errors:
        raise ValidationError(errors)
    assert expires_on is not None
    key = key_new()
    with audited_write(user):
        # One user's creations one at a time, so the limit below holds under a double click.
        User.objects.select_for_update().filter(pk=user.pk).first()
        active = ApiToken.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).count()
        if active >= MAX_ACTIVE_PER_USER:
            raise ValidationError(
                {"name": [_("You have %(n)s active tokens; revoke one first.") % {"n": active}]}
            )
        token = ApiToken.objects.create(
            user=user,
            name=name,
            kind=kind,
            municipality=municipality,
            access=access,
            prefix=key[:SHOWN_PREFIX],
            key_hash=key_hash(key),
            expires_at=expiry_of(expires_on),
        )
    return NewToken(token=token, key=key)


def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke the token at once: by its owner, or by the coordinator of the municipality
    it reaches. Revoking a revoked token changes nothing."""
    is_owner = token.user_id == actor.pk
    is_coordinator = (
        token.municipality_id is not None
        and Membership.objects.filter(
            user=actor, municipality_id=token.municipality_id, role="coordinator"
        ).exists()
    )
    if not (is_owner or is_coordinator):
        raise ValidationError(
            {"token": [_("Only the token's owner and the municipal coordinator can revoke it.")]}
        )
    with audited_write(actor):
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = actor
            locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


def api_token_used(*, token: ApiToken) -> None:
    """Record that the token was used now, at most once a minute per token (one UPDATE,
    its own transaction; bookkeeping, left out of the audit trail like a sign-in time)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    token.last_used_at = now
