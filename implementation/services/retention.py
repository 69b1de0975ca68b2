"""Retention of one-time survey links and the answers given through them.

A survey link (and the answers given through it) is kept ``SURVEY_LINK_RETENTION_DAYS``
days (default 730) after its round closed — closed early (``closed_at``) or by its closing
day, whichever came first — and then deleted by the nightly task
``implementation.tasks.survey_link_retention`` (or ``manage.py survey_link_retention``).
``0`` keeps them for ever.

What is deleted, per round past the limit: every link, answered or not, with the answers
given through it (``Response`` and ``Answer`` rows, deleted by the foreign keys' cascade).
Answers counted in a **released group** (``Response.release``) go too: the group keeps its
frozen sums (``SurveyRelease.n``, ``total``, ``total_squares``; ``Response.release`` points
from the answer to the group), and the dashboards and the research store show released
groups, not answers (``dashboards.aggregation.OUTCOME_SQL``), so no published number
changes. Only the counts of answers withheld or incomplete and the round's response rate
change when the dashboards are next rebuilt.

The deletion is audited as the answers were (``responses.anonymous_write``): one entry per
link and per response, with no values and no actor, and none per answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.conf import settings
from django.db.models import Q, QuerySet
from django_tenants.utils import tenant_context

from sovei_platform.audit import audited_write
from tenants.db import use_public_schema
from tenants.models import Municipality

from ..models import Answer, AssessmentRound, Response, SurveyLink
from ._common import today

logger = logging.getLogger(__name__)

RETENTION = "survey_link_retention"  # the reason in the audit entries' additional data


@dataclass(frozen=True)
class RetentionResult:
    cutoff: date | None  # rounds that closed before this day are past the limit (None: off)
    links: int = 0  # deleted
    responses: int = 0  # deleted with their links
    answers: int = 0  # deleted with their responses


def retention_cutoff(*, on: date, days: int) -> date | None:
    """Rounds that closed before the returned day are past the limit; None: no limit."""
    return None if days <= 0 else on - timedelta(days=days)


def rounds_past_retention(cutoff: date) -> QuerySet[AssessmentRound]:
    """Rounds that closed (early, or by their closing day) before ``cutoff``."""
    return AssessmentRound.objects.filter(Q(closes_on__lt=cutoff) | Q(closed_at__date__lt=cutoff))


def survey_links_expire(
    *, on: date | None = None, days: int | None = None, dry_run: bool = False
) -> RetentionResult:
    """Delete the survey links (and link answers) of the current municipality that are past
    the retention limit on day ``on`` (default today), as the module docstring says."""
    days = settings.SURVEY_LINK_RETENTION_DAYS if days is None else days
    cutoff = retention_cutoff(on=on or today(), days=days)
    if cutoff is None:
        return RetentionResult(None)
    past = SurveyLink.objects.filter(round__in=rounds_past_retention(cutoff))
    with audited_write(None), disable_auditlog():
        doomed = list(past.select_for_update(of=("self",)).order_by("pk"))
        responses = list(
            Response.objects.filter(survey_link__in=doomed)
            .select_related("instrument").order_by("pk")
        )
        answers = Answer.objects.filter(response__in=responses).count()
        result = RetentionResult(cutoff, len(doomed), len(responses), answers)
        if dry_run or not doomed:
            return result
        for response in responses:
            _log_deleted(response, object_repr=response.instrument.code.upper())
        for link in doomed:
            _log_deleted(link, object_repr=str(link))
        SurveyLink.objects.filter(pk__in=[link.pk for link in doomed]).delete()
    return result


def _log_deleted(instance: SurveyLink | Response, *, object_repr: str) -> None:
    LogEntry.objects.log_create(
        instance,
        force_log=True,
        action=LogEntry.Action.DELETE,
        changes={},
        actor=None,
        object_repr=object_repr,
        additional_data={"school_id": instance.school_id, "reason": RETENTION},
    )


def survey_links_expire_everywhere(
    *, on: date | None = None, days: int | None = None, schemas: Sequence[str] | None = None,
    dry_run: bool = False,
) -> dict[str, RetentionResult]:
    """``survey_links_expire`` in every municipality (or the schemas named), one
    transaction each: a failure in one is logged and the others go on."""
    use_public_schema()
    municipalities = Municipality.objects.exclude(
        schema_name__in=["public", settings.TENANT_BASE_SCHEMA]
    ).order_by("schema_name")
    if schemas is not None:
        municipalities = municipalities.filter(schema_name__in=list(schemas))
    results: dict[str, RetentionResult] = {}
    for municipality in municipalities:
        try:
            with tenant_context(municipality):
                results[municipality.schema_name] = survey_links_expire(
                    on=on, days=days, dry_run=dry_run
                )
        except Exception:
            logger.exception("Survey-link retention failed in %s", municipality.schema_name)
    use_public_schema()
    deleted = sum(r.links for r in results.values())
    if deleted:
        logger.info("Survey-link retention deleted %s links in %s municipalities", deleted,
                    sum(1 for r in results.values() if r.links))
    return results
