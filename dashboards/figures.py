"""Plotly figures of the dashboards, built on the server from aggregate rows.

Pure functions: rows in (the dataclasses below, read by ``dashboards.selectors`` or made by
hand in tests), a :class:`Chart` out — the plotly figure as a dict (``data`` + ``layout``,
built with ``plotly.graph_objects`` so every property is validated), the rows it rests on,
an accessible title and description, a table of the same numbers for screen readers and
for readers without JavaScript, and an *explained empty state* when there is nothing to
show. Nothing here touches the database.

Rules every figure keeps:

* **Not measured is not zero.** A missing value is a gap in a line, a grey cell in a
  heatmap or a note under the chart — never a bar of height 0. When nothing at all is
  measured, ``figure`` is None and ``empty`` says why and what to do.
* **Colour-blind safe.** Only the Okabe–Ito palette (Okabe & Ito 2008), and colour is never
  the only cue: lines also differ in marker symbol, statuses and stages are named in the
  hover text and in the table.
* **Language.** Labels are ``gettext`` strings (English source; nb/nn from the catalogue),
  numbers and dates are formatted for the active language (decimal comma in nb/nn) and
  ``layout.separators`` follows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
from django.utils import formats
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _gettext

# --- Palette (Okabe & Ito 2008) ------------------------------------------------------------

BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
OKABE_ITO: tuple[str, ...] = (
    BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE,
)
# Light tints for "no value" cells and bands (still derived from the palette).
NO_VALUE = "#E4E7EB"
BAND = "rgba(0, 114, 178, 0.18)"  # BLUE at 18 %

# Modules keep their colour and marker symbol on every chart; "all modules" is black.
MODULE_COLOURS: dict[int, str] = {
    1: BLUE, 2: ORANGE, 3: BLUISH_GREEN, 4: REDDISH_PURPLE, 5: SKY_BLUE, 6: YELLOW,
}
MODULE_SYMBOLS: dict[int, str] = {
    1: "circle", 2: "square", 3: "diamond", 4: "triangle-up", 5: "triangle-down", 6: "star",
}
OVERALL_COLOUR = BLACK
THRESHOLD_COLOUR = VERMILLION

STAGES: tuple[str, ...] = ("exploration", "installation", "initial", "full", "sustainment")
STAGE_COLOURS: dict[str, str] = {
    "exploration": SKY_BLUE,
    "installation": YELLOW,
    "initial": ORANGE,
    "full": BLUE,
    "sustainment": BLUISH_GREEN,
}

ADOPTION_STATUSES: tuple[str, ...] = ("planned", "in_progress", "in_place", "discontinued")
STATUS_COLOURS: dict[str, str] = {
    "planned": SKY_BLUE,
    "in_progress": ORANGE,
    "in_place": BLUISH_GREEN,
    "discontinued": REDDISH_PURPLE,
}

# Warm colours for acute and outreach work, cool ones for planned and system-level work:
# the trade-off of finding 4 (DESIGN.md §1) reads at a glance.
MODES: tuple[str, ...] = ("planlagt", "systemniva", "oppsokende", "akutt")
MODE_COLOURS: dict[str, str] = {
    "planlagt": BLUE,
    "systemniva": BLUISH_GREEN,
    "oppsokende": ORANGE,
    "akutt": VERMILLION,
}
SYSTEMATIC_MODES = frozenset({"planlagt", "systemniva"})

OUTCOME_INSTRUMENTS: tuple[str, ...] = ("aim", "iam", "fim")
OUTCOME_STYLE: dict[str, tuple[str, str]] = {
    "aim": (BLUE, "circle"),
    "iam": (ORANGE, "square"),
    "fim": (BLUISH_GREEN, "diamond"),
    "sus": (REDDISH_PURPLE, "triangle-up"),
}

MAX_STATUS_MONTHS = 24
LABEL_LENGTH = 48
DAY_MS = 86_400_000


# --- Rows (what the selectors read from the aggregates) ------------------------------------


@dataclass(frozen=True)
class RoundRef:
    id: int
    name: str
    opens_on: date
    is_open: bool = False


@dataclass(frozen=True)
class ModuleRef:
    id: int
    number: int
    title: str


@dataclass(frozen=True)
class SchoolRef:
    id: int
    name: str
    url: str = ""


@dataclass(frozen=True)
class FidelityRow:
    """One ``FidelityAggregate`` row: school × round × module (module None = overall).

    ``rated_count`` components are scored (``not_started_count`` of them as 0 points),
    ``unrated_count`` are left out (not applicable, not assessed); the score is ``measured``
    when the share rated reaches ``min_rated_percent``, and only then is it judged against
    the threshold."""

    school_id: int
    round_id: int
    module_id: int | None
    module_number: int | None
    points: int
    max_points: int
    rated_count: int
    unrated_count: int
    not_started_count: int
    percent: Decimal | None
    rated_share_percent: Decimal | None
    min_rated_percent: int
    measured: bool
    threshold_percent: int
    meets_threshold: bool | None


@dataclass(frozen=True)
class StatusChangeRow:
    """A status the component took on a date."""

    on: date
    status: str


@dataclass(frozen=True)
class ComponentStatusRow:
    """An adopted component with its status history (oldest change first)."""

    adoption_id: int
    key: str
    title: str
    module_number: int
    component_number: int | None
    is_local: bool
    status: str
    status_since: date
    history: tuple[StatusChangeRow, ...] = ()


@dataclass(frozen=True)
class StageRow:
    """One ``StageAggregate`` row: school × module × NIRN stage."""

    school_id: int
    module_id: int
    module_number: int | None
    stage: str
    stage_order: int
    entered_on: date | None
    exited_on: date | None
    ongoing: bool
    days: int | None
    steps_total: int
    steps_done: int
    steps_cancelled: int
    steps_share: Decimal | None
    is_furthest: bool
    as_of: date


@dataclass(frozen=True)
class StepRow:
    """A strategy step of the school's plan (for the markers of the stage timeline)."""

    id: int
    module_id: int
    stage: str
    action: str
    due_on: date
    status: str
    done_on: date | None


@dataclass(frozen=True)
class OutcomeRow:
    """One ``OutcomeAggregate`` row: school × round × instrument (aim, iam, fim, sus)."""

    school_id: int
    round_id: int
    instrument: str
    n: int
    n_incomplete: int
    mean: Decimal | None
    sd: Decimal | None
    n_pooled: int = 0
    n_withheld: int = 0


@dataclass(frozen=True)
class CfirRow:
    """One ``CfirAggregate`` row (construct or domain level) with its catalog label."""

    school_id: int
    round_id: int
    level: str
    code: str
    domain_code: str
    position: int
    n: int
    n_missing: int
    n_barrier: int
    n_neutral: int
    n_facilitator: int
    mean: Decimal | None
    label: str


@dataclass(frozen=True)
class TimeUseRow:
    """One ``TimeUseAggregate`` row: school × month × module × mode."""

    school_id: int
    month: date
    module_id: int
    module_number: int | None
    mode: str
    minutes: int
    activities: int


@dataclass(frozen=True)
class TimePlanRow:
    """One ``TimeUsePlanAggregate`` row (kind ``module`` or ``systematic``)."""

    school_id: int
    kind: str
    module_id: int | None
    module_number: int | None
    minutes: int
    total_minutes: int
    share_percent: Decimal | None
    intended_percent: int | None
    plan_id: int | None
    period_from: date | None
    period_to: date | None


@dataclass(frozen=True)
class SpreadRow:
    """One ``MunicipalitySpread`` row."""

    metric: str
    round_id: int | None
    module_id: int | None
    module_number: int | None
    key: str
    n_schools: int
    minimum: Decimal
    median: Decimal
    maximum: Decimal
    mean: Decimal
    sd: Decimal | None
    n_meets_threshold: int | None


@dataclass(frozen=True)
class StageProgressRow:
    """A school × module: the furthest stage entered (``StageAggregate.is_furthest``; stage
    None when none is entered) and the strategy steps summed over all its stages."""

    school_id: int
    module_id: int
    module_number: int | None
    stage: str | None
    stage_order: int | None
    entered_on: date | None
    days: int | None
    steps_done: int
    steps_total: int


@dataclass(frozen=True)
class ResponseRateSummaryRow:
    """``ResponseRateAggregate`` summed over the schools of a round, per instrument.
    ``links_issued``/``links_used`` are the round's links (a link answers every staff survey
    of the round, so they are the same for each individual instrument)."""

    round_id: int
    instrument: str
    respondent: str
    schools: int
    schools_answered: int
    responses: int
    staff_responses: int
    link_responses: int
    links_issued: int
    links_used: int


# --- The result ----------------------------------------------------------------------------


@dataclass
class Table:
    """The chart's numbers as a table (shown under the chart, read by screen readers)."""

    headers: list[str]
    rows: list[list[str]]


@dataclass
class Chart:
    key: str
    title: str
    description: str
    figure: dict[str, Any] | None = None
    empty: str | None = None
    notes: list[str] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    related: dict[str, list[Any]] = field(default_factory=dict)
    table: Table | None = None

    @property
    def dom_id(self) -> str:
        return f"figure-{self.key}"

    @property
    def data_id(self) -> str:
        return f"figure-{self.key}-data"


# --- Formatting ----------------------------------------------------------------------------


