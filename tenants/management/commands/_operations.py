"""Shared by the municipality operation commands (backup, restore, export, erase)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from tenants.models import Municipality
from tenants.selectors import municipality_by_slug


def municipality_or_error(slug: str) -> Municipality:
    municipality = municipality_by_slug(slug)
    if municipality is None:
        raise CommandError(f"No municipality has the address {slug!r}.")
    return municipality


def command_error(exc: Exception) -> CommandError:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
        return CommandError("\n".join(lines))
    if isinstance(exc, ValidationError):
        return CommandError(" ".join(exc.messages))
    return CommandError(str(exc))
