"""Assessment rounds and one-time survey links."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Instrument, InstrumentRespondent, ModelVersion
from sovei_platform.audit import audited_write
from sovei_platform.unique import unique_message

from ..models import AssessmentRound, RoundInstrument, School, SurveyLink
from ..validators import validate_round_date
from ._common import clean, invalid, lock, today
from .releases import survey_results_release

if TYPE_CHECKING:
    from accounts.models import User

MAX_LINKS_PER_CALL = 200

NAME_TAKEN = _("A round with this name exists.")
unique_message("round_unique_name", NAME_TAKEN)


def _round_validate(
    name: str,
    opens_on: date,
    closes_on: date,
    schools: Sequence[School],
    instruments: Sequence[Instrument],
) -> None:
    if not name.strip():
        raise invalid("name", _("Give the round a name, e.g. “Høst 2026”."), "required")
    if closes_on < opens_on:
        raise invalid("closes_on", _("The round cannot close before it opens."), "order")
    if not schools:
        raise invalid("schools", _("Choose at least one school."), "required")
    if not instruments:
        raise invalid("instruments", _("Choose at least one instrument."), "required")


def round_create(
    *,
    name: str,
    opens_on: date,
    closes_on: date,
    schools: Sequence[School],
    instruments: Sequence[Instrument],
    model_version: ModelVersion,
    actor: User | None = None,
) -> AssessmentRound:
    _round_validate(name, opens_on, closes_on, schools, instruments)
    if AssessmentRound.objects.filter(name=name.strip()).exists():
        raise invalid("name", NAME_TAKEN, "duplicate")
    assessment_round = AssessmentRound(
        name=name.strip(),
        opens_on=opens_on,
        closes_on=closes_on,
        model_version=model_version,
        created_by=actor,
    )
    clean(assessment_round)
    with audited_write(actor):
        assessment_round.save()
        assessment_round.schools.set(schools)
        RoundInstrument.objects.bulk_create(
            RoundInstrument(round=assessment_round, instrument=i) for i in instruments
        )
    return assessment_round


def round_update(
    *,
    assessment_round: AssessmentRound,
    name: str,
    opens_on: date,
    closes_on: date,
    actor: User | None = None,
) -> AssessmentRound:
    if closes_on < opens_on:
        raise invalid("closes_on", _("The round cannot close before it opens."), "order")
    if AssessmentRound.objects.filter(name=name.strip()).exclude(pk=assessment_round.pk).exists():
        raise invalid("name", NAME_TAKEN, "duplicate")
    assessment_round.name = name.strip()
    assessment_round.opens_on = opens_on
    assessment_round.closes_on = closes_on
    clean(assessment_round)
    with audited_write(actor):
        assessment_round.save()
        if not assessment_round.is_open(today()) and assessment_round.opens_on <= today():
            # Moved into the past: release its survey results now (see releases.py).
            survey_results_release(round_ids=[assessment_round.pk])
    return assessment_round


def round_close(*, assessment_round: AssessmentRound, actor: User | None = None) -> AssessmentRound:
    """Close the round now, before its closing date, and release its survey results
    (groups of at least k answers, see releases.py)."""
    with audited_write(actor):
        # A double click: the second request waits here and finds the round closed.
        if lock(assessment_round).closed_at is not None:
            raise invalid("round", _("The round is already closed."), "closed")
        assessment_round.closed_at = timezone.now()
        assessment_round.save(update_fields=["closed_at"])
        survey_results_release(round_ids=[assessment_round.pk])
    return assessment_round


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    link: SurveyLink
    token: str


def _link_expiry(assessment_round: AssessmentRound) -> datetime:
    """Links expire when the round closes: at midnight after its closing date. A round saved
    with an implausible closing date before dates were checked (9999-12-31) gets no links
    until its dates are corrected, instead of an OverflowError."""
    closes_on = assessment_round.closes_on
    try:
        validate_round_date(closes_on)
        return timezone.make_aware(datetime.combine(closes_on + timedelta(days=1), time.min))
    except (ValidationError, OverflowError) as exc:
        raise invalid(
            "round",
            _("The round closes on %(date)s, which is not plausible: correct the round's "
              "dates first."),
            "implausible_dates",
            date=closes_on.isoformat(),
        ) from exc


def survey_link_batch_lock(*, batch: str) -> None:
    """Wait for any other request making the batch ``batch`` (one form, sent twice by a
    double click) until its transaction ends. Call inside ``transaction.atomic``; the
    caller then sees whether that request made the batch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"{connection.schema_name}:survey-link-batch:{batch}"],  # type: ignore[attr-defined]
        )


def survey_links_create(
    *,
    assessment_round: AssessmentRound,
    school: School,
    count: int,
    actor: User | None = None,
) -> list[IssuedLink]:
    """Make `count` one-time links. The tokens are returned once and stored only as hashes."""
    if not 1 <= count <= MAX_LINKS_PER_CALL:
        raise invalid(
            "count",
            _("Make between 1 and %(max)s links at a time."),
            "range",
            max=MAX_LINKS_PER_CALL,
        )
    if not assessment_round.schools.filter(pk=school.pk).exists():
        raise invalid("school", _("The school is not part of this round."), "not_in_round")
    if not assessment_round.instruments.filter(respondent=InstrumentRespondent.INDIVIDUAL).exists():
        raise invalid(
            "round",
            _("The round has no staff survey (AIM, IAM, FIM or SUS)."),
            "no_individual_instruments",
        )
    if assessment_round.closed_at is not None or assessment_round.closes_on < today():
        raise invalid("round", _("The round is closed."), "closed")
    expires_at = _link_expiry(assessment_round)
    issued: list[IssuedLink] = []
    with audited_write(actor):
        for _n in range(count):
            token = secrets.token_urlsafe(24)
            link = SurveyLink.objects.create(
                round=assessment_round,
                school=school,
                token_hash=token_hash(token),
                expires_at=expires_at,
                created_by=actor,
            )
            issued.append(IssuedLink(link, token))
    return issued
