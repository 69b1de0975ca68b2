"""Helpers shared by the dashboard tests (tests/test_dashboards_*.py); no tests of its own.

The scene, in Trondheim, recorded through the services and then aggregated
(dashboards.aggregation) the way the worker does it:

    Ila skole   adopts 1.1, 2.1, 3.1; 1.1 later in place.
                Vår 2026 fidelity 1.1=1 2.1=2 3.1=0 -> 3/6 = 50.0 %
                Høst 2026 fidelity 1.1=2 2.1=2 3.1=1 -> 5/6 = 83.3 %
                Høst 2026 CFIR I.A +2, I.B -1, III.B -2; AIM (staff) 4 4 5 5 = 4.5
                plan: 60 % systematic intended; module 1 exploration (left) and
                installation (ongoing) with two steps; activities this month.
    Lade skole  in both rounds, nothing recorded at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from dashboards.aggregation import recompute_municipality, recompute_pending_school
from implementation.models import AssessmentRound, School
from implementation.services import (
    activity_log,
    adoption_change_status,
    plan_create,
    round_update,
    staff_response_submit,
    stage_period_set,
    step_create,
    team_response_submit,
)
from implementation.services._common import today

from .conftest import World, client_for, host_of
from .recording import adopt, answer_by_links, instrument, module, open_round, version


@dataclass
class Scene:
    world: World
    ila: School
    lade: School
    vår: AssessmentRound
    høst: AssessmentRound


def build_scene(world: World) -> Iterator[Scene]:
    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        lade = School.objects.get(pk=world.lade_id)
        staff = User.objects.get(email="trondheim_staff@example.no")
        adoptions = {key: adopt(ila, key) for key in ("1.1", "2.1", "3.1")}

        def rate(assessment_round: AssessmentRound, values: dict[str, int]) -> None:
            team_response_submit(
                assessment_round=assessment_round, school=ila, instrument=instrument("fidelity"),
                answers={str(adoptions[k].pk): v for k, v in values.items()},
            )

        vår = open_round([ila, lade], name="Vår 2026")
        rate(vår, {"1.1": 1, "2.1": 2, "3.1": 0})
        answer_by_links(vår, ila, [4, 4, 5, 3, 4])  # five: released when the round closes
        round_update(assessment_round=vår, name="Vår 2026",
                     opens_on=today() - timedelta(days=200),
                     closes_on=today() - timedelta(days=150))
        høst = open_round([ila, lade], name="Høst 2026")
        rate(høst, {"1.1": 2, "2.1": 2, "3.1": 1})
        team_response_submit(assessment_round=høst, school=ila, instrument=instrument("cfir"),
                             answers={"I.A": 2, "I.B": -1, "III.B": -2})
        staff_response_submit(assessment_round=høst, school=ila, instrument=instrument("aim"),
                              respondent=staff,
                              answers={"aim1": 4, "aim2": 4, "aim3": 5, "aim4": 5})
        adoption_change_status(adoption=adoptions["1.1"], to_status="in_place")

        start = today() - timedelta(days=120)
        plan = plan_create(school=ila, model_version=version(), title="SoVei ved Ila",
                           starts_on=start, intended_systematic_percent=60,
                           priorities={module(1): 40, module(2): 30})
        stage_period_set(school=ila, module=module(1), stage="exploration", entered_on=start,
                         exited_on=start + timedelta(days=40))
        stage_period_set(school=ila, module=module(1), stage="installation",
                         entered_on=start + timedelta(days=40))
        for index, status in enumerate(["done", "not_started"]):
            step_create(plan=plan, module=module(1), stage="exploration",
                        eric_cluster="train_educate", action=f"Opplæring {index + 1}",
                        strategy_actor="rektor", target="lærere",
                        due_on=start + timedelta(days=10 + 200 * index), status=status,
                        done_on=start + timedelta(days=12) if status == "done" else None)
        for minutes, number, mode in [(60, 1, "akutt"), (120, 2, "planlagt"),
                                      (30, 1, "oppsokende")]:
            activity_log(school=ila, staff=staff, performed_on=today(), minutes=minutes,
                         module=module(number), mode=mode)

        recompute_pending_school(ila.pk, with_municipality=False)
        recompute_pending_school(lade.pk, with_municipality=False)
        recompute_municipality()
        yield Scene(world, ila, lade, vår, høst)


def get(user: User | None, world: World, url: str, *, language: str = "en",
        **extra: Any) -> HttpResponse:
    """GET on Trondheim's host in `language` (English by default: the labels' source
    text, independent of the translation catalogue); puts the test's schema back."""
    tenant = connection.tenant
    client: Client = client_for(user, host_of(world.trondheim))
    if language:
        client.cookies["django_language"] = language
    try:
        response: HttpResponse = client.get(url, **extra)
    finally:
        connection.set_tenant(tenant)
    return response


def figure_of(response: HttpResponse, key: str) -> dict[str, Any]:
    """The plotly figure a page passes to charts.js in its JSON data block."""
    match = re.search(
        rf'<script id="figure-{re.escape(key)}-data" type="application/json">(.*?)</script>',
        response.text, re.S,
    )
    assert match, f"no figure {key} on the page"
    figure: dict[str, Any] = json.loads(match.group(1))
    return figure


def trace_named(figure: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in figure["data"] if t.get("name") == name]
    assert len(found) == 1, [t.get("name") for t in figure["data"]]
    return found[0]


def scripts_of(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>", html)


def assert_safe_scripts(html: str) -> None:
    """Only our own static files and non-executed JSON data blocks; no CDN anywhere."""
    assert "cdn." not in html and "https://cdn" not in html
    for tag in scripts_of(html):
        if 'type="application/json"' in tag:
            continue
        source = re.search(r'\bsrc="([^"]+)"', tag)
        assert source, f"inline script: {tag}"
        assert source.group(1).startswith("/static/"), tag
