"""Template helpers of the recording pages."""

from __future__ import annotations

from typing import Any

from django import forms, template

register = template.Library()

SUMMARY_LIMIT = 6


@register.simple_tag
def error_summary(form: forms.BaseForm | None, limit: int = SUMMARY_LIMIT) -> dict[str, Any]:
    """The error summary at the top of a form: the non-field errors, then up to `limit`
    field errors as (anchor, "Label: reason") with a count of the rest, so a long
    questionnaire left half-empty gives a short summary, not a wall of links."""
    if form is None or not form.errors:
        return {"errors": [], "fields": [], "more": 0}
    fields: list[tuple[str, str]] = []
    for bound in form:
        for error in bound.errors:
            label = str(bound.label or "").rstrip(" .:?")
            fields.append((f"#{bound.auto_id}", f"{label}: {error}" if label else str(error)))
    return {
        "errors": list(form.non_field_errors()),
        "fields": fields[:limit],
        "more": max(0, len(fields) - limit),
    }
