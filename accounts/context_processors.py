from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def tenant_url(request: HttpRequest, slug: str) -> str:
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    return f"{request.scheme}://{slug}.{settings.BASE_DOMAIN}{suffix}/"


def public_url(request: HttpRequest) -> str:
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    return f"{request.scheme}://{settings.BASE_DOMAIN}{suffix}/"


def navigation(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    return {
        "current_municipality": tenant,
        "access": getattr(request, "access", None),
        "public_site_url": public_url(request),
    }
