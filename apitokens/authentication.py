"""DRF's view of a token request: the middleware (apitokens.middleware) has checked the
token, its host and its method; this answers "who" for DRF. It comes before
SessionAuthentication, so a token request is never asked for a CSRF token, while a
session write still is."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .keys import key_from_header
from .middleware import WWW_AUTHENTICATE


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = getattr(request._request, "api_token", None)
        if token is not None:
            return token.user, token
        if key_from_header(request.META.get("HTTP_AUTHORIZATION", "")) is not None:
            # A token the middleware did not accept (a path it does not guard): refuse
            # rather than fall back to the session.
            raise AuthenticationFailed
        return None

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE.split(",")[0]
