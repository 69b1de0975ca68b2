"""Host routing: the bare BASE_DOMAIN is the public site, `<slug>.<BASE_DOMAIN>` a municipality."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware

from .db import use_public_schema


def public_hosts() -> set[str]:
    return {settings.BASE_DOMAIN, *getattr(settings, "PUBLIC_HOSTS", [])}


class MunicipalityMiddleware(TenantMainMiddleware):
    """Unknown hosts get 404 instead of the public site, so a mistyped municipality
    address never looks like a working but empty municipality."""

    def process_request(self, request: HttpRequest) -> HttpResponseNotFound | None:
        hostname = self.hostname_from_request(request)
        if hostname in public_hosts():
            use_public_schema()
            # No `request.tenant` on the public site (code reads getattr(request, "tenant",
            # None)); django-tenants' admin templates crash on a tenant that is None.
            self.setup_url_routing(request, force_public=True)
            return None
        return super().process_request(request)  # type: ignore[no-any-return]
