"""Dirty marking: every write of implementation records marks the affected school.

One generic handler on ``post_save``/``post_delete`` of every model of the
``implementation`` app (and on changes of a round's schools) finds the affected schools
(``get_additional_data()["school_id"]``, a round's schools, an answer's response) and, in
the writer's transaction and schema:

1. upserts ``PendingRecompute(school_id)`` (``requested_at = clock_timestamp()``) — the
   durable marker: committed with the write or rolled back with it;
2. registers ``transaction.on_commit`` to send the recomputation task
   (``worker.dispatch.enqueue_recompute``, coalesced, never raising).

Both happen once per school per transaction: further writes of the same transaction find
their callback already registered (``connection.run_on_commit``; a rolled-back savepoint
removes its callbacks together with its marker upsert). When the broker is down the write
still succeeds and the marker waits for the sweep (``worker.tasks.sweep_pending``).

Not covered here (the nightly full recomputation catches them): catalog edits such as a
changed fidelity threshold, and bulk ``QuerySet.update()``/``bulk_create()`` that send no
signals.

Lock order (tests/test_concurrency.py). The marker row is locked in the middle of the
writer's transaction, at its first write; Django's foreign keys are ``DEFERRABLE INITIALLY
DEFERRED``, so the same transaction takes ``FOR KEY SHARE`` on the rows it references
(school, round, …) only at COMMIT, after the marker. The worker does likewise: it deletes
the marker last (``recompute_pending_school``) and checks its aggregates' foreign keys at
COMMIT. Every transaction that marks a school therefore holds the marker *before* its
locks on school and round rows, and those locks are only ever ``FOR KEY SHARE``, which do
not conflict with each other. A transaction that locks a school or round row in a stronger
mode first (``FOR UPDATE``, e.g. ``select_for_update()`` with ``select_related``) and then
writes reverses that order and deadlocks with the other writers and the worker: lock only
your own rows before writing (``select_for_update(of=("self",))``), as
``link_response_submit`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django_tenants.utils import get_public_schema_name

from tenants.db import tenant_connection

from .aggregation import pending_mark

logger = logging.getLogger(__name__)

DISPATCH_PREFIX = "dashboards.dirty"
_ROUND_SCHOOLS_ATTR = "_dashboards_school_ids"


@dataclass(frozen=True)
class EnqueueAfterCommit:
    """The on_commit callback; its ``key`` lets later writes of the transaction see it."""

    schema: str
    school_id: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.schema, self.school_id)

    def __call__(self) -> None:
        from worker.dispatch import enqueue_recompute

        try:
            enqueue_recompute(self.schema, self.school_id)
        except Exception:  # never let a side effect break the request after commit
            logger.exception("Enqueueing the recomputation of school %s failed", self.school_id)


def _already_marked(key: tuple[str, int]) -> bool:
    conn = tenant_connection()
    if not conn.in_atomic_block:
        return False
    for entry in conn.run_on_commit:
        callback = entry[1]
        if isinstance(callback, EnqueueAfterCommit) and callback.key == key:
            return True
    return False


def school_mark_dirty(school_id: int) -> None:
    """Mark one school of the current schema stale and queue its recomputation on commit."""
    schema = tenant_connection().schema_name
    if not schema or schema == get_public_schema_name():
        return
    key = (schema, int(school_id))
    if _already_marked(key):
        return
    pending_mark(int(school_id))
    transaction.on_commit(EnqueueAfterCommit(schema, int(school_id)), robust=True)


def _round_school_ids(round_id: int) -> list[int]:
    through = apps.get_model("implementation", "AssessmentRound").schools.through
    return list(
        through.objects.filter(assessmentround_id=round_id).values_list("school_id", flat=True)
    )


def affected_school_ids(instance: Model) -> list[int]:
    """The schools whose aggregates a changed record feeds."""
    label = instance._meta.model_name
    try:
        if label == "assessmentround":
            captured = getattr(instance, _ROUND_SCHOOLS_ATTR, None)
            if captured is not None:
                return list(captured)
            return _round_school_ids(instance.pk) if instance.pk else []
        if label == "roundinstrument":
            return _round_school_ids(instance.round_id)  # type: ignore[attr-defined]
        if label == "answer":
            return [instance.response.school_id]  # type: ignore[attr-defined]
        getter = getattr(instance, "get_additional_data", None)
        if callable(getter):
            school_id = (getter() or {}).get("school_id")
            return [school_id] if school_id else []
    except ObjectDoesNotExist:
        return []  # a parent deleted in the same cascade marks the school itself
    school_id = getattr(instance, "school_id", None)
    return [school_id] if school_id else []


def _mark_all(school_ids: Iterable[int]) -> None:
    for school_id in sorted(set(school_ids)):
        school_mark_dirty(school_id)


def _on_write(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loaddata: the nightly recomputation covers fixtures
    _mark_all(affected_school_ids(instance))


def _before_round_delete(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    # The round's school links are gone by post_delete; remember them now.
    setattr(instance, _ROUND_SCHOOLS_ATTR, _round_school_ids(instance.pk) if instance.pk else [])


def _on_round_schools(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    if action == "pre_clear" and not reverse:
        setattr(instance, _ROUND_SCHOOLS_ATTR, _round_school_ids(instance.pk))
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:  # school.rounds.add(...): the instance is the school
        _mark_all([instance.pk])
    elif action == "post_clear":
        _mark_all(getattr(instance, _ROUND_SCHOOLS_ATTR, []))
    else:
        _mark_all(pk_set or ())


def connect() -> None:
    """Connect the handlers (DashboardsConfig.ready)."""
    for model in apps.get_app_config("implementation").get_models():
        uid = f"{DISPATCH_PREFIX}.{model._meta.label_lower}"
        post_save.connect(_on_write, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(_on_write, sender=model, dispatch_uid=f"{uid}.delete")
    round_model = apps.get_model("implementation", "AssessmentRound")
    pre_delete.connect(
        _before_round_delete, sender=round_model, dispatch_uid=f"{DISPATCH_PREFIX}.round.pre"
    )
    m2m_changed.connect(
        _on_round_schools,
        sender=round_model.schools.through,
        dispatch_uid=f"{DISPATCH_PREFIX}.round.schools",
    )
