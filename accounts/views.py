"""Account pages of our own; sign-in, sign-out and password reset are Django's."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from implementation.forms import add_service_errors

from . import selectors
from .context_processors import public_url, tenant_url
from .forms import InvitationForm, LoginForm
from .models import Invitation, User
from .selectors import TenantAccess, municipalities_for
from .services import (
    invitation_create,
    invitation_withdraw,
    sign_in_handoff_create,
    sign_in_handoff_redeem,
    user_language_set,
)


def _safe_path(request: HttpRequest, target: str) -> str:
    """`target` if it is a path of this host, else "/"."""
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


class SignInView(LoginView):
    """Django's sign-in page, with Feide beside (or instead of) the password. On a
    municipality's host, Feide's button goes to the public site (the one address
    registered with Feide), which hands the sign-in back to this host."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["password_sign_in"] = settings.PASSWORD_SIGN_IN_ENABLED
        context["feide_sign_in_url"] = (
            feide_sign_in_url(self.request, self.get_redirect_url() or "/")
            if settings.FEIDE_SIGN_IN_ENABLED
            else ""
        )
        return context


def feide_sign_in_url(request: HttpRequest, target: str) -> str:
    """Where "Sign in with Feide" leads: the public site's Feide sign-in, which goes on to
    `target` — on a municipality's host, through the hand-off to that host."""
    start = reverse("feide_sign_in", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return f"{start}?{urlencode({'next': _safe_path(request, target)})}"
    handoff = reverse("sign_in_handoff", args=[tenant.slug], urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    onward = f"{handoff}?{urlencode({'next': _safe_path(request, target)})}"
    return f"{public_url(request).rstrip('/')}{start}?{urlencode({'next': onward})}"


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
    # a path on the municipality's host, checked again there
    onward = request.GET.get("next", "/")
    if not onward.startswith("/") or onward.startswith("//"):
        onward = "/"
    query = urlencode({"token": token, "next": onward})
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
    return redirect(_safe_path(request, request.GET.get("next", "/")))


# --- Invitations (a municipality's host, its coordinator) -------------------------------------


def _coordinator(request: HttpRequest) -> TenantAccess:
    access: TenantAccess | None = getattr(request, "access", None)
    if access is None or not access.is_coordinator:
        raise PermissionDenied(_("Only the municipal coordinator invites people."))
    return access


@require_http_methods(["GET", "POST"])
def invitations(request: HttpRequest) -> HttpResponse:
    """Invite a person by e-mail to a role and schools; the municipality's invitations."""
    access = _coordinator(request)
    municipality = access.municipality
    schools = selectors.school_choices(municipality)
    form = InvitationForm(request.POST or None, schools=schools)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitation_create(
                municipality=municipality,
                email=form.cleaned_data["email"],
                eppn=form.cleaned_data["eppn"],
                role=form.cleaned_data["role"],
                school_ids=form.cleaned_data["school_ids"],
                actor=access.user,
                sign_in_url=f"{public_url(request)}accounts/login/",
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(email)s is invited. The invitation expires on %(date)s.")
                % {"email": invitation.email, "date": invitation.expires_at.date().isoformat()},
            )
            return redirect("invitations:list")
    names = dict(schools)
    rows = [
        (invitation, [names.get(i, str(i)) for i in invitation.school_ids])
        for invitation in selectors.invitations_of(municipality)
    ]
    return render(
        request,
        "accounts/invitations.html",
        {"form": form, "rows": rows, "municipality": municipality},
        status=400 if form.is_bound else 200,
    )


@require_POST
def invitation_withdrawal(request: HttpRequest, invitation_id: int) -> HttpResponse:
    access = _coordinator(request)
    invitation: Invitation | None = selectors.invitation_of(access.municipality, invitation_id)
    if invitation is None:
        raise Http404
    user = access.user
    assert isinstance(user, User)
    try:
        invitation_withdraw(invitation=invitation, actor=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The invitation to %(email)s is withdrawn.") % {
            "email": invitation.email})
    return redirect("invitations:list")
