"""Adaptations recorded FRAME-style: per school and per component; add, edit, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from .. import services
from ..forms import AdaptationForm, add_service_errors
from ..models import Adaptation, AdaptationGoal, School
from ..selectors import adaptations_for, adoptions_for
from ._common import access_of, actor_of, managed_school, render_page, today_date, visible_school


def _adaptation(request: HttpRequest, school: School, adaptation_id: int) -> Adaptation:
    return get_object_or_404(
        adaptations_for(access_of(request)).filter(adoption__school=school), pk=adaptation_id
    )


def _with_goal_labels(adaptation: Adaptation) -> Adaptation:
    labels = dict(AdaptationGoal.choices)
    adaptation.goal_labels = ", ".join(  # type: ignore[attr-defined]
        str(labels.get(goal, goal)) for goal in adaptation.goals
    )
    return adaptation


def adaptations(request: HttpRequest, school_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    access = access_of(request)
    school_adoptions = list(adoptions_for(access).filter(school=school))
    chosen = None
    rows = adaptations_for(access).filter(adoption__school=school).select_related(
        "adoption__component__module", "adoption__local_component__module", "recorded_by"
    ).order_by("-made_on", "-id")
    wanted = request.GET.get("komponent", "")
    if wanted.isdigit():
        chosen = next((a for a in school_adoptions if a.pk == int(wanted)), None)
        if chosen is not None:
            rows = rows.filter(adoption=chosen)
    return render_page(
        request,
        "implementation/adaptations.html",
        {
            "school": school,
            "section": "adaptations",
            "can_manage": access.can_manage_school(school.pk),
            "adaptations": [_with_goal_labels(a) for a in rows],
            "adoptions": school_adoptions,
            "chosen": chosen,
        },
    )


def adaptation_create(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    choices = adoptions_for(access_of(request)).filter(school=school)
    if request.method == "POST":
        form = AdaptationForm(request.POST, adoptions=choices)
        if form.is_valid():
            try:
                services.adaptation_create(
                    adoption=form.cleaned_data["adoption"],
                    actor=actor_of(request),
                    **form.service_fields(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The adaptation is recorded."))
                return redirect("implementation:adaptations", school_id=school.pk)
    else:
        initial: dict[str, Any] = {"made_on": today_date()}
        wanted = request.GET.get("komponent", "")
        if wanted.isdigit():
            initial["adoption"] = int(wanted)
        form = AdaptationForm(initial=initial, adoptions=choices)
    return render_page(
        request,
        "implementation/adaptation_form.html",
        {"school": school, "section": "adaptations", "form": form, "adaptation": None},
        invalid=form.is_bound,
    )


def adaptation_edit(request: HttpRequest, school_id: int, adaptation_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    adaptation = _adaptation(request, school, adaptation_id)
    if request.method == "POST":
        form = AdaptationForm(request.POST)
        if form.is_valid():
            try:
                services.adaptation_update(
                    adaptation=adaptation, actor=actor_of(request), **form.service_fields()
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
                adaptation.refresh_from_db()
            else:
                messages.success(request, _("The adaptation is saved."))
                return redirect("implementation:adaptations", school_id=school.pk)
    else:
        form = AdaptationForm(initial=AdaptationForm.initial_from(adaptation))
    return render_page(
        request,
        "implementation/adaptation_form.html",
        {"school": school, "section": "adaptations", "form": form, "adaptation": adaptation},
        invalid=form.is_bound,
    )


def adaptation_delete(request: HttpRequest, school_id: int, adaptation_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    adaptation = _adaptation(request, school, adaptation_id)
    if request.method == "POST":
        services.adaptation_delete(adaptation=adaptation, actor=actor_of(request))
        messages.success(request, _("The adaptation is deleted."))
        return redirect("implementation:adaptations", school_id=school.pk)
    return render_page(
        request,
        "implementation/adaptation_confirm_delete.html",
        {"school": school, "section": "adaptations", "adaptation": adaptation},
    )
