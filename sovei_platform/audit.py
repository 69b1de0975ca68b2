"""One way to write: inside a transaction, with the acting user on every audit entry.

Audit entries come from django-auditlog's model signals for every registered model;
`audited_write` makes the actor known to them and keeps the write and its audit entries
in one transaction, so both land or neither does.

A write that a unique constraint refuses (two requests at once that both passed the
service's own check for a duplicate) leaves nothing behind and raises a ValidationError
for the field instead of the IntegrityError (sovei_platform.unique), so the API answers
400 and a page shows the error on its form.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from auditlog.context import set_actor
from django.db import IntegrityError, transaction

from .unique import unique_violation_error

if TYPE_CHECKING:
    from accounts.models import User


@contextmanager
def audited_write(actor: User | None) -> Iterator[None]:
    try:
        with transaction.atomic():
            if actor is None or not getattr(actor, "pk", None):
                yield
            else:
                with set_actor(actor):
                    yield
    except IntegrityError as exc:
        error = unique_violation_error(exc)
        if error is None:
            raise
        raise error from exc
