"""The activity log (time use): a quick form, the user's own recent entries, and for the
school's leaders and the coordinator the school's entries with weekly totals by mode."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import services
from ..forms import ActivityForm, add_service_errors
from ..models import SYSTEMATIC_MODES, Activity, ActivityMode, School
from ..selectors import activities_for, adoptions_for, catalog_modules, plans_for
from ._common import (
    WORK_DENIED,
    access_of,
    actor_of,
    adoption_sort_key,
    current_version,
    rated_adoptions,
    render_page,
    require,
    today_date,
    visible_school,
)

WEEKS_SHOWN = 8


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def hours(minutes: int) -> str:
    """Exact time as h:mm (2:15), so the columns add up to the total."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def weekly_totals(entries: list[Activity]) -> list[dict[str, Any]]:
    """Per week (Monday first, newest first): minutes per mode (in ActivityMode order), the
    total and the share of planned and system-level work."""
    weeks: dict[date, dict[str, int]] = {}
    for entry in entries:
        week = weeks.setdefault(_week_start(entry.performed_on), {})
        week[entry.mode] = week.get(entry.mode, 0) + entry.minutes
    rows = []
    for start in sorted(weeks, reverse=True):
        minutes = weeks[start]
        total = sum(minutes.values())
        systematic = sum(v for k, v in minutes.items() if k in SYSTEMATIC_MODES)
        rows.append({
            "start": start,
            "number": start.isocalendar().week,
            "minutes": [minutes.get(mode, 0) for mode in ActivityMode.values],
            "modes": [hours(minutes.get(mode, 0)) for mode in ActivityMode.values],
            "total_minutes": total,
            "total": hours(total),
            "systematic_percent": round(100 * systematic / total) if total else None,
        })
    return rows


def _form(request: HttpRequest, school: School, data: Any = None) -> ActivityForm:
    access = access_of(request)
    adoptions = sorted(
        rated_adoptions(adoptions_for(access).filter(school=school)), key=adoption_sort_key
    )
    modules = catalog_modules().filter(version=current_version()).order_by("number")
    if data is None:
        return ActivityForm(
            initial={"performed_on": today_date()}, modules=modules, adoptions=adoptions
        )
    return ActivityForm(data, modules=modules, adoptions=adoptions)


def _context(request: HttpRequest, school: School, form: ActivityForm) -> dict[str, Any]:
    access = access_of(request)
    mine = list(
        activities_for(access).filter(school=school, staff=access.user)
        .order_by("-performed_on", "-id")[:15]
    )
    can_manage = access.can_manage_school(school.pk)
    context: dict[str, Any] = {
        "school": school,
        "section": "activities",
        "form": form,
        "works_here": access.works_at_school(school.pk),
        "can_manage": can_manage,
        "mine": mine,
        "modes": ActivityMode.choices,
        "weeks_shown": WEEKS_SHOWN,
    }
    if can_manage:
        since = _week_start(today_date()) - timedelta(weeks=WEEKS_SHOWN - 1)
        entries = list(
            activities_for(access).filter(school=school, performed_on__gte=since)
            .order_by("-performed_on", "-id")
        )
        version = current_version()
        plan = (
            plans_for(access).filter(school=school, model_version=version).first()
            if version else None
        )
        total = sum(e.minutes for e in entries)
        systematic = sum(e.minutes for e in entries if e.mode in SYSTEMATIC_MODES)
        context.update({
            "school_entries": entries[:50],
            "school_entry_count": len(entries),
            "weeks": weekly_totals(entries),
            "systematic_percent": round(100 * systematic / total) if total else None,
            "intended_percent": plan.intended_systematic_percent if plan else None,
        })
    return context


def activities(request: HttpRequest, school_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    access = access_of(request)
    if request.method == "POST":
        require(access.works_at_school(school.pk), WORK_DENIED)
        form = _form(request, school, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.activity_log(
                    school=school,
                    staff=actor_of(request),
                    performed_on=data["performed_on"],
                    minutes=data["minutes"],
                    module=data["module"],
                    mode=data["mode"],
                    adoption=form.chosen_adoption(),
                    note=data["note"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(minutes)s minutes are logged for %(date)s.")
                    % {
                        "minutes": data["minutes"],
                        "date": date_format(data["performed_on"], "SHORT_DATE_FORMAT"),
                    },
                )
                return redirect("implementation:activities", school_id=school.pk)
        return render_page(
            request, "implementation/activities.html", _context(request, school, form),
            invalid=True,
        )
    return render_page(
        request, "implementation/activities.html", _context(request, school, _form(request, school))
    )


@require_POST
def activity_remove(request: HttpRequest, school_id: int, activity_id: int) -> HttpResponse:
    school = visible_school(request, school_id)
    access = access_of(request)
    activity = get_object_or_404(activities_for(access).filter(school=school), pk=activity_id)
    require(
        activity.staff_id == access.user.pk or access.can_manage_school(school.pk),
        _("You can only delete entries you logged yourself."),
    )
    services.activity_delete(activity=activity, actor=actor_of(request))
    messages.success(request, _("The entry is deleted."))
    return redirect("implementation:activities", school_id=school.pk)
