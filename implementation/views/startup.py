"""The start-up module (Oppstartsmodul): a guided way for a new school through the
existing recording pages, and the coordinator's table of the schools' steps.

Each step page says what to do and why, links the existing page that records it, shows
what the school's records hold, and lets a leader or the coordinator mark the step as done
(only when the records show it), skip it with a reason, or pause the start-up."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from .. import services
from ..forms import StartupSkipForm
from ..models import STARTUP_STEP_ORDER, School, SchoolStartup, StartupStep
from ..selectors import (
    startup_evidence_for,
    startup_for,
    startup_open_rounds_for,
    startups_for,
)
from ..startup import SLUGS, STEP_OF_SLUG, TODO, WHY
from ._common import (
    access_of,
    actor_of,
    managed_school,
    render_page,
    require,
    visible_school,
)

COORDINATOR_DENIED = gettext_lazy("Only the municipal coordinator can do this.")

STATE_LABELS: dict[str, Any] = {
    "done": pgettext_lazy("start-up", "Done"),
    "skipped": pgettext_lazy("start-up", "Skipped"),
    "lapsed": pgettext_lazy("start-up", "Needs checking again"),
    "ready": pgettext_lazy("start-up", "Ready to be marked as done"),
    "todo": pgettext_lazy("start-up", "Not done yet"),
}


def _step_key(step_slug: str) -> str:
    step = STEP_OF_SLUG.get(step_slug)
    if step is None:
        raise Http404
    return step


def _steps(
    request: HttpRequest, school: School, startup: SchoolStartup | None
) -> list[dict[str, Any]]:
    """The six steps with their state: recorded (done, skipped) set against what the
    school's records show now."""
    evidence = startup_evidence_for(access_of(request), school)
    records = {r.step: r for r in startup.steps.all()} if startup is not None else {}
    rows = []
    for number, step in enumerate(STARTUP_STEP_ORDER, start=1):
        requirements = evidence[step]
        met = all(r.met for r in requirements)
        record = records.get(step)
        if record is not None and record.skipped:
            state = "skipped"
        elif record is not None:
            state = "done" if met else "lapsed"
        else:
            state = "ready" if met else "todo"
        rows.append({
            "key": step,
            "slug": SLUGS[step],
            "number": number,
            "title": StartupStep(step).label,
            "state": state,
            "state_label": STATE_LABELS[state],
            "record": record,
            "requirements": requirements,
            "is_current": startup is not None and startup.current_step == step,
        })
    return rows


def _links(request: HttpRequest, school: School, step: str) -> list[tuple[str, str]]:
    """The existing pages that record the step: (address, label)."""
    access = access_of(request)
    manage = access.can_manage_school(school.pk)
    sid = school.pk

    def url(name: str, *args: Any) -> str:
        return reverse(f"implementation:{name}", args=args)

    links: list[tuple[str, str]] = []
    if step == StartupStep.PROFILE:
        if manage:
            links.append((url("school_profile", sid), _("Edit the school profile")))
        links.append((url("school", sid) + "#positions",
                      _("Register social-work positions on the school page")))
    elif step == StartupStep.BASELINE:
        links.append((url("activities", sid), _("Open the activity log")))
    elif step == StartupStep.READINESS:
        for r in startup_open_rounds_for(access, school):
            if any(i.code == "cfir" for i in r.instruments.all()):
                links.append((url("cfir", sid, r.pk),
                              _("Rate the determinants in “%(round)s”") % {"round": r.name}))
        links.append((url("school_rounds", sid), _("See the school's assessment rounds")))
        if manage:
            links.append((url("round_create"), _("Open an assessment round")))
    elif step == StartupStep.COMPONENTS:
        links.append((reverse("catalog:resource_bank"), _("Browse the resource bank")))
        links.append((url("adoptions", sid), _("Adopt components")))
    elif step == StartupStep.PLAN:
        links.append((url("plan", sid), _("Open the plan and its steps")))
    elif step == StartupStep.ROUND:
        if manage:
            links.append((url("round_create"), _("Open the first assessment round")))
            for r in startup_open_rounds_for(access, school):
                links.append((url("survey_links", sid, r.pk),
                              _("Make survey links for “%(round)s”") % {"round": r.name}))
        links.append((url("school_rounds", sid), _("See the school's assessment rounds")))
    return links


def _context(request: HttpRequest, school: School) -> dict[str, Any]:
    access = access_of(request)
    startup = startup_for(access, school)
    steps = _steps(request, school, startup)
    return {
        "school": school,
        "section": "school",
        "startup": startup,
        "steps": steps,
        "current": next((s for s in steps if s["is_current"]), None),
        "can_manage": access.can_manage_school(school.pk),
        "errors": {},
    }


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"startup": exc.messages}


