from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def validate_organisation_number(value: str) -> None:
    """Norwegian organisation number (as used by NSR): nine digits, modulus-11 check digit."""
    if not value:
        return
    if len(value) != 9 or not value.isdigit():
        raise ValidationError(_("An organisation number has nine digits."), code="format")
    remainder = sum(int(d) * w for d, w in zip(value[:8], _WEIGHTS, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10 or check != int(value[8]):
        raise ValidationError(_("The organisation number's check digit is wrong."), code="checksum")


# --- Plausible dates and numbers --------------------------------------------------------------
#
# The one definition of what a person may type. The model fields carry these validators (and
# AssessmentRound.clean() the round's length), so every write path enforces the same rule:
# the services call full_clean (implementation.services._common.clean), the pages show the
# service's error next to the field, the API answers 400 naming the field. The rules only
# widen as time passes, so a row that was valid when saved stays valid.

EARLIEST_DATE = date(2000, 1, 1)
"""No date anyone types is earlier (SoVei's records start long after this)."""

PLAN_YEARS_AHEAD = 10
"""A plan's start and end and a step's due date lie at most this many years ahead."""

ROUND_YEARS_AHEAD = 2
"""An assessment round opens and closes at most this many years ahead."""

MAX_ROUND_DAYS = 366
"""A round closes at most this many days after it opens (a round is one semester)."""

MIN_ACTIVITY_MINUTES = 1
MAX_ACTIVITY_MINUTES = 720
"""Minutes of one activity log entry: at most a 12-hour day."""

MIN_PUPILS = 1
MAX_PUPILS = 3000
"""A school's number of pupils (left empty when unknown); Norway's largest primary and
lower-secondary schools have about a third of the maximum."""

MIN_GRADE = 1
MAX_GRADE = 10
"""The grade levels (trinn) of primary and lower-secondary school."""

MIN_POSITION_PERCENT = Decimal("0.1")
MAX_POSITION_PERCENT = Decimal("100")
"""A social-work position's share of a full-time post."""

MAX_PERCENT = 100
"""Intended shares of time (per module, planned and system-level work)."""


def today() -> date:
    return timezone.localdate()


def years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _not_too_early(value: date) -> None:
    if value < EARLIEST_DATE:
        raise ValidationError(
            _("Enter a date in %(year)s or later."),
            code="too_early",
            params={"year": EARLIEST_DATE.year},
        )


def _not_too_far_ahead(value: date, years: int) -> None:
    if value > years_after(today(), years):
        raise ValidationError(
            _("Enter a date at most %(years)s years from today."),
            code="too_far_ahead",
            params={"years": years},
        )


def validate_done_date(value: date) -> None:
    """A day on which something happened: done, entered, left, changed, performed."""
    _not_too_early(value)
    if value > today():
        raise ValidationError(_("The date cannot be in the future."), code="future")


def validate_planned_date(value: date) -> None:
    """A plan's start or end, a step's due date."""
    _not_too_early(value)
    _not_too_far_ahead(value, PLAN_YEARS_AHEAD)


def validate_round_date(value: date) -> None:
    """The day a round opens or closes."""
    _not_too_early(value)
    _not_too_far_ahead(value, ROUND_YEARS_AHEAD)


def validate_round_length(opens_on: date | None, closes_on: date | None) -> None:
    """A round is open at most MAX_ROUND_DAYS days; the error names `closes_on`."""
    if opens_on is None or closes_on is None:
        return
    try:
        validate_round_date(opens_on)
        validate_round_date(closes_on)
    except ValidationError:
        return  # the dates' own errors say what is wrong
    if (closes_on - opens_on).days > MAX_ROUND_DAYS:
        raise ValidationError(
            {
                "closes_on": ValidationError(
                    _("A round can be open for at most %(days)s days."),
                    code="too_long",
                    params={"days": MAX_ROUND_DAYS},
                )
            }
        )


def check_field(field: str, validator: Callable[[Any], None], value: Any) -> None:
    """Run one of the validators above on a value that is no model field (a service
    argument), naming `field` in the error as a model field's error would."""
    try:
        validator(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.error_list}) from exc