def _f(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


@lru_cache(maxsize=4096)
def _translated(message: str, language: str) -> str:
    return _gettext(message)


def _(message: str) -> str:
    """gettext, remembered per language: figures ask for the same labels hundreds of
    times per page (one hover text per heatmap cell)."""
    return _translated(message, get_language() or "")


def num(value: Decimal | float | int | None, places: int = 1) -> str:
    """A number in the active language ("62,5" in nb, "62.5" in en); "–" for no value."""
    if value is None:
        return "–"
    if -1000 < value < 1000:  # no thousands separator needed: skip Django's formatter
        exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        text = f"{exact:f}"
        if places:
            text = text.replace(".", str(formats.get_format("DECIMAL_SEPARATOR")))
    else:
        text = formats.number_format(Decimal(str(value)), decimal_pos=places,
                                     force_grouping=True)
    return text.replace("-", "−")


def signed(value: Decimal | float | None, places: int = 2) -> str:
    if value is None:
        return "–"
    return ("+" if value > 0 else "") + num(value, places)


def day(value: date | None) -> str:
    return "–" if value is None else formats.date_format(value, "SHORT_DATE_FORMAT")


def month_label(value: date) -> str:
    return formats.date_format(value, "YEAR_MONTH_FORMAT")


def shorten(text: str, length: int = LABEL_LENGTH) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def wrap(text: str, width: int = 18, lines: int = 3) -> str:
    """Break a label into short lines (``<br>``) for axes with little room."""
    words = text.split()
    if len(words) > 1 and len(words[0]) <= 3:  # keep "2." with its first word
        words = [f"{words[0]} {words[1]}", *words[2:]]
    out: list[str] = []
    for word in words:
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = [*out[: lines - 1], shorten(" ".join(out[lines - 1:]), width)]
    return "<br>".join(out)


def module_label(module: ModuleRef | None, number: int | None = None) -> str:
    if module is None:
        return _("Module %(number)s") % {"number": number if number is not None else "?"}
    return f"{module.number}. {module.title}"


@lru_cache(maxsize=256)
def _stage_name(stage: str, language: str) -> str:
    names = {
        "exploration": _("Exploration"),
        "installation": _("Installation"),
        "initial": _("Initial implementation"),
        "full": _("Full implementation"),
        "sustainment": _("Sustainment"),
    }
    return names.get(stage, stage)


def stage_name(stage: str) -> str:
    return _stage_name(stage, get_language() or "")


@lru_cache(maxsize=256)
def _status_name(status: str, language: str) -> str:
    names = {
        "planned": _("planned"),
        "in_progress": _("in progress"),
        "in_place": _("in place"),
        "discontinued": _("discontinued"),
    }
    return names.get(status, status)


def status_name(status: str) -> str:
    return _status_name(status, get_language() or "")


@lru_cache(maxsize=256)
def _step_status_name(status: str, language: str) -> str:
    names = {
        "not_started": _("not started"),
        "in_progress": _("in progress"),
        "done": _("done"),
        "cancelled": _("cancelled"),
    }
    return names.get(status, status)


def step_status_name(status: str) -> str:
    return _step_status_name(status, get_language() or "")


@lru_cache(maxsize=256)
def _mode_name(mode: str, language: str) -> str:
    names = {
        "akutt": _("Acute"),
        "oppsokende": _("Outreach"),
        "planlagt": _("Planned"),
        "systemniva": _("System level"),
    }
    return names.get(mode, mode)


def mode_name(mode: str) -> str:
    return _mode_name(mode, get_language() or "")


@lru_cache(maxsize=256)
def _instrument_name(code: str, language: str) -> str:
    names = {
        "aim": _("Acceptability (AIM)"),
        "iam": _("Appropriateness (IAM)"),
        "fim": _("Feasibility (FIM)"),
        "sus": _("Usability (SUS)"),
        "fidelity": _("Fidelity self-assessment"),
        "cfir": _("Determinants (CFIR)"),
    }
    return names.get(code, code.upper())


def instrument_name(code: str) -> str:
    return _instrument_name(code, get_language() or "")


def _separators() -> str:
    decimal = str(formats.get_format("DECIMAL_SEPARATOR"))
    thousands = str(formats.get_format("THOUSAND_SEPARATOR")) or " "
    return decimal + thousands


# --- Figure scaffolding --------------------------------------------------------------------

_AXIS = {
    "gridcolor": "#E4E7EB",
    "linecolor": "#5B6570",
    "zeroline": False,
    "automargin": True,
    "ticks": "outside",
    "tickcolor": "#5B6570",
}

TEMPLATE = go.layout.Template(
    layout={
        "colorway": [*list(OKABE_ITO[1:]), BLACK],
        "font": {
            "family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
            "size": 13,
            "color": "#1B1F24",
        },
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "hoverlabel": {"font": {"size": 13}, "align": "left"},
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        "margin": {"l": 8, "r": 16, "t": 56, "b": 8},
    }
)


# The template's JSON, put into every figure after it is built: the validation of the
# template's properties then runs once per process, not once per figure.
TEMPLATE_JSON: dict[str, Any] = TEMPLATE.to_plotly_json()


def _figure(
    traces: Sequence[go.BaseTraceType],
    *,
    title: str,
    description: str,
    height: int = 400,
    **layout: Any,
) -> dict[str, Any]:
    fig = go.Figure(
        data=list(traces),
        layout=go.Layout(
            template={},  # ours is added below (plotly's default would be copied around)
            title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
            meta={"description": description},
            separators=_separators(),
            height=height,
            hovermode="closest",
            **layout,
        ),
    )
    figure = fig.to_dict()
    figure["layout"]["template"] = TEMPLATE_JSON  # shared: read-only
    return figure


def _empty(key: str, title: str, description: str, message: str, **extra: Any) -> Chart:
    return Chart(key=key, title=title, description=description, empty=message, **extra)


def _round_order(rounds: Iterable[RoundRef]) -> list[RoundRef]:
    return sorted(rounds, key=lambda r: (r.opens_on, r.name, r.id))


def _modules_by_id(modules: Iterable[ModuleRef]) -> dict[int, ModuleRef]:
    return {m.id: m for m in modules}


def _module_sort(number: int | None) -> int:
    return 999 if number is None else number


# --- School: fidelity per module over rounds -----------------------------------------------


def fidelity_rated(row: FidelityRow) -> str:
    """"4 of 4 rated": how many of the adopted components the score rests on."""
    return ngettext("%(rated)s of %(total)s rated", "%(rated)s of %(total)s rated",
                    row.rated_count) % {"rated": row.rated_count,
                                        "total": row.rated_count + row.unrated_count}


def fidelity_not_measured(row: FidelityRow) -> str:
    """"not measured: only 1 of 8 rated" (fewer rated than the model version's minimum)."""
    return ngettext("not measured: only %(rated)s of %(total)s rated",
                    "not measured: only %(rated)s of %(total)s rated",
                    row.rated_count) % {"rated": row.rated_count,
                                        "total": row.rated_count + row.unrated_count}


def fidelity_label(row: FidelityRow) -> str:
    """"62.5 % (4 of 4 rated)", "100.0 % (not measured: only 1 of 8 rated)"; "–" without a
    score. The share rated always stands next to the score."""
    if row.percent is None:
        return "–"
    share = fidelity_rated(row) if row.measured else fidelity_not_measured(row)
    return f"{num(row.percent)} % ({share})"


def fidelity_hover(row: FidelityRow) -> str:
    """The label with the points it rests on, the components not started and, for a score
    that is not measured, the minimum share rated."""
    if row.rated_count == 0:
        return _("no component rated (%(unrated)s left unrated)") % {"unrated": row.unrated_count}
    text = fidelity_label(row) + " – " + _("%(points)s of %(max)s points") % {
        "points": row.points, "max": row.max_points}
    if row.not_started_count:
        text += ", " + ngettext("%(count)s not started (0 points)",
                                "%(count)s not started (0 points)",
                                row.not_started_count) % {"count": row.not_started_count}
    if not row.measured:
        text += "<br>" + _("A score is measured when at least %(min)s %% of the components "
                           "are rated.") % {"min": row.min_rated_percent}
    return text


def fidelity_over_rounds(
    rows: Sequence[FidelityRow], *, rounds: Sequence[RoundRef], modules: Sequence[ModuleRef]
) -> Chart:
    """Fidelity % per module and overall (pooled) for each round, with the threshold."""
    key = "fidelity"
    title = _("Fidelity per module over the assessment rounds")
    description = _(
        "Fidelity self-assessment score in per cent for each module and for all modules "
        "together, one point per assessment round, with the fidelity threshold."
    )
    ordered = _round_order(rounds)
    if not ordered:
        return _empty(key, title, description, _(
            "The school has not taken part in an assessment round yet. Fidelity appears "
            "here once the school team has rated its adopted components in a round."
        ))
    if not rows:
        return _empty(key, title, description, _(
            "No fidelity self-assessment has been submitted yet. The chart appears when the "
            "school team has rated its adopted components in an assessment round."
        ), related={"rounds": list(ordered)})

    by_id = _modules_by_id(modules)
    round_names = [r.name for r in ordered]
    cell: dict[tuple[int | None, int], FidelityRow] = {(r.module_id, r.round_id): r for r in rows}
    module_ids = sorted(
        {r.module_id for r in rows if r.module_id is not None},
        key=lambda mid: _module_sort(by_id[mid].number if mid in by_id else None),
    )
    notes: list[str] = []
    rounds_with_rows = {r.round_id for r in rows}
    for assessment_round in ordered:
        if assessment_round.id not in rounds_with_rows:
            notes.append(_("%(round)s: no fidelity self-assessment was submitted.")
                         % {"round": assessment_round.name})

    def hover(row: FidelityRow | None) -> str:
        if row is None:
            return _("no self-assessment in this round")
        return fidelity_hover(row)

    traces: list[go.BaseTraceType] = []
    series: list[tuple[int | None, str, str, str, int]] = []
    for mid in module_ids:
        module = by_id.get(mid)
        number = module.number if module else None
        label = module_label(module, number)
        series.append((mid, shorten(label, 40), MODULE_COLOURS.get(number or 0, BLUE),
                       MODULE_SYMBOLS.get(number or 0, "circle"), 2))
    series.append((None, _("All modules"), OVERALL_COLOUR, "diamond-wide", 4))

    for series_id, name, colour, symbol, width in series:
        points = [cell.get((series_id, r.id)) for r in ordered]
        traces.append(go.Scatter(
            x=round_names,
            y=[_f(p.percent) if p is not None else None for p in points],
            customdata=[hover(p) for p in points],
            hovertemplate="%{x}<br>" + name + ": %{customdata}<extra></extra>",
            name=name,
            mode="lines+markers",
            connectgaps=False,
            line={"color": colour, "width": width},
            # A score that is not measured (too few components rated) is a hollow marker.
            marker={"color": colour, "size": 10 if series_id is None else 8,
                    "symbol": [symbol if p is None or p.measured else f"{symbol}-open"
                               for p in points],
                    "line": {"color": colour, "width": 2}},
        ))
        for assessment_round, point in zip(ordered, points, strict=True):
            if point is not None and point.rated_count == 0:
                notes.append(_("%(round)s, %(module)s: no component was rated.")
                             % {"round": assessment_round.name, "module": name})
            elif point is not None and not point.measured:
                notes.append(f"{assessment_round.name}, {name}: {fidelity_not_measured(point)}.")
    if any(r.rated_count and not r.measured for r in rows):
        notes.append(_(
            "Hollow markers: not measured. Fewer than %(min)s %% of the adopted components "
            "were rated, so the score is not judged against the threshold."
        ) % {"min": max(r.min_rated_percent for r in rows)})

    thresholds: list[float | None] = []
    for assessment_round in ordered:
        found = [r.threshold_percent for r in rows if r.round_id == assessment_round.id]
        thresholds.append(float(found[0]) if found else None)
    known = [t for t in thresholds if t is not None]
    if known:
        shown = num(known[-1], 0)
        traces.append(go.Scatter(
            x=round_names,
            y=[t if t is not None else known[-1] for t in thresholds],
            name=_("Threshold (%(percent)s %%)") % {"percent": shown},
            mode="lines",
            line={"color": THRESHOLD_COLOUR, "dash": "dot", "width": 2},
            hovertemplate=_("Fidelity threshold: %{y} %") + "<extra></extra>",
        ))

    figure = _figure(
        traces, title=title, description=description,
        xaxis={"type": "category"},
        yaxis={"title": {"text": _("Fidelity (%)")}, "range": [0, 102], "ticksuffix": " %"},
    )
    table = Table(
        headers=[_("Round"), *[s[1] for s in series]],
        rows=[
            [r.name, *[
                fidelity_label(cell[(s[0], r.id)]) if (s[0], r.id) in cell else "–"
                for s in series
            ]]
            for r in ordered
        ],
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), related={"rounds": list(ordered)}, table=table)