def startup(request: HttpRequest, school_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    return render_page(request, "implementation/startup.html", _context(request, school))


def _overview_refused(request: HttpRequest, school: School, exc: ValidationError) -> HttpResponse:
    context = _context(request, school)
    context["errors"] = _errors(exc)
    return render_page(request, "implementation/startup.html", context, invalid=True)


def _after_change(school: School, startup: SchoolStartup) -> HttpResponse:
    """On to the step the school is at, or to the overview when every step is done."""
    if startup.current_step:
        return redirect("implementation:startup_step", school_id=school.pk,
                        step_slug=SLUGS[startup.current_step])
    return redirect("implementation:startup", school_id=school.pk)


@require_POST
def startup_start(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    try:
        started = services.startup_start(school=school, actor=actor_of(request))
    except ValidationError as exc:
        return _overview_refused(request, school, exc)
    messages.success(request, _("The start-up has begun. Here is the first step."))
    return _after_change(school, started)


@require_POST
def startup_pause(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    try:
        services.startup_pause(school=school, actor=actor_of(request))
    except ValidationError as exc:
        return _overview_refused(request, school, exc)
    messages.success(request, _("The start-up is paused. Continue later where you left off."))
    return redirect("implementation:startup", school_id=school.pk)


@require_POST
def startup_resume(request: HttpRequest, school_id: int) -> HttpResponse:
    school = managed_school(request, school_id)
    try:
        resumed = services.startup_resume(school=school, actor=actor_of(request))
    except ValidationError as exc:
        return _overview_refused(request, school, exc)
    messages.success(request, _("Welcome back. The start-up continues where you left off."))
    return _after_change(school, resumed)


def _step_page(
    request: HttpRequest,
    school: School,
    step: str,
    *,
    form: StartupSkipForm | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    context = _context(request, school)
    row = next(s for s in context["steps"] if s["key"] == step)
    index = STARTUP_STEP_ORDER.index(step)
    steps = context["steps"]
    context.update({
        "step": row,
        "why": WHY[step],
        "todo": TODO[step],
        "links": _links(request, school, step),
        "previous": steps[index - 1] if index > 0 else None,
        "next": steps[index + 1] if index + 1 < len(steps) else None,
        "form": form or StartupSkipForm(),
        "errors": errors or {},
    })
    invalid = bool(errors) or (form is not None and bool(form.errors))
    return render_page(request, "implementation/startup_step.html", context, invalid=invalid)


def startup_step(request: HttpRequest, school_id: int, step_slug: str) -> HttpResponse:
    school = visible_school(request, school_id)
    return _step_page(request, school, _step_key(step_slug))


@require_POST
def startup_step_done(request: HttpRequest, school_id: int, step_slug: str) -> HttpResponse:
    school = managed_school(request, school_id)
    step = _step_key(step_slug)
    try:
        record = services.startup_step_complete(school=school, step=step,
                                                actor=actor_of(request))
    except ValidationError as exc:
        return _step_page(request, school, step, errors=_errors(exc))
    messages.success(request, _("“%(step)s” is marked as done.") % {
        "step": StartupStep(step).label})
    return _after_change(school, record.startup)


@require_POST
def startup_step_skip(request: HttpRequest, school_id: int, step_slug: str) -> HttpResponse:
    school = managed_school(request, school_id)
    step = _step_key(step_slug)
    form = StartupSkipForm(request.POST)
    if not form.is_valid():
        return _step_page(request, school, step, form=form)
    try:
        record = services.startup_step_skip(school=school, step=step,
                                            reason=form.cleaned_data["reason"],
                                            actor=actor_of(request))
    except ValidationError as exc:
        errors = _errors(exc)
        for message in errors.pop("reason", []):
            form.add_error("reason", message)
        return _step_page(request, school, step, form=form, errors=errors or None)
    messages.success(request, _("“%(step)s” is skipped.") % {"step": StartupStep(step).label})
    return _after_change(school, record.startup)


def startup_municipality(request: HttpRequest) -> HttpResponse:
    """The coordinator's table: each school of the municipality and its start-up step."""
    access = access_of(request)
    require(access.is_coordinator, COORDINATOR_DENIED)
    rows = []
    for school, found in startups_for(access):
        current = None
        if found is not None and found.current_step:
            current = {
                "slug": SLUGS[found.current_step],
                "number": STARTUP_STEP_ORDER.index(found.current_step) + 1,
                "title": StartupStep(found.current_step).label,
            }
        rows.append({"school": school, "startup": found, "current": current})
    return render_page(request, "implementation/startup_municipality.html", {
        "rows": rows, "total": len(STARTUP_STEP_ORDER)})
