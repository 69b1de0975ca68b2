"""Plotly figures of the researcher pages, built on the server as plain figure dicts
(``{"data": [...], "layout": {...}}``) from the selectors' rows. The page embeds them as
JSON (``research_figure`` template filter) and ``research-charts.js`` draws them with the
platform's own plotly.js. Only pseudonyms and protected numbers go in: the figures carry
what the tables next to them show."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from statistics import median
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from dashboards.figures import MODE_COLOURS, NO_VALUE, STAGE_COLOURS
from implementation.models import ActivityMode, Stage
from tenants.validators import COUNTIES

from .models import CellLevel, FidelityFact, OutcomeCell, SizeBand, StageFact
from .pseudonyms import semester_label
from .selectors import ProfileRow

Figure = dict[str, Any]

INDIVIDUAL_SCALES = ("aim", "iam", "fim")
# Okabe & Ito (2008), colour-blind safe, as the dashboards use.
OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)


def instrument_label(code: str) -> str:
    labels = {
        "aim": _("AIM (acceptability)"),
        "iam": _("IAM (appropriateness)"),
        "fim": _("FIM (feasibility)"),
        "sus": _("SUS (usability)"),
    }
    return labels.get(code, code.upper())


def mode_label(code: str) -> str:
    try:
        return str(ActivityMode(code).label)
    except ValueError:
        return code


def stage_label(code: str) -> str:
    try:
        return str(Stage(code).label)
    except ValueError:
        return code


def module_label(number: int | None, titles: Mapping[int, str]) -> str:
    if number is None:
        return _("Overall")
    title = titles.get(number)
    if not title:
        return _("Module %(number)s") % {"number": number}
    short = title if len(title) <= 22 else title[:21].rstrip() + "…"
    return f"{number}. {short}"


def _float(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def _separators() -> str:
    decimal = str(formats.get_format("DECIMAL_SEPARATOR"))
    thousands = str(formats.get_format("THOUSAND_SEPARATOR")) or " "
    return decimal + thousands


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title},
        "colorway": list(OKABE_ITO),
        "separators": _separators(),
        "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
        "legend": {"orientation": "h", "y": -0.2},
        "hovermode": "closest",
        "height": 420,
    }
    layout.update(extra)
    return layout


def _semester_axis(semesters: Sequence[str], title: str = "") -> dict[str, Any]:
    return {
        "title": {"text": title or _("Round (semester)")},
        "type": "category",
        "categoryorder": "array",
        "categoryarray": [semester_label(s) for s in semesters],
    }


# --- Fidelity ------------------------------------------------------------------------------


def fidelity_distribution(
    facts: Iterable[FidelityFact], titles: Mapping[int, str], semester: str
) -> Figure:
    """Box with every school's point per module (and overall) in one semester."""
    rows = sorted(facts, key=lambda f: (f.module_number is None, f.module_number or 0))
    # A score that rests on too few rated components is not a measurement (docs/scoring.md).
    rows = [f for f in rows if f.percent is not None and f.measured]
    thresholds = Counter(f.threshold_percent for f in rows)
    x = [module_label(f.module_number, titles) for f in rows]
    figure: Figure = {
        "data": [
            {
                "type": "box",
                "name": _("Fidelity %"),
                "x": x,
                "y": [_float(f.percent) for f in rows],
                "text": [f.school for f in rows],
                "customdata": [_float(f.rated_share_percent) for f in rows],
                "boxpoints": "all",
                "jitter": 0.4,
                "pointpos": 0,
                "hovertemplate": "%{text}: %{y:.1f} % ("
                + _("%(share)s %% of the components rated") % {"share": "%{customdata:.0f}"}
                + ")<extra></extra>",
            }
        ],
        "layout": _layout(
            _("Fidelity per module, %(semester)s") % {"semester": semester_label(semester)},
            yaxis={"title": {"text": _("Fidelity %")}, "range": [-5, 105]},
            xaxis={"type": "category", "automargin": True},
            showlegend=False,
        ),
    }
    if thresholds:
        threshold = thresholds.most_common(1)[0][0]
        figure["layout"]["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": threshold,
                "y1": threshold,
                "line": {"dash": "dash", "width": 1},
            }
        ]
        figure["layout"]["annotations"] = [
            {
                "xref": "paper",
                "x": 1,
                "y": threshold,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "text": _("threshold %(percent)s %%") % {"percent": threshold},
            }
        ]
    return figure


