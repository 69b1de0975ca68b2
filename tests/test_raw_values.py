"""No raw values where their labels belong (issue 10, item 9 and build item 5): a school's
pages, its audit trail and the platform administration, rendered in Bokmål, show the
labels of choices ("oppsøkende", not "oppsokende"), instrument names (not "FIDELITY") and
translated model names (not "Survey link")."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import models
from django.utils import translation

from accounts.models import Membership, User
from implementation import models as implementation_models
from implementation.models import ActivityMode, School
from implementation.services import (
    activity_delete,
    activity_log,
    adaptation_create,
    adoption_change_status,
    plan_create,
    stage_period_set,
    step_create,
    survey_links_create,
)
from implementation.services._common import today

from .conftest import World, client_for, host_of
from .recording import adopt, module, open_round, version

SKIP_TAGS = {"script", "style", "option", "select", "template", "textarea"}


class _VisibleText(HTMLParser):
    """The text a reader sees: text nodes and accessible names, not attribute values such as
    option values or URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_words(html: str) -> set[str]:
    parser = _VisibleText()
    parser.feed(html)
    return set(re.findall(r"[\wæøåÆØÅ-]+", " ".join(parser.parts)))


# Raw values that are Norwegian words in their own right ("plan", "team" in the catalog's
# texts): their presence says nothing.
NORWEGIAN_WORDS = frozenset({"plan", "team"})


def raw_choice_values() -> dict[str, str]:
    """value → where it comes from, for every choice of the school's records whose Bokmål
    label is not the value itself."""
    raw: dict[str, str] = {}
    with translation.override("nb"):
        for model in [*implementation_models.__dict__.values(), Membership]:
            if not (isinstance(model, type) and issubclass(model, models.Model)):
                continue
            for field in model._meta.concrete_fields:
                for value, label in field.flatchoices or []:
                    if (isinstance(value, str) and str(label).lower() != value.lower()
                            and value not in NORWEGIAN_WORDS):
                        raw[value] = f"{model.__name__}.{field.name}"
    return raw


@pytest.fixture
def busy_school(world: World, ila: School, trondheim_leader: User, trondheim_staff: User) -> int:
    """Ila with a record of every kind: adoptions and a status change, an adaptation, a
    plan with a step, a stage, a round with survey links, and time in every mode, one entry
    deleted again (the audit trail keeps its description)."""
    adoption = adopt(ila, "3.2", status="planned")
    adoption_change_status(adoption=adoption, to_status="in_progress", on=today(),
                           actor=trondheim_leader)
    adaptation_create(
        adoption=adoption, actor=trondheim_leader, what_changed="Samtaler i SFO-tiden",
        made_on=today(), timing="implementation", planned=True, decided_by="school_leader",
        level="school", change_type="context", nature="lengthening", fidelity="consistent",
        goals=["reach"], reason_level="organization", reasons="",
    )
    plan = plan_create(school=ila, model_version=version(), title="Plan",
                       starts_on=today() - timedelta(days=60), actor=trondheim_leader)
    step_create(plan=plan, actor=trondheim_leader, action="Kurs", strategy_actor="Rektor",
                target="Lærerne", due_on=today(), dose="1", intended_outcome="Bedre",
                justification="Behov", module=module(2), stage="installation",
                eric_cluster="train_educate", status="cancelled")
    stage_period_set(school=ila, module=module(2), stage="installation",
                     entered_on=today() - timedelta(days=20), actor=trondheim_leader)
    assessment_round = open_round([ila])
    survey_links_create(assessment_round=assessment_round, school=ila, count=2,
                        actor=trondheim_leader)
    for mode in ActivityMode.values:
        entry = activity_log(school=ila, staff=trondheim_staff, performed_on=today(),
                             minutes=30, module=module(2), mode=mode)
    activity_delete(activity=entry, actor=trondheim_staff)
    return assessment_round.pk


SCHOOL_PAGES = ["", "komponenter/", "tilpasninger/", "plan/", "runder/", "tid/"]


@pytest.mark.parametrize("page", [*SCHOOL_PAGES, "/logg/", "/runder/", "/runder/{round}/",
                                  "/dashboards/skoler/{ila}/", "/"])
def test_a_schools_pages_show_labels_not_raw_values(
    page: str, busy_school: int, world: World, trondheim_leader: User
) -> None:
    path = page.format(round=busy_school, ila=world.ila_id) if page.startswith("/") else (
        f"/skoler/{world.ila_id}/{page}")
    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        path, HTTP_ACCEPT_LANGUAGE="nb")
    assert response.status_code == 200

    words = visible_words(response.text)
    raw = {value: origin for value, origin in raw_choice_values().items() if value in words}

    assert raw == {}
    assert "FIDELITY" not in words
    assert not {"Survey", "survey"} & words


def test_the_audit_trail_names_every_kind_of_record_in_norwegian(
    busy_school: int, world: World, trondheim_leader: User
) -> None:
    page = client_for(trondheim_leader, host_of(world.trondheim)).get(
        "/logg/", HTTP_ACCEPT_LANGUAGE="nb").text

    assert "Oppsøkende" in page or "oppsøkende" in page
    assert "Engangslenke" in page


@pytest.mark.parametrize("path", [
    "/admin/", "/admin/accounts/user/{user}/change/", "/admin/accounts/membership/",
    "/admin/accounts/membership/add/",
])
def test_the_administration_speaks_norwegian(
    path: str, platform_admin: User, trondheim_leader: User
) -> None:
    page = client_for(platform_admin, "localhost").get(
        path.format(user=trondheim_leader.pk), HTTP_ACCEPT_LANGUAGE="nb")
    assert page.status_code == 200

    words = visible_words(page.text)

    assert not {"Profile", "Platform", "roles", "School", "ids", "Accounts", "Catalog",
                "Implementation", "Municipalities"} & words
