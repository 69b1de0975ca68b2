"""Dashboard pages: the school's own progress, the coordinator's comparison of schools and
the status of the recomputations. Thin: reads through ``dashboards.selectors``, figures from
``dashboards.figures``, rendering with plotly.js from our own static files."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.selectors import TenantAccess

from . import selectors
from .figures import MUNICIPALITY_CHARTS, SCHOOL_CHARTS, Chart

SCHOOL_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fidelity", ("fidelity", "component-status")),
    ("stages", ("stages",)),
    ("outcomes", ("outcomes", "determinants")),
    ("time", ("time-systematic", "time-plan", "time-monthly")),
)


def _access(request: HttpRequest) -> TenantAccess:
    access: TenantAccess | None = getattr(request, "access", None)
    if access is None:
        raise PermissionDenied(_("You have no access to this municipality."))
    return access


def _coordinator(request: HttpRequest) -> TenantAccess:
    access = _access(request)
    if not access.is_coordinator:
        raise PermissionDenied(selectors.coordinator_denied_message())
    return access


def _with_api(charts: dict[str, Chart], prefix: str, **kwargs: Any) -> dict[str, Any]:
    """Each chart with the address of its JSON twin under /api/v1/dashboards/."""
    return {
        key: {"chart": chart, "api_url": reverse(f"dashboards-api:{prefix}-{key}", kwargs=kwargs)}
        for key, chart in charts.items()
    }


def school_dashboard(request: HttpRequest, school_id: int) -> HttpResponse:
    access = _access(request)
    school = selectors.dashboard_school(access, school_id)
    params = {"round": request.GET.get("round")}
    reads = selectors.SchoolReads(access, school)
    freshness = selectors.school_freshness(access, school.pk)
    charts = {key: selectors.school_chart(access, school, key, params, reads, freshness)
              for key in SCHOOL_CHARTS}
    items = _with_api(charts, "school", school_id=school.pk)
    determinants = charts["determinants"]
    return render(request, "dashboards/school.html", {
        "school": school,
        "section": "dashboard",
        "sections": [(name, [items[k] for k in keys]) for name, keys in SCHOOL_SECTIONS],
        "cfir_rounds": determinants.related.get("rounds", []),
        "cfir_round": next((r.id for r in determinants.related.get("chosen_round", [])), None),
        "freshness": freshness,
        "status_url": reverse("dashboards-api:school-status", args=[school.pk]),
    })


def municipality_dashboard(request: HttpRequest) -> HttpResponse:
    access = _coordinator(request)
    params = {"round": request.GET.get("round"), "module": request.GET.get("module")}
    reads = selectors.MunicipalityReads(access)
    freshness = selectors.municipality_freshness(access)
    charts = {key: selectors.municipality_chart(access, key, params, reads, freshness)
              for key in MUNICIPALITY_CHARTS}
    heatmap = charts["fidelity-heatmap"]
    chosen = next(iter(heatmap.related.get("chosen_round", [])), None)
    overall = {row.school_id: row for row in heatmap.rows if row.module_id is None}
    statuses = selectors.school_statuses(access)
    return render(request, "dashboards/municipality.html", {
        "charts": {key.replace("-", "_"): item
                   for key, item in _with_api(charts, "municipality").items()},
        "rounds": heatmap.related.get("rounds", []),
        "chosen_round": chosen,
        "modules": charts["fidelity-spread"].related.get("modules", []),
        "chosen_module": params["module"] or "",
        "schools": [{"status": s, "fidelity": overall.get(s.school.id)} for s in statuses],
        "freshness": freshness,
        "status_url": reverse("dashboards-api:municipality-status"),
    })


def status(request: HttpRequest) -> HttpResponse:
    access = _coordinator(request)
    return render(request, "dashboards/status.html", {
        "runs": selectors.recompute_runs(access),
        "schools": selectors.school_statuses(access),
        "freshness": selectors.municipality_freshness(access),
        "status_url": reverse("dashboards-api:municipality-status"),
    })
