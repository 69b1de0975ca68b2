"""Pseudonyms, size bands and semesters: how the research store names things without
naming them.

Pseudonyms are keyed hashes: HMAC-SHA256 under ``settings.RESEARCH_PSEUDONYM_KEY`` of a
domain-separated message built from the municipality's number (kommunenummer, which
survives a change of the municipality's address or schema) and the row's id in the
municipality's schema, truncated to 12 hex digits (48 bits) with a prefix:

    K-<12 hex>  municipality   HMAC(key, "sovei-research|v1|municipality|<kommunenummer>")
    S-<12 hex>  school         HMAC(key, "sovei-research|v1|school|<kommunenummer>|<id>")
    R-<12 hex>  round          HMAC(key, "sovei-research|v1|round|<kommunenummer>|<id>")

Without the key nobody can compute a pseudonym from a known school (a plain hash of
"5001|17" could be brute-forced in milliseconds); with the same key the pseudonyms are the
same at every refresh. Pseudonyms are computed in Python; the key is never sent to the
database.
Rotating it changes every pseudonym (docs/research.md).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from .models import SizeBand

PSEUDONYM_HEX_DIGITS = 12
NAMESPACE = "sovei-research|v1"


def _key() -> bytes:
    key = getattr(settings, "RESEARCH_PSEUDONYM_KEY", "")
    if not key:
        raise ImproperlyConfigured("RESEARCH_PSEUDONYM_KEY is not set.")
    return str(key).encode()


def _digest(*parts: object, key: bytes | None = None) -> str:
    message = "|".join((NAMESPACE, *(str(part) for part in parts))).encode()
    return hmac.new(key or _key(), message, hashlib.sha256).hexdigest()


def municipality_pseudonym(kommunenummer: str, *, key: bytes | None = None) -> str:
    return "K-" + _digest("municipality", kommunenummer, key=key)[:PSEUDONYM_HEX_DIGITS]


def school_pseudonym(kommunenummer: str, school_id: int, *, key: bytes | None = None) -> str:
    return "S-" + _digest("school", kommunenummer, school_id, key=key)[:PSEUDONYM_HEX_DIGITS]


def round_pseudonym(kommunenummer: str, round_id: int, *, key: bytes | None = None) -> str:
    return "R-" + _digest("round", kommunenummer, round_id, key=key)[:PSEUDONYM_HEX_DIGITS]


def key_fingerprint(*, key: bytes | None = None) -> str:
    """Tells two keys apart (recorded with each refresh) without revealing either."""
    return _digest("fingerprint", key=key)[:8]


# --- Size bands ----------------------------------------------------------------------------

# (lowest number of pupils, band), highest first.
SIZE_BANDS: tuple[tuple[int, SizeBand], ...] = (
    (20000, SizeBand.LARGEST),
    (5000, SizeBand.LARGE),
    (1000, SizeBand.MEDIUM),
    (0, SizeBand.SMALL),
)


def size_band(pupils: int) -> str:
    """The band of a municipality with `pupils` pupils over all its schools (a school
    without a recorded pupil count counts as 0)."""
    for lowest, band in SIZE_BANDS:
        if pupils >= lowest:
            return str(band.value)
    return str(SizeBand.SMALL.value)


# --- Semesters -----------------------------------------------------------------------------

SPRING = "V"  # vår: January–June
AUTUMN = "H"  # høst: July–December


@dataclass(frozen=True)
class Semester:
    year: int
    term: str

    @property
    def code(self) -> str:
        return f"{self.year}{self.term}"

    @property
    def index(self) -> int:
        return self.year * 2 + (1 if self.term == AUTUMN else 0)

    @property
    def label(self) -> str:
        if self.term == AUTUMN:
            return _("Autumn %(year)s") % {"year": self.year}
        return _("Spring %(year)s") % {"year": self.year}

    @property
    def first_day(self) -> date:
        return date(self.year, 7 if self.term == AUTUMN else 1, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, 12, 31) if self.term == AUTUMN else date(self.year, 6, 30)

    def previous(self) -> Semester:
        return Semester(self.year, SPRING) if self.term == AUTUMN else Semester(
            self.year - 1, AUTUMN)

    @classmethod
    def of(cls, day: date) -> Semester:
        return cls(day.year, AUTUMN if day.month >= 7 else SPRING)

    @classmethod
    def of_index(cls, index: int) -> Semester:
        return cls(index // 2, AUTUMN if index % 2 else SPRING)

    @classmethod
    def parse(cls, code: str) -> Semester | None:
        if len(code) != 5 or not code[:4].isdigit() or code[4] not in (SPRING, AUTUMN):
            return None
        return cls(int(code[:4]), code[4])


def published_semester(today: date, delay_days: int) -> Semester:
    """The latest semester published by `today`: the one that ended more than `delay_days`
    days before it (docs/research.md, "Publication")."""
    semester = Semester.of(today - timedelta(days=delay_days))
    if semester.last_day + timedelta(days=delay_days) < today:
        return semester
    return semester.previous()


def semester_label(code: str) -> str:
    semester = Semester.parse(code)
    return semester.label if semester else code


# The same rule in SQL, for the set-based refresh: `{column}` is a date expression.
def semester_code_sql(column: str) -> str:
    return (
        f"(EXTRACT(YEAR FROM {column})::int::text || "
        f"CASE WHEN EXTRACT(MONTH FROM {column}) >= 7 THEN '{AUTUMN}' ELSE '{SPRING}' END)"
    )


def semester_index_sql(column: str) -> str:
    return (
        f"(EXTRACT(YEAR FROM {column})::int * 2 + "
        f"CASE WHEN EXTRACT(MONTH FROM {column}) >= 7 THEN 1 ELSE 0 END)"
    )