# --- School: component status over time ----------------------------------------------------


def _month_start(value: date) -> date:
    return value.replace(day=1)


def _next_month(value: date) -> date:
    return (value.replace(day=28) + timedelta(days=4)).replace(day=1)


def _months(first: date, last: date) -> list[date]:
    months = [_month_start(first)]
    while months[-1] < _month_start(last):
        months.append(_next_month(months[-1]))
    return months


def _status_on(component: ComponentStatusRow, when: date) -> str | None:
    """The status in force on ``when`` (None before the component was adopted)."""
    history = sorted(component.history, key=lambda c: c.on)
    if not history:
        return component.status if when >= component.status_since else None
    current: str | None = None
    for change in history:
        if change.on <= when:
            current = change.status
    return current


def component_status(components: Sequence[ComponentStatusRow], *, as_of: date) -> Chart:
    """Status of every adopted component month by month (planned → in place)."""
    key = "component-status"
    title = _("Status of the adopted components over time")
    description = _(
        "One row per adopted component and one column per month; the colour is the "
        "component's status at the end of the month (planned, in progress, in place, "
        "discontinued). Empty cells: not adopted yet."
    )
    if not components:
        return _empty(key, title, description, _(
            "The school has not adopted any components yet. Choose the parts of the SoVei "
            "model the school works with under Components; their status over time appears "
            "here."
        ))
    ordered = sorted(components, key=lambda c: (
        c.module_number, c.is_local, c.component_number or 999, c.title.lower()))
    starts = [min([c.status_since, *[h.on for h in c.history]]) for c in ordered]
    months = _months(min(starts), as_of)[-MAX_STATUS_MONTHS:]
    labels = [
        shorten(f"{c.key} {c.title}" if c.key else f"{c.title} ({_('local')})")
        for c in ordered
    ]
    code = {status: index for index, status in enumerate(ADOPTION_STATUSES)}
    z: list[list[int | None]] = []
    hover: list[list[str]] = []
    month_names = [month_label(m) for m in months]
    ends = [min(_next_month(m) - timedelta(days=1), as_of) for m in months]
    not_yet = _("not adopted yet")
    for component, label in zip(ordered, labels, strict=True):
        z_row: list[int | None] = []
        hover_row: list[str] = []
        for name, end in zip(month_names, ends, strict=True):
            status = _status_on(component, end)
            z_row.append(code.get(status) if status else None)
            hover_row.append(f"{label}<br>{name}: " + (status_name(status) if status else not_yet))
        z.append(z_row)
        hover.append(hover_row)
    steps = len(ADOPTION_STATUSES)
    colourscale: list[list[Any]] = []
    for index, status in enumerate(ADOPTION_STATUSES):
        colourscale.append([index / steps, STATUS_COLOURS[status]])
        colourscale.append([(index + 1) / steps, STATUS_COLOURS[status]])
    trace = go.Heatmap(
        z=z, x=month_names, y=labels,
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        zmin=-0.5, zmax=steps - 0.5, colorscale=colourscale, xgap=2, ygap=2,
        colorbar={
            "title": {"text": _("Status")},
            "tickmode": "array",
            "tickvals": list(range(steps)),
            "ticktext": [status_name(s) for s in ADOPTION_STATUSES],
            "thickness": 14,
        },
        hoverongaps=False,
    )
    figure = _figure(
        [trace], title=title, description=description,
        height=max(260, 130 + 30 * len(ordered)),
        xaxis={"type": "category", "tickangle": -45, "showgrid": False},
        yaxis={"autorange": "reversed", "showgrid": False, "type": "category"},
        plot_bgcolor="#FFFFFF",
    )
    table = Table(
        headers=[_("Component"), _("Status now"), _("Since"), _("History")],
        rows=[[
            label, status_name(c.status), day(c.status_since),
            " → ".join(f"{status_name(h.status)} ({day(h.on)})" for h in c.history) or "–",
        ] for c, label in zip(ordered, labels, strict=True)],
    )
    return Chart(key=key, title=title, description=description, figure=figure,
                 rows=list(ordered), table=table)


# --- School: stage timeline (Gantt) with strategy steps ------------------------------------


