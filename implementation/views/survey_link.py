"""The public one-time survey link (/s/<token>/): no login, no account. The respondent's
answers are stored without a name, an e-mail address or an IP address; the page speaks
the respondent's language (nb by default, nn and en through the language switch)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from sovei_platform.privacy import min_group_size

from .. import services
from ..forms import SurveyForm, add_service_errors
from ..selectors import survey_instruments, survey_link_by_token
from ..services.responses import survey_link_problem

# An unknown link is a bad request; one that was used, has expired or belongs to a closed
# round is gone for good.
PROBLEM_STATUS = {"unknown": 400, "used": 410, "expired": 410, "closed": 410}


def _problem(request: HttpRequest, problem: str) -> HttpResponse:
    return render(
        request,
        "implementation/survey_link_problem.html",
        {"problem": problem},
        status=PROBLEM_STATUS.get(problem, 400),
    )


@never_cache
def survey_link(request: HttpRequest, token: str) -> HttpResponse:
    link = survey_link_by_token(token)
    problem = survey_link_problem(link)
    if problem is not None or link is None:
        return _problem(request, problem or "unknown")
    instruments = survey_instruments(link)
    if not instruments:
        return _problem(request, "closed")
    if request.method == "POST":
        form = SurveyForm(request.POST, instruments=instruments)
        if form.is_valid():
            try:
                services.link_response_submit(token=token, answers=form.answers())
            except ValidationError as exc:
                token_errors = getattr(exc, "error_dict", {}).get("token")
                if token_errors:
                    return _problem(request, token_errors[0].code or "unknown")
                add_service_errors(form, exc)
            else:
                return redirect("implementation:survey_thanks")
    else:
        form = SurveyForm(instruments=instruments)
    return render(
        request,
        "implementation/survey_link.html",
        {"link": link, "form": form, "sections": form.bound_sections(), "k": min_group_size()},
        status=400 if form.is_bound else 200,
    )


def survey_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "implementation/survey_link_thanks.html")
