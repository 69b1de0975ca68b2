"""Validation of Norwegian municipality identifiers."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# County numbers in force from 1 January 2024 (the two first digits of a kommunenummer).
COUNTIES: dict[str, str] = {
    "03": "Oslo",
    "11": "Rogaland",
    "15": "Møre og Romsdal",
    "18": "Nordland",
    "31": "Østfold",
    "32": "Akershus",
    "33": "Buskerud",
    "34": "Innlandet",
    "39": "Vestfold",
    "40": "Telemark",
    "42": "Agder",
    "46": "Vestland",
    "50": "Trøndelag",
    "55": "Troms",
    "56": "Finnmark",
}

COUNTY_CHOICES: list[tuple[str, str]] = sorted(COUNTIES.items(), key=lambda c: c[1])

RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "admin",
        "public",
        "static",
        "media",
        "mail",
        "research",
        "forsker",
        "tenant-template",
        "healthz",
        "pg-catalog",
        "information-schema",
    }
)
_SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$")


def validate_kommunenummer(value: str) -> None:
    if not re.fullmatch(r"\d{4}", value or ""):
        raise ValidationError(_("A municipality number has exactly four digits."), code="format")
    if value[:2] not in COUNTIES:
        raise ValidationError(
            _("%(value)s does not start with a valid county number."),
            code="county",
            params={"value": value},
        )
    if value[2:] == "00":
        raise ValidationError(
            _("%(value)s is a county number, not a municipality number."),
            code="county_only",
            params={"value": value},
        )


def validate_slug(value: str) -> None:
    if not _SLUG_RE.fullmatch(value or ""):
        raise ValidationError(
            _("Use 2–50 lowercase letters a–z, digits and hyphens, starting with a letter."),
            code="format",
        )
    if "--" in value or value in RESERVED_SLUGS:
        raise ValidationError(_("This address is reserved."), code="reserved")


def county_for(kommunenummer: str) -> str:
    return kommunenummer[:2]
