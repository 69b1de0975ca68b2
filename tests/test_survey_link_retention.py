"""Retention of survey links and link answers (implementation.services.retention, the
nightly task and survey_link_retention): deleted SURVEY_LINK_RETENTION_DAYS after their
round closed — also answers counted in a released group: its frozen sums, and so every
published number, stay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from dashboards.aggregation import recompute_school
from dashboards.models import OutcomeAggregate
from implementation.models import (
    Answer,
    AssessmentRound,
    RespondentKind,
    Response,
    School,
    SurveyLink,
    SurveyRelease,
)
from implementation.services import round_close, staff_response_submit, survey_links_create
from implementation.services._common import today
from implementation.services.retention import (
    survey_links_expire,
    survey_links_expire_everywhere,
)
from implementation.tasks import survey_link_retention
from sovei_platform.celery import app

from .conftest import World
from .recording import answer_by_links, instrument, open_round, survey_answers

DAYS = 730
PAST_LIMIT = timedelta(days=DAYS + 1)  # the first day a round closed today is past the limit


@dataclass(frozen=True)
class Rounds:
    released: AssessmentRound  # closed today, six link answers: one released group
    withheld: AssessmentRound  # closed today, two link answers and one staff answer: no group
    running: AssessmentRound  # still open for a month


@pytest.fixture
def ila(world: World, db: None) -> Iterator[School]:
    with tenant_context(world.trondheim):
        yield School.objects.get(pk=world.ila_id)


@pytest.fixture
def rounds(ila: School, trondheim_staff: User) -> Rounds:
    released = open_round([ila], codes=("aim", "iam", "fim", "sus"), name="Vår 2026")
    answer_by_links(released, ila, [5, 4, 4, 3, 3, 2])
    survey_links_create(assessment_round=released, school=ila, count=2)  # never answered
    withheld = open_round([ila], codes=("aim", "iam", "fim", "sus"), name="Høst 2026")
    answer_by_links(withheld, ila, [5, 1])
    survey_links_create(assessment_round=withheld, school=ila, count=1)
    staff_response_submit(assessment_round=withheld, school=ila, instrument=instrument("aim"),
                          respondent=trondheim_staff, answers=survey_answers(4)["aim"])
    running = open_round([ila], codes=("aim", "iam", "fim", "sus"), name="Vår 2027")
    answer_by_links(running, ila, [3])
    round_close(assessment_round=released)
    round_close(assessment_round=withheld)
    return Rounds(released, withheld, running)


def links(assessment_round: AssessmentRound) -> int:
    return SurveyLink.objects.filter(round=assessment_round).count()


def link_answers(assessment_round: AssessmentRound) -> int:
    return Answer.objects.filter(response__round=assessment_round,
                                 response__respondent_kind=RespondentKind.LINK).count()


def published(school: School, assessment_round: AssessmentRound) -> list[tuple[Any, ...]]:
    """What the dashboards show of the round's released results, freshly recomputed."""
    recompute_school(school.pk)
    return list(
        OutcomeAggregate.objects.filter(school=school, round=assessment_round)
        .order_by("instrument").values_list("instrument", "n", "mean", "sd", "mean_exact")
    )


def groups(assessment_round: AssessmentRound) -> list[tuple[Any, ...]]:
    return list(SurveyRelease.objects.filter(round=assessment_round).order_by("pk")
                .values_list("pk", "instrument_id", "n", "total", "total_squares"))


def test_the_rounds_are_as_the_tests_expect(rounds: Rounds) -> None:
    assert len(groups(rounds.released)) == 4  # AIM, IAM, FIM, SUS
    assert groups(rounds.withheld) == []
    assert (links(rounds.released), links(rounds.withheld), links(rounds.running)) == (8, 3, 1)


def test_it_deletes_links_and_their_answers_once_past_the_limit(
    rounds: Rounds,
) -> None:
    result = survey_links_expire(on=today() + PAST_LIMIT, days=DAYS)

    assert (result.links, result.responses, result.answers) == (8 + 3, 8 * 4, 8 * 22)
    assert links(rounds.withheld) == 0
    assert link_answers(rounds.withheld) == 0
    assert result.cutoff == today() + timedelta(days=1)


def test_it_deletes_released_answers_too_and_keeps_the_published_numbers(
    ila: School, rounds: Rounds
) -> None:
    """A released group keeps its frozen sums, and the dashboards show released groups
    (not answers), so the answers behind them go at the limit like any other."""
    shown, frozen = published(ila, rounds.released), groups(rounds.released)

    survey_links_expire(on=today() + PAST_LIMIT, days=DAYS)

    assert links(rounds.released) == 0
    assert link_answers(rounds.released) == 0
    assert groups(rounds.released) == frozen
    assert [(code, n, mean, sd) for code, n, mean, sd, _exact in published(ila, rounds.released)
            ] == [(code, n, mean, sd) for code, n, mean, sd, _exact in shown]
    assert [n for _code, n, *_rest in shown] == [6, 6, 6, 6]


