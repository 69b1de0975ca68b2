"""Submitting instruments: the team's fidelity and CFIR ratings, staff members' and link
respondents' AIM/IAM/FIM/SUS answers. Resubmitting updates the same response; nothing is
ever duplicated, and an invalid answer rejects the whole submission."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from auditlog.context import disable_auditlog, set_actor
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Instrument, InstrumentItem, InstrumentRespondent
from sovei_platform.audit import audited_write

from ..models import (
    AdoptionStatus,
    Answer,
    AssessmentRound,
    ComponentAdoption,
    RespondentKind,
    Response,
    School,
    SurveyLink,
    UnratedReason,
)
from ._common import invalid, today
from .rounds import token_hash

if TYPE_CHECKING:
    from accounts.models import User

FIDELITY = "fidelity"
FIDELITY_MIN, FIDELITY_MAX = 0, 2

AnswerValue = int | None
# A fidelity answer: the rating (0-2) or None with the reason it is not rated.
Rated = tuple[AnswerValue, str | None]


def _round_accepts(
    assessment_round: AssessmentRound, school: School, instrument: Instrument
) -> None:
    if not assessment_round.is_open(today()):
        raise invalid(
            "round", _("The round “%(round)s” is not open."), "closed", round=assessment_round.name
        )
    if not assessment_round.schools.filter(pk=school.pk).exists():
        raise invalid("school", _("The school is not part of this round."), "not_in_round")
    if not assessment_round.instruments.filter(pk=instrument.pk).exists():
        raise invalid(
            "instrument",
            _("The round does not include %(instrument)s."),
            "not_in_round",
            instrument=instrument.code,
        )


def _check_value(field: str, value: object, low: int, high: int, *, required: bool) -> AnswerValue:
    if value is None or value == "":
        if required:
            raise invalid(field, _("Answer every question."), "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(
            field,
            _("Answer with a whole number from %(low)s to %(high)s."),
            "type",
            low=low,
            high=high,
        )
    try:
        number = int(value)
    except ValueError:
        raise invalid(
            field,
            _("Answer with a whole number from %(low)s to %(high)s."),
            "type",
            low=low,
            high=high,
        ) from None
    if not low <= number <= high:
        raise invalid(
            field,
            _("%(value)s is outside the scale %(low)s to %(high)s."),
            "range",
            value=number,
            low=low,
            high=high,
        )
    return number


def _item_answers(
    instrument: Instrument, answers: Mapping[str, object], *, field_prefix: str = "answers"
) -> dict[InstrumentItem, AnswerValue]:
    items = {item.code: item for item in instrument.items.all()}
    unknown = sorted(set(map(str, answers)) - set(items))
    if unknown:
        raise invalid(
            f"{field_prefix}.{unknown[0]}",
            _("%(item)s is not a question of %(instrument)s."),
            "unknown_item",
            item=unknown[0],
            instrument=instrument.code,
        )
    required = not instrument.missing_allowed
    checked: dict[InstrumentItem, AnswerValue] = {}
    for code, item in items.items():
        checked[item] = _check_value(
            f"{field_prefix}.{code}",
            answers.get(code),
            instrument.scale_min,
            instrument.scale_max,
            required=required,
        )
    return checked


def _fidelity_answers(
    school: School, answers: Mapping[str, object], reasons: Mapping[str, object]
) -> dict[ComponentAdoption, Rated]:
    """Every adopted component (not discontinued) with its rating, or with the reason it
    is left unrated (docs/scoring.md): a component without either, missing from `answers`
    or null there, is refused, so no one can raise the score by leaving components out.
    Every such problem is reported at once, each under its component's field."""
    adoptions = {
        str(a.pk): a
        for a in ComponentAdoption.objects.filter(school=school).exclude(
            status=AdoptionStatus.DISCONTINUED
        )
    }
    for field, given in (("answers", answers), ("unrated_reasons", reasons)):
        unknown = sorted(set(map(str, given)) - set(adoptions))
        if unknown:
            raise invalid(
                f"{field}.{unknown[0]}",
                _("Component %(item)s is not adopted by this school."),
                "unknown_item",
                item=unknown[0],
            )
    if not adoptions:
        raise invalid(
            "answers", _("The school has no adopted components to rate."), "nothing_to_rate"
        )
    rated: dict[ComponentAdoption, Rated] = {}
    problems: dict[str, list[ValidationError]] = {}
    for key, adoption in adoptions.items():
        value = _check_value(
            f"answers.{key}", answers.get(key), FIDELITY_MIN, FIDELITY_MAX, required=False
        )
        reason = reasons.get(key)
        if reason == "":
            reason = None
        if reason is not None and reason not in UnratedReason.values:
            problems[f"unrated_reasons.{key}"] = [ValidationError(
                _("“%(reason)s” is not a reason. Use not_started, not_applicable or "
                  "not_assessed."),
                code="unknown_reason",
                params={"reason": reason},
            )]
        elif reason is not None and value is not None:
            problems[f"unrated_reasons.{key}"] = [ValidationError(
                _("The component has a rating, so it takes no reason."),
                code="reason_for_rated",
            )]
        elif reason is None and value is None:
            problems[f"answers.{key}"] = [ValidationError(
                _("Give the component a rating, or choose why it is not rated."),
                code="reason_required",
            )]
        rated[adoption] = (value, reason if isinstance(reason, str) else None)
    if problems:
        raise ValidationError(problems)
    return rated


