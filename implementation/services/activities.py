"""The activity log: time social-work staff spend, per module, component and mode."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from catalog.models import Module
from sovei_platform.audit import audited_write

from ..models import Activity, ComponentAdoption, School
from ._common import clean, invalid, lock, today

if TYPE_CHECKING:
    from accounts.models import User

# Staff may catch up on the log, but not record time for a date long past.
MAX_BACKDATE = timedelta(days=366)


def activity_log(
    *,
    school: School,
    staff: User,
    performed_on: date,
    minutes: int,
    module: Module,
    mode: str,
    adoption: ComponentAdoption | None = None,
    note: str = "",
) -> Activity:
    if performed_on > today():
        raise invalid("performed_on", _("The date cannot be in the future."), "future")
    if performed_on < today() - MAX_BACKDATE:
        raise invalid("performed_on", _("The date is more than a year ago."), "too_old")
    if adoption is not None:
        if adoption.school_id != school.pk:
            raise invalid("adoption", _("The component is not adopted by this school."), "school")
        if adoption.module_id != module.pk:
            raise invalid(
                "adoption", _("The component does not belong to the chosen module."), "module"
            )
    activity = Activity(
        school=school,
        staff=staff,
        performed_on=performed_on,
        minutes=minutes,
        module=module,
        adoption=adoption,
        mode=mode,
        note=note.strip(),
    )
    clean(activity)
    with audited_write(staff):
        activity.save()
    return activity


def activity_delete(*, activity: Activity, actor: User | None = None) -> None:
    """Delete an entry; a second request deleting it at the same time finds it gone (404)."""
    with audited_write(actor):
        lock(activity).delete()
