"""Tokens on the API: ``Authorization: Bearer <key>`` (or ``Token <key>``) on any path under
/api/, beside the session. Runs after Django's AuthenticationMiddleware and before the
membership check (accounts.middleware.TenantMembershipMiddleware), so a token's owner is
checked for a membership of the host's municipality exactly as a signed-in person is.

Here, for every token request, before any view:

* 401 for a key that is unknown, expired or revoked, or whose owner is inactive;
* 403 when the token does not reach this host: a municipality's token on another
  municipality or on the public site, a research token on a municipality's host;
* 403 for a write (POST, PUT, PATCH, DELETE) with a read token.

Pages never accept tokens (only paths under /api/ do). A token request carries no CSRF
token: the DRF authentication (apitokens.authentication) answers for it before
SessionAuthentication, which enforces CSRF on session writes as before."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from . import selectors, services
from .keys import key_from_header
from .models import ApiToken

API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WWW_AUTHENTICATE = 'Bearer realm="api", error="invalid_token"'


def refusal(token: ApiToken, request: HttpRequest) -> str | None:
    """Why this token may not make this request on this host (None: it may)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None and not token.is_research:
        return _("This token is for a municipality's API, not the research API.")
    if tenant is not None and token.municipality_id != tenant.pk:
        return _("This token is not valid for this municipality.")
    if request.method not in SAFE_METHODS and not token.can_write:
        return _("This token may only read.")
    return None


def unauthorized() -> JsonResponse:
    response = JsonResponse(
        {"detail": _("The token is unknown, expired or revoked.")}, status=401
    )
    response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


class ApiTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.api_token = None  # type: ignore[attr-defined]
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        key = key_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        if key is None:
            return self.get_response(request)
        token = selectors.token_for_key(key)
        if token is None or not token.is_active or not token.user.is_active:
            return unauthorized()
        reason = refusal(token, request)
        if reason is not None:
            return JsonResponse({"detail": reason}, status=403)
        services.api_token_used(token=token)
        request.user = token.user
        request.api_token = token  # type: ignore[attr-defined]
        return self.get_response(request)
