"""API tokens, as pages: a person makes (shown once), lists and revokes their own tokens at
/api-nokler/ — on a municipality's host for that municipality, on the public site for
the research API (researchers); a municipality's coordinator sees and revokes every
token that reaches the municipality at /api-nokler/kommune/. Thin: selectors read,
services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import TenantAccess
from implementation.forms import add_service_errors

from . import selectors, services
from .forms import TokenForm
from .models import ApiToken

COORDINATOR_DENIED = _("Only the municipal coordinator sees the municipality's tokens.")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _coordinator(request: HttpRequest) -> TenantAccess:
    access: TenantAccess | None = getattr(request, "access", None)
    if access is None or not access.is_coordinator:
        raise PermissionDenied(COORDINATOR_DENIED)
    return access


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    municipality = getattr(request, "tenant", None)
    can_create = municipality is not None or user.is_researcher
    form = TokenForm(request.POST or None, research=municipality is None)
    new_key = ""
    invalid = False
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied(_("Tokens for the research API are for researchers only."))
        if form.is_valid():
            try:
                created = services.api_token_create(
                    user=user,
                    name=form.cleaned_data["name"],
                    kind=form.cleaned_data["kind"],
                    municipality=municipality,
                    access=form.access_value(),
                    expires_on=form.cleaned_data["expires_on"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                new_key = created.key
                form = TokenForm(research=municipality is None)
        invalid = not new_key
    response = render(
        request,
        "apitokens/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "can_create": can_create,
            "municipality": municipality,
            "tokens": list(selectors.tokens_of(user)),
        },
        status=400 if invalid else 200,
    )
    return _no_store(response)


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = _user(request)
    token = selectors.token_of(user, token_id)
    services.api_token_revoke(token=token, actor=user)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("apitokens:tokens")


def _rows(access: TenantAccess, tokens: list[ApiToken]) -> list[tuple[ApiToken, bool]]:
    members = selectors.members_of(access, {t.user_id for t in tokens})
    return [(token, token.user_id in members) for token in tokens]


@require_http_methods(["GET"])
def municipality_tokens(request: HttpRequest) -> HttpResponse:
    access = _coordinator(request)
    tokens = list(selectors.tokens_reaching(access))
    return _no_store(
        render(
            request,
            "apitokens/municipality.html",
            {"rows": _rows(access, tokens), "municipality": access.municipality},
        )
    )


@require_POST
def municipality_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    access = _coordinator(request)
    token = selectors.token_reaching(access, token_id)
    services.api_token_revoke(token=token, actor=access.user)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("apitokens:municipality")
