"""The audit trail: who changed what, when, in the schools the user manages."""

from __future__ import annotations

import ast
import re
from datetime import date
from typing import Any

from auditlog.models import LogEntry
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from ..forms import AuditFilterForm
from ..models import (
    ActivityMode,
    AdoptionStatus,
    RespondentKind,
    Stage,
    StartupStep,
    SurveyLink,
    SurveyRelease,
)
from ..selectors import (
    audit_entries_for,
    audit_related_names,
    catalog_instruments,
    managed_schools_for,
)
from ._common import AUDIT_DENIED, access_of, render_page, require

PAGE_SIZE = 50
# Bookkeeping that says nothing to a reader (the school is shown in its own column).
HIDDEN_FIELDS = frozenset(
    {"id", "token_hash", "created_at", "updated_at", "submitted_at", "school"}
)

ACTIONS = {
    LogEntry.Action.CREATE: ("create", _("created")),
    LogEntry.Action.UPDATE: ("update", _("changed")),
    LogEntry.Action.DELETE: ("delete", _("deleted")),
    LogEntry.Action.ACCESS: ("access", _("read")),
}


# Individual survey answers are not shown value by value: the trail says that an answer was
# saved, and by whom for staff with an account, but not what they answered.
VALUELESS_MODELS = frozenset({"answer"})


def _as_list(value: str) -> list[str]:
    """An array field's value as auditlog stored it ("['reach', 'cost']")."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return [value]
    return [str(v) for v in parsed] if isinstance(parsed, (list, tuple)) else [value]


def _choice_label(field: Any, value: str) -> str | None:
    """The label of a stored choice value (or of each value of an array of choices), in the
    reader's language; None for a field without choices."""
    if value in ("None", ""):
        return value
    if getattr(field, "choices", None):
        return str(dict((str(k), v) for k, v in field.flatchoices).get(value, value))
    base = getattr(field, "base_field", None)
    if base is not None and getattr(base, "choices", None):
        labels = dict((str(k), v) for k, v in base.flatchoices)
        return ", ".join(str(labels.get(item, item)) for item in _as_list(value))
    return None


def _changes(entry: LogEntry) -> list[tuple[str, str, str]]:
    """(field, old, new) for display: the model's own fields by their verbose names, choice
    labels and related objects by name; timestamps, ids and token hashes are left out, and
    a value that was not there reads as "–"."""
    model = entry.content_type.model_class() if entry.content_type else None
    if entry.content_type and entry.content_type.model in VALUELESS_MODELS:
        return []
    raw = entry.changes_dict
    try:
        display = entry.changes_display_dict if model is not None else {}
    except Exception:  # a value that no longer resolves: fall back to the raw values
        display = {}
    rows = []
    for name, values in raw.items():
        if name in HIDDEN_FIELDS:
            continue
        label = name
        if model is not None:
            try:
                field = model._meta.get_field(name)
            except Exception:  # noqa: S112 - not a field of the model (any more)
                continue
            if not getattr(field, "concrete", False):
                continue
            label = str(getattr(field, "verbose_name", name))
        shown = display.get(label, values)
        if model is not None:  # choices by their labels also when auditlog's display fails
            labels = [_choice_label(field, str(v)) for v in values]
            if all(label_ is not None for label_ in labels):
                shown = labels
        old, new = ([*list(shown), "", ""])[:2]
        rows.append((label, _clean(old), _clean(new)))
    return rows


# How some records describe themselves in the trail (their __str__ when written) holds raw
# values: "2026-03-01 30 min oppsokende", "planned → in_progress (2026-03-01)", "FIDELITY".
# The stored text stays language-neutral; these read it back in the reader's language.
ISO_DATE = r"(\d{4}-\d{2}-\d{2})"


def _day(text: str | None) -> str:
    if not text:
        return ""
    return date_format(date.fromisoformat(text), "SHORT_DATE_FORMAT")


def _label(choices: type[models.TextChoices], value: str) -> str:
    return str(dict(choices.choices).get(value, value)) if value else "–"


