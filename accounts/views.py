"""Account pages of our own; sign-in, sign-out and password reset are Django's."""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .context_processors import tenant_url
from .selectors import municipalities_for
from .services import sign_in_handoff_create, sign_in_handoff_redeem, user_language_set


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie for this browser and host), and for a signed-in
    user the choice kept on the account, so it follows them to the next sign-in."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        # A language we do not speak: Django's view has ignored it too.
        with suppress(ValidationError):
            user_language_set(user=request.user, language=language)  # type: ignore[arg-type]
    return response


@login_required
def sign_in_handoff(request: HttpRequest, slug: str) -> HttpResponse:
    """Public site: open one of the user's municipalities signed in (a one-time link to its
    host, which signs the user in there; accounts.models.SignInHandoff)."""
    municipality = next((m for m in municipalities_for(request.user) if m.slug == slug), None)  # type: ignore[arg-type]
    if municipality is None:
        raise Http404
    token = sign_in_handoff_create(user=request.user, municipality=municipality)  # type: ignore[arg-type]
    query = urlencode({"token": token, "next": "/"})
    return redirect(f"{tenant_url(request, municipality.slug)}accounts/videre/?{query}")


def sign_in_handoff_accept(request: HttpRequest) -> HttpResponse:
    """Municipality host: the hand-off link signs its user in, once, and goes on to a path
    of this host; a used, expired or foreign link leads to the sign-in page instead."""
    tenant = getattr(request, "tenant", None)
    user = sign_in_handoff_redeem(token=request.GET.get("token", ""), municipality=tenant)  # type: ignore[arg-type]
    if user is None:
        messages.info(request, _("The link has expired or was used. Please sign in."))
        return redirect_to_login("/")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    target = request.GET.get("next", "/")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(target)
