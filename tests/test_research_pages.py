"""The researcher pages: server-built plotly figures from the research store, filters by
round, model version, county and size band; person-level data only as released groups."""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_grant, user_create
from implementation.services import activity_log, round_close, team_response_submit
from implementation.services._common import today
from research.pseudonyms import Semester
from research.selectors import Filters, cfir_profile

from .conftest import client_for
from .recording import instrument, module, open_round
from .test_research_world import (
    ResearchWorld,
    log_time_at_lade,
    publish,
    recompute_all,
    research_world,
)

__all__ = ["research_world"]


def page(user: User, path: str, **filters: str) -> str:
    client = client_for(user, "testserver")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # labels in the source language
    response = client.get(path, filters)
    assert response.status_code == 200
    return response.content.decode()


def figure(html: str, dom_id: str) -> dict[str, Any]:
    match = re.search(
        rf'<script id="{dom_id}-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no figure {dom_id}"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def table(html: str, dom_id: str) -> list[list[str]]:
    """The rows of the table alternative under chart ``dom_id``, header cells included."""
    chart = re.search(rf'<figure class="chart" id="{dom_id}".*?</figure>', html, re.S)
    assert chart, f"no chart {dom_id}"
    body = re.search(r'<details class="chart-table">.*?<tbody>(.*?)</tbody>', chart.group(0), re.S)
    assert body, f"chart {dom_id} has no table alternative"
    cells = r"<t[hd][^>]*>.*?</t[hd]>"
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(cells, row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def test_it_draws_the_fidelity_distribution_per_module_with_every_school(
    research_world: ResearchWorld, researcher: User
) -> None:
    w = research_world

    html = page(researcher, "/forsker/troskap/", semester=w.semester.code)

    box = figure(html, "figure-fidelity")["data"][0]
    # Modules are labelled "1. <title>" …; the overall category has no number.
    overall = [
        (school, y)
        for x, y, school in zip(box["x"], box["y"], box["text"], strict=True)
        if not x[0].isdigit()
    ]
    assert box["type"] == "box" and box["boxpoints"] == "all"
    assert dict(overall) == {
        w.school(w.ila): 58.3,
        w.school(w.lade): 60.0,
        w.school(w.zyxqvik): 100.0,
        w.school(w.bratteberg): 83.3,
    }
    over_time = figure(html, "figure-fidelity-time")
    assert len(set(over_time["data"][0]["x"])) == 2  # two semesters
    # The table alternative lists every point with the school's pseudonym.
    rows = table(html, "figure-fidelity")
    assert len(rows) == len(box["y"])
    assert [x for x in rows if not x[0][0].isdigit() and x[1] == w.school(w.lade)] == [
        [x, w.school(w.lade), "60"] for x in box["x"] if not x[0].isdigit()
    ][:1]


def test_it_filters_by_county(research_world: ResearchWorld, researcher: User) -> None:
    w = research_world

    html = page(researcher, "/forsker/troskap/", county="15")

    schools = set(figure(html, "figure-fidelity")["data"][0]["text"])
    assert schools == {w.school(w.bratteberg)}


def test_it_filters_by_size_band_and_round(research_world: ResearchWorld, researcher: User) -> None:
    w = research_world

    html = page(researcher, "/forsker/troskap/", size_band="1000-4999", semester=w.earlier.code)

    schools = set(figure(html, "figure-fidelity")["data"][0]["text"])
    assert schools == {w.school(w.ila), w.school(w.lade)}


def test_it_shows_nothing_of_a_county_whose_survey_answers_were_never_released(
    research_world: ResearchWorld, researcher: User
) -> None:
    w = research_world

    html = page(researcher, "/forsker/utfall/", county="15", semester=w.semester.code)

    assert "figure-sus-data" not in html  # Bratteberg's 2 SUS answers: no released group
    assert "No SUS answers in closed rounds for these filters." in html
    scales = figure(html, "figure-scales")
    aim = next(t for t in scales["data"] if t["name"].startswith("AIM"))
    assert aim["customdata"][-1][0] == 6  # Volda's 6 AIM respondents


def test_it_shows_the_overall_outcomes_over_rounds(
    research_world: ResearchWorld, researcher: User
) -> None:
    html = page(researcher, "/forsker/utfall/")

    aim = next(t for t in figure(html, "figure-scales")["data"] if t["name"].startswith("AIM"))
    # Earlier semester: Lade's 5. This one: Lade 6 + Zyxqvik 7 + Bratteberg 6 (Ila's 3 are
    # in no released group).
    assert [row[0] for row in aim["customdata"]] == [5, 19]
    spread = figure(html, "figure-school-spread")
    shown = {text.split(" ")[0] for trace in spread["data"] for text in trace["text"]}
    assert shown and all(re.fullmatch(r"S-[0-9a-f]{12}", n) for n in shown)
    assert research_world.school(research_world.ila) not in shown


def test_it_draws_stage_progress_and_durations(
    research_world: ResearchWorld, researcher: User
) -> None:
    html = page(researcher, "/forsker/faser/")

    progress = figure(html, "figure-stage-progress")
    durations = figure(html, "figure-stage-days")
    assert progress["layout"]["barmode"] == "stack"
    counts = {trace["name"]: sum(trace["x"]) for trace in progress["data"]}
    assert sum(counts.values()) == 2  # Ila and Zyxqvik have module 1 stages
    entered = Semester.of(today() - timedelta(days=120))
    # Zyxqvik's ongoing installation, in semesters up to the published one (no days)
    assert research_world.semester.index - entered.index in durations["data"][0]["y"]


def test_it_compares_determinants_of_high_and_low_fidelity_schools(
    research_world: ResearchWorld, researcher: User
) -> None:
    w = research_world

    profile = {
        r.code: r
        for r in cfir_profile(Filters(semester=w.semester.code, model_version="1.0"))
        if r.level == "construct"
    }
    html = page(researcher, "/forsker/fremmere-og-hemmere/", semester=w.semester.code)

    # High (≥ 70 %): Zyxqvik +2, Bratteberg +1. Low: Ila +2, Lade −1.
    ia = profile["I.A"]
    assert (ia.mean_all, ia.schools_all) == (Decimal("1"), 4)
    assert (ia.mean_high, ia.schools_high) == (Decimal("1.5"), 2)
    assert (ia.mean_low, ia.schools_low) == (Decimal("0.5"), 2)
    traces = figure(html, "figure-cfir-constructs")["data"]
    assert len(traces) == 3


def test_it_shows_time_use_of_released_groups_on_the_overview(
    research_world: ResearchWorld, researcher: User
) -> None:
    log_time_at_lade(research_world)
    publish()

    html = page(researcher, "/forsker/")

    bars = figure(html, "figure-time-use")["data"]
    assert {t["type"] for t in bars} == {"bar"}
    assert {t["name"]: t["y"] for t in bars} == {"planned": [60.0], "acute": [40.0]}
    assert bars[0]["customdata"] == [5]  # staff behind the figure
    semester = bars[0]["x"][0]
    assert sorted(table(html, "figure-time-use")) == [
        ["acute", semester, "40"], ["planned", semester, "60"]
    ]


def test_it_explains_an_empty_store(researcher: User) -> None:
    html = page(researcher, "/forsker/troskap/")

    assert "empty-state" in html
    assert "data-figure=" not in html


def test_it_counts_a_school_rated_in_two_rounds_of_the_semester_once(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Audit 7: counts labelled "schools" were school × round rows ("(10)" for 9 schools)."""
    w = research_world
    with tenant_context(w.trondheim):
        second = open_round([w.ila], codes=("cfir",), name="Andre runde i semesteret")
        team_response_submit(assessment_round=second, school=w.ila,
                             instrument=instrument("cfir"), answers={"I.A": 0})
        round_close(assessment_round=second)
    recompute_all(w.trondheim)
    publish()

    ia = {r.code: r for r in cfir_profile(Filters(semester=w.semester.code,
                                                  model_version="1.0"))
          if r.level == "construct"}["I.A"]
    html = page(researcher, "/forsker/")

    # Ila's two ratings (2 and 0) are one school with 1; Lade −1, Zyxqvik 2, Bratteberg 1.
    assert (ia.schools_all, ia.mean_all) == (4, Decimal("0.75"))
    assert re.search(r"<dt>Schools</dt><dd>4</dd>", html)


def test_it_splits_the_overview_time_use_by_mode_over_several_modules(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Issue 10, item 2: each mode's series repeated its share once per row of the
    semester (38.1 × 4 on one category: "100 % akutt"). One bar per semester, the modes'
    real shares, adding up to 100."""
    w = research_world
    logged = [(1, "akutt", 60), (2, "oppsokende", 30), (1, "planlagt", 60),
              (2, "planlagt", 30), (3, "systemniva", 60)]  # 240 minutes, five staff
    with tenant_context(w.trondheim):
        for index, (number, mode, minutes) in enumerate(logged):
            person = user_create(email=f"lade-split-{index}@example.no",
                                 password="x-" + secrets.token_hex(8))
            membership_grant(user=person, municipality=w.trondheim, role=Role.STAFF,
                             school_ids=[w.lade.pk])
            activity_log(school=w.lade, staff=person, performed_on=today(), minutes=minutes,
                         module=module(number), mode=mode)
    publish()

    html = page(researcher, "/forsker/")

    bars = figure(html, "figure-time-use")["data"]
    assert {t["name"]: t["y"] for t in bars} == {
        "acute": [25.0], "outreach": [12.5], "planned": [37.5], "system level": [25.0]}
    assert all(len(t["x"]) == len(t["y"]) == 1 for t in bars)
    assert sum(t["y"][0] for t in bars) == 100.0


def _table(html: str, caption: str) -> tuple[list[str], list[list[str]]]:
    """(header cells, body rows) of the table with this caption, as plain text."""
    match = re.search(rf"<table[^>]*>\s*<caption>{caption}</caption>(.*?)</table>", html, re.S)
    assert match, f"no table {caption}"
    text = match.group(1)

    def cells(row: str) -> list[str]:
        return [re.sub(r"<[^>]+>", "", c).strip()
                for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]

    head = cells(re.search(r"<thead>(.*?)</thead>", text, re.S).group(1))  # type: ignore[union-attr]
    body = [cells(r) for r in re.findall(r"<tr>(.*?)</tr>", text.split("<tbody>")[1], re.S)]
    return head, body


def test_it_names_counties_and_shows_only_the_columns_of_the_parts(
    research_world: ResearchWorld, researcher: User
) -> None:
    """Issue 10, item 8: the parts table showed county codes (15, 50) while the filter
    names them, and its size band and municipality columns were all "–" (the parts of
    all schools are counties, which have neither)."""
    w = research_world

    html = page(researcher, "/forsker/utfall/", semester=w.semester.code)
    head, rows = _table(html, "Its parts")
    by_band = page(researcher, "/forsker/utfall/", semester=w.semester.code, county="50")
    band_head, band_rows = _table(by_band, "Its parts")

    assert head == ["Instrument", "County", "n", "Mean", "SD"]
    assert {row[1] for row in rows} == {"Trøndelag", "Møre og Romsdal"}
    assert band_head == ["Instrument", "County", "Municipality size", "n", "Mean", "SD"]
    assert {(row[1], row[2]) for row in band_rows} == {("Trøndelag", "1,000–4,999 pupils")}
    for columns, body in ((head, rows), (band_head, band_rows)):
        for index in range(len(columns)):
            assert {row[index] for row in body} != {"–"}, columns[index]


def test_it_colours_the_stages_as_the_school_dashboard_does(
    research_world: ResearchWorld, researcher: User
) -> None:
    from dashboards.figures import STAGE_COLOURS
    from implementation.models import Stage

    html = page(researcher, "/forsker/faser/")

    colours = {t["name"]: t["marker"]["color"]
               for t in figure(html, "figure-stage-progress")["data"]}
    assert {str(s.label): colours[str(s.label)] for s in Stage} == {
        str(s.label): STAGE_COLOURS[s.value] for s in Stage}
