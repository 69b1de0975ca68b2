"""The researcher pages on the public site (/forsker/). Thin: the filter form gives the
filters, selectors read the research store (never a municipality's schema), charts build
the figures. Researchers only (``researcher_required``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sovei_platform.privacy import min_group_size, min_staff_group, release_delay_days

from . import charts, selectors, services
from .exports import DATASETS, ExportTooLarge
from .forms import ExportForm, FilterForm
from .models import OUTCOME_INSTRUMENTS
from .pseudonyms import semester_label
from .selectors import Filters

View = Callable[..., HttpResponse]


def researcher_required(view: View) -> View:
    """Signed-in researchers on the public site; anonymous visitors go to the login page,
    everyone else gets 403 (a tenant role opens nothing here)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "tenant", None) is not None:
            raise PermissionDenied(_("The research area is on the public site only."))
        if not getattr(user, "is_researcher", False) or not user.is_active:
            raise PermissionDenied(_("The research area is for researchers only."))
        return view(request, *args, **kwargs)

    return wrapped


def _page(
    request: HttpRequest, template: str, section: str, build: Callable[..., dict[str, Any]]
) -> HttpResponse:
    with selectors.consistent_read():
        choices = selectors.store_choices()
        form = FilterForm(request.GET or None, choices=choices)
        filters = form.filters()
        summary = selectors.store_summary(filters)
        context = {
            "form": form,
            "filters": filters,
            "filter_query": filters.as_dict(),
            "section": section,
            # k as the store was built with it (the setting may have changed since).
            "k": summary.refresh.min_group_size if summary.refresh else min_group_size(),
            "k_staff": summary.refresh.min_staff_group if summary.refresh else min_staff_group(),
            "release_delay": release_delay_days(),
            "summary": summary,
            "semester_label": semester_label(filters.semester) if filters.semester else "",
            **build(filters),
        }
    return render(request, template, context)


def _shown_semester(filters: Filters, semesters: list[str]) -> str:
    """The chosen semester, or the latest one with data."""
    if filters.semester:
        return filters.semester
    return semesters[-1] if semesters else ""


@require_GET
@researcher_required
def overview(request: HttpRequest) -> HttpResponse:
    def build(filters: Filters) -> dict[str, Any]:
        semesters = selectors.fidelity_semesters(filters)
        rows = selectors.time_use_by_mode(filters)
        return {
            "time_use_figure": charts.time_use_figure(rows) if rows else None,
            "time_use_rows": rows,
            "semesters": [semester_label(s) for s in semesters],
            "datasets": DATASETS,
        }

    return _page(request, "research/overview.html", "overview", build)


@require_GET
@researcher_required
def fidelity(request: HttpRequest) -> HttpResponse:
    def build(filters: Filters) -> dict[str, Any]:
        semesters = selectors.fidelity_semesters(filters)
        shown = _shown_semester(filters, semesters)
        titles = selectors.module_titles(filters.model_version)
        over_time = list(
            selectors.fidelity_facts(replace(filters, semester="")).filter(
                module_number__isnull=True
            )
        )
        in_semester = (
            list(selectors.fidelity_facts(replace(filters, semester=shown))) if shown else []
        )
        by_school = selectors.school_fidelity(replace(filters, semester=""))
        return {
            "shown_semester": semester_label(shown) if shown else "",
            "distribution": charts.fidelity_distribution(in_semester, titles, shown)
            if in_semester
            else None,
            "over_time": charts.fidelity_over_time(over_time, by_school, semesters)
            if over_time
            else None,
            "schools_rated": len({f.school for f in in_semester}),
            "schools_measured": len({f.school for f in in_semester
                                     if f.module_number is None and f.measured}),
        }

    return _page(request, "research/fidelity.html", "fidelity", build)


@require_GET
@researcher_required
def outcomes(request: HttpRequest) -> HttpResponse:
    def build(filters: Filters) -> dict[str, Any]:
        semesters = selectors.outcome_semesters(filters)
        shown = _shown_semester(filters, semesters)
        group = selectors.outcome_group_cells(filters)
        schools = selectors.outcome_school_cells(filters)
        _level, parts_level = selectors.outcome_group_level(filters)
        return {
            "shown_semester": semester_label(shown) if shown else "",
            "scales_figure": charts.outcomes_over_time(group, semesters, ("aim", "iam", "fim"))
            if group
            else None,
            "sus_figure": charts.outcomes_over_time(group, semesters, ("sus",))
            if any(c.instrument == "sus" for c in group)
            else None,
            "school_figure": charts.outcome_school_spread(schools, shown) if shown else None,
            "group_rows": [c for c in group if c.semester == shown],
            "parts": charts.outcome_parts_table(
                selectors.outcome_part_cells(filters, shown) if shown else [], parts_level),
            "parts_level": parts_level,
            "instruments": {code: charts.instrument_label(code) for code in OUTCOME_INSTRUMENTS},
            "school_cells": len({c.school for c in schools if c.semester == shown}),
        }

    return _page(request, "research/outcomes.html", "outcomes", build)


@require_GET
@researcher_required
def stages(request: HttpRequest) -> HttpResponse:
    def build(filters: Filters) -> dict[str, Any]:
        facts = list(selectors.stage_facts(filters))
        titles = selectors.module_titles(filters.model_version)
        return {
            "progress": charts.stage_progress(facts, titles) if facts else None,
            "durations": charts.stage_durations(facts) if facts else None,
            "table": charts.stage_table(facts, titles),
            "schools": len({f.school for f in facts}),
        }

    return _page(request, "research/stages.html", "stages", build)


@require_GET
@researcher_required
def determinants(request: HttpRequest) -> HttpResponse:
    def build(filters: Filters) -> dict[str, Any]:
        # One semester (the chosen or the latest): each school counts once.
        shown = _shown_semester(filters, selectors.cfir_semesters(filters))
        profile = selectors.cfir_profile(replace(filters, semester=shown)) if shown else []
        constructs, domains = selectors.cfir_labels()
        return {
            "shown_semester": semester_label(shown) if shown else "",
            "domain_figure": charts.cfir_profile_figure(
                profile, constructs, domains, level="domain"
            )
            if profile
            else None,
            "construct_figure": charts.cfir_profile_figure(
                profile, constructs, domains, level="construct"
            )
            if profile
            else None,
            "domains": [r for r in profile if r.level == "domain"],
            "domain_names": domains,
        }

    return _page(request, "research/determinants.html", "determinants", build)


@require_GET
@researcher_required
def export_page(request: HttpRequest) -> HttpResponse:
    def build(filters: Filters) -> dict[str, Any]:
        return {"export_form": ExportForm(), "datasets": DATASETS}

    return _page(request, "research/export.html", "export", build)


@require_POST
@researcher_required
def export_download(request: HttpRequest) -> HttpResponse:
    export_form = ExportForm(request.POST)
    if not export_form.is_valid():
        return HttpResponse(_("Choose a dataset and a format."), status=400)
    with selectors.consistent_read():
        filters = FilterForm(request.POST, choices=selectors.store_choices()).filters()
    try:
        export = services.export_create(
            user=request.user,  # type: ignore[arg-type]
            dataset=export_form.cleaned_data["dataset"],
            file_format=export_form.cleaned_data["file_format"],
            filters=filters,
        )
    except ExportTooLarge as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response
