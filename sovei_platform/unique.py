"""A write that collides with a unique constraint answers like a duplicate found before
writing: a ValidationError for the field, never a 500.

Services look for a duplicate before they write, but two requests at once (a double click,
two people) can both find none; the database's constraint then refuses the later INSERT or
UPDATE with an IntegrityError. `audited_write` (sovei_platform.audit) hands such an error to
`unique_violation_error`, which names

* the field: the constraint's last field, the one a person chose (a round's `name`, the
  `component` a school adopts); the fields before it only scope it (`school`, `plan`);
* the message: the one the owning service registered with `unique_message` (the same text
  its own check gives), else Django's "<Model> with this <field> already exists." — both
  translated when the error is shown, in the user's language.

`implementation.services._common.clean` reports a duplicate it finds before writing in the
same words (`unique_constraint_error`), so a person sees one message for it, whether the
other row was there before or came a moment earlier.

The constraint is found by its name (`diag.constraint_name`) among the models'
UniqueConstraints, else by table and columns (`diag.message_detail`: "Key (school_id,
component_id)=(1, 4) already exists.") for `unique=True` fields and unique_together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg.errors
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Model, UniqueConstraint


@dataclass(frozen=True)
class _Message:
    field: str | None
    message: Any
    code: str


# A model and the fields of one of its unique keys.
Found = tuple[type[Model], tuple[str, ...]]

_MESSAGES: dict[str, _Message] = {}
_KEY_COLUMNS = re.compile(r"\((?P<columns>[^()]*)\)=\(")


def unique_message(
    constraint: str, message: Any, *, field: str | None = None, code: str = "duplicate"
) -> None:
    """What a person is told when a write breaks `constraint` (by default under the
    constraint's last field): call it next to the service's own check for the duplicate,
    with the same (lazily translated) message."""
    _MESSAGES[constraint] = _Message(field, message, code)


@cache
def _constraints() -> dict[str, Found]:
    found: dict[str, Found] = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.fields:
                found[constraint.name] = (model, tuple(constraint.fields))
    return found


def _by_columns(table: str | None, detail: str | None) -> Found | None:
    match = _KEY_COLUMNS.search(detail or "")
    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if match is None or model is None:
        return None
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    columns = [c.strip().strip('"') for c in match.group("columns").split(",")]
    if not all(c in by_column for c in columns):
        return None
    return model, tuple(by_column[c] for c in columns)


def unique_error(
    model: type[Model], fields: tuple[str, ...], constraint: str = ""
) -> ValidationError:
    """The field error for a duplicate of `model` in `fields` (the key of `constraint`)."""
    registered = _MESSAGES.get(constraint)
    if registered is not None:
        field = registered.field or fields[-1]
        error = ValidationError(registered.message, code=registered.code)
    else:
        field = fields[-1]
        error = model().unique_error_message(model, list(fields))
    return ValidationError({field: [error]})


def unique_constraint_error(model: type[Model], constraint: UniqueConstraint) -> ValidationError:
    """The field error for `constraint` of `model`, as a check before writing finds it
    (implementation.services._common.clean): the same as the database's refusal."""
    return unique_error(model, tuple(constraint.fields), constraint.name)


def unique_violation_error(exc: IntegrityError) -> ValidationError | None:
    """The field error for a unique violation, or None for any other integrity error
    (or a constraint no model declares)."""
    cause = exc.__cause__
    if not isinstance(cause, psycopg.errors.UniqueViolation):
        return None
    diag = cause.diag
    name = diag.constraint_name or ""
    found = _constraints().get(name) or _by_columns(diag.table_name, diag.message_detail)
    if found is None:
        return None
    model, fields = found
    return unique_error(model, fields, name)