def _describe(entry: LogEntry, instruments: dict[str, Any]) -> str:
    """The record's description for the reader: labels, not raw values."""
    text = entry.object_repr or ""
    kind = entry.content_type.model if entry.content_type else ""
    if kind == "activity" and (m := re.fullmatch(ISO_DATE + r" (\d+) min (\w+)", text)):
        return f"{_day(m[1])} · {m[2]} min · {_label(ActivityMode, m[3])}"
    if kind == "adoptionstatuschange" and (
        m := re.fullmatch(r"(\S+) → (\S+) \(" + ISO_DATE + r"\)", text)
    ):
        before = "–" if m[1] == "–" else _label(AdoptionStatus, m[1])
        return f"{before} → {_label(AdoptionStatus, m[2])} ({_day(m[3])})"
    if kind == "stageperiod" and (m := re.fullmatch(r"(\w+) " + ISO_DATE + "–" + ISO_DATE + "?",
                                                      text)):
        return f"{_label(Stage, m[1])} {_day(m[2])}–{_day(m[3])}"
    if kind == "surveylink" and (m := re.fullmatch(r"link (\d+) \((.*)\)", text)):
        return f"{capfirst(SurveyLink._meta.verbose_name)} {m[1]} ({m[2]})"
    if kind == "surveyrelease" and (m := re.fullmatch(r"release \d+: round \d+, n=(\d+)", text)):
        return f"{capfirst(SurveyRelease._meta.verbose_name)} · n = {m[1]}"
    if kind == "schoolstartup" and (m := re.fullmatch(r"(.*): (\w+)", text)):
        step = _("finished") if m[2] == "finished" else _label(StartupStep, m[2])
        return f"{m[1]}: {step}"
    if kind == "startupsteprecord" and (m := re.fullmatch(r"(\w+) \((done|skipped)\)", text)):
        state = pgettext("start-up", "Done" if m[2] == "done" else "Skipped")
        return f"{_label(StartupStep, m[1])} ({state})"
    if kind == "response":
        if text.isupper() and text.lower() in instruments:
            return str(instruments[text.lower()].name)
        if m := re.fullmatch(r"(\d+) (\d+) (\w+)", text):
            by_id = {str(i.pk): i for i in instruments.values()}
            name = str(by_id[m[1]].name) if m[1] in by_id else ""
            return f"{name} · {_label(RespondentKind, m[3])}".strip(" ·")
    return text


def _with_related_names(
    entry: LogEntry, names: dict[tuple[type[models.Model], str], str]
) -> LogEntry:
    """The entry, showing its foreign keys from ``names`` instead of a query each."""

    def display(field: Any, value: Any) -> str:
        if value == "None":
            return str(value)
        return names.get((field.related_model, str(value)), str(value))

    entry._get_changes_display_for_fk_field = display  # type: ignore[method-assign]
    return entry


def _clean(value: Any) -> str:
    text = "" if value is None else str(value)
    return "–" if text in ("", "None") else text


def audit(request: HttpRequest) -> HttpResponse:
    access = access_of(request)
    require(access.can_read_audit, AUDIT_DENIED)
    schools = managed_schools_for(access)
    form = AuditFilterForm(request.GET or None, schools=schools)
    entries = audit_entries_for(access)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data.get("school"):
            entries = entries.filter(additional_data__school_id=data["school"].pk)
        if data.get("date_from"):
            entries = entries.filter(timestamp__date__gte=data["date_from"])
        if data.get("date_to"):
            entries = entries.filter(timestamp__date__lte=data["date_to"])
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    names = audit_related_names(list(page.object_list), VALUELESS_MODELS)
    rows = [
        {
            "entry": entry,
            "action": ACTIONS.get(entry.action, ("", "")),
            "what": entry.content_type.name if entry.content_type else "",
            "changes": [
                change for change in _changes(_with_related_names(entry, names))
                # a new record lists what it was created with, not its empty fields
                if entry.action != LogEntry.Action.CREATE or change[2] != "–"
            ] if entry.action != LogEntry.Action.DELETE else [],
        }
        for entry in page.object_list
    ]
    school_names: dict[Any, str] = {s.pk: s.name for s in schools}
    instruments = {i.code: i for i in catalog_instruments().prefetch_related(None)}
    for row in rows:
        row["description"] = _describe(row["entry"], instruments)
        data = row["entry"].additional_data or {}
        row["school"] = school_names.get(data.get("school_id"), "")
    return render_page(
        request,
        "implementation/audit.html",
        {"form": form, "page": page, "rows": rows, "filtered": bool(request.GET.get("school")
         or request.GET.get("date_from") or request.GET.get("date_to"))},
    )
