"""The implementation plan: its dates and intended priorities, the strategy steps (Proctor)
grouped by module and NIRN stage, and the stage periods per module (SIC)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.models import ModelVersion, Module

from .. import scoring, services
from ..forms import PlanForm, StagePeriodForm, StepForm, add_service_errors
from ..models import ImplementationPlan, School, Stage, StepStatus, StrategyStep
from ..selectors import catalog_modules, plans_for, stage_periods_for, steps_for
from ._common import (
    access_of,
    actor_of,
    current_version,
    managed_school,
    render_page,
    today_date,
    visible_school,
)


def _plan_of(request: HttpRequest, school: School, version: ModelVersion | None) -> Any:
    if version is None:
        return None
    return plans_for(access_of(request)).filter(school=school, model_version=version).first()


def _modules(version: ModelVersion | None) -> Any:
    return catalog_modules().filter(version=version).order_by("number")


def _stage_table(
    request: HttpRequest, school: School, modules: list[Module], steps: list[StrategyStep]
) -> list[dict[str, Any]]:
    """One row per module: per NIRN stage its dates, days and share of its steps done."""
    periods = {
        (p.module_id, p.stage): p
        for p in stage_periods_for(access_of(request)).filter(school=school)
    }
    day = today_date()
    rows = []
    for module in modules:
        inputs = []
        for stage in Stage.values:
            period = periods.get((module.pk, stage))
            done = [s.status == StepStatus.DONE for s in steps
                    if s.module_id == module.pk and s.stage == stage
                    and s.status != StepStatus.CANCELLED]
            entered = period.entered_on if period else None
            exited = period.exited_on if period else None
            # A date later than today cannot be scored; the service refuses such dates anyway.
            if (entered and entered > day) or (exited and exited > day):
                entered = exited = None
            inputs.append(scoring.SicStageInput(stage=stage, entered=entered, exited=exited,
                                                steps=done))
        result = scoring.score_sic(inputs, as_of=day)
        rows.append({
            "module": module,
            "cells": [
                {"score": s, "period": periods.get((module.pk, s.stage.value))}
                for s in result.stages
            ],
            "furthest": Stage(result.furthest_stage.value).label if result.furthest_stage else "",
        })
    return rows


def _plan_context(
    request: HttpRequest, school: School, *, stage_form: StagePeriodForm | None = None
) -> dict[str, Any]:
    access = access_of(request)
    version = current_version()
    plan = _plan_of(request, school, version)
    modules = list(_modules(version))
    steps: list[StrategyStep] = []
    if plan is not None:
        steps = list(steps_for(access).filter(plan=plan).order_by("due_on", "id"))
    groups: list[dict[str, Any]] = []
    for module in modules:
        stages: list[dict[str, Any]] = []
        for value, label in Stage.choices:
            stage_steps = [s for s in steps if s.module_id == module.pk and s.stage == value]
            if stage_steps:
                stages.append({"label": label, "steps": stage_steps})
        groups.append({
            "module": module,
            "stages": stages,
            "count": sum(len(s["steps"]) for s in stages),
        })
    priorities = {p.module_id: p.intended_percent for p in plan.priorities.all()} if plan else {}
    return {
        "school": school,
        "section": "plan",
        "version": version,
        "plan": plan,
        "can_manage": access.can_manage_school(school.pk),
        "step_groups": groups,
        "step_count": len(steps),
        "priorities": [(m, priorities.get(m.pk)) for m in modules],
        "stage_rows": _stage_table(request, school, modules, steps),
        "stages": Stage.choices,
        "stage_form": stage_form
        or StagePeriodForm(modules=_modules(version), initial={"entered_on": today_date()}),
        "today": today_date(),
    }


def plan(request: HttpRequest, school_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    return render_page(request, "implementation/plan.html", _plan_context(request, school))


def plan_create(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    version = current_version()
    if version is None:
        raise Http404
    if _plan_of(request, school, version) is not None:
        return redirect("implementation:plan_edit", school_id=school.pk)
    modules = list(_modules(version))
    if request.method == "POST":
        form = PlanForm(request.POST, modules=modules)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.plan_create(
                    school=school,
                    model_version=version,
                    title=data["title"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    intended_systematic_percent=data["intended_systematic_percent"],
                    priorities=form.priorities(),
                    actor=actor_of(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The plan is created. Add its first steps."))
                return redirect("implementation:plan", school_id=school.pk)
    else:
        form = PlanForm(
            modules=modules,
            initial={"starts_on": today_date(),
                     "title": _("Implementation plan for %(school)s") % {"school": school.name}},
        )
    return render_page(
        request,
        "implementation/plan_form.html",
        {"school": school, "section": "plan", "form": form, "plan": None, "version": version},
        invalid=form.is_bound,
    )


def plan_edit(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    version = current_version()
    plan_obj: ImplementationPlan | None = _plan_of(request, school, version)
    if plan_obj is None:
        return redirect("implementation:plan_create", school_id=school.pk)
    modules = list(_modules(version))
    if request.method == "POST":
        form = PlanForm(request.POST, modules=modules)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.plan_update(
                    plan=plan_obj,
                    title=data["title"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    intended_systematic_percent=data["intended_systematic_percent"],
                    priorities=form.priorities(),
                    actor=actor_of(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
                plan_obj.refresh_from_db()
            else:
                messages.success(request, _("The plan is saved."))
                return redirect("implementation:plan", school_id=school.pk)
    else:
        form = PlanForm(initial=PlanForm.initial_from(plan_obj), modules=modules)
    return render_page(
        request,
        "implementation/plan_form.html",
        {"school": school, "section": "plan", "form": form, "plan": plan_obj,
         "version": version},
        invalid=form.is_bound,
    )


def _plan_or_redirect(request: HttpRequest, school: School) -> ImplementationPlan | None:
    plan_obj = _plan_of(request, school, current_version())
    if plan_obj is None:
        messages.info(request, _("Create the plan first; then add its steps."))
    return plan_obj


def _step(request: HttpRequest, plan_obj: ImplementationPlan, step_id: int) -> StrategyStep:
    return get_object_or_404(steps_for(access_of(request)).filter(plan=plan_obj), pk=step_id)


def step_create(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    plan_obj = _plan_or_redirect(request, school)
    if plan_obj is None:
        return redirect("implementation:plan", school_id=school.pk)
    modules = _modules(plan_obj.model_version)
    if request.method == "POST":
        form = StepForm(request.POST, modules=modules)
        if form.is_valid():
            try:
                services.step_create(plan=plan_obj, actor=actor_of(request), **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The step is added to the plan."))
                return redirect("implementation:plan", school_id=school.pk)
    else:
        initial: dict[str, Any] = {"status": StepStatus.NOT_STARTED}
        module = request.GET.get("modul", "")
        if module.isdigit():
            initial["module"] = int(module)
        form = StepForm(initial=initial, modules=modules)
    return render_page(
        request,
        "implementation/step_form.html",
        {"school": school, "section": "plan", "form": form, "plan": plan_obj, "step": None},
        invalid=form.is_bound,
    )


def step_edit(request: HttpRequest, school_id: int, step_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    plan_obj = _plan_or_redirect(request, school)
    if plan_obj is None:
        return redirect("implementation:plan", school_id=school.pk)
    step = _step(request, plan_obj, step_id)
    modules = _modules(plan_obj.model_version)
    if request.method == "POST":
        form = StepForm(request.POST, modules=modules)
        if form.is_valid():
            try:
                services.step_update(step=step, actor=actor_of(request), **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                step.refresh_from_db()
            else:
                messages.success(request, _("The step is saved."))
                return redirect("implementation:plan", school_id=school.pk)
    else:
        form = StepForm(initial=StepForm.initial_from(step), modules=modules)
    return render_page(
        request,
        "implementation/step_form.html",
        {"school": school, "section": "plan", "form": form, "plan": plan_obj, "step": step},
        invalid=form.is_bound,
    )


@require_POST
def step_done(request: HttpRequest, school_id: int, step_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    plan_obj = _plan_or_redirect(request, school)
    if plan_obj is None:
        return redirect("implementation:plan", school_id=school.pk)
    step = _step(request, plan_obj, step_id)
    try:
        services.step_update(step=step, status=StepStatus.DONE, done_on=today_date(),
                             actor=actor_of(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("“%(step)s” is marked as done.") % {"step": step.action})
    return redirect("implementation:plan", school_id=school.pk)


@require_POST
def step_delete(request: HttpRequest, school_id: int, step_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    plan_obj = _plan_or_redirect(request, school)
    if plan_obj is None:
        return redirect("implementation:plan", school_id=school.pk)
    step = _step(request, plan_obj, step_id)
    services.step_delete(step=step, actor=actor_of(request))
    messages.success(request, _("The step is deleted."))
    return redirect("implementation:plan", school_id=school.pk)


def stage_period(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    if request.method != "POST":
        return redirect("implementation:plan", school_id=school.pk)
    form = StagePeriodForm(request.POST, modules=_modules(current_version()))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.stage_period_set(school=school, actor=actor_of(request), **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The stage dates for “%(module)s” are saved.") % {"module": data["module"].title},
            )
            return redirect("implementation:plan", school_id=school.pk)
    return render_page(
        request,
        "implementation/plan.html",
        _plan_context(request, school, stage_form=form),
        invalid=True,
    )
