"""Reads of API tokens. A person reads their own tokens; a coordinator the tokens that
reach their municipality (never another municipality's): the scope is part of every
function here, so a view cannot forget it."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.selectors import TenantAccess

from .keys import key_hash
from .models import ApiToken


def token_for_key(key: str) -> ApiToken | None:
    """The token with this key (revoked and expired ones included: the caller refuses
    them), with its owner and municipality."""
    if not key:
        return None
    return (
        ApiToken.objects.select_related("user", "municipality")
        .filter(key_hash=key_hash(key))
        .first()
    )


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """The person's own tokens, newest first."""
    return ApiToken.objects.filter(user=user).select_related("municipality", "revoked_by")


def token_of(user: User, token_id: int) -> ApiToken:
    """One of the person's own tokens, or 404."""
    token = tokens_of(user).filter(pk=token_id).first()
    if token is None:
        raise Http404(_("No such token."))
    return token


def tokens_reaching(access: TenantAccess) -> QuerySet[ApiToken]:
    """The tokens of the access's municipality, for its coordinator only."""
    if not access.is_coordinator:
        raise PermissionError("Only the municipal coordinator sees the municipality's tokens.")
    return ApiToken.objects.filter(municipality=access.municipality).select_related(
        "user", "revoked_by"
    )


def token_reaching(access: TenantAccess, token_id: int) -> ApiToken:
    token = tokens_reaching(access).filter(pk=token_id).first()
    if token is None:
        raise Http404(_("No such token."))
    return token


def members_of(access: TenantAccess, user_ids: set[int]) -> set[int]:
    """Which of these users still hold a membership of the access's municipality."""
    return set(
        Membership.objects.filter(municipality=access.municipality, user_id__in=user_ids)
        .values_list("user_id", flat=True)
        .distinct()
    )
