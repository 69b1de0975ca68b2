"""The staff survey (AIM, IAM, FIM, SUS): answered by a staff member with an account, and
by teachers and other staff through the public one-time link /s/<token>/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import AssessmentRound, Response, School, SurveyLink
from implementation.services import round_close, survey_links_create
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import open_round

CODES = ("aim", "iam", "fim", "sus")


def all_answers(value: str = "4") -> dict[str, str]:
    answers = {f"answers.{code}.{code}{n}": value for code in ("aim", "iam", "fim")
               for n in range(1, 5)}
    answers.update({f"answers.sus.sus{n}": value for n in range(1, 11)})
    return answers


@pytest.fixture
def assessment_round(ila: School) -> AssessmentRound:
    return open_round([ila])


@pytest.fixture
def token(ila: School, assessment_round: AssessmentRound) -> str:
    return survey_links_create(assessment_round=assessment_round, school=ila, count=1)[0].token


def visitor(world: World, language: str | None = None) -> Client:
    client = client_for(None, host_of(world.trondheim))
    if language:
        client.cookies["django_language"] = language
    return client


# --- the public link -------------------------------------------------------------------------


def test_it_shows_the_survey_without_login(world: World, token: str) -> None:
    response = visitor(world).get(f"/s/{token}/")

    assert response.status_code == 200
    assert "Jeg liker SoVei-modellen." in response.text  # nb by default
    assert "helt enig" in response.text  # the 1–5 labels
    assert 'name="answers.sus.sus10"' in response.text


@pytest.mark.parametrize(("language", "text"), [
    ("nn", "Eg likar SoVei-modellen."),
    ("en", "I like the SoVei model."),
])
def test_it_speaks_the_respondents_language(
    world: World, token: str, language: str, text: str
) -> None:
    response = visitor(world, language).get(f"/s/{token}/")

    assert response.status_code == 200
    assert text in response.text
    assert f'lang="{language}"' in response.text


def test_it_saves_the_answers_without_identifying_the_respondent(
    world: World, token: str, ila: School, trondheim: Municipality
) -> None:
    response = visitor(world).post(f"/s/{token}/", all_answers(),
                                   REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    assert response["Location"] == "/s/takk/"
    with tenant_context(trondheim):
        responses = Response.objects.filter(school=ila, respondent_kind="link")
        assert sorted(r.instrument.code for r in responses) == sorted(CODES)
        assert all(r.respondent_id is None for r in responses)
        assert SurveyLink.objects.get(school=ila).used_at is not None
        assert not LogEntry.objects.filter(remote_addr__isnull=False).exists()
        assert not LogEntry.objects.filter(changes__icontains="203.0.113.9").exists()
    assert visitor(world).get("/s/takk/").status_code == 200


def test_it_wants_every_question_answered_and_saves_nothing(
    world: World, token: str, ila: School, trondheim: Municipality
) -> None:
    answers = all_answers()
    del answers["answers.fim.fim3"]

    response = visitor(world).post(f"/s/{token}/", answers)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["answers.fim.fim3"]
    assert 'role="alert"' in response.text
    with tenant_context(trondheim):
        assert not Response.objects.filter(school=ila).exists()
        assert SurveyLink.objects.get(school=ila).used_at is None


def test_it_refuses_an_answer_off_the_scale(
    world: World, token: str, ila: School, trondheim: Municipality
) -> None:
    response = visitor(world).post(f"/s/{token}/", {**all_answers(), "answers.aim.aim1": "9"})

    assert response.status_code == 400
    assert "answers.aim.aim1" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not Response.objects.filter(school=ila).exists()


def test_it_explains_a_used_link(world: World, token: str) -> None:
    visitor(world).post(f"/s/{token}/", all_answers())

    again = visitor(world).get(f"/s/{token}/")
    resubmit = visitor(world).post(f"/s/{token}/", all_answers())

    assert again.status_code == 410
    assert again.context["problem"] == "used"
    assert resubmit.status_code == 410


def test_it_explains_an_unknown_link(world: World, db: None) -> None:
    response = visitor(world).get("/s/not-a-real-token/")

    assert response.status_code == 400
    assert response.context["problem"] == "unknown"


def test_it_explains_a_link_of_a_closed_round(
    world: World, token: str, assessment_round: AssessmentRound
) -> None:
    round_close(assessment_round=assessment_round)

    response = visitor(world, "en").get(f"/s/{token}/")

    assert response.status_code == 410
    assert response.context["problem"] == "closed"
    assert "The survey is not open" in response.text


def test_it_explains_an_expired_link(world: World, token: str, trondheim: Municipality) -> None:
    with tenant_context(trondheim):
        SurveyLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = visitor(world).get(f"/s/{token}/")

    assert response.status_code == 410
    assert response.context["problem"] == "expired"


# --- a staff member with an account ----------------------------------------------------------


def staff_url(world: World, assessment_round: AssessmentRound) -> str:
    return f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/sporreskjema/"


def test_it_lets_a_staff_member_answer_in_one_form(
    trondheim_staff: User, world: World, assessment_round: AssessmentRound, ila: School,
    trondheim: Municipality,
) -> None:
    client = client_for(trondheim_staff, host_of(trondheim))

    page = client.get(staff_url(world, assessment_round))
    response = client.post(staff_url(world, assessment_round), all_answers("5"))
    again = client.get(staff_url(world, assessment_round))

    assert page.status_code == 200
    assert response.status_code == 302
    with tenant_context(trondheim):
        responses = Response.objects.filter(school=ila, respondent=trondheim_staff)
        assert sorted(r.instrument.code for r in responses) == sorted(CODES)
    assert again.context["form"]["answers.sus.sus1"].value() == "5"


def test_it_updates_instead_of_duplicating_a_staff_members_answers(
    trondheim_staff: User, world: World, assessment_round: AssessmentRound, ila: School,
    trondheim: Municipality,
) -> None:
    client = client_for(trondheim_staff, host_of(trondheim))

    client.post(staff_url(world, assessment_round), all_answers("5"))
    client.post(staff_url(world, assessment_round), all_answers("3"))

    with tenant_context(trondheim):
        assert Response.objects.filter(school=ila, respondent=trondheim_staff).count() == 4


def test_it_refuses_an_incomplete_staff_survey_and_saves_nothing(
    trondheim_staff: User, world: World, assessment_round: AssessmentRound, ila: School,
    trondheim: Municipality,
) -> None:
    answers = all_answers()
    del answers["answers.sus.sus10"]

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        staff_url(world, assessment_round), answers)

    assert response.status_code == 400
    assert "answers.sus.sus10" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not Response.objects.filter(school=ila).exists()


@pytest.mark.parametrize(("persona", "status"), [
    ("trondheim_coordinator", 403), ("lade_leader", 404), ("volda_leader", 403)])
def test_it_lets_only_the_schools_own_people_answer_as_themselves(
    persona: str, status: int, world: World, assessment_round: AssessmentRound,
    request: pytest.FixtureRequest,
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).post(
        staff_url(world, assessment_round), all_answers())

    assert response.status_code == status