def stage_timeline(
    stages: Sequence[StageRow],
    steps: Sequence[StepRow],
    *,
    modules: Sequence[ModuleRef],
    as_of: date,
) -> Chart:
    """NIRN stage periods per module as bars; strategy steps as markers at their due date."""
    key = "stages"
    title = _("Implementation stages and strategy steps per module")
    description = _(
        "Bars: the period the school spent in each implementation stage of a module "
        "(hatched: still ongoing). Markers: strategy steps at their due date — filled when "
        "done, open when not done yet, a cross when overdue."
    )
    by_id = _modules_by_id(modules)
    entered = [s for s in stages if s.entered_on is not None]
    live_steps = [s for s in steps if s.status != "cancelled"]
    notes: list[str] = []
    steps_by_module: dict[int, int] = defaultdict(int)
    for step in live_steps:
        steps_by_module[step.module_id] += 1
    for module in sorted(modules, key=lambda m: m.number):
        if not steps_by_module.get(module.id):
            notes.append(_("%(module)s: no strategy steps are planned yet.")
                         % {"module": module_label(module)})
    if not entered and not live_steps:
        return _empty(key, title, description, _(
            "No implementation stages or strategy steps are recorded yet. Add strategy "
            "steps and record when the school enters a stage under Plan and steps."
        ), notes=notes, related={"steps": list(steps)})

    module_ids = {s.module_id for s in entered} | {s.module_id for s in live_steps}
    ordered_ids = sorted(
        module_ids, key=lambda mid: _module_sort(by_id[mid].number if mid in by_id else None))
    label_of = {mid: shorten(module_label(by_id.get(mid)), 36) for mid in ordered_ids}
    for mid in ordered_ids:
        if not any(s.module_id == mid for s in entered):
            notes.append(_("%(module)s: no stage entered yet.") % {"module": label_of[mid]})
    stage_of = {(s.module_id, s.stage): s for s in stages}

    traces: list[go.BaseTraceType] = []
    for stage in STAGES:
        bars = [s for s in entered if s.stage == stage]
        if not bars:
            continue
        durations: list[int] = []
        hover: list[str] = []
        for s in bars:
            assert s.entered_on is not None
            end = s.exited_on or as_of
            durations.append(max((end - s.entered_on).days, 1) * DAY_MS)
            period = f"{day(s.entered_on)} – {day(s.exited_on) if s.exited_on else _('now')}"
            steps_text = (
                _("%(done)s of %(total)s steps done") % {"done": s.steps_done,
                                                          "total": s.steps_total}
                if s.steps_total else _("no steps in this stage")
            )
            hover.append(
                f"{label_of[s.module_id]}<br>{stage_name(stage)}: {period}<br>"
                + ngettext("%(days)s day", "%(days)s days", s.days or 0) % {"days": s.days or 0}
                + f"; {steps_text}"
            )
        traces.append(go.Bar(
            orientation="h",
            y=[label_of[s.module_id] for s in bars],
            x=durations,
            base=[s.entered_on.isoformat() for s in bars if s.entered_on],
            name=stage_name(stage),
            marker={
                "color": STAGE_COLOURS[stage],
                "line": {"color": "#5B6570", "width": 1},
                "pattern": {"shape": ["/" if s.ongoing else "" for s in bars],
                            "fgcolor": "#5B6570", "size": 8, "solidity": 0.25,
                            "fillmode": "overlay"},
            },
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            legendgroup="stages",
            width=0.55,
        ))

    groups = (
        ("done", _("Step done"), "circle", BLACK),
        ("open", _("Step not done yet"), "circle-open", BLACK),
        ("overdue", _("Step overdue"), "x", VERMILLION),
    )
    for group, name, symbol, colour in groups:
        chosen = [s for s in live_steps if _step_group(s, as_of) == group]
        if not chosen:
            continue
        traces.append(go.Scatter(
            x=[s.due_on.isoformat() for s in chosen],
            y=[label_of[s.module_id] for s in chosen],
            mode="markers",
            name=name,
            marker={"symbol": symbol, "color": colour, "size": 11,
                    "line": {"color": colour, "width": 2}},
            customdata=[
                f"{shorten(s.action, 60)}<br>{stage_name(s.stage)} · "
                + _("due %(date)s") % {"date": day(s.due_on)} + " · "
                + step_status_name(s.status)
                + (f" ({day(s.done_on)})" if s.done_on else "")
                for s in chosen
            ],
            hovertemplate="%{customdata}<extra></extra>",
        ))

    figure = _figure(
        traces, title=title, description=description,
        height=max(300, 170 + 62 * len(ordered_ids)),
        barmode="overlay",
        xaxis={"type": "date", "tickformat": "%m.%Y", "hoverformat": "%d.%m.%Y"},
        yaxis={"type": "category", "autorange": "reversed",
               "categoryorder": "array", "categoryarray": [label_of[m] for m in ordered_ids]},
        shapes=[{
            "type": "line", "xref": "x", "yref": "paper", "x0": as_of.isoformat(),
            "x1": as_of.isoformat(), "y0": 0, "y1": 1,
            "line": {"color": "#5B6570", "width": 1, "dash": "dash"},
        }],
        annotations=[{
            "x": as_of.isoformat(), "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom",
            "text": _("today"), "showarrow": False, "font": {"size": 11, "color": "#5B6570"},
        }],
    )
    table_rows: list[list[str]] = []
    for mid in ordered_ids:
        for stage in STAGES:
            found = stage_of.get((mid, stage))
            if found is None or (found.entered_on is None and not found.steps_total):
                continue
            s = found
            table_rows.append([
                label_of[mid], stage_name(stage), day(s.entered_on),
                _("ongoing") if s.ongoing else day(s.exited_on),
                str(s.days) if s.days is not None else "–",
                f"{s.steps_done} / {s.steps_total}" if s.steps_total else "–",
            ])
    table = Table(
        headers=[_("Module"), _("Stage"), _("Entered"), _("Left"), _("Days"),
                 _("Steps done")],
        rows=table_rows,
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(stages), related={"steps": list(steps)}, table=table)


def _step_group(step: StepRow, as_of: date) -> str:
    if step.status == "done":
        return "done"
    return "overdue" if step.due_on < as_of else "open"


# --- School: implementation outcomes (AIM, IAM, FIM) and SUS over rounds -------------------


def _outcome_notes(rows: Sequence[OutcomeRow], rounds: Sequence[RoundRef], k: int
                   ) -> list[str]:
    """Per round, why results are not (all) shown: counts only, never a value."""
    notes: list[str] = []
    for assessment_round in rounds:
        of_round = [r for r in rows if r.round_id == assessment_round.id]
        shown = max((r.n for r in of_round), default=0)
        withheld = max((r.n_withheld for r in of_round), default=0)
        pooled = max((r.n_pooled for r in of_round), default=0)
        name = assessment_round.name
        if not of_round:
            notes.append(_("%(round)s: no complete staff survey answers.") % {"round": name})
        elif assessment_round.is_open:
            notes.append(ngettext(
                "%(round)s is open: results are shown when the round has closed "
                "(%(count)s complete answer so far).",
                "%(round)s is open: results are shown when the round has closed "
                "(%(count)s complete answers so far).",
                withheld + shown) % {"round": name, "count": withheld + shown})
        elif shown == 0 and pooled:
            notes.append(ngettext(
                "%(round)s: fewer than %(k)s answered at this school; its %(count)s answer is "
                "counted only in the municipality's combined result for small schools.",
                "%(round)s: fewer than %(k)s answered at this school; its %(count)s answers "
                "are counted only in the municipality's combined result for small schools.",
                pooled) % {"round": name, "k": k, "count": pooled})
        elif shown == 0 and withheld:
            notes.append(ngettext(
                "%(round)s: %(count)s complete answer — fewer than %(k)s, so no result is shown "
                "(with so few, someone could work out what a person answered).",
                "%(round)s: %(count)s complete answers — fewer than %(k)s, so no result is shown "
                "(with so few, someone could work out what a person answered).",
                withheld) % {"round": name, "k": k, "count": withheld})
        elif withheld:
            notes.append(ngettext(
                "%(round)s: %(count)s answer came in after the results were published; it is "
                "added when at least %(k)s new answers have come in.",
                "%(round)s: %(count)s answers came in after the results were published; they "
                "are added when at least %(k)s new answers have come in.",
                withheld) % {"round": name, "k": k, "count": withheld})
    incomplete = sum(r.n_incomplete for r in rows)
    if incomplete:
        notes.append(ngettext(
            "%(count)s answer with missing items is left out of the means.",
            "%(count)s answers with missing items are left out of the means.",
            incomplete,
        ) % {"count": incomplete})
    return notes


def outcomes_over_rounds(rows: Sequence[OutcomeRow], *, rounds: Sequence[RoundRef],
                         min_group_size: int = 5) -> Chart:
    """Released results only: a round's means are shown once it has closed and for a group
    of at least ``min_group_size`` complete answers (``dashboards.aggregation``); the notes
    say why anything else is not shown."""
    key = "outcomes"
    k = min_group_size
    title = _("Acceptability, appropriateness, feasibility and usability over the rounds")
    description = _(
        "Mean staff ratings per assessment round: AIM, IAM and FIM on their 1–5 scale "
        "(left), SUS on its 0–100 scale (right). The hover text gives the number of "
        "complete answers (n) and the standard deviation. Results are shown when the round "
        "has closed, and only for at least %(k)s answers, so that nobody's answers can be "
        "worked out."
    ) % {"k": k}
    ordered = _round_order(rounds)
    measured = [r for r in rows if r.n > 0 and r.mean is not None]
    notes = _outcome_notes(rows, ordered, k)
    if not measured:
        if any(r.n_withheld or r.n_pooled for r in rows):
            message = " ".join(notes)
        else:
            message = _(
                "No complete staff survey answers (AIM, IAM, FIM, SUS) yet. Staff answer them "
                "in an assessment round, with their own account or a one-time link."
            )
            if rows:
                message += " " + _("Answers with missing items are left out of the means.")
        return _empty(key, title, description, message, rows=list(rows),
                      related={"rounds": list(ordered)}, notes=notes)
    round_ids = {r.id for r in ordered}
    ordered += [RoundRef(rid, str(rid), date.min) for rid in
                sorted({r.round_id for r in rows} - round_ids)]
    names = [r.name for r in ordered]
    cell = {(r.instrument, r.round_id): r for r in rows}

    def hover(row: OutcomeRow | None, places: int) -> str:
        if row is None or row.n == 0 or row.mean is None:
            return _("not shown") if row is not None else _("no complete answers")
        text = f"{num(row.mean, places)} (n = {row.n}"
        if row.sd is not None:
            text += f", {_('sd')} {num(row.sd, places)}"
        return text + ")"

    traces: list[go.BaseTraceType] = []
    for code in (*OUTCOME_INSTRUMENTS, "sus"):
        places = 1 if code == "sus" else 2
        points = [cell.get((code, r.id)) for r in ordered]
        if not any(p is not None and p.n > 0 for p in points):
            continue
        colour, symbol = OUTCOME_STYLE[code]
        traces.append(go.Scatter(
            x=names,
            y=[_f(p.mean) if p is not None and p.n > 0 else None for p in points],
            customdata=[hover(p, places) for p in points],
            hovertemplate="%{x}<br>" + instrument_name(code) + ": %{customdata}<extra></extra>",
            name=instrument_name(code), mode="lines+markers", connectgaps=False,
            line={"color": colour, "width": 2, "dash": "dash" if code == "sus" else "solid"},
            marker={"color": colour, "symbol": symbol, "size": 9},
            xaxis="x2" if code == "sus" else "x", yaxis="y2" if code == "sus" else "y",
        ))
    figure = _figure(
        traces, title=title, description=description,
        xaxis={"domain": [0, 0.6], "type": "category", "categoryorder": "array",
               "categoryarray": names},
        yaxis={"range": [0.9, 5.1], "title": {"text": _("Mean (1–5)")}, "dtick": 1},
        xaxis2={"domain": [0.72, 1], "type": "category", "anchor": "y2",
                "categoryorder": "array", "categoryarray": names},
        yaxis2={"range": [0, 102], "title": {"text": _("SUS (0–100)")}, "anchor": "x2"},
        annotations=[
            {"text": _("AIM, IAM, FIM"), "x": 0, "xref": "paper", "y": 1.02, "yref": "paper",
             "showarrow": False, "xanchor": "left", "yanchor": "bottom"},
            {"text": _("SUS"), "x": 0.72, "xref": "paper", "y": 1.02, "yref": "paper",
             "showarrow": False, "xanchor": "left", "yanchor": "bottom"},
        ],
    )
    table = Table(
        headers=[_("Round"), *[instrument_name(c) for c in (*OUTCOME_INSTRUMENTS, "sus")]],
        rows=[[r.name, *[hover(cell.get((c, r.id)), 1 if c == "sus" else 2)
                         for c in (*OUTCOME_INSTRUMENTS, "sus")]] for r in ordered],
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), related={"rounds": list(ordered)}, table=table)


