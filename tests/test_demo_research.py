"""`make run` leaves a researcher with a filled research store (issue 10, item 1): the
launcher's demo steps (deploy/local.py ``load_demo`` and ``DEMO_STEPS``) load the pilot
municipalities' history, whose closed rounds lie in semesters already due, and publish it."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from research.models import ResearchSchool
from sovei_platform.privacy import min_group_size
from tenants.demo import PILOTS

from .conftest import World, client_for

LAUNCHER = Path(__file__).resolve().parent.parent / "deploy" / "local.py"


def launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovei_launcher", LAUNCHER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["sovei_launcher"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo_published(world: World, db: None) -> None:
    """What `make run` runs after migrating: load_demo, then the launcher's demo steps."""
    call_command("load_demo", verbosity=0)
    for _message, args in launcher().DEMO_STEPS:
        call_command(*args)


def client(researcher: User) -> Client:
    return client_for(researcher, "testserver")


def figure(html: str, dom_id: str) -> dict[str, Any]:
    match = re.search(
        rf'<script id="{dom_id}-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no figure {dom_id}"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_the_launcher_publishes_the_research_store_after_the_demo_history() -> None:
    steps = [args for _message, args in launcher().DEMO_STEPS]

    assert steps.index(("load_demo_history",)) < steps.index(("research_refresh", "--if-due"))


def test_it_leaves_a_researcher_with_the_six_pilot_municipalities_and_their_time_use(
    demo_published: None, researcher: User
) -> None:
    browser = client(researcher)
    municipality_of = dict(ResearchSchool.objects.values_list("pseudonym", "municipality"))

    overview = browser.get("/forsker/")
    fidelity = browser.get("/forsker/troskap/")
    outcomes = browser.get("/forsker/utfall/")

    assert overview.context["summary"].municipalities == len(PILOTS)
    assert len(set(municipality_of.values())) == len(PILOTS)
    rated = set(figure(fidelity.content.decode(), "figure-fidelity")["data"][0]["text"])
    assert {municipality_of[school] for school in rated} == set(municipality_of.values())
    group = outcomes.context["group_rows"]
    assert {cell.instrument for cell in group} == {"aim", "iam", "fim", "sus"}
    assert all(cell.n >= min_group_size() for cell in group)
    assert outcomes.context["parts"]["rows"]  # the counties' cells
    released = {text.split(" ")[0] for trace in figure(
        outcomes.content.decode(), "figure-school-spread")["data"] for text in trace["text"]}
    assert {municipality_of[school] for school in released} == set(municipality_of.values())
    # Time use: Trondheim's schools pooled (one social worker each), split by mode.
    bars = figure(overview.content.decode(), "figure-time-use")["data"]
    assert len({t["name"] for t in bars}) == 4  # acute, outreach, planned, system level
    semesters = bars[0]["x"]
    assert all(t["x"] == semesters and len(set(t["x"])) == len(t["x"]) for t in bars)
    for column in range(len(semesters)):
        shares = [t["y"][column] for t in bars]
        assert abs(sum(shares) - 100) < 0.5 and len(set(shares)) > 1
