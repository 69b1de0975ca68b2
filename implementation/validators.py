from __future__ import annotations

from django.core.exceptions import ValidationError
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