def fidelity_over_time(
    facts: Iterable[FidelityFact],
    by_school: Mapping[tuple[str, str], tuple[Decimal, bool]],
    semesters: Sequence[str],
) -> Figure:
    """Overall fidelity of every measured school round per semester, and the share of
    schools (each counted once: its rounds of the semester pooled) at or above the
    threshold."""
    overall = [
        f for f in facts if f.module_number is None and f.percent is not None and f.measured
    ]
    schools: dict[str, list[bool]] = defaultdict(list)
    for (_school, semester), (_percent, meets) in by_school.items():
        schools[semester].append(meets)
    shown = [s for s in semesters if schools.get(s)]
    return {
        "data": [
            {
                "type": "box",
                "name": _("Overall fidelity % (school rounds)"),
                "x": [semester_label(f.semester) for f in overall],
                "y": [_float(f.percent) for f in overall],
                "text": [f.school for f in overall],
                "boxpoints": "all",
                "jitter": 0.4,
                "pointpos": 0,
                "hovertemplate": "%{text}: %{y:.1f} %<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Schools at or above the threshold (%)"),
                "x": [semester_label(s) for s in shown],
                "y": [round(100 * sum(schools[s]) / len(schools[s]), 1) for s in shown],
                "customdata": [len(schools[s]) for s in shown],
                "hovertemplate": "%{y:.1f} % (" + _("schools") + ": %{customdata})"
                "<extra></extra>",
            },
        ],
        "layout": _layout(
            _("Overall fidelity over rounds"),
            xaxis=_semester_axis(shown),
            yaxis={"title": {"text": "%"}, "range": [-5, 105]},
        ),
    }


# --- Outcomes ------------------------------------------------------------------------------


def outcomes_over_time(
    cells: Iterable[OutcomeCell], semesters: Sequence[str], instruments: Sequence[str]
) -> Figure:
    """Pooled means of the filtered group per semester, one line per instrument. Every cell
    pools released groups of at least k respondents; a semester without one is a gap."""
    cells = [c for c in cells if c.instrument in instruments]
    by_key = {(c.instrument, c.semester): c for c in cells}
    sus = list(instruments) == ["sus"]
    data: list[dict[str, Any]] = []
    for instrument in instruments:
        present = [s for s in semesters if (instrument, s) in by_key]
        if not present:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": instrument_label(instrument),
                "x": [semester_label(s) for s in present],
                "y": [_float(by_key[(instrument, s)].mean) for s in present],
                "customdata": [
                    [by_key[(instrument, s)].n, _float(by_key[(instrument, s)].sd)] for s in present
                ],
                "connectgaps": False,
                "hovertemplate": "%{y:.2f} (n = %{customdata[0]}, SD %{customdata[1]:.2f})"
                "<extra>%{fullData.name}</extra>",
            }
        )
    title = (
        _("Usability (SUS) over rounds")
        if sus
        else _("Acceptability, appropriateness and feasibility over rounds")
    )
    return {
        "data": data,
        "layout": _layout(
            title,
            xaxis=_semester_axis(semesters),
            yaxis={
                "title": {"text": _("Score (0–100)") if sus else _("Mean score (1–5)")},
                "range": [-2, 102] if sus else [0.8, 5.2],
            },
        ),
    }


def outcome_school_spread(cells: Iterable[OutcomeCell], semester: str) -> Figure:
    """The schools' means per instrument in one semester (schools with a released group)."""
    shown = [c for c in cells if c.semester == semester]
    data = []
    for instrument in INDIVIDUAL_SCALES:
        rows = [c for c in shown if c.instrument == instrument]
        if rows:
            data.append(
                {
                    "type": "box",
                    "name": instrument_label(instrument),
                    "y": [_float(c.mean) for c in rows],
                    "text": [f"{c.school} (n = {c.n})" for c in rows],
                    "boxpoints": "all",
                    "jitter": 0.4,
                    "pointpos": 0,
                    "hovertemplate": "%{text}: %{y:.2f}<extra></extra>",
                }
            )
    return {
        "data": data,
        "layout": _layout(
            _("Schools' means, %(semester)s")
            % {"semester": semester_label(semester)},
            yaxis={"title": {"text": _("Mean score (1–5)")}, "range": [0.8, 5.2]},
            showlegend=False,
        ),
    }


# --- Stages --------------------------------------------------------------------------------