def test_it_keeps_staff_answers(rounds: Rounds) -> None:
    survey_links_expire(on=today() + PAST_LIMIT, days=DAYS)

    staff = Response.objects.filter(round=rounds.withheld, respondent_kind=RespondentKind.STAFF)
    assert staff.count() == 1
    assert Answer.objects.filter(response__in=staff).count() == 4


def test_it_keeps_everything_until_the_limit(rounds: Rounds) -> None:
    result = survey_links_expire(on=today() + timedelta(days=DAYS), days=DAYS)

    assert (result.links, result.responses, result.answers) == (0, 0, 0)
    assert (links(rounds.released), links(rounds.withheld)) == (8, 3)


def test_it_counts_from_the_closing_day_when_the_round_was_not_closed_early(
    rounds: Rounds,
) -> None:
    on = rounds.running.closes_on + PAST_LIMIT

    survey_links_expire(on=on - timedelta(days=1), days=DAYS)
    assert links(rounds.running) == 1
    survey_links_expire(on=on, days=DAYS)
    assert links(rounds.running) == 0


def test_a_limit_of_zero_keeps_everything(rounds: Rounds) -> None:
    result = survey_links_expire(on=today() + timedelta(days=100 * 365), days=0)

    assert result.cutoff is None
    assert (links(rounds.released), links(rounds.withheld), links(rounds.running)) == (8, 3, 1)


def test_a_dry_run_counts_and_deletes_nothing(rounds: Rounds) -> None:
    result = survey_links_expire(on=today() + PAST_LIMIT, days=DAYS, dry_run=True)

    assert (result.links, result.responses, result.answers) == (11, 32, 176)
    assert (links(rounds.released), links(rounds.withheld)) == (8, 3)


def test_the_deletion_is_audited_without_values(rounds: Rounds) -> None:
    started = timezone.now()

    survey_links_expire(on=today() + PAST_LIMIT, days=DAYS)

    deleted = LogEntry.objects.filter(action=LogEntry.Action.DELETE, timestamp__gte=started)
    kinds = {
        model: ContentType.objects.get_for_model(model) for model in (SurveyLink, Response, Answer)
    }
    assert deleted.filter(content_type=kinds[SurveyLink]).count() == 11
    assert sorted(deleted.filter(content_type=kinds[Response])
                  .values_list("object_repr", flat=True)) == sorted(
        ["AIM", "FIM", "IAM", "SUS"] * 8)
    assert not deleted.filter(content_type=kinds[Answer]).exists()
    for entry in deleted:
        assert entry.changes in ({}, None)
        assert entry.actor is None
        assert entry.additional_data["reason"] == "survey_link_retention"


def test_it_runs_in_every_municipality(world: World, rounds: Rounds) -> None:
    results = survey_links_expire_everywhere(on=today() + PAST_LIMIT, days=DAYS)

    assert {"trondheim", "volda"} <= set(results)
    assert results["trondheim"].links == 11
    assert results["volda"].links == 0
    with tenant_context(world.trondheim):
        assert links(rounds.withheld) == 0


def age(assessment_round: AssessmentRound, days: int) -> None:
    """Move a closed round ``days`` into the past (its dates and the time it closed)."""
    shift = timedelta(days=days)
    AssessmentRound.objects.filter(pk=assessment_round.pk).update(
        opens_on=assessment_round.opens_on - shift,
        closes_on=assessment_round.closes_on - shift,
        closed_at=timezone.now() - shift,
    )


def test_the_nightly_task_uses_the_setting(world: World, rounds: Rounds) -> None:
    age(rounds.withheld, DAYS + 1)

    with override_settings(SURVEY_LINK_RETENTION_DAYS=DAYS):
        summary = survey_link_retention()

    assert summary["links"] == 3
    with tenant_context(world.trondheim):
        assert links(rounds.withheld) == 0
        assert links(rounds.released) == 8


def test_the_nightly_task_is_scheduled() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["survey-link-retention"]

    assert entry["task"] == survey_link_retention.name
    assert survey_link_retention.name == "implementation.tasks.survey_link_retention"
    assert survey_link_retention.name in app.tasks
    assert settings.SURVEY_LINK_RETENTION_DAYS == 730  # the default


def test_the_command_deletes_and_reports(
    world: World, rounds: Rounds, capsys: pytest.CaptureFixture[str]
) -> None:
    age(rounds.withheld, DAYS + 1)

    call_command("survey_link_retention", "--dry-run", schemas=["trondheim"])
    assert "trondheim: would delete 3 links, 8 responses, 44 answers" in capsys.readouterr().out
    call_command("survey_link_retention", schemas=["trondheim"])

    assert "deleted 3 links" in capsys.readouterr().out
    with tenant_context(world.trondheim):
        assert links(rounds.withheld) == 0


def test_the_command_does_nothing_with_a_limit_of_zero(
    rounds: Rounds, capsys: pytest.CaptureFixture[str]
) -> None:
    age(rounds.withheld, 5000)

    with override_settings(SURVEY_LINK_RETENTION_DAYS=0):
        call_command("survey_link_retention")

    assert "survey links are kept" in capsys.readouterr().out
