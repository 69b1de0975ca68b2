from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import router
from django.db.models import Model, UniqueConstraint
from django.http import Http404
from django.utils import timezone

from sovei_platform.unique import unique_constraint_error

M = TypeVar("M", bound=Model)


def today() -> date:
    return timezone.localdate()


def invalid(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    """A ValidationError for one field; `message` is a lazy translation with %(name)s params."""
    return ValidationError({field: [ValidationError(message, code=code, params=params or None)]})


def clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Model validation with field errors kept per field: Django's full_clean, except that
    a unique constraint the row would break is reported as the database reports it when
    the other row comes a moment later (sovei_platform.unique): under the constraint's
    last field, with its service's message, never as "Constraint “…” is violated."."""
    errors: dict[str, Any] = {}
    try:
        instance.full_clean(exclude=exclude, validate_unique=True, validate_constraints=False)
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    # As full_clean does: constraints only on fields that passed their own validation.
    skip = set(exclude or ()) | {name for name in errors if name != NON_FIELD_ERRORS}
    using = router.db_for_write(type(instance), instance=instance)
    for model, constraints in instance.get_constraints():
        for constraint in constraints:
            try:
                constraint.validate(model, instance, exclude=skip, using=using)
            except ValidationError as exc:
                error = exc
                if isinstance(constraint, UniqueConstraint) and constraint.fields:
                    error = unique_constraint_error(model, constraint)
                errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def lock(instance: M) -> M:
    """Lock `instance`'s row until the transaction ends and read it again; call it inside
    `audited_write`, before deciding anything from the row's state.

    Two requests that change or delete the same row at once (a double click) then take
    turns: the second sees what the first did, so a row is deleted, a round closed, a
    status moved, and audited, once. A row deleted meanwhile is a 404, as it would be had
    the second request come later.

    The lock is FOR NO KEY UPDATE of this row only: it does not wait for the FOR KEY SHARE
    locks that other writers take on rows they reference (dashboards/signals.py, "Lock
    order"); a DELETE takes its stronger lock later, as it always did."""
    model = type(instance)
    found = (
        model._default_manager.select_for_update(no_key=True, of=("self",))
        .filter(pk=instance.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise Http404
    instance.refresh_from_db()
    return instance