# --- School: determinants (CFIR 2.0) as diverging bars -------------------------------------


def determinants(
    rows: Sequence[CfirRow],
    *,
    assessment_round: RoundRef | None,
    domain_labels: dict[str, str] | None = None,
) -> Chart:
    """Construct means from −2 (strong barrier) to +2 (strong facilitator) by domain."""
    key = "determinants"
    title = _("Determinants (CFIR 2.0): barriers and facilitators")
    if assessment_round is not None:
        title += f" – {assessment_round.name}"
    description = _(
        "The school team's rating of each CFIR 2.0 construct, grouped by domain: bars to "
        "the left are barriers, bars to the right facilitators (−2 strong barrier … +2 "
        "strong facilitator)."
    )
    if assessment_round is None:
        return _empty(key, title, description, _(
            "The school team has not rated the determinants (CFIR) in any round yet. The "
            "rating is part of an assessment round that includes CFIR."
        ))
    constructs = sorted((r for r in rows if r.level == "construct"), key=lambda r: r.position)
    domains = {r.code: r for r in rows if r.level == "domain"}
    rated = [r for r in constructs if r.mean is not None]
    if not rated:
        return _empty(key, title, description, _(
            "No determinant (CFIR construct) was rated in %(round)s."
        ) % {"round": assessment_round.name}, rows=list(rows))
    labels = domain_labels or {}
    domain_order = sorted({r.domain_code for r in constructs},
                          key=lambda code: min(r.position for r in constructs
                                               if r.domain_code == code))
    y: list[str] = []
    x: list[float | None] = []
    colours: list[str] = []
    text: list[str] = []
    hover: list[str] = []
    for code in domain_order:
        domain = domains.get(code)
        heading = f"<b>{code}. {labels.get(code, code)}</b>"
        if domain is not None and domain.mean is not None:
            heading += " (" + _("mean %(value)s") % {"value": signed(domain.mean)} + ")"
        y.append(heading)
        x.append(None)
        colours.append("#FFFFFF")
        text.append("")
        hover.append(heading)
        for r in (c for c in rated if c.domain_code == code):
            assert r.mean is not None
            y.append(shorten(f"{r.code} {r.label}", 44))
            x.append(float(r.mean))
            colours.append(VERMILLION if r.mean < 0 else BLUE if r.mean > 0 else BLACK)
            text.append(signed(r.mean))
            hover.append(
                f"{r.code} {r.label}: {signed(r.mean)}<br>"
                + _("n = %(n)s; %(barrier)s barrier, %(neutral)s neutral, "
                    "%(facilitator)s facilitator") % {
                    "n": r.n, "barrier": r.n_barrier, "neutral": r.n_neutral,
                    "facilitator": r.n_facilitator}
            )
    trace = go.Bar(
        orientation="h", y=y, x=x, marker={"color": colours, "line": {"width": 0}},
        text=text, textposition="outside", cliponaxis=False, customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", showlegend=False,
    )
    notes: list[str] = []
    missing = len(constructs) - len(rated)
    if missing:
        notes.append(ngettext(
            "%(count)s construct was not rated (left out; not the same as neutral).",
            "%(count)s constructs were not rated (left out; not the same as neutral).",
            missing,
        ) % {"count": missing})
    figure = _figure(
        [trace], title=title, description=description,
        height=max(320, 150 + 24 * len(y)),
        xaxis={
            "range": [-2.6, 2.6], "tickmode": "array", "tickvals": [-2, -1, 0, 1, 2],
            "ticktext": [
                "−2<br>" + _("strong barrier"), "−1", "0<br>" + _("neutral"), "+1",
                "+2<br>" + _("strong facilitator"),
            ],
            "zeroline": True, "zerolinecolor": "#5B6570", "zerolinewidth": 1, "side": "top",
        },
        yaxis={"type": "category", "autorange": "reversed", "categoryorder": "array",
               "categoryarray": y, "showgrid": False},
        bargap=0.35,
        annotations=[
            {"text": "← " + _("barrier"), "x": -1.3, "y": 1, "xref": "x", "yref": "paper",
             "yanchor": "bottom", "yshift": 44, "showarrow": False,
             "font": {"color": VERMILLION}},
            {"text": _("facilitator") + " →", "x": 1.3, "y": 1, "xref": "x", "yref": "paper",
             "yanchor": "bottom", "yshift": 44, "showarrow": False, "font": {"color": BLUE}},
        ],
        margin={"t": 110},
    )
    table = Table(
        headers=[_("Domain"), _("Construct"), _("Mean"), _("Ratings (n)")],
        rows=[[
            f"{r.domain_code}. {labels.get(r.domain_code, r.domain_code)}",
            f"{r.code} {r.label}",
            signed(r.mean) if r.mean is not None else _("not rated"),
            str(r.n),
        ] for r in constructs],
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), table=table)


# --- School: time use against the plan ------------------------------------------------------


def _time_empty_message() -> str:
    return _(
        "No activities have been logged yet. Social-work staff log their time per module and "
        "kind of work under Time use."
    )


def time_share_vs_plan(rows: Sequence[TimePlanRow], *, modules: Sequence[ModuleRef]) -> Chart:
    """Share of logged time per module against the share the plan intends."""
    key = "time-plan"
    title = _("Time per module against the plan")
    description = _(
        "Share of the logged social-work time spent on each module, next to the share the "
        "implementation plan intends for it."
    )
    module_rows = sorted((r for r in rows if r.kind == "module"),
                         key=lambda r: _module_sort(r.module_number))
    total = max((r.total_minutes for r in rows), default=0)
    if total == 0:
        message = _time_empty_message()
        if any(r.plan_id for r in rows):
            message = _(
                "No activities have been logged in the plan period yet. The plan's intended "
                "shares are listed below; the logged shares appear once staff log their time."
            )
        return _empty(key, title, description, message, rows=list(rows), table=_plan_table(
            module_rows, _modules_by_id(modules)) if module_rows else None)
    by_id = _modules_by_id(modules)
    labels = [wrap(module_label(by_id.get(r.module_id or 0), r.module_number), 20)
              for r in module_rows]
    notes: list[str] = []
    plan_ids = {r.plan_id for r in rows}
    if plan_ids == {None}:
        notes.append(_("The school has no implementation plan: all logged time is shown and "
                       "there are no intended shares to compare with."))
    elif all(r.intended_percent is None for r in module_rows):
        notes.append(_("The plan sets no intended share of time per module."))
    traces: list[go.BaseTraceType] = [go.Bar(
        x=labels, y=[_f(r.share_percent) for r in module_rows], name=_("Logged share"),
        marker={"color": BLUE},
        text=[num(r.share_percent) + " %" for r in module_rows], textposition="outside",
        customdata=[_("%(minutes)s of %(total)s minutes") % {
            "minutes": num(r.minutes, 0), "total": num(r.total_minutes, 0)}
            for r in module_rows],
        hovertemplate="%{x}<br>" + _("Logged") + ": %{y} % (%{customdata})<extra></extra>",
    )]
    if any(r.intended_percent is not None for r in module_rows):
        traces.append(go.Bar(
            x=labels, y=[r.intended_percent for r in module_rows],
            name=_("Intended in the plan"),
            marker={"color": SKY_BLUE, "pattern": {"shape": "/", "fgcolor": BLUE, "size": 7}},
            text=[f"{r.intended_percent} %" if r.intended_percent is not None else ""
                  for r in module_rows],
            textposition="outside",
            hovertemplate="%{x}<br>" + _("Intended") + ": %{y} %<extra></extra>",
        ))
        for r, label in zip(module_rows, labels, strict=True):
            if r.intended_percent is None:
                notes.append(_("%(module)s: the plan sets no intended share.")
                             % {"module": label})
    period = next((r for r in rows if r.plan_id), None)
    if period is not None and period.period_from is not None:
        notes.append(_("Activities from %(start)s to %(end)s (the plan period).") % {
            "start": day(period.period_from),
            "end": day(period.period_to) if period.period_to else _("today")})
    figure = _figure(
        traces, title=title, description=description, barmode="group",
        yaxis={"title": {"text": _("Share of logged time (%)")}, "ticksuffix": " %",
               "rangemode": "tozero"},
        xaxis={"type": "category"},
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), table=_plan_table(module_rows, by_id))


def _plan_table(rows: Sequence[TimePlanRow], by_id: dict[int, ModuleRef]) -> Table:
    return Table(
        headers=[_("Module"), _("Minutes"), _("Logged share"), _("Intended share")],
        rows=[[
            module_label(by_id.get(r.module_id or 0), r.module_number), num(r.minutes, 0),
            num(r.share_percent) + " %" if r.share_percent is not None else "–",
            f"{r.intended_percent} %" if r.intended_percent is not None else "–",
        ] for r in rows],
    )


