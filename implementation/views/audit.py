"""The audit trail: who changed what, when, in the schools the user manages."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from ..forms import AuditFilterForm
from ..selectors import audit_entries_for, managed_schools_for
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
        old, new = ([*list(shown), "", ""])[:2]
        rows.append((label, _clean(old), _clean(new)))
    return rows


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
    rows = [
        {
            "entry": entry,
            "action": ACTIONS.get(entry.action, ("", "")),
            "what": entry.content_type.name if entry.content_type else "",
            "changes": [
                change for change in _changes(entry)
                # a new record lists what it was created with, not its empty fields
                if entry.action != LogEntry.Action.CREATE or change[2] != "–"
            ] if entry.action != LogEntry.Action.DELETE else [],
        }
        for entry in page.object_list
    ]
    school_names: dict[Any, str] = {s.pk: s.name for s in schools}
    for row in rows:
        data = row["entry"].additional_data or {}
        row["school"] = school_names.get(data.get("school_id"), "")
    return render_page(
        request,
        "implementation/audit.html",
        {"form": form, "page": page, "rows": rows, "filtered": bool(request.GET.get("school")
         or request.GET.get("date_from") or request.GET.get("date_to"))},
    )
