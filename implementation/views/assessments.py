"""Filling in a round's instruments: the team's fidelity self-assessment and CFIR rating,
and a staff member's own AIM/IAM/FIM/SUS answers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from catalog.models import Instrument, InstrumentRespondent
from sovei_platform.privacy import min_group_size

from .. import scoring, services
from ..forms import (
    FidelityRatingForm,
    RatingForm,
    SurveyForm,
    add_service_errors,
    adoption_label,
    answer_field_name,
    reason_field_name,
)
from ..models import AssessmentRound, School, UnratedReason
from ..selectors import adoptions_for, own_responses_for, rounds_for, team_responses_for
from ._common import (
    RATE_DENIED,
    WORK_DENIED,
    access_of,
    actor_of,
    group_by_module,
    module_of,
    rated_adoptions,
    render_page,
    require,
    visible_school,
)
from .rounds import round_state


def _round_and_instrument(
    request: HttpRequest, school: School, round_id: int, code: str
) -> tuple[AssessmentRound, Instrument]:
    assessment_round = get_object_or_404(
        rounds_for(access_of(request)).filter(schools=school), pk=round_id
    )
    instrument = next((i for i in assessment_round.instruments.all() if i.code == code), None)
    if instrument is None:
        raise Http404
    return assessment_round, instrument


def _initial(values: dict[str, int | None]) -> dict[str, str]:
    return {answer_field_name(k): "" if v is None else str(v) for k, v in values.items()}


def _disable(form: RatingForm | SurveyForm) -> None:
    for field in form.fields.values():
        field.disabled = True


# --- Fidelity self-assessment --------------------------------------------------------------


Saved = tuple[int | None, str | None]  # a fidelity answer: rating, or why not rated


def _fidelity_scores(
    assessment_round: AssessmentRound, adoptions: list[Any], saved: dict[int, Saved]
) -> dict[str, Any] | None:
    """The saved rating scored as the API and the dashboards score it: fidelity to the
    shared model (the school's local components are counted apart), with the share rated."""
    if not saved:
        return None
    version = assessment_round.model_version
    modules = {}
    ratings = []
    local_ratings = []
    for adoption in adoptions:
        if adoption.pk not in saved:
            continue
        module = module_of(adoption)
        value, reason = saved[adoption.pk]
        rating = scoring.FidelityRating(
            module.number, str(adoption.pk), value,
            scoring.UnratedReason(reason) if reason else None,
        )
        if adoption.is_local:
            local_ratings.append(rating)
        else:
            modules[module.number] = module
            ratings.append(rating)
    result = scoring.score_fidelity(
        ratings,
        threshold=version.fidelity_threshold_percent,
        min_rated_percent=version.fidelity_min_rated_percent,
    )
    return {
        "result": result,
        "modules": [(modules[m.module_number], m.score) for m in result.modules],
        "local": scoring.score_fidelity(local_ratings).overall if local_ratings else None,
    }


def fidelity(request: HttpRequest, school_id: int, round_id: int) -> HttpResponse:
    access = access_of(request)
    school = visible_school(request, school_id)
    assessment_round, instrument = _round_and_instrument(request, school, round_id, "fidelity")
    require(access.can_rate_school(school.pk), RATE_DENIED)
    all_adoptions = list(adoptions_for(access).filter(school=school))
    rated = rated_adoptions(all_adoptions)
    keys = [str(a.pk) for a in rated]
    labels = {str(a.pk): adoption_label(a) for a in rated}
    existing = team_responses_for(access).filter(
        round=assessment_round, school=school, instrument=instrument
    ).first()
    saved: dict[int, Saved] = (
        {a.adoption_id: (a.value, a.unrated_reason)
         for a in existing.answers.all() if a.adoption_id}
        if existing else {}
    )
    is_open = round_state(assessment_round) == "open"
    form_kwargs: dict[str, Any] = {"instrument": instrument, "keys": keys, "labels": labels}
    if request.method == "POST":
        form = FidelityRatingForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                services.team_response_submit(
                    assessment_round=assessment_round,
                    school=school,
                    instrument=instrument,
                    answers=form.answers(),
                    unrated_reasons=form.unrated_reasons(),
                    actor=actor_of(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The self-assessment is saved. The scores are below."))
                return redirect(
                    "implementation:fidelity", school_id=school.pk, round_id=assessment_round.pk
                )
    else:
        initial = _initial({str(k): value for k, (value, _reason) in saved.items()})
        for k, (value, reason) in saved.items():
            if value is None:  # answers from before reasons existed count as not assessed
                initial[reason_field_name(k)] = reason or UnratedReason.NOT_ASSESSED
        form = FidelityRatingForm(initial=initial, **form_kwargs)
        if not is_open:
            _disable(form)
    sections = [
        (module, [(a, form.field_for(str(a.pk)), form.reason_for(str(a.pk))) for a in items])
        for module, items in group_by_module(rated)
    ]
    return render_page(
        request,
        "implementation/fidelity.html",
        {
            "school": school,
            "section": "rounds",
            "round": assessment_round,
            "instrument": instrument,
            "is_open": is_open,
            "form": form,
            "sections": sections,
            "existing": existing,
            "scores": _fidelity_scores(assessment_round, all_adoptions, saved),
            "threshold": assessment_round.model_version.fidelity_threshold_percent,
            "min_rated": assessment_round.model_version.fidelity_min_rated_percent,
        },
        invalid=form.is_bound,
    )


# --- CFIR 2.0 determinants -----------------------------------------------------------------


def _cfir_scores(items: list[Any], values: dict[int, int | None]) -> list[dict[str, Any]] | None:
    if not values:
        return None
    ratings = [
        scoring.CfirRating(domain=item.domain.code, construct=item.code,
                           rating=values.get(item.pk))
        for item in items if item.domain is not None
    ]
    result = scoring.score_cfir(ratings)
    domains = {item.domain.code: item.domain for item in items if item.domain is not None}
    return [{"domain": domains[d.domain], "score": d} for d in result.domains]


def cfir(request: HttpRequest, school_id: int, round_id: int) -> HttpResponse:
    access = access_of(request)
    school = visible_school(request, school_id)
    assessment_round, instrument = _round_and_instrument(request, school, round_id, "cfir")
    require(access.can_rate_school(school.pk), RATE_DENIED)
    items = list(instrument.items.select_related("domain").order_by("number"))
    keys = [item.code for item in items]
    labels = {item.code: item.name or item.code for item in items}
    existing = team_responses_for(access).filter(
        round=assessment_round, school=school, instrument=instrument
    ).first()
    saved: dict[int, int | None] = (
        {a.item_id: a.value for a in existing.answers.all() if a.item_id} if existing else {}
    )
    is_open = round_state(assessment_round) == "open"
    form_kwargs: dict[str, Any] = {
        "instrument": instrument, "keys": keys, "labels": labels, "signed": True
    }
    if request.method == "POST":
        form = RatingForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                services.team_response_submit(
                    assessment_round=assessment_round,
                    school=school,
                    instrument=instrument,
                    answers=form.answers(),
                    actor=actor_of(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The determinants rating is saved."))
                return redirect(
                    "implementation:cfir", school_id=school.pk, round_id=assessment_round.pk
                )
    else:
        by_pk = {item.pk: item.code for item in items}
        form = RatingForm(
            initial=_initial({by_pk[k]: v for k, v in saved.items() if k in by_pk}),
            **form_kwargs,
        )
        if not is_open:
            _disable(form)
    domains: list[dict[str, Any]] = []
    for domain in instrument.domains.order_by("position"):
        groups: list[dict[str, Any]] = []
        for item in items:
            if item.domain_id != domain.pk:
                continue
            if not groups or groups[-1]["code"] != item.parent_code:
                groups.append({"code": item.parent_code, "name": item.parent_name, "rows": []})
            groups[-1]["rows"].append((item, form.field_for(item.code)))
        domains.append({"domain": domain, "groups": groups})
    return render_page(
        request,
        "implementation/cfir.html",
        {
            "school": school,
            "section": "rounds",
            "round": assessment_round,
            "instrument": instrument,
            "is_open": is_open,
            "form": form,
            "domains": domains,
            "existing": existing,
            "scores": _cfir_scores(items, saved),
        },
        invalid=form.is_bound,
    )


# --- A staff member's own survey (AIM, IAM, FIM, SUS) --------------------------------------


def staff_survey(request: HttpRequest, school_id: int, round_id: int) -> HttpResponse:
    access = access_of(request)
    school = visible_school(request, school_id)
    assessment_round = get_object_or_404(
        rounds_for(access).filter(schools=school), pk=round_id
    )
    instruments = [
        i for i in assessment_round.instruments.all()
        if i.respondent == InstrumentRespondent.INDIVIDUAL
    ]
    if not instruments:
        raise Http404
    instruments.sort(key=lambda i: i.pk)
    require(access.works_at_school(school.pk), WORK_DENIED)
    is_open = round_state(assessment_round) == "open"
    if request.method == "POST":
        form = SurveyForm(request.POST, instruments=instruments)
        if form.is_valid():
            answers = form.answers()
            current = ""
            try:
                with transaction.atomic():
                    for instrument in instruments:
                        current = instrument.code
                        services.staff_response_submit(
                            assessment_round=assessment_round,
                            school=school,
                            instrument=instrument,
                            respondent=actor_of(request),
                            answers=answers.get(instrument.code, {}),
                        )
            except ValidationError as exc:
                add_service_errors(
                    form,
                    exc,
                    rename=lambda key: key.replace("answers.", f"answers.{current}.", 1),
                )
            else:
                messages.success(request, _("Thank you! Your answers are saved."))
                return redirect("implementation:school_rounds", school_id=school.pk)
    else:
        initial: dict[str, str] = {}
        codes = {i.pk: i for i in instruments}
        for response in own_responses_for(access).filter(round=assessment_round, school=school):
            answered = codes.get(response.instrument_id)
            if answered is None:
                continue
            item_codes = {item.pk: item.code for item in answered.items.all()}
            for answer in response.answers.all():
                if answer.item_id in item_codes and answer.value is not None:
                    initial[answer_field_name(answered.code, item_codes[answer.item_id])] = (
                        str(answer.value)
                    )
        form = SurveyForm(initial=initial, instruments=instruments)
        if not is_open:
            _disable(form)
    return render_page(
        request,
        "implementation/staff_survey.html",
        {
            "school": school,
            "section": "rounds",
            "round": assessment_round,
            "is_open": is_open,
            "form": form,
            "sections": form.bound_sections(),
            "k": min_group_size(),
        },
        invalid=form.is_bound,
    )
