"""Implementation plans, their strategy steps (Proctor et al. 2013) and NIRN stage periods."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from catalog.models import ModelVersion, Module
from sovei_platform.audit import audited_write
from sovei_platform.unique import unique_message

from ..models import (
    ImplementationPlan,
    PlanModulePriority,
    School,
    StagePeriod,
    StepStatus,
    StrategyStep,
)
from ._common import clean, invalid, lock, today

if TYPE_CHECKING:
    from accounts.models import User

PLAN_EXISTS = _("The school already has a plan for this model version.")
unique_message("plan_unique_per_version", PLAN_EXISTS)


def _priorities_validate(version: ModelVersion, priorities: Mapping[Module, int]) -> None:
    for module, percent in priorities.items():
        if module.version_id != version.pk:
            raise invalid(
                "priorities",
                _("Module %(module)s is not part of this model version."),
                "module_version",
                module=str(module),
            )
        if not 0 <= int(percent) <= 100:
            raise invalid(
                "priorities", _("A share is between 0 and %(max)s %%."), "range", max=100
            )
    if sum(int(p) for p in priorities.values()) > 100:
        raise invalid(
            "priorities",
            _("The intended shares add up to more than %(max)s %%."),
            "sum",
            max=100,
        )


def _priorities_save(plan: ImplementationPlan, priorities: Mapping[Module, int]) -> None:
    PlanModulePriority.objects.filter(plan=plan).exclude(
        module_id__in=[m.pk for m in priorities]
    ).delete()
    for module, percent in priorities.items():
        PlanModulePriority.objects.update_or_create(
            plan=plan, module=module, defaults={"intended_percent": int(percent)}
        )


def plan_create(
    *,
    school: School,
    model_version: ModelVersion,
    title: str,
    starts_on: date,
    ends_on: date | None = None,
    intended_systematic_percent: int | None = None,
    priorities: Mapping[Module, int] | None = None,
    actor: User | None = None,
) -> ImplementationPlan:
    if ImplementationPlan.objects.filter(school=school, model_version=model_version).exists():
        raise invalid("model_version", PLAN_EXISTS, "duplicate")
    plan = ImplementationPlan(
        school=school,
        model_version=model_version,
        title=title.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        intended_systematic_percent=intended_systematic_percent,
    )
    _plan_dates_validate(plan)
    clean(plan)
    _priorities_validate(model_version, priorities or {})
    with audited_write(actor):
        plan.save()
        _priorities_save(plan, priorities or {})
    return plan


def _plan_dates_validate(plan: ImplementationPlan) -> None:
    if plan.ends_on and plan.starts_on and plan.ends_on < plan.starts_on:
        raise invalid("ends_on", _("The plan cannot end before it starts."), "order")


def plan_update(
    *,
    plan: ImplementationPlan,
    title: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    intended_systematic_percent: int | None = None,
    priorities: Mapping[Module, int] | None = None,
    actor: User | None = None,
) -> ImplementationPlan:
    if title is not None:
        plan.title = title.strip()
    if starts_on is not None:
        plan.starts_on = starts_on
    plan.ends_on = ends_on
    plan.intended_systematic_percent = intended_systematic_percent
    _plan_dates_validate(plan)
    clean(plan)
    early = plan.steps.filter(due_on__lt=plan.starts_on).first()
    if early is not None:
        raise invalid(
            "starts_on",
            _("Step “%(step)s” is due before this start date."),
            "steps_before",
            step=early.action,
        )
    if priorities is not None:
        _priorities_validate(plan.model_version, priorities)
    with audited_write(actor):
        plan.save()
        if priorities is not None:
            _priorities_save(plan, priorities)
    return plan


STEP_FIELDS = (
    "module",
    "stage",
    "eric_cluster",
    "action",
    "strategy_actor",
    "target",
    "due_on",
    "dose",
    "intended_outcome",
    "justification",
    "status",
    "done_on",
)


def _step_validate(step: StrategyStep) -> None:
    plan = step.plan
    if step.due_on and step.due_on < plan.starts_on:
        raise invalid(
            "due_on",
            _("The due date is before the plan starts (%(date)s)."),
            "before_plan",
            date=plan.starts_on.isoformat(),
        )
    if step.due_on and plan.ends_on and step.due_on > plan.ends_on:
        raise invalid(
            "due_on",
            _("The due date is after the plan ends (%(date)s)."),
            "after_plan",
            date=plan.ends_on.isoformat(),
        )
    if step.module_id and step.module.version_id != plan.model_version_id:
        raise invalid(
            "module", _("The module is not part of the plan's model version."), "module_version"
        )
    if step.status == StepStatus.DONE:
        step.done_on = step.done_on or today()
        if step.done_on > today():
            raise invalid("done_on", _("The date cannot be in the future."), "future")
    else:
        step.done_on = None
    clean(step)


def step_create(
    *, plan: ImplementationPlan, actor: User | None = None, **fields: object
) -> StrategyStep:
    unknown = set(fields) - set(STEP_FIELDS)
    if unknown:
        raise ValueError(f"Unknown step fields: {sorted(unknown)}")
    step = StrategyStep(plan=plan, **fields)
    _step_validate(step)
    with audited_write(actor):
        step.save()
    return step


def step_update(*, step: StrategyStep, actor: User | None = None, **fields: object) -> StrategyStep:
    unknown = set(fields) - set(STEP_FIELDS)
    if unknown:
        raise ValueError(f"Unknown step fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(step, name, value)
    _step_validate(step)
    with audited_write(actor):
        step.save()
    return step


def step_delete(*, step: StrategyStep, actor: User | None = None) -> None:
    with audited_write(actor):
        lock(step).delete()


def stage_period_set(
    *,
    school: School,
    module: Module,
    stage: str,
    entered_on: date,
    exited_on: date | None = None,
    actor: User | None = None,
) -> StagePeriod:
    """Record (or correct) when the school entered and left a stage for a module."""
    period, _created = stage_period_upsert(
        school=school,
        module=module,
        stage=stage,
        entered_on=entered_on,
        exited_on=exited_on,
        actor=actor,
    )
    return period


def stage_period_upsert(
    *,
    school: School,
    module: Module,
    stage: str,
    entered_on: date,
    exited_on: date | None = None,
    actor: User | None = None,
) -> tuple[StagePeriod, bool]:
    """`stage_period_set`, and whether the period is new. One period per school, module
    and stage, also when several requests record it at once: the first creates it, the
    others find it (waiting for the first to commit) and update it if their dates differ;
    the same dates again change nothing and write no audit entry."""
    if entered_on > today() or (exited_on is not None and exited_on > today()):
        raise invalid(
            "entered_on" if entered_on > today() else "exited_on",
            _("The date cannot be in the future."),
            "future",
        )
    if exited_on is not None and exited_on < entered_on:
        raise invalid("exited_on", _("A stage cannot end before it begins."), "order")
    dates = {"entered_on": entered_on, "exited_on": exited_on}
    clean(
        StagePeriod(school=school, module=module, stage=stage, **dates),
        exclude=["school", "module"],
    )
    with audited_write(actor):
        # get_or_create takes the row lock, or inserts in a savepoint and, when a request
        # at the same time inserted first, reads (and locks) that row instead.
        period, created = StagePeriod.objects.select_for_update(of=("self",)).get_or_create(
            school=school, module=module, stage=stage, defaults=dates
        )
        if not created and (period.entered_on, period.exited_on) != (entered_on, exited_on):
            period.entered_on = entered_on
            period.exited_on = exited_on
            period.save()
    return period, created