def stage_progress(facts: Iterable[StageFact], titles: Mapping[int, str]) -> Figure:
    """Per module, how many schools are in each stage (their furthest stage entered)."""
    facts = list(facts)
    modules = sorted({f.module_number for f in facts})
    schools_by_module: dict[int, set[str]] = defaultdict(set)
    furthest: dict[tuple[int, str], int] = Counter()
    for fact in facts:
        schools_by_module[fact.module_number].add(fact.school)
        if fact.is_furthest:
            furthest[(fact.module_number, fact.stage)] += 1
    labels = [module_label(m, titles) for m in modules]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "name": _("no stage entered"),
            "marker": {"color": NO_VALUE},
            "y": labels,
            "x": [
                len(schools_by_module[m]) - sum(furthest[(m, s)] for s in Stage.values)
                for m in modules
            ],
        }
    ]
    for stage in Stage:
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": str(stage.label),
                "marker": {"color": STAGE_COLOURS[stage.value]},
                "y": labels,
                "x": [furthest[(m, stage.value)] for m in modules],
            }
        )
    return {
        "data": data,
        "layout": _layout(
            _("Current stage per module (number of schools)"),
            barmode="stack",
            height=max(300, 140 + 60 * len(modules)),
            legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
            xaxis={"title": {"text": _("Schools")}},
            yaxis={"automargin": True, "autorange": "reversed"},
        ),
    }


def stage_durations(facts: Iterable[StageFact]) -> Figure:
    """Semesters spent in each stage (finished and ongoing stages), all modules."""
    rows = [f for f in facts if f.semesters is not None]
    return {
        "data": [
            {
                "type": "box",
                "name": _("Semesters in stage"),
                "x": [stage_label(f.stage) for f in rows],
                "y": [f.semesters for f in rows],
                "text": [f"{f.school}, {f.module_number}" for f in rows],
                "boxpoints": "outliers",
                "hovertemplate": "%{text}: %{y}<extra></extra>",
            }
        ],
        "layout": _layout(
            _("Time in stage (semesters)"),
            xaxis={
                "type": "category",
                "categoryorder": "array",
                "categoryarray": [str(s.label) for s in Stage],
            },
            yaxis={"title": {"text": _("Semesters")}, "rangemode": "tozero", "dtick": 1},
            showlegend=False,
        ),
    }


def stage_table(facts: Iterable[StageFact], titles: Mapping[int, str]) -> list[dict[str, Any]]:
    """Per module × stage: schools that entered it, median semesters in it, mean share of
    steps done."""
    grouped: dict[tuple[int, int, str], list[StageFact]] = defaultdict(list)
    for fact in facts:
        grouped[(fact.module_number, fact.stage_order, fact.stage)].append(fact)
    table = []
    for (module, _order, stage), rows in sorted(grouped.items()):
        durations = [f.semesters for f in rows if f.semesters is not None]
        shares = [f.steps_share for f in rows if f.steps_share is not None]
        table.append(
            {
                "module": module_label(module, titles),
                "stage": stage_label(stage),
                "entered": len({f.school for f in rows if f.entered_semester}),
                "median_semesters": median(durations) if durations else None,
                "steps_share": (round(100 * sum(shares) / len(shares), 0) if shares else None),
                "schools_with_steps": len({f.school for f in rows if f.steps_share is not None}),
            }
        )
    return table


# --- Tables --------------------------------------------------------------------------------


def outcome_parts_table(cells: Iterable[OutcomeCell], parts_level: str) -> dict[str, Any]:
    """The parts of the chosen group (``selectors.outcome_group_level``) as a table: only
    the columns that tell the parts apart (counties have no size band or municipality),
    counties and size bands by name, as the filter names them."""
    by_level: dict[str, tuple[str, ...]] = {
        CellLevel.COUNTY.value: ("county",),
        CellLevel.COUNTY_BAND.value: ("county", "size_band"),
        CellLevel.MUNICIPALITY.value: ("county", "size_band", "municipality"),
    }
    keys = by_level.get(str(parts_level), ("county", "size_band", "municipality"))
    headers = {"county": _("County"), "size_band": _("Municipality size"),
               "municipality": _("Municipality")}
    bands = dict(SizeBand.choices)

    def name(key: str, cell: OutcomeCell) -> str:
        value = str(getattr(cell, key))
        if key == "county":
            return COUNTIES.get(value, value)
        if key == "size_band":
            return str(bands.get(value, value))
        return value

    return {
        "columns": [headers[key] for key in keys],
        "rows": [{"cell": cell, "keys": [name(key, cell) for key in keys]} for cell in cells],
    }