def systematic_vs_plan(rows: Sequence[TimePlanRow]) -> Chart:
    """Acute + outreach versus planned + system-level work, logged and intended."""
    key = "time-systematic"
    title = _("Acute and outreach work versus planned and system-level work")
    description = _(
        "How the logged time divides between acute and outreach work and planned and "
        "system-level (systematic) work, next to the division the plan intends."
    )
    row = next((r for r in rows if r.kind == "systematic"), None)
    if row is None or row.total_minutes == 0 or row.share_percent is None:
        message = _time_empty_message()
        if row is not None and row.intended_percent is not None:
            message += " " + _("The plan intends %(percent)s %% planned and system-level work.") \
                % {"percent": row.intended_percent}
        return _empty(key, title, description, message, rows=list(rows))
    systematic = float(row.share_percent)
    logged = _("Logged time")
    intended = _("Intended in the plan")
    y = [logged]
    sys_x = [systematic]
    acute_x = [round(100 - systematic, 1)]
    if row.intended_percent is not None:
        y.append(intended)
        sys_x.append(float(row.intended_percent))
        acute_x.append(float(100 - row.intended_percent))
    notes: list[str] = []
    if row.plan_id is None:
        notes.append(_("The school has no implementation plan to compare with."))
    elif row.intended_percent is None:
        notes.append(_("The plan sets no intended share of planned and system-level work."))
    minutes_acute = row.total_minutes - row.minutes
    traces = [
        go.Bar(
            orientation="h", y=y, x=sys_x, name=_("Planned and system level"),
            marker={"color": BLUE}, text=[num(v) + " %" for v in sys_x],
            textposition="inside", insidetextanchor="middle", textfont={"color": "#FFFFFF"},
            hovertemplate="%{y}: " + _("planned and system level") + " %{x} %<extra></extra>",
        ),
        go.Bar(
            orientation="h", y=y, x=acute_x, name=_("Acute and outreach"),
            marker={"color": VERMILLION, "pattern": {"shape": "x", "fgcolor": "#FFFFFF",
                                                     "size": 8, "solidity": 0.15,
                                                     "fillmode": "overlay"}},
            text=[num(v) + " %" for v in acute_x], textposition="inside",
            insidetextanchor="middle", textfont={"color": "#000000"},
            hovertemplate="%{y}: " + _("acute and outreach") + " %{x} %<extra></extra>",
        ),
    ]
    figure = _figure(
        traces, title=title, description=description, barmode="stack", height=260,
        xaxis={"range": [0, 100], "ticksuffix": " %", "title": {"text": _("Share of time")}},
        yaxis={"type": "category", "autorange": "reversed"},
        legend={"orientation": "h", "y": -0.45},
    )
    table = Table(
        headers=["", _("Planned and system level"), _("Acute and outreach")],
        rows=[[logged, f"{num(systematic)} % ({num(row.minutes, 0)} min)",
               f"{num(100 - systematic)} % ({num(minutes_acute, 0)} min)"]]
        + ([[intended, f"{row.intended_percent} %", f"{100 - row.intended_percent} %"]]
           if row.intended_percent is not None else []),
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=[row], table=table)


def time_by_month(rows: Sequence[TimeUseRow]) -> Chart:
    """Logged hours per month, stacked by kind of work."""
    key = "time-monthly"
    title = _("Logged time per month by kind of work")
    description = _(
        "Hours of social-work time logged each month, stacked by kind of work: planned and "
        "system-level work (cool colours) and outreach and acute work (warm colours)."
    )
    if not rows:
        return _empty(key, title, description, _time_empty_message())
    months = _months(min(r.month for r in rows), max(r.month for r in rows))
    minutes: dict[tuple[date, str], int] = defaultdict(int)
    activities: dict[tuple[date, str], int] = defaultdict(int)
    for r in rows:
        minutes[(_month_start(r.month), r.mode)] += r.minutes
        activities[(_month_start(r.month), r.mode)] += r.activities
    labels = [month_label(m) for m in months]
    traces: list[go.BaseTraceType] = []
    for mode in MODES:
        if not any(minutes.get((m, mode)) for m in months):
            continue
        traces.append(go.Bar(
            x=labels,
            y=[round(minutes.get((m, mode), 0) / 60, 1) for m in months],
            name=mode_name(mode), marker={"color": MODE_COLOURS[mode]},
            customdata=[ngettext("%(count)s activity", "%(count)s activities",
                                 activities.get((m, mode), 0))
                        % {"count": activities.get((m, mode), 0)} for m in months],
            hovertemplate="%{x}<br>" + mode_name(mode) + ": %{y} h (%{customdata})<extra></extra>",
        ))
    figure = _figure(
        traces, title=title, description=description, barmode="stack",
        yaxis={"title": {"text": _("Hours")}, "rangemode": "tozero"},
        xaxis={"type": "category"},
    )
    table = Table(
        headers=[_("Month"), *[mode_name(m) for m in MODES], _("Total")],
        rows=[[label, *[num(minutes.get((m, mode), 0) / 60, 1) for mode in MODES],
               num(sum(minutes.get((m, mode), 0) for mode in MODES) / 60, 1)]
              for m, label in zip(months, labels, strict=True)],
    )
    return Chart(key=key, title=title, description=description, figure=figure,
                 rows=list(rows), table=table)


# --- Coordinator: schools × modules fidelity heatmap ----------------------------------------


def _fidelity_colourscale(threshold: int) -> list[list[Any]]:
    """Vermillion (0 %) → white (the threshold) → blue (100 %): below and above the
    threshold read apart at a glance, also for colour-blind readers."""
    t = max(1, min(99, threshold)) / 100
    return [[0, VERMILLION], [t, "#F7F7F7"], [1, BLUE]]


def fidelity_heatmap(
    rows: Sequence[FidelityRow],
    *,
    schools: Sequence[SchoolRef],
    modules: Sequence[ModuleRef],
    assessment_round: RoundRef | None,
    round_school_ids: Iterable[int] | None = None,
) -> Chart:
    """Fidelity % of every school (rows) in every module (columns) in one round."""
    key = "fidelity-heatmap"
    title = _("Fidelity per school and module")
    if assessment_round is not None:
        title += f" – {assessment_round.name}"
    description = _(
        "Fidelity self-assessment score in per cent for every school (rows) and module "
        "(columns) in the chosen round. Blue: at or above the threshold; orange to red: "
        "below. Grey: no rating, or a score in brackets that is not measured because too "
        "few components were rated."
    )
    if assessment_round is None:
        return _empty(key, title, description, _(
            "No assessment round has been opened yet. The comparison of schools appears "
            "once the schools have rated their components in a round."
        ))
    if not rows:
        return _empty(key, title, description, _(
            "No school has submitted a fidelity self-assessment in %(round)s yet."
        ) % {"round": assessment_round.name})
    by_id = _modules_by_id(modules)
    in_round = set(round_school_ids) if round_school_ids is not None else None
    shown_schools = [s for s in schools if in_round is None or s.id in in_round
                     or any(r.school_id == s.id for r in rows)]
    module_ids = sorted({r.module_id for r in rows if r.module_id is not None} | set(by_id),
                        key=lambda mid: _module_sort(by_id[mid].number if mid in by_id
                                                     else None))
    columns: list[int | None] = [*module_ids, None]
    column_labels = [
        wrap(module_label(by_id.get(mid or 0))) if mid is not None
        else _("All modules") for mid in columns
    ]
    cell = {(r.school_id, r.module_id): r for r in rows}
    threshold = rows[0].threshold_percent
    z: list[list[float | None]] = []
    # Scores that are not measured: a grey cell of their own, the value in brackets.
    unmeasured_z: list[list[float | None]] = []
    unmeasured_text: list[list[str]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    table_rows: list[list[str]] = []
    missing: list[str] = []
    for school in shown_schools:
        z_row: list[float | None] = []
        unmeasured_row: list[float | None] = []
        unmeasured_text_row: list[str] = []
        text_row: list[str] = []
        hover_row: list[str] = []
        table_row: list[str] = [school.name]
        if not any(r.school_id == school.id for r in rows):
            missing.append(school.name)
        for mid, label in zip(columns, column_labels, strict=True):
            r = cell.get((school.id, mid))
            where = f"{school.name}<br>{label.replace('<br>', ' ')}: "
            if r is None or r.percent is None:
                z_row.append(None)
                unmeasured_row.append(None)
                unmeasured_text_row.append("")
                text_row.append("–")
                table_row.append("–")
                hover_row.append(where + (
                    _("no rating") if r is None else _("no component rated")))
                continue
            hover_row.append(where + fidelity_hover(r)
                             + ("<br>" + _("reaches the threshold") if r.meets_threshold else ""))
            table_row.append(fidelity_label(r) + (" ✓" if r.meets_threshold else ""))
            if not r.measured:
                z_row.append(None)
                text_row.append("")
                unmeasured_row.append(float(r.percent))
                unmeasured_text_row.append(f"({num(r.percent)})")
                continue
            z_row.append(float(r.percent))
            text_row.append(num(r.percent) + (" ✓" if r.meets_threshold else ""))
            unmeasured_row.append(None)
            unmeasured_text_row.append("")
        z.append(z_row)
        unmeasured_z.append(unmeasured_row)
        unmeasured_text.append(unmeasured_text_row)
        text.append(text_row)
        hover.append(hover_row)
        table_rows.append(table_row)
    y_labels = [f'<a href="{s.url}">{s.name}</a>' if s.url else s.name for s in shown_schools]
    trace = go.Heatmap(
        z=z, x=column_labels, y=y_labels, text=text, texttemplate="%{text}",
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        zmin=0, zmax=100, colorscale=_fidelity_colourscale(threshold), xgap=2, ygap=2,
        colorbar={"title": {"text": _("Fidelity (%)")}, "ticksuffix": " %", "thickness": 14,
                  "tickvals": [0, 25, 50, threshold, 100]},
        hoverongaps=False,
    )
    traces: list[go.BaseTraceType] = [trace]
    notes = [_("✓ = at or above the threshold of %(threshold)s %%.") % {"threshold": threshold}]
    if any(value is not None for row in unmeasured_z for value in row):
        traces.append(go.Heatmap(
            z=unmeasured_z, x=column_labels, y=y_labels, text=unmeasured_text,
            texttemplate="%{text}",
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
            zmin=0, zmax=100, colorscale=[[0, NO_VALUE], [1, NO_VALUE]], showscale=False,
            xgap=2, ygap=2, hoverongaps=False, name=_("not measured"),
        ))
        notes.append(_(
            "(In brackets) = not measured: fewer than %(min)s %% of the adopted components "
            "were rated, so the score is not judged against the threshold."
        ) % {"min": max(r.min_rated_percent for r in rows)})
    if missing:
        notes.append(_("No fidelity self-assessment in this round from: %(schools)s.")
                     % {"schools": ", ".join(missing)})
    figure = _figure(
        traces, title=title, description=description,
        height=max(300, 150 + 34 * len(shown_schools)),
        xaxis={"type": "category", "side": "top", "showgrid": False, "tickangle": 0},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False},
        plot_bgcolor=NO_VALUE,
    )
    table = Table(headers=[_("School"), *column_labels], rows=table_rows)
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), related={"schools": list(shown_schools)}, table=table)


