"""Assessment rounds: the list, opening one (for several schools at once), closing it
early, each school's tasks in a round, and one-time links for the staff survey."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import TenantAccess
from catalog.models import InstrumentRespondent

from .. import services
from ..forms import LinksForm, RoundForm, add_service_errors
from ..models import AssessmentRound, RespondentKind, School
from ..selectors import (
    can_manage_round,
    catalog_instruments,
    managed_schools_for,
    response_counts_by_round,
    response_counts_for,
    rounds_for,
    survey_link_counts_by_round,
    survey_links_for,
)
from ..services import rounds as services_rounds
from ._common import (
    MANAGE_DENIED,
    OPEN_ROUND_DENIED,
    ROUND_DENIED,
    access_of,
    actor_of,
    current_version,
    render_page,
    require,
    today_date,
    visible_school,
)

TEAM_CODES = ("fidelity", "cfir")


def round_state(assessment_round: AssessmentRound) -> str:
    """"open", "upcoming" or "closed" today."""
    day = today_date()
    if assessment_round.is_open(day):
        return "open"
    if assessment_round.closed_at is None and day < assessment_round.opens_on:
        return "upcoming"
    return "closed"


def _round(request: HttpRequest, round_id: int) -> AssessmentRound:
    return get_object_or_404(rounds_for(access_of(request)), pk=round_id)


def school_tasks(
    access: TenantAccess, assessment_round: AssessmentRound, school: School,
    counts: list[dict[str, Any]] | None = None,
    link_counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """What the user can do for one school in one round, and how far the school has come.
    ``counts`` and ``link_counts``, when given, are the round's response counts and the
    school's links in it (read for several rounds at once); otherwise they are read here."""
    instruments = list(assessment_round.instruments.all())
    codes = {i.code for i in instruments}
    individual = [i for i in instruments if i.respondent == InstrumentRespondent.INDIVIDUAL]
    is_open = assessment_round.is_open(today_date())
    rows = [c for c in (counts if counts is not None
                        else response_counts_for(access, assessment_round))
            if c["school_id"] == school.pk]
    team_done = {c["instrument__code"] for c in rows if c["respondent_kind"] == RespondentKind.TEAM}
    answered: dict[str, int] = {}
    for c in rows:
        if c["respondent_kind"] != RespondentKind.TEAM:
            answered[c["instrument__code"]] = answered.get(c["instrument__code"], 0) + c["n"]
    links = None
    if access.can_manage_school(school.pk) and individual:
        if link_counts is not None:
            links = {"issued": link_counts.get("issued", 0), "used": link_counts.get("used", 0)}
        else:
            issued = list(survey_links_for(access).filter(round=assessment_round, school=school))
            links = {"issued": len(issued), "used": sum(1 for li in issued if li.used_at)}
    return {
        "school": school,
        "is_open": is_open,
        "is_closed": round_state(assessment_round) == "closed",
        "fidelity": "fidelity" in codes and access.can_rate_school(school.pk),
        "fidelity_done": "fidelity" in team_done,
        "cfir": "cfir" in codes and access.can_rate_school(school.pk),
        "cfir_done": "cfir" in team_done,
        "survey": bool(individual) and access.works_at_school(school.pk),
        "can_links": bool(individual) and access.can_manage_school(school.pk),
        "individual": [(i, answered.get(i.code, 0)) for i in individual],
        "links": links,
    }


def rounds(request: HttpRequest) -> HttpResponse:
    access = access_of(request)
    items = [
        {"round": r, "state": round_state(r), "schools": list(r.schools.all())}
        for r in rounds_for(access)
    ]
    return render_page(
        request,
        "implementation/rounds.html",
        {
            "rounds": items,
            "can_open_round": access.is_coordinator or bool(access.leader_school_ids),
        },
    )


def _instrument_choices() -> Any:
    instruments = list(catalog_instruments())
    if not instruments:
        return catalog_instruments()
    newest = max(
        {i.version for i in instruments},
        key=lambda v: tuple(int(p) if p.isdigit() else 0 for p in v.split(".")),
    )
    return catalog_instruments().filter(version=newest)


def _default_round_name() -> str:
    day = today_date()
    if day.month >= 7:
        return _("Autumn %(year)s") % {"year": day.year}
    return _("Spring %(year)s") % {"year": day.year}


def round_create(request: HttpRequest) -> HttpResponse:
    access = access_of(request)
    require(access.is_coordinator or bool(access.leader_school_ids), OPEN_ROUND_DENIED)
    version = current_version()
    if version is None:
        raise Http404
    schools = managed_schools_for(access)
    instruments = _instrument_choices()
    if request.method == "POST":
        form = RoundForm(request.POST, instruments=instruments, schools=schools)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.round_create(
                    name=data["name"],
                    opens_on=data["opens_on"],
                    closes_on=data["closes_on"],
                    schools=list(data["schools"]),
                    instruments=list(data["instruments"]),
                    model_version=version,
                    actor=actor_of(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The round “%(name)s” is opened.") % {
                    "name": created.name})
                return redirect("implementation:round", round_id=created.pk)
    else:
        school_list = list(schools)
        form = RoundForm(
            instruments=instruments,
            schools=schools,
            initial={
                "name": _default_round_name(),
                "opens_on": today_date(),
                "closes_on": today_date() + timedelta(weeks=6),
                "instruments": list(instruments),
                "schools": school_list if len(school_list) == 1 else [],
            },
        )
    return render_page(
        request,
        "implementation/round_form.html",
        {"form": form, "version": version},
        invalid=form.is_bound,
    )


