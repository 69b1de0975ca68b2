from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.context_processors import tenant_url
from accounts.selectors import municipalities_for


def landing(request: HttpRequest) -> HttpResponse:
    municipalities = [
        {"name": m.name, "url": tenant_url(request, m.slug)}
        for m in municipalities_for(request.user)  # type: ignore[arg-type]
    ]
    return render(request, "landing.html", {"my_municipalities": municipalities})


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)
