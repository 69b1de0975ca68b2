"""/deling/ on a municipality's host: the coordinator starts or stops sharing the
municipality's anonymized data with the research store."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.selectors import TenantAccess
from sovei_platform.privacy import min_group_size, min_staff_group, release_delay_days

from . import selectors, services

DENIED = _("Only the municipal coordinator can change sharing with research.")


def _coordinator(request: HttpRequest) -> TenantAccess:
    access: TenantAccess | None = getattr(request, "access", None)
    if access is None or not access.is_coordinator:
        raise PermissionDenied(DENIED)
    return access


@require_http_methods(["GET", "POST"])
def sharing(request: HttpRequest) -> HttpResponse:
    access = _coordinator(request)
    municipality = access.municipality
    if request.method == "POST":
        shares = request.POST.get("shares") == "1"
        services.research_sharing_set(municipality=municipality, shares=shares, actor=access.user)
        messages.success(
            request,
            _(
                "The municipality shares anonymized data with research again, from the next "
                "publication."
            )
            if shares
            else _(
                "The municipality no longer shares data with research. Its data has been "
                "removed from the research store."
            ),
        )
        return redirect("research_tenant:sharing")
    return render(
        request,
        "research/sharing.html",
        {
            "municipality": municipality,
            "changes": selectors.sharing_changes(municipality),
            "k": min_group_size(),
            "k_staff": min_staff_group(),
            "delay": release_delay_days(),
        },
    )