def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    access = access_of(request)
    assessment_round = _round(request, round_id)
    counts = response_counts_for(access, assessment_round)
    return render_page(
        request,
        "implementation/round_detail.html",
        {
            "round": assessment_round,
            "state": round_state(assessment_round),
            "instruments": list(assessment_round.instruments.all()),
            "tasks": [school_tasks(access, assessment_round, s, counts)
                      for s in assessment_round.schools.all()],
            "can_close": can_manage_round(access, assessment_round),
        },
    )


@require_POST
def round_close(request: HttpRequest, round_id: int) -> HttpResponse:
    access = access_of(request)
    assessment_round = _round(request, round_id)
    require(can_manage_round(access, assessment_round), ROUND_DENIED)
    try:
        services.round_close(assessment_round=assessment_round, actor=actor_of(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The round is closed. No more answers are accepted."))
    return redirect("implementation:round", round_id=assessment_round.pk)


def school_rounds(request: HttpRequest, school_id: int) -> HttpResponse:
    """The school's assessment tab: every round it takes part in, with its tasks."""
    access = access_of(request)
    school = visible_school(request, school_id)
    rounds = list(rounds_for(access).filter(schools=school))
    ids = [r.pk for r in rounds]
    counts = response_counts_by_round(access, ids, school)
    links = survey_link_counts_by_round(access, ids, school)
    items = [
        {
            "round": r,
            "state": round_state(r),
            "tasks": school_tasks(access, r, school, counts.get(r.pk, []), links.get(r.pk, {})),
        }
        for r in rounds
    ]
    return render_page(
        request,
        "implementation/school_rounds.html",
        {
            "school": school,
            "section": "rounds",
            "rounds": items,
            "can_open_round": access.can_manage_school(school.pk),
        },
    )


def _round_of_school(request: HttpRequest, school: School, round_id: int) -> AssessmentRound:
    return get_object_or_404(rounds_for(access_of(request)).filter(schools=school), pk=round_id)


# The session keeps the tokens of a new batch for the one GET that shows them, and the keys
# of the batches made (a form sent twice makes one batch).
ISSUED_LINKS = "survey_links_issued"
MADE_BATCHES = "survey_link_batches"
KEPT_BATCHES = 50


def _issued_key(school: School, assessment_round: AssessmentRound) -> str:
    return f"{ISSUED_LINKS}:{school.pk}:{assessment_round.pk}"


def _batch_made(request: HttpRequest, batch: str, issued_key: str) -> tuple[bool, bool]:
    """(whether ``batch`` was made, whether its links are still waiting to be shown), as
    the session store holds it now (not as this request read it when it began: a double
    click's first request may have finished since)."""
    session = request.session
    if session.session_key is None:
        return False, False
    stored = type(session)(session_key=session.session_key)  # type: ignore[call-arg]
    return batch in stored.get(MADE_BATCHES, []), bool(stored.get(issued_key))


def survey_links(request: HttpRequest, school_id: int, round_id: int) -> HttpResponse:
    """Make one-time links for teachers and other staff (POST, then a redirect); the one GET
    that follows shows them, once. A GET never makes links, and the same form sent twice
    makes one batch."""
    access = access_of(request)
    school = visible_school(request, school_id)
    assessment_round = _round_of_school(request, school, round_id)
    require(access.can_manage_school(school.pk), MANAGE_DENIED)
    context: dict[str, Any] = {
        "school": school,
        "section": "rounds",
        "round": assessment_round,
        "state": round_state(assessment_round),
        "tasks": school_tasks(access, assessment_round, school),
    }
    here = request.path
    if request.method == "POST":
        form = LinksForm(request.POST)
        if form.is_valid():
            batch = form.cleaned_data["batch"]
            try:
                with transaction.atomic():
                    if batch:
                        services_rounds.survey_link_batch_lock(batch=batch)
                        made, waiting = _batch_made(
                            request, batch, _issued_key(school, assessment_round))
                        if made:
                            if not waiting:  # shown already: the form was sent again later
                                messages.info(request, _(
                                    "These links were made already, and shown once. To "
                                    "make more, fill in the form again."))
                            return HttpResponseRedirect(here, status=303)
                    issued = services.survey_links_create(
                        assessment_round=assessment_round,
                        school=school,
                        count=form.cleaned_data["count"],
                        actor=actor_of(request),
                    )
                    request.session[_issued_key(school, assessment_round)] = [
                        i.token for i in issued
                    ]
                    if batch:
                        made = request.session.get(MADE_BATCHES, [])
                        request.session[MADE_BATCHES] = [*made, batch][-KEPT_BATCHES:]
                    request.session.save()  # in the transaction: a second click waits for it
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return HttpResponseRedirect(here, status=303)
        return render_page(
            request, "implementation/links.html", {**context, "form": form}, invalid=True
        )
    tokens = request.session.pop(_issued_key(school, assessment_round), None)
    if tokens:
        urls = [
            request.build_absolute_uri(
                reverse("implementation:survey_link", kwargs={"token": token})
            )
            for token in tokens
        ]
        response = render_page(
            request, "implementation/links_issued.html", {**context, "urls": urls}
        )
        add_never_cache_headers(response)
        return response
    form = LinksForm(initial={"count": 10, "batch": secrets.token_urlsafe(16)})
    response = render_page(request, "implementation/links.html", {**context, "form": form})
    add_never_cache_headers(response)  # a form from the cache would repeat its batch key
    return response
