"""The start-up module's writes: start, pause, resume, and confirm a step as done or skip
it with a reason. Each validates, then writes in one transaction with an audit entry per
changed row; the start-up's row is locked first, so a double click changes it once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sovei_platform.audit import audited_write
from sovei_platform.unique import unique_message

from ..models import STARTUP_STEP_ORDER, School, SchoolStartup, StartupStepRecord
from ..startup import evidence
from ._common import invalid, lock

if TYPE_CHECKING:
    from accounts.models import User

MAX_REASON = 1000

ALREADY_STARTED = _("The school's start-up has already been started.")
NOT_STARTED = _("Start the school's start-up first.")
PAUSED = _("The start-up is paused. Resume it first.")
NOT_PAUSED = _("The start-up is not paused.")
FINISHED = _("The start-up is finished.")
UNKNOWN_STEP = _("There is no such step in the start-up.")
ALREADY_DONE = _("This step is already marked as done.")
ALREADY_RECORDED = _("This step is already done or skipped.")
NOT_DONE_YET = _("The school's records do not show this step yet: %(missing)s")
REASON_REQUIRED = _("Say why the step is skipped.")
REASON_TOO_LONG = _("Keep the reason to at most %(limit)s characters.")

unique_message("startup_step_unique", ALREADY_RECORDED, field="step")


def _startup_of(school: School) -> SchoolStartup:
    """The school's start-up, locked until the transaction ends; call it inside
    `audited_write`."""
    startup = SchoolStartup.objects.filter(school=school).first()
    if startup is None:
        raise invalid("startup", NOT_STARTED, "not_started")
    return lock(startup)


def _check_step(step: str) -> None:
    if step not in STARTUP_STEP_ORDER:
        raise invalid("step", UNKNOWN_STEP, "unknown")


def _check_active(startup: SchoolStartup) -> None:
    if startup.finished_at is not None:
        raise invalid("startup", FINISHED, "finished")
    if startup.paused_at is not None:
        raise invalid("startup", PAUSED, "paused")


def _move_on(startup: SchoolStartup) -> None:
    """Set the current step to the first one neither done nor skipped (or finish the
    start-up); saves the row only when that changes."""
    recorded = set(startup.steps.values_list("step", flat=True))
    current = next((s for s in STARTUP_STEP_ORDER if s not in recorded), "")
    if current == startup.current_step:
        return
    now = timezone.now()
    startup.current_step = current
    startup.current_step_since = now
    if not current:
        startup.finished_at = now
    startup.save()


def startup_start(*, school: School, actor: User | None = None) -> SchoolStartup:
    now = timezone.now()
    with audited_write(actor):
        if SchoolStartup.objects.filter(school=school).exists():
            raise invalid("startup", ALREADY_STARTED, "duplicate")
        startup = SchoolStartup(
            school=school,
            started_at=now,
            started_by=actor if actor is not None and actor.pk else None,
            current_step=STARTUP_STEP_ORDER[0],
            current_step_since=now,
        )
        startup.save()
    return startup


def startup_pause(*, school: School, actor: User | None = None) -> SchoolStartup:
    with audited_write(actor):
        startup = _startup_of(school)
        if startup.paused_at is not None:
            raise invalid("startup", _("The start-up is already paused."), "paused")
        _check_active(startup)
        startup.paused_at = timezone.now()
        startup.paused_by = actor if actor is not None and actor.pk else None
        startup.save()
    return startup


def startup_resume(*, school: School, actor: User | None = None) -> SchoolStartup:
    with audited_write(actor):
        startup = _startup_of(school)
        if startup.paused_at is None:
            raise invalid("startup", NOT_PAUSED, "not_paused")
        startup.paused_at = None
        startup.paused_by = None
        startup.save()
    return startup


def startup_step_complete(
    *, school: School, step: str, actor: User | None = None
) -> StartupStepRecord:
    """Confirm a step as done. Refused unless the school's records show it (see
    implementation.startup.evidence); a skipped step can be done later."""
    _check_step(step)
    with audited_write(actor):
        startup = _startup_of(school)
        _check_active(startup)
        record = startup.steps.filter(step=step).first()
        if record is not None and not record.skipped:
            raise invalid("step", ALREADY_DONE, "duplicate")
        missing = [str(r.missing) for r in evidence(school)[step] if not r.met]
        if missing:
            raise invalid("step", NOT_DONE_YET, "not_done", missing=" ".join(missing))
        if record is None:
            record = StartupStepRecord(startup=startup, step=step)
        record.completed_at = timezone.now()
        record.completed_by = actor if actor is not None and actor.pk else None
        record.skipped_reason = ""
        record.save()
        _move_on(startup)
    return record


def startup_step_skip(
    *, school: School, step: str, reason: str, actor: User | None = None
) -> StartupStepRecord:
    """Leave a step out, saying why (e.g. the baseline is known from last year)."""
    _check_step(step)
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", REASON_REQUIRED, "required")
    if len(reason) > MAX_REASON:
        raise invalid("reason", REASON_TOO_LONG, "max_length", limit=MAX_REASON)
    with audited_write(actor):
        startup = _startup_of(school)
        _check_active(startup)
        if startup.steps.filter(step=step).exists():
            raise invalid("step", ALREADY_RECORDED, "duplicate")
        record = StartupStepRecord(
            startup=startup,
            step=step,
            completed_at=timezone.now(),
            completed_by=actor if actor is not None and actor.pk else None,
            skipped_reason=reason,
        )
        record.save()
        _move_on(startup)
    return record
