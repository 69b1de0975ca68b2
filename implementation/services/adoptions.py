"""Component adoptions, their status history and FRAME adaptations."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy as _

from catalog.models import Component, Module
from sovei_platform.audit import audited_write
from sovei_platform.unique import unique_message

from ..models import (
    ADOPTION_TRANSITIONS,
    Adaptation,
    AdoptionStatus,
    AdoptionStatusChange,
    ComponentAdoption,
    LocalComponent,
    School,
)
from ..validators import check_field, validate_done_date
from ._common import clean, invalid, lock, today

if TYPE_CHECKING:
    from accounts.models import User

ALREADY_ADOPTED = _("The school has already adopted this component.")
unique_message("adoption_unique_component", ALREADY_ADOPTED)
unique_message(
    "local_component_unique_title",
    _("The school already has a local component with this title."),
)


def adoption_create(
    *,
    school: School,
    component: Component | None = None,
    local_module: Module | None = None,
    local_title: str = "",
    local_description: str = "",
    status: str = AdoptionStatus.PLANNED,
    status_since: date | None = None,
    responsible: User | None = None,
    actor: User | None = None,
) -> ComponentAdoption:
    """Adopt a catalog component, or (with local_module and local_title) a local one."""
    status_since = status_since or today()
    if (component is None) == (local_module is None):
        raise invalid("component", _("Choose a model component or describe a local one."), "one_of")
    if status not in (AdoptionStatus.PLANNED, AdoptionStatus.IN_PROGRESS, AdoptionStatus.IN_PLACE):
        raise invalid(
            "status",
            _("A new adoption starts as planned, in progress or in place."),
            "initial_status",
        )
    if status_since > today():
        raise invalid("status_since", _("The date cannot be in the future."), "future")
    if (
        component is not None
        and ComponentAdoption.objects.filter(school=school, component=component).exists()
    ):
        raise invalid("component", ALREADY_ADOPTED, "duplicate")
    with audited_write(actor):
        local = None
        if local_module is not None:
            local = LocalComponent(
                school=school,
                module=local_module,
                title=local_title.strip(),
                description=local_description.strip(),
            )
            clean(local)
            local.save()
        adoption = ComponentAdoption(
            school=school,
            component=component,
            local_component=local,
            status=status,
            status_since=status_since,
            responsible=responsible,
        )
        clean(adoption)
        adoption.save()
        AdoptionStatusChange.objects.create(
            adoption=adoption,
            from_status="",
            to_status=status,
            changed_on=status_since,
            changed_by=actor,
        )
    return adoption


def adoption_change_status(
    *,
    adoption: ComponentAdoption,
    to_status: str,
    on: date | None = None,
    note: str = "",
    actor: User | None = None,
) -> ComponentAdoption:
    on = on or today()
    if to_status not in AdoptionStatus.values:
        raise invalid("to_status", _("Unknown status."), "unknown")
    check_field("on", validate_done_date, on)
    with audited_write(actor):
        # Decide from the locked row: a double click sees the first click's change.
        adoption = lock(adoption)
        if to_status not in ADOPTION_TRANSITIONS[adoption.status]:
            raise invalid(
                "to_status",
                _("A component cannot go from “%(from)s” to “%(to)s”."),
                "transition",
                **{
                    "from": AdoptionStatus(adoption.status).label,
                    "to": AdoptionStatus(to_status).label,
                },
            )
        if on < adoption.status_since:
            raise invalid(
                "on",
                _("The date cannot be before the current status began (%(date)s)."),
                "before_current",
                date=adoption.status_since.isoformat(),
            )
        AdoptionStatusChange.objects.create(
            adoption=adoption,
            from_status=adoption.status,
            to_status=to_status,
            changed_on=on,
            changed_by=actor,
            note=note.strip()[:500],
        )
        adoption.status = to_status
        adoption.status_since = on
        adoption.save(update_fields=["status", "status_since", "updated_at"])
    return adoption


def adoption_update(
    *,
    adoption: ComponentAdoption,
    responsible: User | None,
    local_title: str | None = None,
    local_description: str | None = None,
    actor: User | None = None,
) -> ComponentAdoption:
    with audited_write(actor):
        if adoption.local_component is not None and (local_title or local_description is not None):
            local = adoption.local_component
            if local_title:
                local.title = local_title.strip()
            if local_description is not None:
                local.description = local_description.strip()
            clean(local)
            local.save()
        adoption.responsible = responsible
        adoption.save(update_fields=["responsible", "updated_at"])
    return adoption


def adoption_delete(*, adoption: ComponentAdoption, actor: User | None = None) -> None:
    """Delete an adoption made by mistake. One that has been rated or logged against keeps
    its history: discontinue it instead."""
    try:
        with audited_write(actor):
            local = lock(adoption).local_component
            adoption.delete()
            if local is not None:
                local.delete()
    except ProtectedError as exc:
        raise invalid(
            "adoption",
            _("This component has ratings or logged time. Mark it as discontinued instead."),
            "in_use",
        ) from exc


ADAPTATION_FIELDS = (
    "what_changed",
    "made_on",
    "timing",
    "planned",
    "decided_by",
    "level",
    "change_type",
    "nature",
    "fidelity",
    "goals",
    "reason_level",
    "reasons",
)


def _adaptation_validate(adaptation: Adaptation) -> None:
    if adaptation.made_on and adaptation.made_on > today():
        raise invalid("made_on", _("The date cannot be in the future."), "future")
    if len(set(adaptation.goals)) != len(adaptation.goals):
        raise invalid("goals", _("Each goal can be chosen once."), "duplicate")
    clean(adaptation)


def adaptation_create(
    *, adoption: ComponentAdoption, actor: User | None = None, **fields: object
) -> Adaptation:
    unknown = set(fields) - set(ADAPTATION_FIELDS)
    if unknown:
        raise ValueError(f"Unknown adaptation fields: {sorted(unknown)}")
    adaptation = Adaptation(adoption=adoption, recorded_by=actor, **fields)
    _adaptation_validate(adaptation)
    with audited_write(actor):
        adaptation.save()
    return adaptation


def adaptation_update(
    *, adaptation: Adaptation, actor: User | None = None, **fields: object
) -> Adaptation:
    unknown = set(fields) - set(ADAPTATION_FIELDS)
    if unknown:
        raise ValueError(f"Unknown adaptation fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(adaptation, name, value)
    _adaptation_validate(adaptation)
    with audited_write(actor):
        adaptation.save()
    return adaptation


def adaptation_delete(*, adaptation: Adaptation, actor: User | None = None) -> None:
    with audited_write(actor):
        lock(adaptation).delete()
