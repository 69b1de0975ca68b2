"""What every recording page shares: the user's access, the school in scope, the 404/403
rule, and rendering a form that the user has to correct."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import TenantAccess
from catalog.models import ModelVersion
from catalog.selectors import model_version_current

from ..models import AdoptionStatus, ComponentAdoption, School
from ..selectors import school_for
from ..services._common import today

MANAGE_DENIED = _("Only the school's leaders and the municipal coordinator can change this.")
RATE_DENIED = _("Only the school's staff, its leaders and the municipal coordinator rate the team.")
WORK_DENIED = _("Only social-work staff and leaders of the school can do this for themselves.")
AUDIT_DENIED = _("Only school leaders and the municipal coordinator can read the audit trail.")
ROUND_DENIED = _(
    "Only someone who manages every school in the round (usually the municipal coordinator) "
    "can change it."
)
OPEN_ROUND_DENIED = _("Only school leaders and the municipal coordinator can open a round.")

# An invalid form is answered with 400 and the form, its errors next to the fields.
INVALID = 400


def access_of(request: HttpRequest) -> TenantAccess:
    """The user's access to the host's municipality (accounts.middleware sets it)."""
    access: TenantAccess | None = getattr(request, "access", None)
    if access is None:
        raise PermissionDenied(_("You have no access to this municipality."))
    return access


def require(allowed: bool, message: Any) -> None:
    """403 with a readable reason unless `allowed`: the user can see this but not do it."""
    if not allowed:
        raise PermissionDenied(message)


def visible_school(request: HttpRequest, school_id: int) -> School:
    """The school, or 404 when it is outside the user's scope (its existence stays hidden)."""
    return school_for(access_of(request), school_id)


def managed_school(request: HttpRequest, school_id: int) -> School:
    """404 outside the scope; 403 when the user sees the school but does not manage it."""
    access = access_of(request)
    school = school_for(access, school_id)
    require(access.can_manage_school(school.pk), MANAGE_DENIED)
    return school


def current_version() -> ModelVersion | None:
    return model_version_current()


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, invalid: bool = False
) -> HttpResponse:
    return render(request, template, context, status=INVALID if invalid else 200)


def today_date() -> date:
    return today()


def module_of(adoption: ComponentAdoption) -> Any:
    if adoption.local_component is not None:
        return adoption.local_component.module
    return adoption.component.module  # type: ignore[union-attr]


def adoption_sort_key(adoption: ComponentAdoption) -> tuple[int, int, str]:
    module = module_of(adoption)
    number = adoption.component.number if adoption.component is not None else 999
    return (module.number, number, adoption.component_title.lower())


def group_by_module(
    adoptions: Iterable[ComponentAdoption],
) -> list[tuple[Any, list[ComponentAdoption]]]:
    """Adoptions grouped by module (catalog order), catalog components before local ones."""
    groups: dict[int, tuple[Any, list[ComponentAdoption]]] = {}
    for adoption in sorted(adoptions, key=adoption_sort_key):
        module = module_of(adoption)
        groups.setdefault(module.pk, (module, []))[1].append(adoption)
    return sorted(groups.values(), key=lambda g: g[0].number)


def rated_adoptions(adoptions: Iterable[ComponentAdoption]) -> list[ComponentAdoption]:
    """The adoptions a fidelity self-assessment rates: all but the discontinued ones."""
    return [a for a in adoptions if a.status != AdoptionStatus.DISCONTINUED]


def actor_of(request: HttpRequest) -> User:
    """The signed-in user, as the actor a service records in the audit trail."""
    return access_of(request).user
