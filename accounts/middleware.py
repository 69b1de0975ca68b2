"""Shared auth across tenants needs a membership check on every tenant request
(django-tenants' security notes): without one, a session from one municipality would
open another's pages."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from .selectors import access_for

# Paths on a tenant host that work without a membership.
# /api/v1/survey/ is the API twin of /s/: one-time links answered without an account.
OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz", "/s/", "/api/v1/survey/")


class TenantMembershipMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        request.access = None  # type: ignore[attr-defined]
        if tenant is None or request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        is_api = request.path.startswith("/api/")
        if not request.user.is_authenticated:
            if is_api:
                return JsonResponse(
                    {"detail": _("Authentication credentials were not provided.")}, status=403
                )
            return redirect_to_login(request.get_full_path())
        access = access_for(request.user, tenant)  # type: ignore[arg-type]
        if access is None:
            if is_api:
                return JsonResponse(
                    {"detail": _("You have no access to this municipality.")}, status=403
                )
            raise PermissionDenied(_("You have no access to this municipality."))
        request.access = access  # type: ignore[attr-defined]
        return self.get_response(request)
