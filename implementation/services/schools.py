"""Writes of tenant data: validated, audited, one transaction each."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sovei_platform.audit import audited_write

from ..models import School, StaffPosition
from ._common import clean, lock

if TYPE_CHECKING:
    from accounts.models import User


def school_create(
    *,
    name: str,
    organisation_number: str = "",
    grade_from: int = 1,
    grade_to: int = 7,
    pupil_count: int | None = None,
    actor: User | None = None,
) -> School:
    school = School(
        name=name.strip(),
        organisation_number=organisation_number.strip(),
        grade_from=grade_from,
        grade_to=grade_to,
        pupil_count=pupil_count,
    )
    clean(school)
    with audited_write(actor):
        school.save()
    return school


def staff_position_add(
    *,
    school: School,
    profession: str,
    position_percent: Decimal | int | str,
    title: str = "",
    actor: User | None = None,
) -> StaffPosition:
    position = StaffPosition(
        school=school,
        profession=profession,
        position_percent=Decimal(str(position_percent)),
        title=title,
    )
    position.full_clean()
    with audited_write(actor):
        position.save()
    return position


def school_update(*, school: School, actor: User | None = None, **fields: object) -> School:
    allowed = {"name", "organisation_number", "grade_from", "grade_to", "pupil_count"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Unknown school fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(school, name, value.strip() if isinstance(value, str) else value)
    clean(school)
    with audited_write(actor):
        school.save()
    return school


def staff_position_remove(*, position: StaffPosition, actor: User | None = None) -> None:
    with audited_write(actor):
        lock(position).delete()
