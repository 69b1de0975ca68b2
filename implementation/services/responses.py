"""Submitting instruments: the team's fidelity and CFIR ratings, staff members' and link
respondents' AIM/IAM/FIM/SUS answers. Resubmitting updates the same response; nothing is
ever duplicated, and an invalid answer rejects the whole submission."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from auditlog.context import set_actor
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
)
from ._common import invalid, today
from .rounds import token_hash

if TYPE_CHECKING:
    from accounts.models import User

FIDELITY = "fidelity"
FIDELITY_MIN, FIDELITY_MAX = 0, 2

AnswerValue = int | None


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
    school: School, answers: Mapping[str, object]
) -> dict[ComponentAdoption, AnswerValue]:
    adoptions = {
        str(a.pk): a
        for a in ComponentAdoption.objects.filter(school=school).exclude(
            status=AdoptionStatus.DISCONTINUED
        )
    }
    unknown = sorted(set(map(str, answers)) - set(adoptions))
    if unknown:
        raise invalid(
            f"answers.{unknown[0]}",
            _("Component %(item)s is not adopted by this school."),
            "unknown_item",
            item=unknown[0],
        )
    if not adoptions:
        raise invalid(
            "answers", _("The school has no adopted components to rate."), "nothing_to_rate"
        )
    return {
        adoption: _check_value(
            f"answers.{key}", answers.get(key), FIDELITY_MIN, FIDELITY_MAX, required=False
        )
        for key, adoption in adoptions.items()
    }


def _save_answers(
    response: Response,
    item_values: Mapping[InstrumentItem, AnswerValue] | None = None,
    adoption_values: Mapping[ComponentAdoption, AnswerValue] | None = None,
) -> None:
    """Insert new answers and update changed ones one by one, so the audit trail holds
    exactly what changed; an identical resubmission writes nothing."""
    existing = {(a.item_id, a.adoption_id): a for a in response.answers.all()}
    wanted: dict[tuple[int | None, int | None], tuple[dict[str, object], AnswerValue]] = {}
    for item, value in (item_values or {}).items():
        wanted[(item.pk, None)] = ({"item": item}, value)
    for adoption, value in (adoption_values or {}).items():
        wanted[(None, adoption.pk)] = ({"adoption": adoption}, value)
    for key, (target, value) in wanted.items():
        answer = existing.pop(key, None)
        if answer is None:
            Answer.objects.create(response=response, value=value, **target)  # type: ignore[arg-type]
        elif answer.value != value:
            answer.value = value
            answer.save(update_fields=["value"])
    for stale in existing.values():
        stale.delete()


def team_response_submit(
    *,
    assessment_round: AssessmentRound,
    school: School,
    instrument: Instrument,
    answers: Mapping[str, object],
    actor: User | None = None,
) -> Response:
    """The team's rating for the round (fidelity: keys are adoption ids; CFIR: construct
    codes). A second submission for the same round, school and instrument updates it."""
    if instrument.respondent != InstrumentRespondent.TEAM:
        raise invalid(
            "instrument",
            _("%(instrument)s is answered by individuals, not the team."),
            "not_team",
            instrument=instrument.code,
        )
    _round_accepts(assessment_round, school, instrument)
    if instrument.code == FIDELITY:
        adoption_values, item_values = _fidelity_answers(school, answers), None
    else:
        adoption_values, item_values = None, _item_answers(instrument, answers)
    with audited_write(actor):
        response, _created = Response.objects.select_for_update().get_or_create(
            round=assessment_round,
            school=school,
            instrument=instrument,
            respondent_kind=RespondentKind.TEAM,
            defaults={"respondent": actor},
        )
        _save_answers(response, item_values, adoption_values)
        response.save(update_fields=["updated_at"])
    return response


def staff_response_submit(
    *,
    assessment_round: AssessmentRound,
    school: School,
    instrument: Instrument,
    respondent: User,
    answers: Mapping[str, object],
) -> Response:
    """A staff member's own answers (AIM, IAM, FIM, SUS); resubmitting updates them."""
    if instrument.respondent != InstrumentRespondent.INDIVIDUAL:
        raise invalid(
            "instrument",
            _("%(instrument)s is rated by the team, not individually."),
            "not_individual",
            instrument=instrument.code,
        )
    _round_accepts(assessment_round, school, instrument)
    item_values = _item_answers(instrument, answers)
    with audited_write(respondent):
        response, _created = Response.objects.select_for_update().get_or_create(
            round=assessment_round,
            school=school,
            instrument=instrument,
            respondent_kind=RespondentKind.STAFF,
            respondent=respondent,
        )
        _save_answers(response, item_values)
        response.save(update_fields=["updated_at"])
    return response


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
    # set_actor(None) hides a signed-in visitor from the audit entries too (auditlog's
    # middleware would otherwise record the session's user as the actor).
    with audited_write(None), set_actor(None):
        link = (
            SurveyLink.objects.select_for_update()
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
            responses.append(response)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    return responses
