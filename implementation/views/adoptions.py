"""Adopting components: the catalog with an "Adopt" action, local components, and per
adoption its status (with history) and responsible person."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.selectors import catalog_tree

from .. import services
from ..forms import (
    AdoptForm,
    LocalComponentForm,
    ResponsibleForm,
    StatusChangeForm,
    add_service_errors,
)
from ..models import ADOPTION_TRANSITIONS, AdoptionStatus, ComponentAdoption, School
from ..selectors import (
    adaptations_for,
    adoptions_for,
    catalog_components,
    catalog_modules,
    school_members,
)
from ._common import (
    MANAGE_DENIED,
    access_of,
    actor_of,
    current_version,
    group_by_module,
    managed_school,
    render_page,
    require,
    today_date,
    visible_school,
)

STATUS_ORDER = list(AdoptionStatus.values)


def _version_or_404() -> Any:
    version = current_version()
    if version is None:
        raise Http404
    return version


def _adoptions_context(
    request: HttpRequest,
    school: School,
    *,
    adopt_form: AdoptForm | None = None,
    local_form: LocalComponentForm | None = None,
) -> dict[str, Any]:
    access = access_of(request)
    version = current_version()
    adoptions = list(adoptions_for(access).filter(school=school))
    adopted = {a.component_id: a for a in adoptions if a.component_id is not None}
    modules: list[dict[str, Any]] = []
    if version is not None:
        for module in catalog_tree(version=version).modules:
            modules.append({
                "module": module,
                "components": [(c, adopted.get(c.pk)) for c in module.components.all()],
                "local": [
                    a for a in adoptions
                    if a.local_component is not None and a.local_component.module_id == module.pk
                ],
            })
    return {
        "school": school,
        "section": "adoptions",
        "version": version,
        "can_manage": access.can_manage_school(school.pk),
        "adopted_groups": group_by_module(adoptions),
        "catalog": modules,
        "adopt_form": adopt_form,
        "local_form": local_form
        or LocalComponentForm(
            modules=catalog_modules().filter(version=version).order_by("number")
        ),
    }


def adoptions(request: HttpRequest, school_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    return render_page(
        request, "implementation/adoptions.html", _adoptions_context(request, school)
    )


@require_POST
def adoption_adopt(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    version = _version_or_404()
    form = AdoptForm(
        request.POST, components=catalog_components().filter(module__version=version)
    )
    if form.is_valid():
        component = form.cleaned_data["component"]
        try:
            adoption = services.adoption_create(
                school=school, component=component, actor=actor_of(request)
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("“%(title)s” is adopted, with the status “planned”.")
                % {"title": component.title},
            )
            return redirect("implementation:adoption", school_id=school.pk, adoption_id=adoption.pk)
    return render_page(
        request,
        "implementation/adoptions.html",
        _adoptions_context(request, school, adopt_form=form),
        invalid=True,
    )


@require_POST
def adoption_add_local(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    version = _version_or_404()
    form = LocalComponentForm(
        request.POST, modules=catalog_modules().filter(version=version).order_by("number")
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            adoption = services.adoption_create(
                school=school,
                local_module=data["module"],
                local_title=data["title"],
                local_description=data["description"],
                actor=actor_of(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The local component is added."))
            return redirect("implementation:adoption", school_id=school.pk, adoption_id=adoption.pk)
    return render_page(
        request,
        "implementation/adoptions.html",
        _adoptions_context(request, school, local_form=form),
        invalid=True,
    )


def _adoption(request: HttpRequest, school: School, adoption_id: int) -> ComponentAdoption:
    return get_object_or_404(adoptions_for(access_of(request)).filter(school=school),
                             pk=adoption_id)


def _offered(adoption: ComponentAdoption) -> list[str]:
    allowed = ADOPTION_TRANSITIONS[AdoptionStatus(adoption.status)]
    return [s for s in STATUS_ORDER if s in allowed]


def _detail_context(
    request: HttpRequest,
    school: School,
    adoption: ComponentAdoption,
    *,
    status_form: StatusChangeForm | None = None,
    responsible_form: ResponsibleForm | None = None,
) -> dict[str, Any]:
    access = access_of(request)
    return {
        "school": school,
        "section": "adoptions",
        "adoption": adoption,
        "can_manage": access.can_manage_school(school.pk),
        "history": sorted(
            adoption.status_changes.all(), key=lambda c: (c.changed_on, c.pk), reverse=True
        ),
        "adaptations": list(adaptations_for(access).filter(adoption=adoption)),
        "status_form": status_form
        or StatusChangeForm(offered=_offered(adoption), initial={"on": today_date()}),
        "responsible_form": responsible_form
        or ResponsibleForm(
            members=school_members(school), initial={"responsible": adoption.responsible_id}
        ),
    }


def adoption_detail(request: HttpRequest, school_id: int, adoption_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    adoption = _adoption(request, school, adoption_id)
    return render_page(
        request,
        "implementation/adoption_detail.html",
        _detail_context(request, school, adoption),
    )


@require_POST
def adoption_status(request: HttpRequest, school_id: int, adoption_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    adoption = _adoption(request, school, adoption_id)
    require(access_of(request).can_manage_school(school.pk), MANAGE_DENIED)
    form = StatusChangeForm(request.POST, offered=_offered(adoption))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.adoption_change_status(
                adoption=adoption,
                to_status=data["to_status"],
                on=data["on"],
                note=data["note"],
                actor=actor_of(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            adoption.refresh_from_db()
        else:
            messages.success(
                request,
                _("The status is now “%(status)s”.")
                % {"status": AdoptionStatus(data["to_status"]).label},
            )
            return redirect("implementation:adoption", school_id=school.pk, adoption_id=adoption.pk)
    return render_page(
        request,
        "implementation/adoption_detail.html",
        _detail_context(request, school, adoption, status_form=form),
        invalid=True,
    )


@require_POST
def adoption_responsible(request: HttpRequest, school_id: int, adoption_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    adoption = _adoption(request, school, adoption_id)
    require(access_of(request).can_manage_school(school.pk), MANAGE_DENIED)
    form = ResponsibleForm(request.POST, members=school_members(school))
    if form.is_valid():
        try:
            services.adoption_update(
                adoption=adoption,
                responsible=form.cleaned_data["responsible"],
                actor=actor_of(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The responsible person is saved."))
            return redirect("implementation:adoption", school_id=school.pk, adoption_id=adoption.pk)
    return render_page(
        request,
        "implementation/adoption_detail.html",
        _detail_context(request, school, adoption, responsible_form=form),
        invalid=True,
    )


@require_POST
def adoption_remove(request: HttpRequest, school_id: int, adoption_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    adoption = _adoption(request, school, adoption_id)
    require(access_of(request).can_manage_school(school.pk), MANAGE_DENIED)
    try:
        services.adoption_delete(adoption=adoption, actor=actor_of(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("implementation:adoption", school_id=school.pk, adoption_id=adoption.pk)
    messages.success(request, _("The component is removed from the school's list."))
    return redirect("implementation:adoptions", school_id=school.pk)
