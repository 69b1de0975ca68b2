from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..selectors import rounds_for, schools_for, startup_offered_for
from ._common import access_of, today_date


def home(request: HttpRequest) -> HttpResponse:
    """The municipality's front page: the user's schools and the rounds open now."""
    access = access_of(request)
    schools = list(schools_for(access))
    day = today_date()
    open_rounds = [r for r in rounds_for(access).filter(closed_at__isnull=True,
                                                        opens_on__lte=day, closes_on__gte=day)]
    return render(
        request,
        "implementation/overview.html",
        {
            "schools": schools,
            "open_rounds": open_rounds,
            "can_open_round": access.is_coordinator or bool(access.leader_school_ids),
            "startup_offered": startup_offered_for(access),
        },
    )
