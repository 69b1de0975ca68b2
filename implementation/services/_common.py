from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone


def today() -> date:
    return timezone.localdate()


def invalid(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    """A ValidationError for one field; `message` is a lazy translation with %(name)s params."""
    return ValidationError({field: [ValidationError(message, code=code, params=params or None)]})


def clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Model validation with field errors kept per field (full_clean without unique checks
    that the database enforces anyway)."""
    instance.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
