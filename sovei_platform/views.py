from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.selectors import municipalities_for


def landing(request: HttpRequest) -> HttpResponse:
    municipalities = [
        # through the one-time hand-off, so the user arrives signed in
        {"name": m.name, "url": reverse("sign_in_handoff", args=[m.slug])}
        for m in municipalities_for(request.user)  # type: ignore[arg-type]
    ]
    return render(request, "landing.html", {"my_municipalities": municipalities})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        detail = str(exception or "") or _("You do not have permission to perform this action.")
        return JsonResponse({"detail": detail}, status=403)
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON under /api/ (also for paths no route matches, e.g. /api/v1/activities/0.5/),
    the site's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)
