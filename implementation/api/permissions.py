"""Who may call the API, and the capability checks views make after fetching an object
through a selector (a selector answers 404 outside the user's scope; these answer 403
when the user can see the object but not change it)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.selectors import TenantAccess

MANAGE_DENIED = _("Only the school's leaders and the municipal coordinator can change this.")
RATE_DENIED = _("Only the school's staff, its leaders and the municipal coordinator rate the team.")
WORK_DENIED = _("Only social-work staff and leaders of the school can do this for themselves.")
COORDINATOR_DENIED = _("Only the municipal coordinator can do this.")
NAME_DENIED = _("Only the municipal coordinator can change a school's name.")
AUDIT_DENIED = _("Only school leaders and the municipal coordinator can read the audit trail.")
ROUND_DENIED = _(
    "Only someone who manages every school in the round (usually the municipal coordinator) "
    "can change it."
)


class HasTenantAccess(BasePermission):
    """The request carries a membership of the host's municipality (set by
    accounts.middleware.TenantMembershipMiddleware)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return getattr(request._request, "access", None) is not None


def access_of(request: Request) -> TenantAccess:
    """The user's access to the host's municipality, resolved by the middleware."""
    access: TenantAccess | None = getattr(request._request, "access", None)
    if access is None:
        raise NotAuthenticated
    return access


def require(allowed: bool, message: str | Promise) -> None:
    """403 with a readable reason unless `allowed`."""
    if not allowed:
        raise PermissionDenied(str(message))
