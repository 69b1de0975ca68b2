"""Host routing: the bare BASE_DOMAIN is the public site, `<slug>.<BASE_DOMAIN>` a municipality."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware

from .db import tenant_connection, use_public_schema
from .routing import municipality_for_host


def public_hosts() -> set[str]:
    return {settings.BASE_DOMAIN, *getattr(settings, "PUBLIC_HOSTS", [])}


class MunicipalityMiddleware(TenantMainMiddleware):
    """Unknown hosts get 404 instead of the public site, so a mistyped municipality
    address never looks like a working but empty municipality.

    The municipality of a host comes from tenants.routing, which remembers it for a while:
    a request on a known host then switches the connection straight to the municipality's
    schema, and its first query sends the one `SET search_path` of the request
    (TENANT_LIMIT_SET_CALLS)."""

    def process_request(self, request: HttpRequest) -> HttpResponseNotFound | None:
        hostname = self.hostname_from_request(request)
        if hostname in public_hosts():
            use_public_schema()
            # No `request.tenant` on the public site (code reads getattr(request, "tenant",
            # None)); django-tenants' admin templates crash on a tenant that is None.
            self.setup_url_routing(request, force_public=True)
            return None
        municipality = municipality_for_host(hostname)
        if municipality is None:
            use_public_schema()
            return self.no_tenant_found(request, hostname)  # type: ignore[no-any-return]
        municipality.domain_url = hostname  # type: ignore[attr-defined]
        request.tenant = municipality  # type: ignore[attr-defined]
        tenant_connection().set_tenant(municipality)
        self.setup_url_routing(request)
        return None
