"""Shared auth across tenants needs a membership check on every tenant request
(django-tenants' security notes): without one, a session from one municipality would
open another's pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
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


class UserLanguageMiddleware:
    """A signed-in user reads the platform in the language they chose last (kept on the
    user, `User.preferred_language`), on every host and in every browser: Django's language
    cookie belongs to one host and one browser. The cookie follows the user's choice, so
    the sign-in page after signing out speaks the same language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = _remembered_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        language = _remembered_language(request)  # also right after signing in
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


def _remembered_language(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    language = getattr(user, "preferred_language", "") or ""
    return language if language in dict(settings.LANGUAGES) else ""