# --- Coordinator: spread across schools over rounds -----------------------------------------


def fidelity_spread(
    rows: Sequence[SpreadRow],
    *,
    rounds: Sequence[RoundRef],
    module: ModuleRef | None = None,
    thresholds: dict[int, int] | None = None,
) -> Chart:
    """Lowest–highest band, median and mean ± sd of fidelity across schools per round."""
    key = "fidelity-spread"
    scope = module_label(module) if module is not None else _("all modules")
    title = _("Spread of fidelity across the schools (%(scope)s)") % {"scope": scope}
    description = _(
        "For each assessment round: the band from the lowest to the highest school, the "
        "median school, and the mean with ± one standard deviation. Variation between "
        "schools is what the research looks for."
    )
    wanted = [r for r in rows if r.metric == "fidelity"
              and r.module_id == (module.id if module else None) and r.round_id is not None]
    if not wanted:
        return _empty(key, title, description, _(
            "No fidelity self-assessments to compare yet. The spread appears once schools "
            "have rated their components in an assessment round."
        ), rows=list(wanted))
    by_round = {r.round_id: r for r in wanted}
    ordered = [r for r in _round_order(rounds) if r.id in by_round]
    names = [r.name for r in ordered]
    points = [by_round[r.id] for r in ordered]
    hover = [
        _("%(n)s schools; lowest %(min)s %%, median %(median)s %%, highest %(max)s %%, "
          "mean %(mean)s %%, sd %(sd)s") % {
            "n": p.n_schools, "min": num(p.minimum), "median": num(p.median),
            "max": num(p.maximum), "mean": num(p.mean), "sd": num(p.sd)}
        + ("<br>" + _("%(count)s of %(n)s reach the threshold") % {
            "count": p.n_meets_threshold, "n": p.n_schools}
           if p.n_meets_threshold is not None else "")
        for p in points
    ]
    traces: list[go.BaseTraceType] = [
        go.Scatter(x=names, y=[_f(p.maximum) for p in points], mode="lines",
                   line={"width": 0, "color": BLUE}, showlegend=False, hoverinfo="skip"),
        go.Scatter(x=names, y=[_f(p.minimum) for p in points], mode="lines",
                   line={"width": 0, "color": BLUE}, fill="tonexty", fillcolor=BAND,
                   name=_("Lowest to highest school"), hoverinfo="skip"),
        go.Scatter(x=names, y=[_f(p.median) for p in points], mode="lines+markers",
                   name=_("Median school"), line={"color": BLUE, "width": 3},
                   marker={"symbol": "circle", "size": 9, "color": BLUE},
                   customdata=hover, hovertemplate="%{x}<br>%{customdata}<extra></extra>"),
        go.Scatter(x=names, y=[_f(p.mean) for p in points], mode="markers",
                   name=_("Mean ± standard deviation"),
                   marker={"symbol": "diamond-open", "size": 10, "color": BLACK,
                           "line": {"width": 2}},
                   error_y={"type": "data", "array": [_f(p.sd) or 0 for p in points],
                            "visible": True, "color": BLACK, "thickness": 1.5, "width": 6},
                   customdata=hover, hovertemplate="%{x}<br>%{customdata}<extra></extra>"),
    ]
    if thresholds:
        values = [thresholds.get(r.id) for r in ordered]
        known = [v for v in values if v is not None]
        if known:
            traces.append(go.Scatter(
                x=names, y=[v if v is not None else known[-1] for v in values], mode="lines",
                name=_("Threshold (%(percent)s %%)") % {"percent": known[-1]},
                line={"color": THRESHOLD_COLOUR, "dash": "dot", "width": 2},
                hovertemplate=_("Fidelity threshold: %{y} %") + "<extra></extra>",
            ))
    notes: list[str] = [_(
        "Only measured scores are compared: a school that rated too few of its adopted "
        "components (below the model version's minimum share) is left out of the spread."
    )]
    single = [r.name for r, p in zip(ordered, points, strict=True) if p.n_schools < 2]
    if single:
        notes.append(_("Only one school rated in %(rounds)s: no spread to show there.")
                     % {"rounds": ", ".join(single)})
    figure = _figure(
        traces, title=title, description=description,
        xaxis={"type": "category"},
        yaxis={"range": [0, 102], "ticksuffix": " %", "title": {"text": _("Fidelity (%)")}},
    )
    table = Table(
        headers=[_("Round"), _("Schools"), _("Lowest"), _("Median"), _("Highest"), _("Mean"),
                 _("SD"), _("Reach the threshold")],
        rows=[[r.name, str(p.n_schools), num(p.minimum), num(p.median), num(p.maximum),
               num(p.mean), num(p.sd),
               str(p.n_meets_threshold) if p.n_meets_threshold is not None else "–"]
              for r, p in zip(ordered, points, strict=True)],
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(wanted), related={"rounds": ordered}, table=table)


# --- Coordinator: stage progress per school -------------------------------------------------


def stage_progress(
    rows: Sequence[StageProgressRow],
    *,
    schools: Sequence[SchoolRef],
    modules: Sequence[ModuleRef],
) -> Chart:
    """The furthest stage every school has reached in every module, with steps done."""
    key = "stage-progress"
    title = _("Implementation stage reached per school and module")
    description = _(
        "The latest implementation stage each school has entered for each module "
        "(1 exploration … 5 sustainment) and the share of the module's strategy steps done. "
        "Grey: no stage entered."
    )
    if not any(r.stage_order is not None for r in rows):
        return _empty(key, title, description, _(
            "No school has recorded an implementation stage yet. Schools record stages and "
            "strategy steps in their implementation plan."
        ), rows=list(rows))
    by_id = _modules_by_id(modules)
    module_ids = sorted({r.module_id for r in rows} | set(by_id),
                        key=lambda mid: _module_sort(by_id[mid].number if mid in by_id
                                                     else None))
    labels = [wrap(module_label(by_id.get(mid))) for mid in module_ids]
    cell = {(r.school_id, r.module_id): r for r in rows}
    z: list[list[int | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    table_rows: list[list[str]] = []
    for school in schools:
        z_row: list[int | None] = []
        text_row: list[str] = []
        hover_row: list[str] = []
        table_row = [school.name]
        for mid, label in zip(module_ids, labels, strict=True):
            r = cell.get((school.id, mid))
            steps = r.steps_total if r else 0
            steps_text = (_("%(done)s of %(total)s steps done") % {
                "done": r.steps_done, "total": steps} if r and steps
                else _("no strategy steps"))
            share = f" · {round(100 * r.steps_done / steps)} %" if r and steps else ""
            if r is None or r.stage is None or r.stage_order is None:
                z_row.append(None)
                text_row.append("–" + share)
                hover_row.append(f"{school.name}<br>{label.replace('<br>', ' ')}: "
                                 f"{_('no stage entered')}; "
                                 f"{steps_text}")
                table_row.append("–" + (f" ({r.steps_done}/{steps})" if r and steps else ""))
                continue
            z_row.append(r.stage_order)
            text_row.append(f"{r.stage_order}{share}")
            hover_row.append(
                f"{school.name}<br>{label.replace('<br>', ' ')}: {stage_name(r.stage)}, "
                + _("since %(date)s") % {"date": day(r.entered_on)}
                + (" (" + ngettext("%(days)s day", "%(days)s days", r.days)
                   % {"days": r.days} + ")" if r.days is not None else "")
                + f"<br>{steps_text}"
            )
            table_row.append(stage_name(r.stage) + (f" ({r.steps_done}/{steps})" if steps else ""))
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
        table_rows.append(table_row)
    colourscale: list[list[Any]] = []
    for index, stage in enumerate(STAGES):
        colourscale.append([index / len(STAGES), STAGE_COLOURS[stage]])
        colourscale.append([(index + 1) / len(STAGES), STAGE_COLOURS[stage]])
    trace = go.Heatmap(
        z=z, x=labels,
        y=[f'<a href="{s.url}">{s.name}</a>' if s.url else s.name for s in schools],
        text=text, texttemplate="%{text}", customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", zmin=0.5, zmax=len(STAGES) + 0.5,
        colorscale=colourscale, xgap=2, ygap=2, hoverongaps=False,
        colorbar={"title": {"text": _("Stage")}, "tickmode": "array",
                  "tickvals": list(range(1, len(STAGES) + 1)),
                  "ticktext": [f"{i}. {stage_name(s)}" for i, s in enumerate(STAGES, 1)],
                  "thickness": 14},
    )
    figure = _figure(
        [trace], title=title, description=description,
        height=max(300, 150 + 34 * len(schools)),
        xaxis={"type": "category", "side": "top", "showgrid": False, "tickangle": 0},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False},
        plot_bgcolor=NO_VALUE,
    )
    notes = [_("Cell text: stage number · share of the module's strategy steps done.")]
    table = Table(headers=[_("School"), *labels], rows=table_rows)
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), related={"schools": list(schools)}, table=table)


