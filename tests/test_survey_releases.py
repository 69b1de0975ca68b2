"""Released survey groups (implementation.services.releases): when a round's AIM/IAM/FIM/SUS
answers become numbers someone else may see, in which groups, and that a released group
never changes. The attacks that these rules stop are played in
tests/test_disclosure_attacks.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts.models import User
from dashboards.aggregation import recompute_school
from dashboards.models import OutcomeAggregate
from implementation.models import AssessmentRound, Response, School, SurveyRelease
from implementation.services import (
    round_close,
    round_update,
    school_create,
    staff_response_submit,
)
from implementation.services._common import today
from implementation.services.releases import survey_results_release
from worker.services import municipality_recompute_all

from .conftest import World
from .recording import answer_by_links, instrument, open_round, survey_answers


@pytest.fixture
def trondheim(world: World, db: None) -> Iterator[World]:
    with tenant_context(world.trondheim):
        yield world


@pytest.fixture
def ila(trondheim: World) -> School:
    return School.objects.get(pk=trondheim.ila_id)


@pytest.fixture
def lade(trondheim: World) -> School:
    return School.objects.get(pk=trondheim.lade_id)


def groups(assessment_round: AssessmentRound, code: str = "aim") -> list[tuple[object, ...]]:
    return list(
        SurveyRelease.objects.filter(round=assessment_round, instrument__code=code)
        .order_by("school_id", "id")
        .values_list("school__name", "n", "schools", "total")
    )


def shown(school: School, assessment_round: AssessmentRound, code: str = "aim"
          ) -> tuple[int, int, int, Decimal | None]:
    recompute_school(school.pk)
    row = OutcomeAggregate.objects.get(school=school, round=assessment_round, instrument=code)
    return row.n, row.n_pooled, row.n_withheld, row.mean


def test_it_shows_nothing_while_the_round_is_open(ila: School) -> None:
    spring = open_round([ila])
    answer_by_links(spring, ila, [5, 5, 4, 4, 3, 3])

    assert shown(ila, spring) == (0, 0, 6, None)
    assert groups(spring) == []


def test_it_releases_a_school_with_at_least_k_answers_when_the_round_closes(
    ila: School,
) -> None:
    spring = open_round([ila])
    answer_by_links(spring, ila, [5, 5, 4, 4, 3, 3])

    round_close(assessment_round=spring)

    assert groups(spring) == [("Ila skole", 6, 1, Decimal("24"))]
    assert shown(ila, spring) == (6, 0, 0, Decimal("4.00"))


def test_it_pools_schools_below_k_into_one_group_of_the_municipality(
    ila: School, lade: School
) -> None:
    rosten = school_create(name="Rosten skole")
    spring = open_round([ila, lade, rosten])
    answer_by_links(spring, ila, [5, 5, 5, 5, 5])
    answer_by_links(spring, lade, [2, 2, 2])
    answer_by_links(spring, rosten, [4, 4])

    round_close(assessment_round=spring)

    assert groups(spring) == [("Ila skole", 5, 1, Decimal("25")), (None, 5, 2, Decimal("14"))]
    assert shown(lade, spring) == (0, 3, 0, None)  # counted only in the pooled group
    assert shown(rosten, spring) == (0, 2, 0, None)


def test_it_releases_nothing_when_even_the_pooled_rest_is_below_k(
    ila: School, lade: School
) -> None:
    spring = open_round([ila, lade])
    answer_by_links(spring, ila, [5, 5])
    answer_by_links(spring, lade, [1, 1])

    round_close(assessment_round=spring)

    assert groups(spring) == []
    assert shown(ila, spring) == (0, 0, 2, None)


def test_it_adds_answers_after_a_reopening_only_as_a_new_group_of_at_least_k(
    ila: School,
) -> None:
    spring = open_round([ila])
    answer_by_links(spring, ila, [4, 4, 4, 4, 4])
    round_update(assessment_round=spring, name=spring.name, opens_on=spring.opens_on,
                 closes_on=today() - timedelta(days=1))  # closed by date: released
    assert shown(ila, spring) == (5, 0, 0, Decimal("4.00"))

    round_update(assessment_round=spring, name=spring.name, opens_on=spring.opens_on,
                 closes_on=today() + timedelta(days=7))  # reopened
    answer_by_links(spring, ila, [1])
    round_update(assessment_round=spring, name=spring.name, opens_on=spring.opens_on,
                 closes_on=today() - timedelta(days=1))
    assert shown(ila, spring) == (5, 0, 1, Decimal("4.00"))  # the late one is not shown

    round_update(assessment_round=spring, name=spring.name, opens_on=spring.opens_on,
                 closes_on=today() + timedelta(days=7))
    answer_by_links(spring, ila, [1, 1, 1, 1])
    round_close(assessment_round=spring)
    assert groups(spring) == [("Ila skole", 5, 1, Decimal("20")),
                              ("Ila skole", 5, 1, Decimal("5"))]
    assert shown(ila, spring) == (10, 0, 0, Decimal("2.50"))


def test_it_never_changes_a_released_group(ila: School) -> None:
    spring = open_round([ila])
    answer_by_links(spring, ila, [4, 4, 4, 4, 4])
    round_close(assessment_round=spring)
    before = groups(spring)

    again = survey_results_release()

    assert again.groups == 0
    assert groups(spring) == before


def test_it_locks_a_staff_members_answers_once_they_are_released(ila: School) -> None:
    staff = User.objects.get(email="trondheim_staff@example.no")
    other = open_round([ila])
    answer_by_links(other, ila, [4, 4, 4, 4])
    staff_response_submit(assessment_round=other, school=ila, instrument=instrument("aim"),
                          respondent=staff, answers=survey_answers(5)["aim"])
    round_update(assessment_round=other, name=other.name, opens_on=other.opens_on,
                 closes_on=today() - timedelta(days=1))
    round_update(assessment_round=other, name=other.name, opens_on=other.opens_on,
                 closes_on=today() + timedelta(days=7))

    with pytest.raises(ValidationError) as raised:
        staff_response_submit(assessment_round=other, school=ila, instrument=instrument("aim"),
                              respondent=staff, answers=survey_answers(1)["aim"])

    assert raised.value.error_dict["answers"][0].code == "released"
    mine = Response.objects.get(round=other, respondent=staff)
    assert sorted(mine.answers.values_list("value", flat=True)) == [5, 5, 5, 5]


def test_the_nightly_recomputation_releases_rounds_closed_by_date(ila: School) -> None:
    spring = open_round([ila])
    answer_by_links(spring, ila, [3, 3, 3, 3, 3])
    # Closed by the calendar, not by a person: nothing happened at the moment it closed.
    AssessmentRound.objects.filter(pk=spring.pk).update(closes_on=today() - timedelta(days=1))
    assert groups(spring) == []

    municipality_recompute_all()

    assert groups(spring) == [("Ila skole", 5, 1, Decimal("15"))]
    assert shown(ila, spring) == (5, 0, 0, Decimal("3.00"))


def test_it_keeps_who_answered_and_what_out_of_the_audit_trail(ila: School) -> None:
    staff = User.objects.get(email="trondheim_staff@example.no")
    spring = open_round([ila])
    staff_response_submit(assessment_round=spring, school=ila, instrument=instrument("sus"),
                          respondent=staff, answers=survey_answers(1, sus=2)["sus"])
    answer_by_links(spring, ila, [2])

    entries = LogEntry.objects.filter(content_type__app_label="implementation",
                                      content_type__model__in=["response", "answer"])

    assert entries.filter(content_type__model="answer").count() == 0
    assert entries.count() == 5  # the staff member's SUS, the link's AIM, IAM, FIM and SUS
    assert {e.actor_id for e in entries} == {None}
    assert all(not e.changes for e in entries)
    assert all(e.remote_addr is None for e in entries)
