from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasTenantAccess(BasePermission):
    """The request carries a membership of the host's municipality (set by
    accounts.middleware.TenantMembershipMiddleware)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return getattr(request._request, "access", None) is not None
