"""The school page (profile, social-work positions, adopted components, quick links) and
its profile and position forms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import services
from ..forms import PositionForm, SchoolProfileForm, add_service_errors
from ..models import School
from ..selectors import (
    adoptions_for,
    rounds_for,
    staff_positions_for,
    startup_for,
    startup_is_offered,
)
from ._common import (
    access_of,
    actor_of,
    group_by_module,
    managed_school,
    render_page,
    today_date,
    visible_school,
)


def _school_context(
    request: HttpRequest, school: School, *, position_form: PositionForm | None = None
) -> dict[str, Any]:
    access = access_of(request)
    day = today_date()
    rounds = [
        r for r in rounds_for(access).filter(schools=school)
        if r.is_open(day)
    ]
    positions = list(staff_positions_for(access).filter(school=school).order_by("profession", "id"))
    return {
        "school": school,
        "section": "school",
        "can_manage": access.can_manage_school(school.pk),
        "works_here": access.works_at_school(school.pk),
        "can_rate": access.can_rate_school(school.pk),
        "positions": positions,
        "position_total": sum((p.position_percent for p in positions), start=0),
        "modules": group_by_module(adoptions_for(access).filter(school=school)),
        "open_rounds": rounds,
        "position_form": position_form or PositionForm(),
        "startup": startup_for(access, school),
        "startup_offered": startup_is_offered(access, school),
    }


def school_detail(request: HttpRequest, school_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    return render_page(request, "implementation/school_detail.html",
                       _school_context(request, school))


def school_profile(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    access = access_of(request)
    initial = {
        "name": school.name,
        "organisation_number": school.organisation_number,
        "grade_from": school.grade_from,
        "grade_to": school.grade_to,
        "pupil_count": school.pupil_count,
    }
    refused = access.school_fields_refused(school.pk, initial)
    if request.method == "POST":
        form = _profile_form(SchoolProfileForm(request.POST, initial=initial), refused)
        if form.is_valid():
            changes = {k: v for k, v in form.cleaned_data.items() if k not in refused}
            try:
                services.school_update(school=school, actor=actor_of(request), **changes)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The school profile is saved."))
                return redirect("implementation:school", school_id=school.pk)
        school.refresh_from_db()
    else:
        form = _profile_form(SchoolProfileForm(initial=initial), refused)
    return render_page(
        request,
        "implementation/school_profile_form.html",
        {"school": school, "section": "school", "form": form},
        invalid=form.is_bound,
    )


def _profile_form(form: SchoolProfileForm, refused: list[str]) -> SchoolProfileForm:
    """Fields the user may not change are shown, disabled (what they post is ignored)."""
    for name in refused:
        form.fields[name].disabled = True
        form.fields[name].help_text = _("Changed by the municipal coordinator.")
    return form


def position_add(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    if request.method != "POST":
        return render_page(
            request,
            "implementation/position_form.html",
            {"school": school, "section": "school", "form": PositionForm()},
        )
    form = PositionForm(request.POST)
    if form.is_valid():
        try:
            services.staff_position_add(school=school, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The position is added."))
            return redirect("implementation:school", school_id=school.pk)
    return render_page(
        request,
        "implementation/position_form.html",
        {"school": school, "section": "school", "form": form},
        invalid=True,
    )


@require_POST
def position_remove(request: HttpRequest, school_id: int, position_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    position = get_object_or_404(
        staff_positions_for(access_of(request)).filter(school=school), pk=position_id
    )
    services.staff_position_remove(position=position, actor=actor_of(request))
    messages.success(request, _("The position is removed."))
    return redirect("implementation:school", school_id=school.pk)