def _save_answers(
    response: Response,
    item_values: Mapping[InstrumentItem, AnswerValue] | None = None,
    adoption_values: Mapping[ComponentAdoption, Rated] | None = None,
) -> bool:
    """Insert new answers and update changed ones one by one, so the audit trail holds
    exactly what changed; an identical resubmission writes nothing. Fidelity answers
    (`adoption_values`) carry the reason a component is not rated. Whether anything
    changed."""
    existing = {(a.item_id, a.adoption_id): a for a in response.answers.all()}
    wanted: dict[tuple[int | None, int | None], tuple[dict[str, object], Rated]] = {}
    for item, value in (item_values or {}).items():
        wanted[(item.pk, None)] = ({"item": item}, (value, None))
    for adoption, rated in (adoption_values or {}).items():
        wanted[(None, adoption.pk)] = ({"adoption": adoption}, rated)
    changed = bool(existing.keys() - wanted.keys())
    for key, (target, (value, reason)) in wanted.items():
        answer = existing.pop(key, None)
        if answer is None:
            Answer.objects.create(
                response=response, value=value, unrated_reason=reason, **target
            )
            changed = True
        elif (answer.value, answer.unrated_reason) != (value, reason):
            answer.value = value
            answer.unrated_reason = reason
            answer.save(update_fields=["value", "unrated_reason"])
            changed = True
    for stale in existing.values():
        stale.delete()
    return changed


@contextmanager
def anonymous_write() -> Iterator[None]:
    """A transaction for one person's survey answers whose audit trail says *that* answers
    came in, never *who* gave them or *what* they were: the automatic entries (one per
    answer, with its value, and the signed-in user as actor) are switched off, and
    ``_log_survey_answer`` writes one entry per response with no actor and no values.
    Leaders and coordinators read the audit trail; with the values in it they could read
    a staff member's answers, or a link respondent's by the time of the entry."""
    with audited_write(None), set_actor(None), disable_auditlog():
        yield


def _log_survey_answer(response: Response, *, created: bool) -> None:
    LogEntry.objects.log_create(
        response,
        force_log=True,
        action=LogEntry.Action.CREATE if created else LogEntry.Action.UPDATE,
        changes={},
        actor=None,
        object_repr=response.instrument.code.upper(),
    )


def team_response_submit(
    *,
    assessment_round: AssessmentRound,
    school: School,
    instrument: Instrument,
    answers: Mapping[str, object],
    unrated_reasons: Mapping[str, object] | None = None,
    actor: User | None = None,
) -> Response:
    """`team_response_upsert` without telling whether the rating is new."""
    response, _created = team_response_upsert(
        assessment_round=assessment_round,
        school=school,
        instrument=instrument,
        answers=answers,
        unrated_reasons=unrated_reasons,
        actor=actor,
    )
    return response


def team_response_upsert(
    *,
    assessment_round: AssessmentRound,
    school: School,
    instrument: Instrument,
    answers: Mapping[str, object],
    unrated_reasons: Mapping[str, object] | None = None,
    actor: User | None = None,
) -> tuple[Response, bool]:
    """The team's rating for the round (fidelity: keys are adoption ids; CFIR: construct
    codes). A second submission for the same round, school and instrument updates it.

    Fidelity: every adopted component needs a rating (0-2) in `answers` or, in
    `unrated_reasons`, why it is not rated: not_started (scored as 0), not_applicable or
    not_assessed (left out of the score, but counted against the share rated).

    Returns the rating and whether it is new. Submissions at the same moment (a double
    click) take turns on the rating's row: one creates it, the others update it, and an
    identical one changes nothing and writes no audit entry."""
    if instrument.respondent != InstrumentRespondent.TEAM:
        raise invalid(
            "instrument",
            _("%(instrument)s is answered by individuals, not the team."),
            "not_team",
            instrument=instrument.code,
        )
    _round_accepts(assessment_round, school, instrument)
    if instrument.code == FIDELITY:
        adoption_values = _fidelity_answers(school, answers, unrated_reasons or {})
        item_values = None
    elif unrated_reasons:
        raise invalid(
            "unrated_reasons",
            _("Only the fidelity self-assessment takes reasons for what is not rated."),
            "not_fidelity",
        )
    else:
        adoption_values, item_values = None, _item_answers(instrument, answers)
    with audited_write(actor):
        response, created = Response.objects.select_for_update().get_or_create(
            round=assessment_round,
            school=school,
            instrument=instrument,
            respondent_kind=RespondentKind.TEAM,
            defaults={"respondent": actor},
        )
        if _save_answers(response, item_values, adoption_values) and not created:
            response.save(update_fields=["updated_at"])
    return response, created