# --- Determinants --------------------------------------------------------------------------


def cfir_profile_figure(
    rows: Sequence[ProfileRow],
    constructs: Mapping[str, str],
    domains: Mapping[str, str],
    *,
    level: str,
) -> Figure:
    """Mean rating (−2 … +2) per construct or domain: all schools, high and low fidelity."""
    rows = [r for r in rows if r.level == level]
    names = domains if level == "domain" else constructs
    labels = [f"{r.code} {names.get(r.code, '')}".strip() for r in rows]
    series = (
        (_("All schools"), "mean_all", "schools_all"),
        (_("High fidelity (≥ threshold)"), "mean_high", "schools_high"),
        (_("Low fidelity (< threshold)"), "mean_low", "schools_low"),
    )
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": labels,
            "x": [_float(getattr(r, mean)) for r in rows],
            "customdata": [getattr(r, count) for r in rows],
            "hovertemplate": "%{x:.2f} (" + _("schools") + ": %{customdata})"
            "<extra>%{fullData.name}</extra>",
        }
        for name, mean, count in series
    ]
    title = (
        _("Determinants per domain (CFIR)")
        if level == "domain"
        else _("Determinants per construct (CFIR)")
    )
    return {
        "data": data,
        "layout": _layout(
            title,
            barmode="group",
            height=max(360, 70 + 42 * len(rows)),
            xaxis={
                "title": {"text": _("−2 strong barrier … +2 strong facilitator")},
                "range": [-2.1, 2.1],
                "zeroline": True,
            },
            yaxis={"automargin": True, "autorange": "reversed"},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        ),
    }


# --- Time use ------------------------------------------------------------------------------


def time_use_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """The filtered group's share of logged time by mode per semester (its own cell:
    released time-use groups only), stacked to 100 %."""
    modes = [m.value for m in ActivityMode]
    by_key = {(r["semester"], r["mode"]): r for r in rows}
    semesters = sorted({r["semester"] for r in rows}, key=lambda code: next(
        r["semester_index"] for r in rows if r["semester"] == code))
    staff = {r["semester"]: r["staff"] for r in rows}
    data = [
        {
            "type": "bar",
            "name": mode_label(mode),
            "marker": {"color": MODE_COLOURS[mode]},
            "x": [semester_label(s) for s in semesters],
            "y": [
                _float(by_key[(s, mode)]["share"]) if (s, mode) in by_key else 0.0
                for s in semesters
            ],
            "customdata": [staff[s] for s in semesters],
            "hovertemplate": "%{y:.1f} % (" + _("staff") + ": %{customdata})"
            "<extra>%{fullData.name}</extra>",
        }
        for mode in modes
        if any((s, mode) in by_key for s in semesters)
    ]
    return {
        "data": data,
        "layout": _layout(
            _("Share of logged time by mode"),
            barmode="stack",
            xaxis=_semester_axis(semesters),
            yaxis={"title": {"text": "%"}, "range": [0, 100]},
        ),
    }


def _cell(value: Any) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return formats.number_format(round(value, 2), decimal_pos=2 if value % 1 else 0)
    return str(value)


def figure_table(figure: Figure | None) -> dict[str, Any]:
    """Every point of a figure's traces as a table row, for the table alternative under
    the chart: the series (when there is more than one), the category, the point's label
    (a school's pseudonym on box plots) and the value. Built from the figure itself, so
    the table can never show other numbers than the chart."""
    drawn = {"bar", "box", "scatter"}
    traces = [t for t in (figure or {}).get("data", []) if t.get("type") in drawn]
    rows: list[list[str]] = []
    labelled = any(t.get("text") for t in traces)
    for trace in traces:
        horizontal = trace.get("orientation") == "h"
        values = list(trace.get("x" if horizontal else "y") or [])
        categories = list(trace.get("y" if horizontal else "x") or [])
        texts = trace.get("text")
        for i, value in enumerate(values):
            category = categories[i] if i < len(categories) else trace.get("name", "")
            label = texts[i] if isinstance(texts, list) and i < len(texts) else ""
            row = [str(trace.get("name") or ""), str(category)]
            if labelled:
                row.append(str(label))
            row.append(_cell(value))
            rows.append(row)
    headers = [_("Series"), _("Category")] + ([_("Label")] if labelled else []) + [_("Value")]
    if len({row[0] for row in rows}) <= 1:
        headers, rows = headers[1:], [row[1:] for row in rows]
    return {"headers": headers, "rows": rows}
