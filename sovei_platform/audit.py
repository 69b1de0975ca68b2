"""One way to write: inside a transaction, with the acting user on every audit entry.

Audit entries come from django-auditlog's model signals for every registered model;
`audited_write` makes the actor known to them and keeps the write and its audit entries
in one transaction, so both land or neither does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from auditlog.context import set_actor
from django.db import transaction

if TYPE_CHECKING:
    from accounts.models import User


@contextmanager
def audited_write(actor: User | None) -> Iterator[None]:
    with transaction.atomic():
        if actor is None or not getattr(actor, "pk", None):
            yield
        else:
            with set_actor(actor):
                yield