def staff_response_submit(
    *,
    assessment_round: AssessmentRound,
    school: School,
    instrument: Instrument,
    respondent: User,
    answers: Mapping[str, object],
) -> Response:
    """`staff_response_upsert` without telling whether the answers are new."""
    response, _created = staff_response_upsert(
        assessment_round=assessment_round,
        school=school,
        instrument=instrument,
        respondent=respondent,
        answers=answers,
    )
    return response


def staff_response_upsert(
    *,
    assessment_round: AssessmentRound,
    school: School,
    instrument: Instrument,
    respondent: User,
    answers: Mapping[str, object],
) -> tuple[Response, bool]:
    """A staff member's own answers (AIM, IAM, FIM, SUS); resubmitting updates them.
    Returns the response and whether it is new; an identical resubmission (a double
    click) changes nothing and writes no audit entry."""
    if instrument.respondent != InstrumentRespondent.INDIVIDUAL:
        raise invalid(
            "instrument",
            _("%(instrument)s is rated by the team, not individually."),
            "not_individual",
            instrument=instrument.code,
        )
    _round_accepts(assessment_round, school, instrument)
    item_values = _item_answers(instrument, answers)
    with anonymous_write():
        response, created = Response.objects.select_for_update().get_or_create(
            round=assessment_round,
            school=school,
            instrument=instrument,
            respondent_kind=RespondentKind.STAFF,
            respondent=respondent,
        )
        if response.release_id is not None:
            # Changing an answer of a released group would let anyone who saw the group
            # before and after compute this person's answers (releases.py).
            raise invalid(
                "answers",
                _(
                    "Your answers are part of the published results of this round and can no "
                    "longer be changed."
                ),
                "released",
            )
        if _save_answers(response, item_values) or created:
            if not created:
                response.save(update_fields=["updated_at"])
            _log_survey_answer(response, created=created)
    return response, created


def survey_link_for_token(token: str) -> SurveyLink | None:
    return (
        SurveyLink.objects.select_related("round", "school")
        .filter(token_hash=token_hash(token))
        .first()
    )


def survey_link_problem(link: SurveyLink | None) -> str | None:
    """Why a link cannot be answered now, or None if it can."""
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    if timezone.now() >= link.expires_at:
        return "expired"
    if not link.round.is_open(today()):
        return "closed"
    return None


LINK_PROBLEMS = {
    "unknown": _("This survey link is not valid."),
    "used": _("This survey link has already been used. Each link can be answered once."),
    "expired": _("This survey link has expired."),
    "closed": _("The survey is not open."),
}


def link_response_submit(
    *, token: str, answers: Mapping[str, Mapping[str, object]]
) -> list[Response]:
    """Answers from a one-time link: {instrument code: {item code: value}} for every staff
    survey of the round. Stores no name, e-mail or address; marks the link used."""
    with anonymous_write():
        # Lock the link row only (`of=("self",)`), never its round and school: a plain
        # FOR UPDATE with select_related locks the joined rows too, and then waits for the
        # school's dirty marker, while every other writer and the worker hold that marker
        # and, at COMMIT, need KEY SHARE on the same round and school rows for their
        # (deferred) foreign-key checks: a deadlock. Lock order: dashboards/signals.py.
        link = (
            SurveyLink.objects.select_for_update(of=("self",))
            .select_related("round", "school")
            .filter(token_hash=token_hash(token))
            .first()
        )
        problem = survey_link_problem(link)
        if problem is not None or link is None:
            raise invalid("token", LINK_PROBLEMS[problem or "unknown"], problem or "unknown")
        instruments = list(
            link.round.instruments.filter(respondent=InstrumentRespondent.INDIVIDUAL)
            .prefetch_related("items")
            .order_by("code")
        )
        codes = {i.code for i in instruments}
        unknown = sorted(set(answers) - codes)
        if unknown:
            raise invalid(
                f"answers.{unknown[0]}",
                _("The survey has no part %(part)s."),
                "unknown_instrument",
                part=unknown[0],
            )
        checked = {
            i: _item_answers(i, answers.get(i.code) or {}, field_prefix=f"answers.{i.code}")
            for i in instruments
        }
        responses = []
        for instrument, item_values in checked.items():
            response = Response.objects.create(
                round=link.round,
                school=link.school,
                instrument=instrument,
                respondent_kind=RespondentKind.LINK,
                survey_link=link,
            )
            _save_answers(response, item_values)
            _log_survey_answer(response, created=True)
            responses.append(response)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    return responses
