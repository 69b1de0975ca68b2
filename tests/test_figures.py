"""dashboards.figures: plotly figures built from hand-made aggregate rows (no database).

Each test feeds rows whose numbers are easy to follow and checks the figure that comes out:
the values plotted, the labels, the colours (Okabe–Ito only) and the explained empty states
(nothing measured is never drawn as a zero)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.utils import translation

from dashboards import figures
from dashboards.figures import (
    BLUE,
    BLUISH_GREEN,
    MODULE_COLOURS,
    OKABE_ITO,
    ORANGE,
    STAGE_COLOURS,
    STATUS_COLOURS,
    THRESHOLD_COLOUR,
    VERMILLION,
    CfirRow,
    ComponentStatusRow,
    FidelityRow,
    ModuleRef,
    OutcomeRow,
    ResponseRateSummaryRow,
    RoundRef,
    SchoolRef,
    SpreadRow,
    StageProgressRow,
    StageRow,
    StatusChangeRow,
    StepRow,
    TimePlanRow,
    TimeUseRow,
)

D = Decimal
VÅR = RoundRef(1, "Vår 2026", date(2026, 1, 10))
HØST = RoundRef(2, "Høst 2026", date(2026, 8, 20))
VÅR_27 = RoundRef(3, "Vår 2027", date(2027, 1, 10))
M1 = ModuleRef(11, 1, "Organisatorisk utviklingsarbeid")
M2 = ModuleRef(12, 2, "Veiledningsarbeid")
M3 = ModuleRef(13, 3, "Elevrettet arbeid")
ILA = SchoolRef(1, "Ila skole", "/dashboards/skoler/1/")
LADE = SchoolRef(2, "Lade skole", "/dashboards/skoler/2/")
ROSTEN = SchoolRef(3, "Rosten skole", "/dashboards/skoler/3/")

# Neutral greys and white for text, axes, gaps and outlines; everything else is Okabe–Ito.
NEUTRALS = {"#FFFFFF", "#5B6570", "#E4E7EB", "#1B1F24", "#F7F7F7"}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def fidelity(round_id: int, module: ModuleRef | None, points: int, max_points: int,
             unrated: int = 0, school_id: int = 1, threshold: int = 70, not_started: int = 0,
             min_rated: int = 80) -> FidelityRow:
    """`points` of `max_points` (two per rated component); `unrated` components left out."""
    rated = max_points // 2
    percent = (D(points * 50) / rated).quantize(D("0.1"), ROUND_HALF_UP) if rated else None
    total = rated + unrated
    share = (D(rated * 100) / total).quantize(D("0.1"), ROUND_HALF_UP) if total else None
    measured = rated > 0 and rated * 100 >= min_rated * total
    return FidelityRow(
        school_id=school_id, round_id=round_id, module_id=module.id if module else None,
        module_number=module.number if module else None, points=points, max_points=2 * rated,
        rated_count=rated, unrated_count=unrated, not_started_count=not_started,
        percent=percent, rated_share_percent=share, min_rated_percent=min_rated,
        measured=measured, threshold_percent=threshold,
        meets_threshold=(points * 50 >= threshold * rated) if measured else None,
    )


def trace(figure: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in figure["data"] if t.get("name") == name]
    assert len(found) == 1, [t.get("name") for t in figure["data"]]
    return found[0]


def colours_in(value: Any) -> set[str]:
    """Every hex colour anywhere in a figure (data and layout, template included)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= colours_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= colours_in(item)
    elif isinstance(value, str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        found.add(value.upper())
    elif isinstance(value, str) and value.startswith("rgba("):
        found.add(value)
    return found


# --- Fidelity over rounds ------------------------------------------------------------------


def test_it_draws_one_line_per_module_and_overall_with_the_threshold() -> None:
    rows = [
        fidelity(1, M1, 3, 4), fidelity(1, M2, 1, 2), fidelity(1, None, 4, 6),
        fidelity(2, M1, 4, 4), fidelity(2, M2, 2, 2), fidelity(2, None, 6, 6),
    ]

    chart = figures.fidelity_over_rounds(rows, rounds=[HØST, VÅR], modules=[M1, M2])

    assert chart.figure is not None and chart.empty is None
    m1 = trace(chart.figure, "1. Organisatorisk utviklingsarbeid")
    overall = trace(chart.figure, "All modules")
    threshold = trace(chart.figure, "Threshold (70 %)")
    assert m1["x"] == ["Vår 2026", "Høst 2026"]  # ordered by opening date, not by name
    assert m1["y"] == [75.0, 100.0]
    assert trace(chart.figure, "2. Veiledningsarbeid")["y"] == [50.0, 100.0]
    assert overall["y"] == [66.7, 100.0]
    assert threshold["y"] == [70.0, 70.0]
    assert m1["line"]["color"] == MODULE_COLOURS[1] == BLUE
    assert overall["line"]["color"] == "#000000"
    assert threshold["line"]["color"] == THRESHOLD_COLOUR == VERMILLION
    assert m1["customdata"][0] == "75.0 % (2 of 2 rated) – 3 of 4 points"
    assert chart.figure["layout"]["yaxis"]["range"] == [0, 102]
    assert chart.figure["layout"]["title"]["text"] == chart.title
    assert chart.table is not None and chart.table.rows[0][0] == "Vår 2026"


def test_it_leaves_a_gap_for_a_round_without_answers_instead_of_a_zero() -> None:
    rows = [fidelity(1, None, 4, 4), fidelity(3, None, 2, 4)]

    chart = figures.fidelity_over_rounds(rows, rounds=[VÅR, HØST, VÅR_27], modules=[])

    assert chart.figure is not None
    assert trace(chart.figure, "All modules")["y"] == [100.0, None, 50.0]
    assert trace(chart.figure, "All modules")["connectgaps"] is False
    assert "Høst 2026: no fidelity self-assessment was submitted." in chart.notes


def test_it_shows_a_module_with_every_component_unrated_as_a_gap() -> None:
    rows = [fidelity(1, M1, 0, 0, unrated=3), fidelity(1, M2, 2, 2), fidelity(1, None, 2, 2)]

    chart = figures.fidelity_over_rounds(rows, rounds=[VÅR], modules=[M1, M2])

    assert chart.figure is not None
    m1 = trace(chart.figure, "1. Organisatorisk utviklingsarbeid")
    assert m1["y"] == [None]
    assert "no component rated" in m1["customdata"][0]
    assert any("no component was rated" in note for note in chart.notes)


@pytest.mark.parametrize(
    ("rounds", "expected"),
    [
        ([], "has not taken part in an assessment round"),
        ([VÅR], "No fidelity self-assessment has been submitted yet"),
    ],
)
def test_it_explains_why_there_is_no_fidelity_chart(rounds: list[RoundRef], expected: str) -> None:
    chart = figures.fidelity_over_rounds([], rounds=rounds, modules=[M1])

    assert chart.figure is None
    assert chart.empty is not None and expected in chart.empty


def test_it_formats_numbers_for_the_norwegian_reader() -> None:
    rows = [fidelity(1, None, 5, 8)]

    with translation.override("nb"):
        chart = figures.fidelity_over_rounds(rows, rounds=[VÅR], modules=[])

    assert chart.figure is not None
    assert chart.figure["layout"]["separators"] == ",\xa0"
    overall = chart.figure["data"][0]
    assert overall["y"] == [62.5]
    assert overall["customdata"][0].startswith("62,5 % (4 av 4 vurdert)")
    assert chart.table is not None and chart.table.rows == [["Vår 2026", "62,5 % (4 av 4 vurdert)"]]


def test_it_puts_the_share_rated_next_to_every_fidelity_score() -> None:
    # 2, 2, 1 and one not started: 5 of 8 points = 62.5 %, 4 of 4 rated
    rows = [fidelity(1, None, 5, 8, not_started=1)]

    chart = figures.fidelity_over_rounds(rows, rounds=[VÅR], modules=[])

    assert chart.figure is not None
    hover = trace(chart.figure, "All modules")["customdata"][0]
    assert hover == "62.5 % (4 of 4 rated) – 5 of 8 points, 1 not started (0 points)"
    assert chart.table is not None and chart.table.rows[0][1] == "62.5 % (4 of 4 rated)"


def test_it_draws_a_score_that_is_not_measured_as_a_hollow_marker() -> None:
    rows = [
        fidelity(1, None, 5, 8),  # 4 of 4 rated: measured
        fidelity(2, None, 2, 2, unrated=7),  # 1 of 8 rated: 100 %, but not measured
        fidelity(3, None, 5, 6, unrated=1),  # 3 of 4 rated = 75 % < 80 %: not measured
    ]

    chart = figures.fidelity_over_rounds(rows, rounds=[VÅR, HØST, VÅR_27], modules=[])

    assert chart.figure is not None
    overall = trace(chart.figure, "All modules")
    assert overall["y"] == [62.5, 100.0, 83.3]  # still drawn where it is, but hollow
    assert overall["marker"]["symbol"] == ["diamond-wide", "diamond-wide-open",
                                           "diamond-wide-open"]
    assert overall["customdata"][1].startswith("100.0 % (not measured: only 1 of 8 rated)")
    assert "at least 80 % of the components are rated" in overall["customdata"][1]
    assert "Høst 2026, All modules: not measured: only 1 of 8 rated." in chart.notes
    assert any(note.startswith("Hollow markers: not measured.") for note in chart.notes)
    assert chart.table is not None
    assert chart.table.rows[2][1] == "83.3 % (not measured: only 3 of 4 rated)"


def test_it_says_ikke_målt_to_the_norwegian_reader() -> None:
    rows = [fidelity(1, None, 2, 2, unrated=7)]

    with translation.override("nb"):
        nb = figures.fidelity_over_rounds(rows, rounds=[VÅR], modules=[])
    with translation.override("nn"):
        nn = figures.fidelity_over_rounds(rows, rounds=[VÅR], modules=[])

    assert nb.table is not None and nn.table is not None
    assert nb.table.rows[0][1] == "100,0 % (ikke målt: bare 1 av 8 vurdert)"
    assert nn.table.rows[0][1] == "100,0 % (ikkje målt: berre 1 av 8 vurdert)"


# --- Component status ----------------------------------------------------------------------


def component(key: str, history: list[tuple[date, str]], number: int = 1) -> ComponentStatusRow:
    return ComponentStatusRow(
        adoption_id=number, key=key, title=f"Component {key}", module_number=int(key[0]),
        component_number=number, is_local=False, status=history[-1][1],
        status_since=history[-1][0],
        history=tuple(StatusChangeRow(on=on, status=status) for on, status in history),
    )


def test_it_colours_each_month_by_the_status_at_its_end() -> None:
    rows = [
        component("1.2", [(date(2026, 1, 5), "planned"), (date(2026, 3, 10), "in_progress"),
                          (date(2026, 5, 31), "in_place")], number=2),
        component("1.1", [(date(2026, 4, 2), "in_progress")], number=1),
    ]

    chart = figures.component_status(rows, as_of=date(2026, 6, 15))

    assert chart.figure is not None
    heatmap = chart.figure["data"][0]
    assert heatmap["x"] == ["January 2026", "February 2026", "March 2026", "April 2026",
                            "May 2026", "June 2026"]
    assert heatmap["y"] == ["1.1 Component 1.1", "1.2 Component 1.2"]
    assert heatmap["z"] == [
        [None, None, None, 1, 1, 1],  # adopted in April: no colour before
        [0, 0, 1, 1, 2, 2],
    ]
    assert heatmap["colorbar"]["ticktext"] == ["planned", "in progress", "in place",
                                               "discontinued"]
    scale_colours = {stop[1] for stop in heatmap["colorscale"]}
    assert scale_colours == set(STATUS_COLOURS.values())


def test_it_explains_a_school_without_adoptions() -> None:
    chart = figures.component_status([], as_of=date(2026, 6, 15))

    assert chart.figure is None
    assert chart.empty is not None and "has not adopted any components yet" in chart.empty


# --- Stage timeline ------------------------------------------------------------------------


def stage(module: ModuleRef, name: str, order: int, entered: date | None, exited: date | None,
          done: int = 0, total: int = 0, as_of: date = date(2026, 6, 1)) -> StageRow:
    days = None if entered is None else ((exited or as_of) - entered).days
    return StageRow(
        school_id=1, module_id=module.id, module_number=module.number, stage=name,
        stage_order=order, entered_on=entered, exited_on=exited,
        ongoing=entered is not None and exited is None, days=days, steps_total=total,
        steps_done=done, steps_cancelled=0, steps_share=D(done) / total if total else None,
        is_furthest=False, as_of=as_of,
    )


def step(pk: int, module: ModuleRef, due: date, status: str) -> StepRow:
    return StepRow(id=pk, module_id=module.id, stage="exploration", action=f"Step {pk}",
                   due_on=due, status=status,
                   done_on=due if status == "done" else None)


def test_it_draws_stage_periods_as_bars_and_steps_as_markers() -> None:
    as_of = date(2026, 6, 1)
    stages = [
        stage(M1, "exploration", 1, date(2026, 1, 1), date(2026, 3, 1), done=2, total=2),
        stage(M1, "installation", 2, date(2026, 3, 1), None, done=1, total=3),
    ]
    steps = [
        step(1, M1, date(2026, 2, 1), "done"),
        step(2, M1, date(2026, 4, 1), "not_started"),  # overdue
        step(3, M1, date(2026, 9, 1), "in_progress"),
        step(4, M1, date(2026, 9, 2), "cancelled"),
    ]

    chart = figures.stage_timeline(stages, steps, modules=[M1, M2], as_of=as_of)

    assert chart.figure is not None
    exploration = trace(chart.figure, "Exploration")
    installation = trace(chart.figure, "Installation")
    assert exploration["base"] == ["2026-01-01"]
    assert exploration["x"] == [59 * 86_400_000]
    assert installation["x"] == [92 * 86_400_000]  # ongoing: up to as_of
    assert installation["marker"]["pattern"]["shape"] == ["/"]
    assert exploration["marker"]["color"] == STAGE_COLOURS["exploration"]
    assert trace(chart.figure, "Step done")["x"] == ["2026-02-01"]
    assert trace(chart.figure, "Step overdue")["x"] == ["2026-04-01"]
    assert trace(chart.figure, "Step not done yet")["x"] == ["2026-09-01"]  # cancelled left out
    assert "1 of 3 steps done" in installation["customdata"][0]
    assert "2. Veiledningsarbeid: no strategy steps are planned yet." in chart.notes


def test_it_explains_a_plan_without_stages_or_steps() -> None:
    chart = figures.stage_timeline([], [], modules=[M1], as_of=date(2026, 6, 1))

    assert chart.figure is None
    assert chart.empty is not None and "No implementation stages or strategy steps" in chart.empty
    assert chart.notes == ["1. Organisatorisk utviklingsarbeid: no strategy steps are planned yet."]


# --- Outcomes ------------------------------------------------------------------------------


def outcome(round_id: int, code: str, n: int, mean: str | None, sd: str | None = None,
            incomplete: int = 0) -> OutcomeRow:
    return OutcomeRow(school_id=1, round_id=round_id, instrument=code, n=n,
                      n_incomplete=incomplete, mean=D(mean) if mean else None,
                      sd=D(sd) if sd else None)


def test_it_plots_outcome_means_with_n_and_sus_on_its_own_axis() -> None:
    rows = [
        outcome(1, "aim", 3, "4.25", "0.50"), outcome(2, "aim", 4, "4.50", "0.41"),
        outcome(1, "sus", 2, "72.5", "3.5"), outcome(2, "fim", 0, None, incomplete=2),
    ]

    chart = figures.outcomes_over_rounds(rows, rounds=[VÅR, HØST])

    assert chart.figure is not None
    aim = trace(chart.figure, "Acceptability (AIM)")
    sus = trace(chart.figure, "Usability (SUS)")
    assert aim["y"] == [4.25, 4.5]
    assert aim["customdata"][0] == "4.25 (n = 3, sd 0.50)"
    assert sus["y"] == [72.5, None] and sus["yaxis"] == "y2"
    assert [t["name"] for t in chart.figure["data"]] == ["Acceptability (AIM)",
                                                         "Usability (SUS)"]  # FIM: n = 0
    assert "2 answers with missing items are left out of the means." in chart.notes


def test_it_explains_a_round_without_complete_survey_answers() -> None:
    chart = figures.outcomes_over_rounds([outcome(1, "aim", 0, None, incomplete=1)],
                                         rounds=[VÅR])

    assert chart.figure is None
    assert chart.empty is not None and "No complete staff survey answers" in chart.empty


# --- Determinants --------------------------------------------------------------------------


def cfir(level: str, code: str, domain: str, position: int, mean: str | None, n: int = 1,
         label: str = "") -> CfirRow:
    value = D(mean) if mean is not None else None
    return CfirRow(
        school_id=1, round_id=2, level=level, code=code, domain_code=domain, position=position,
        n=n if value is not None else 0, n_missing=0 if value is not None else 1,
        n_barrier=int(value is not None and value < 0), n_neutral=int(value == 0),
        n_facilitator=int(value is not None and value > 0), mean=value, label=label or code,
    )


def test_it_draws_determinants_as_diverging_bars_grouped_by_domain() -> None:
    rows = [
        cfir("construct", "I.A", "I", 1, "2.00", label="Kilde"),
        cfir("construct", "I.B", "I", 2, "-1.00", label="Kunnskapsgrunnlag"),
        cfir("construct", "I.C", "I", 3, None, label="Relativ fordel"),
        cfir("construct", "III.B", "III", 20, "-2.00", label="Relasjoner"),
        cfir("domain", "I", "I", 1, "0.50"),
        cfir("domain", "III", "III", 3, "-2.00"),
    ]

    chart = figures.determinants(rows, assessment_round=HØST,
                                 domain_labels={"I": "Innovasjonen", "III": "Indre kontekst"})

    assert chart.figure is not None
    bars = chart.figure["data"][0]
    assert bars["y"] == ["<b>I. Innovasjonen</b> (mean +0.50)", "I.A Kilde",
                         "I.B Kunnskapsgrunnlag", "<b>III. Indre kontekst</b> (mean −2.00)",
                         "III.B Relasjoner"]
    assert bars["x"] == [None, 2.0, -1.0, None, -2.0]
    assert bars["marker"]["color"][1:3] == [BLUE, VERMILLION]
    assert bars["text"][1:3] == ["+2.00", "−1.00"]
    assert chart.figure["layout"]["xaxis"]["tickvals"] == [-2, -1, 0, 1, 2]
    assert "1 construct was not rated (left out; not the same as neutral)." in chart.notes
    assert chart.title.endswith("Høst 2026")


def test_it_explains_determinants_that_were_never_rated() -> None:
    never = figures.determinants([], assessment_round=None)
    unrated = figures.determinants([cfir("construct", "I.A", "I", 1, None)],
                                   assessment_round=HØST)

    assert never.figure is None and never.empty is not None
    assert "has not rated the determinants" in never.empty
    assert unrated.figure is None
    assert unrated.empty == "No determinant (CFIR construct) was rated in Høst 2026."


# --- Time use ------------------------------------------------------------------------------


def plan_row(kind: str, module: ModuleRef | None, minutes: int, total: int,
             intended: int | None, plan_id: int | None = 7) -> TimePlanRow:
    share = (D(minutes * 100) / total).quantize(D("0.1"), ROUND_HALF_UP) if total else None
    return TimePlanRow(
        school_id=1, kind=kind, module_id=module.id if module else None,
        module_number=module.number if module else None, minutes=minutes,
        total_minutes=total, share_percent=share, intended_percent=intended, plan_id=plan_id,
        period_from=date(2026, 1, 1) if plan_id else None, period_to=None,
    )


def test_it_compares_the_schools_planned_and_acute_work_with_their_plans() -> None:
    lade = replace(plan_row("systematic", None, 45, 180, None, plan_id=None), school_id=2)

    chart = figures.time_use_comparison(
        [plan_row("systematic", None, 90, 120, 60), lade], schools=[ILA, LADE, ROSTEN])

    assert chart.figure is not None
    traces = {t["name"]: t for t in chart.figure["data"]}
    systematic = traces["Planned and system level"]
    acute = traces["Acute and outreach"]
    intended = traces["Intended in the plan"]
    assert systematic["y"] == [f'<a href="{ILA.url}">Ila skole</a>',
                               f'<a href="{LADE.url}">Lade skole</a>']
    assert (systematic["x"], acute["x"]) == ([75.0, 25.0], [25.0, 75.0])
    assert (intended["y"], intended["x"]) == ([systematic["y"][0]], [60])  # Lade: no plan
    assert chart.notes == ["No time logged: Rosten skole."]
    assert chart.table is not None
    assert [row[-1] for row in chart.table.rows] == ["2", "3"]  # logged hours


def test_it_explains_a_comparison_without_logged_time() -> None:
    chart = figures.time_use_comparison([], schools=[ILA])

    assert chart.figure is None and chart.empty and "No school has logged" in chart.empty


def test_it_sets_logged_time_per_module_against_the_plan() -> None:
    rows = [plan_row("module", M1, 135, 400, 20), plan_row("module", M2, 120, 400, 30),
            plan_row("module", M3, 145, 400, None), plan_row("systematic", None, 265, 400, 60)]

    chart = figures.time_share_vs_plan(rows, modules=[M1, M2, M3])

    assert chart.figure is not None
    assert trace(chart.figure, "Logged share")["y"] == [33.8, 30.0, 36.3]
    assert trace(chart.figure, "Intended in the plan")["y"] == [20, 30, None]
    assert trace(chart.figure, "Logged share")["marker"]["color"] == BLUE
    assert "3. Elevrettet arbeid: the plan sets no intended share." in chart.notes


def test_it_sets_acute_and_outreach_against_systematic_work() -> None:
    rows = [plan_row("systematic", None, 265, 400, 60)]

    chart = figures.systematic_vs_plan(rows)

    assert chart.figure is not None
    systematic = trace(chart.figure, "Planned and system level")
    acute = trace(chart.figure, "Acute and outreach")
    assert systematic["y"] == ["Logged time", "Intended in the plan"]
    assert systematic["x"] == [66.3, 60.0]
    assert acute["x"] == [33.7, 40.0]
    assert (systematic["marker"]["color"], acute["marker"]["color"]) == (BLUE, VERMILLION)


def test_it_stacks_logged_hours_per_month_by_kind_of_work() -> None:
    rows = [
        TimeUseRow(1, date(2026, 2, 1), M1.id, 1, "akutt", 90, 2),
        TimeUseRow(1, date(2026, 2, 1), M2.id, 2, "akutt", 30, 1),
        TimeUseRow(1, date(2026, 2, 1), M2.id, 2, "planlagt", 120, 1),
        TimeUseRow(1, date(2026, 4, 1), M3.id, 3, "systemniva", 45, 1),
    ]

    chart = figures.time_by_month(rows)

    assert chart.figure is not None
    assert chart.figure["layout"]["barmode"] == "stack"
    acute = trace(chart.figure, "Acute")
    assert acute["x"] == ["February 2026", "March 2026", "April 2026"]
    assert acute["y"] == [2.0, 0.0, 0.0]
    assert trace(chart.figure, "Planned")["y"] == [2.0, 0.0, 0.0]
    assert trace(chart.figure, "System level")["y"] == [0.0, 0.0, 0.8]
    assert "3 activities" in acute["customdata"][0]
    assert [t["name"] for t in chart.figure["data"]] == ["Planned", "System level", "Acute"]
    assert acute["marker"]["color"] == VERMILLION


@pytest.mark.parametrize("build", [
    lambda: figures.time_by_month([]),
    lambda: figures.systematic_vs_plan([]),
    lambda: figures.time_share_vs_plan([], modules=[M1]),
])
def test_it_explains_a_school_that_has_logged_no_time(build: Any) -> None:
    chart = build()

    assert chart.figure is None
    assert chart.empty is not None and "No activities have been logged yet" in chart.empty


def test_it_says_the_plan_intends_shares_when_no_time_is_logged_in_its_period() -> None:
    chart = figures.time_share_vs_plan([plan_row("module", M1, 0, 0, 40)], modules=[M1])

    assert chart.figure is None
    assert chart.empty is not None and "in the plan period" in chart.empty
    assert chart.table is not None and chart.table.rows[0][3] == "40 %"


# --- Coordinator: heatmap, spread, stage progress, response rates --------------------------


def test_it_shows_every_school_and_module_in_the_fidelity_heatmap() -> None:
    rows = [
        fidelity(2, M1, 4, 4, school_id=1), fidelity(2, M2, 1, 2, school_id=1),
        fidelity(2, None, 5, 6, school_id=1),
        fidelity(2, M1, 1, 4, school_id=2), fidelity(2, None, 1, 4, school_id=2),
    ]

    chart = figures.fidelity_heatmap(rows, schools=[ILA, LADE, ROSTEN], modules=[M1, M2],
                                     assessment_round=HØST, round_school_ids=[1, 2, 3])

    assert chart.figure is not None
    heatmap = chart.figure["data"][0]
    assert heatmap["x"] == ["1. Organisatorisk<br>utviklingsarbeid", "2. Veiledningsarbeid",
                            "All modules"]
    assert heatmap["y"] == ['<a href="/dashboards/skoler/1/">Ila skole</a>',
                            '<a href="/dashboards/skoler/2/">Lade skole</a>',
                            '<a href="/dashboards/skoler/3/">Rosten skole</a>']
    assert heatmap["z"] == [[100.0, 50.0, 83.3], [25.0, None, 25.0], [None, None, None]]
    assert heatmap["text"][0] == ["100.0 ✓", "50.0", "83.3 ✓"]
    assert heatmap["text"][2] == ["–", "–", "–"]
    assert heatmap["zmin"] == 0 and heatmap["zmax"] == 100
    assert [stop[1] for stop in heatmap["colorscale"]] == [VERMILLION, "#F7F7F7", BLUE]
    assert heatmap["colorscale"][1][0] == pytest.approx(0.7)  # white at the threshold
    assert "No fidelity self-assessment in this round from: Rosten skole." in chart.notes
    assert chart.table is not None
    assert chart.table.rows[0][1:] == ["100.0 % (2 of 2 rated) ✓", "50.0 % (1 of 1 rated)",
                                       "83.3 % (3 of 3 rated) ✓"]


def test_it_greys_out_a_school_whose_score_is_not_measured_in_the_heatmap() -> None:
    rows = [
        fidelity(2, M1, 4, 4, school_id=1), fidelity(2, None, 4, 4, school_id=1),
        # Lade rated 1 of 8: 100 %, but not measured
        fidelity(2, M1, 2, 2, unrated=7, school_id=2), fidelity(2, None, 2, 2, unrated=7,
                                                                 school_id=2),
    ]

    chart = figures.fidelity_heatmap(rows, schools=[ILA, LADE], modules=[M1],
                                     assessment_round=HØST)

    assert chart.figure is not None
    scored, unmeasured = chart.figure["data"]
    assert scored["z"] == [[100.0, 100.0], [None, None]]  # not coloured as 100 %
    assert unmeasured["z"] == [[None, None], [100.0, 100.0]]
    assert unmeasured["text"][1] == ["(100.0)", "(100.0)"]
    assert unmeasured["showscale"] is False
    assert "not measured: only 1 of 8 rated" in unmeasured["customdata"][1][1]
    assert chart.table is not None
    assert chart.table.rows[1] == ["Lade skole", "100.0 % (not measured: only 1 of 8 rated)",
                                   "100.0 % (not measured: only 1 of 8 rated)"]
    assert any(note.startswith("(In brackets) = not measured") for note in chart.notes)


@pytest.mark.parametrize(
    ("assessment_round", "expected"),
    [
        (None, "No assessment round has been opened yet."),
        (VÅR, "No school has submitted a fidelity self-assessment in Vår 2026 yet."),
    ],
)
def test_it_explains_a_round_without_answers_in_the_heatmap(
    assessment_round: RoundRef | None, expected: str
) -> None:
    chart = figures.fidelity_heatmap([], schools=[ILA], modules=[M1],
                                     assessment_round=assessment_round)

    assert chart.figure is None
    assert chart.empty is not None and chart.empty.startswith(expected)


def spread(round_id: int, low: str, median: str, high: str, mean: str, sd: str | None,
           n: int = 3, meets: int = 1) -> SpreadRow:
    return SpreadRow(metric="fidelity", round_id=round_id, module_id=None, module_number=None,
                     key="", n_schools=n, minimum=D(low), median=D(median), maximum=D(high),
                     mean=D(mean), sd=D(sd) if sd else None, n_meets_threshold=meets)


def test_it_shows_the_spread_across_schools_as_a_band_with_median_and_sd() -> None:
    rows = [spread(2, "43.8", "58.3", "70.0", "57.37", "13.10"),
            spread(1, "40.0", "50.0", "60.0", "50.00", "10.00")]

    chart = figures.fidelity_spread(rows, rounds=[VÅR, HØST], thresholds={1: 70, 2: 70})

    assert chart.figure is not None
    top, band, median, mean = chart.figure["data"][:4]
    assert top["y"] == [60.0, 70.0]
    assert band["y"] == [40.0, 43.8] and band["fill"] == "tonexty"
    assert median["y"] == [50.0, 58.3] and median["x"] == ["Vår 2026", "Høst 2026"]
    assert mean["y"] == [50.0, 57.37]
    assert mean["error_y"]["array"] == [10.0, 13.1]
    assert "1 of 3 reach the threshold" in median["customdata"][1]
    assert trace(chart.figure, "Threshold (70 %)")["y"] == [70, 70]


def test_it_explains_a_spread_with_nothing_to_compare() -> None:
    chart = figures.fidelity_spread([], rounds=[VÅR])

    assert chart.figure is None
    assert chart.empty is not None and "No fidelity self-assessments to compare" in chart.empty


def test_it_shows_the_furthest_stage_of_every_school_and_module() -> None:
    rows = [
        StageProgressRow(1, M1.id, 1, "initial", 3, date(2026, 3, 1), 92, 5, 8),
        StageProgressRow(1, M2.id, 2, None, None, None, None, 0, 4),
        StageProgressRow(2, M1.id, 1, "exploration", 1, date(2026, 5, 1), 31, 0, 0),
    ]

    chart = figures.stage_progress(rows, schools=[ILA, LADE], modules=[M1, M2])

    assert chart.figure is not None
    heatmap = chart.figure["data"][0]
    assert heatmap["z"] == [[3, None], [1, None]]
    assert heatmap["text"] == [["3 · 62 %", "– · 0 %"], ["1", "–"]]
    assert {stop[1] for stop in heatmap["colorscale"]} == set(STAGE_COLOURS.values())
    assert "5 of 8 steps done" in heatmap["customdata"][0][0]


def test_it_explains_a_municipality_without_stages() -> None:
    chart = figures.stage_progress([], schools=[ILA], modules=[M1])

    assert chart.figure is None
    assert chart.empty is not None
    assert "No school has recorded an implementation stage" in chart.empty


def test_it_computes_response_rates_per_round() -> None:
    rows = [
        ResponseRateSummaryRow(2, "aim", "individual", 3, 2, 9, 2, 7, 10, 7),
        ResponseRateSummaryRow(2, "sus", "individual", 3, 2, 8, 1, 7, 10, 7),
        ResponseRateSummaryRow(2, "fidelity", "team", 3, 2, 2, 0, 0, 0, 0),
        ResponseRateSummaryRow(2, "cfir", "team", 3, 1, 1, 0, 0, 0, 0),
        ResponseRateSummaryRow(1, "fidelity", "team", 2, 2, 2, 0, 0, 0, 0),
    ]

    chart = figures.response_rates(rows, rounds=[VÅR, HØST])

    assert chart.figure is not None
    links = trace(chart.figure, "Survey links answered")
    assert links["x"] == ["Vår 2026", "Høst 2026"]
    assert links["y"] == [None, 70.0]
    assert links["customdata"][1].startswith("7 of 10 links answered")
    assert trace(chart.figure, "Schools with a fidelity self-assessment")["y"] == [100.0, 66.7]
    assert trace(chart.figure, "Schools with a CFIR rating")["y"] == [None, 33.3]
    fidelity_bars = trace(chart.figure, "Schools with a fidelity self-assessment")
    cfir_bars = trace(chart.figure, "Schools with a CFIR rating")
    assert (fidelity_bars["marker"]["color"], cfir_bars["marker"]["color"]) == (
        ORANGE, BLUISH_GREEN)


# --- Every figure -------------------------------------------------------------------------


def every_chart() -> list[figures.Chart]:
    as_of = date(2026, 6, 1)
    return [
        figures.fidelity_over_rounds([fidelity(1, M1, 3, 4), fidelity(1, None, 3, 4)],
                                     rounds=[VÅR], modules=[M1]),
        figures.component_status([component("1.1", [(date(2026, 1, 5), "planned")])],
                                 as_of=as_of),
        figures.stage_timeline([stage(M1, "initial", 3, date(2026, 1, 1), None)],
                               [step(1, M1, date(2026, 2, 1), "done")], modules=[M1],
                               as_of=as_of),
        figures.outcomes_over_rounds([outcome(1, "iam", 2, "3.50", "0.71"),
                                      outcome(1, "sus", 2, "70.0")], rounds=[VÅR]),
        figures.determinants([cfir("construct", "I.A", "I", 1, "-1.00"),
                              cfir("construct", "I.B", "I", 2, "0.00")],
                             assessment_round=VÅR),
        figures.time_share_vs_plan([plan_row("module", M1, 60, 60, 50)], modules=[M1]),
        figures.systematic_vs_plan([plan_row("systematic", None, 30, 60, 50)]),
        figures.time_by_month([TimeUseRow(1, date(2026, 2, 1), M1.id, 1, m, 60, 1)
                               for m in ("akutt", "oppsokende", "planlagt", "systemniva")]),
        figures.fidelity_heatmap([fidelity(1, M1, 3, 4), fidelity(1, None, 3, 4)],
                                 schools=[ILA], modules=[M1], assessment_round=VÅR),
        figures.fidelity_spread([spread(1, "40", "50", "60", "50", "10")], rounds=[VÅR]),
        figures.stage_progress([StageProgressRow(1, M1.id, 1, "full", 4, None, None, 1, 2)],
                               schools=[ILA], modules=[M1]),
        figures.response_rates([ResponseRateSummaryRow(1, "cfir", "team", 1, 1, 1, 0, 0, 0, 0)],
                               rounds=[VÅR]),
        figures.time_use_comparison([plan_row("systematic", None, 30, 60, 50)],
                                    schools=[ILA]),
    ]


def test_it_uses_only_the_okabe_ito_palette_and_neutral_greys() -> None:
    palette = {c.upper() for c in OKABE_ITO} | NEUTRALS | {figures.BAND}

    for chart in every_chart():
        assert chart.figure is not None, chart.key
        assert colours_in(chart.figure) - palette == set(), chart.key


def test_it_gives_every_figure_an_accessible_title_and_description() -> None:
    for chart in every_chart():
        assert chart.figure is not None
        layout = chart.figure["layout"]
        assert layout["title"]["text"] == chart.title and chart.title
        assert layout["meta"]["description"] == chart.description and chart.description
        assert chart.table is not None and chart.table.rows, chart.key


def test_it_covers_every_chart_of_both_dashboards() -> None:
    keys = [chart.key for chart in every_chart()]

    assert sorted(keys) == sorted(figures.SCHOOL_CHARTS + figures.MUNICIPALITY_CHARTS)