# --- Coordinator: response rates per round --------------------------------------------------


def response_rates(
    rows: Sequence[ResponseRateSummaryRow], *, rounds: Sequence[RoundRef]
) -> Chart:
    """Per round: share of survey links answered, share of schools that rated the team
    instruments (fidelity, CFIR)."""
    key = "response-rates"
    title = _("Response rates per assessment round")
    description = _(
        "For each round: the share of one-time survey links that were answered, and the "
        "share of the round's schools whose team submitted the fidelity self-assessment and "
        "the CFIR rating."
    )
    if not rows:
        return _empty(key, title, description, _(
            "No assessment round has been opened yet, so there are no responses to count."
        ))
    ordered = [r for r in _round_order(rounds) if any(x.round_id == r.id for x in rows)]
    names = [r.name for r in ordered]
    cell = {(r.round_id, r.instrument): r for r in rows}
    notes: list[str] = []
    link_y: list[float | None] = []
    link_hover: list[str] = []
    for assessment_round in ordered:
        individual = [r for r in rows
                      if r.round_id == assessment_round.id and r.respondent == "individual"]
        issued = max((r.links_issued for r in individual), default=0)
        used = max((r.links_used for r in individual), default=0)
        staff = max((r.staff_responses for r in individual), default=0)
        link_y.append(round(100 * used / issued, 1) if issued else None)
        if not individual:
            link_hover.append(_("no staff survey in the round"))
            continue
        link_hover.append(
            (_("%(used)s of %(issued)s links answered") % {"used": used, "issued": issued}
             if issued else _("no links issued"))
            + "; " + ngettext("%(count)s staff member answered with an account",
                              "%(count)s staff members answered with an account", staff)
            % {"count": staff}
        )
        if not issued:
            notes.append(_("%(round)s: no survey links were issued.")
                         % {"round": assessment_round.name})
    traces: list[go.BaseTraceType] = [go.Bar(
        x=names, y=link_y, name=_("Survey links answered"), marker={"color": BLUE},
        customdata=link_hover, text=[num(v) + " %" if v is not None else "" for v in link_y],
        textposition="outside",
        hovertemplate="%{x}<br>%{customdata}<extra></extra>",
    )]
    table_rows: list[list[str]] = [[r.name, h] for r, h in zip(ordered, link_hover, strict=True)]
    for code, colour, pattern in (("fidelity", ORANGE, "/"), ("cfir", BLUISH_GREEN, ".")):
        values: list[float | None] = []
        hover: list[str] = []
        for assessment_round, table_row in zip(ordered, table_rows, strict=True):
            summary = cell.get((assessment_round.id, code))
            if summary is None or summary.schools == 0:
                values.append(None)
                text = _("not part of the round")
            else:
                values.append(round(100 * summary.schools_answered / summary.schools, 1))
                text = _("%(answered)s of %(schools)s schools") % {
                    "answered": summary.schools_answered, "schools": summary.schools}
            hover.append(text)
            table_row.append(text)
        if all(v is None for v in values):
            continue
        traces.append(go.Bar(
            x=names, y=values, name=(_("Schools with a fidelity self-assessment")
                                     if code == "fidelity" else _("Schools with a CFIR rating")),
            marker={"color": colour, "pattern": {"shape": pattern, "fgcolor": "#FFFFFF",
                                                 "size": 6, "fillmode": "overlay"}},
            customdata=hover, text=[num(v) + " %" if v is not None else "" for v in values],
            textposition="outside",
            hovertemplate="%{x}<br>%{customdata}<extra></extra>",
        ))
    figure = _figure(
        traces, title=title, description=description, barmode="group",
        yaxis={"range": [0, 112], "ticksuffix": " %", "title": {"text": _("Share (%)")}},
        xaxis={"type": "category"},
    )
    table = Table(
        headers=[_("Round"), _("Survey links"), instrument_name("fidelity"),
                 instrument_name("cfir")],
        rows=table_rows,
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=list(rows), related={"rounds": ordered}, table=table)


def time_use_comparison(rows: Sequence[TimePlanRow], *, schools: Sequence[SchoolRef]) -> Chart:
    """Per school: the share of its logged time that is planned and system-level work
    (the rest acute and outreach), next to the share its plan intends — each school's
    "time-systematic" numbers side by side. Like the school dashboard (a work record shown
    to the people who lead that work, docs/research.md), with no small-group rule; the
    coordinator sees exactly what each school's dashboard shows them."""
    key = "time-use"
    title = _("Time use: planned and system-level work per school")
    description = _(
        "For each school, the share of the logged social-work time that went to planned and "
        "system-level work (the rest is acute and outreach work) in its plan's period, and "
        "the share the plan intends. The same numbers as on each school's dashboard."
    )
    by_school = {r.school_id: r for r in rows if r.total_minutes and r.share_percent is not None}
    shown = [s for s in schools if s.id in by_school]
    missing = [s.name for s in schools if s.id not in by_school]
    notes = [_("No time logged: %(schools)s.") % {"schools": ", ".join(missing)}] \
        if missing else []
    if not shown:
        return _empty(key, title, description, _(
            "No school has logged any time yet. Social-work staff log their time per module "
            "and kind of work under Time use."), rows=list(rows))
    labels = [f'<a href="{s.url}">{s.name}</a>' if s.url else s.name for s in shown]
    systematic = [float(by_school[s.id].share_percent or 0) for s in shown]
    acute = [round(100 - value, 1) for value in systematic]
    intended_rows = [(label, by_school[s.id].intended_percent) for label, s
                     in zip(labels, shown, strict=True)
                     if by_school[s.id].intended_percent is not None]
    hours = [num(by_school[s.id].total_minutes / 60, 0) for s in shown]
    traces: list[go.BaseTraceType] = [
        go.Bar(
            orientation="h", y=labels, x=systematic, name=_("Planned and system level"),
            marker={"color": BLUE}, customdata=hours,
            text=[num(v) + " %" for v in systematic], textposition="inside",
            insidetextanchor="middle", textfont={"color": "#FFFFFF"},
            hovertemplate="%{y}: " + _("planned and system level") + " %{x} % "
            + _("of %(hours)s hours") % {"hours": "%{customdata}"} + "<extra></extra>",
        ),
        go.Bar(
            orientation="h", y=labels, x=acute, name=_("Acute and outreach"),
            marker={"color": VERMILLION, "pattern": {"shape": "x", "fgcolor": "#FFFFFF",
                                                     "size": 8, "solidity": 0.15,
                                                     "fillmode": "overlay"}},
            text=[num(v) + " %" for v in acute], textposition="inside",
            insidetextanchor="middle", textfont={"color": "#000000"},
            hovertemplate="%{y}: " + _("acute and outreach") + " %{x} %<extra></extra>",
        ),
    ]
    if intended_rows:
        traces.append(go.Scatter(
            mode="markers", y=[label for label, _p in intended_rows],
            x=[percent for _label, percent in intended_rows],
            name=_("Intended in the plan"),
            marker={"symbol": "diamond-wide", "size": 14, "color": BLACK,
                    "line": {"color": "#FFFFFF", "width": 1}},
            hovertemplate="%{y}: " + _("intended in the plan") + " %{x} %<extra></extra>",
        ))
    figure = _figure(
        traces, title=title, description=description, barmode="stack",
        height=max(260, 120 + 44 * len(shown)),
        xaxis={"range": [0, 100], "ticksuffix": " %", "title": {"text": _("Share of time")}},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": -0.3},
    )
    table = Table(
        headers=[_("School"), _("Planned and system level"), _("Acute and outreach"),
                 _("Intended in the plan"), _("Logged hours")],
        rows=[[s.name, f"{num(v)} %", f"{num(100 - v)} %",
               f"{by_school[s.id].intended_percent} %"
               if by_school[s.id].intended_percent is not None else "–", h]
              for s, v, h in zip(shown, systematic, hours, strict=True)],
    )
    return Chart(key=key, title=title, description=description, figure=figure, notes=notes,
                 rows=[by_school[s.id] for s in shown], table=table)


# --- Registry (for the API's schema and tests) ----------------------------------------------

SCHOOL_CHARTS: tuple[str, ...] = (
    "fidelity", "component-status", "stages", "outcomes", "determinants", "time-plan",
    "time-systematic", "time-monthly",
)
MUNICIPALITY_CHARTS: tuple[str, ...] = (
    "fidelity-heatmap", "fidelity-spread", "stage-progress", "response-rates", "time-use",
)


__all__ = [
    "OKABE_ITO",
    "CfirRow",
    "Chart",
    "ComponentStatusRow",
    "FidelityRow",
    "ModuleRef",
    "OutcomeRow",
    "ResponseRateSummaryRow",
    "RoundRef",
    "SchoolRef",
    "SpreadRow",
    "StageProgressRow",
    "StageRow",
    "StatusChangeRow",
    "StepRow",
    "Table",
    "TimePlanRow",
    "TimeUseRow",
    "component_status",
    "determinants",
    "fidelity_heatmap",
    "fidelity_over_rounds",
    "fidelity_spread",
    "outcomes_over_rounds",
    "response_rates",
    "stage_progress",
    "stage_timeline",
    "systematic_vs_plan",
    "time_by_month",
    "time_share_vs_plan",
    "time_use_comparison",
]

