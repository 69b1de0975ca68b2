"""The team's ratings in a round: the fidelity self-assessment (with its scores) and the
CFIR determinants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import AssessmentRound, ComponentAdoption, Response, School
from implementation.services import adoption_change_status, team_response_submit
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import adopt, instrument, open_round

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def fidelity_url(school_id: int, round_id: int) -> str:
    return f"/skoler/{school_id}/runder/{round_id}/troskap/"


def cfir_url(school_id: int, round_id: int) -> str:
    return f"/skoler/{school_id}/runder/{round_id}/cfir/"


@pytest.fixture
def adoptions(ila: School) -> list[ComponentAdoption]:
    return [adopt(ila, "1.1"), adopt(ila, "2.1"), adopt(ila, "2.2")]


@pytest.fixture
def assessment_round(ila: School) -> AssessmentRound:
    return open_round([ila])


def team_rating(school_id: int, round_id: int, code: str) -> Response | None:
    return Response.objects.filter(school_id=school_id, round_id=round_id,
                                   instrument__code=code, respondent_kind="team").first()


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_shows_one_row_per_adopted_component(
    persona: str, world: World, ila: School, adoptions: list[ComponentAdoption],
    assessment_round: AssessmentRound, request: pytest.FixtureRequest,
) -> None:
    adoption_change_status(adoption=adoptions[2], to_status="discontinued")
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(
        fidelity_url(world.ila_id, assessment_round.pk))

    assert response.status_code == 200
    for adoption in adoptions[:2]:
        assert f'name="answers.{adoption.pk}"' in response.text
    assert f'name="answers.{adoptions[2].pk}"' not in response.text
    assert "<fieldset" in response.text and "<legend>" in response.text


@pytest.mark.parametrize(("persona", "status"), [("lade_leader", 404), ("volda_leader", 403)])
def test_it_hides_the_rating_from_others(
    persona: str, status: int, world: World, assessment_round: AssessmentRound,
    request: pytest.FixtureRequest,
) -> None:
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get(
        fidelity_url(world.ila_id, assessment_round.pk))

    assert response.status_code == status


def test_it_saves_the_rating_and_shows_the_scores(
    trondheim_leader: User, world: World, adoptions: list[ComponentAdoption],
    assessment_round: AssessmentRound, trondheim: Municipality,
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    module1, first2, second2 = adoptions

    response = client.post(fidelity_url(world.ila_id, assessment_round.pk), {
        f"answers.{module1.pk}": "2", f"answers.{first2.pk}": "1", f"answers.{second2.pk}": "",
        f"unrated_reasons.{second2.pk}": "not_started"})
    page = client.get(response["Location"])

    assert response.status_code == 302
    with tenant_context(trondheim):
        rating = team_rating(world.ila_id, assessment_round.pk, "fidelity")
        assert rating is not None
        assert {a.adoption_id: (a.value, a.unrated_reason) for a in rating.answers.all()} == {
            module1.pk: (2, None), first2.pk: (1, None), second2.pk: (None, "not_started")}
    scores = page.context["scores"]
    # 2 + 1 + 0 (not started) = 3 of 6 points = 50 %; module 2: 1 of 4 points = 25 %
    assert scores["result"].overall.percent == Decimal("50.0")
    assert [s.percent for _m, s in scores["modules"]] == [Decimal("100.0"), Decimal("25.0")]
    assert scores["result"].overall.measured is True  # 3 of 3 rated
    assert scores["result"].overall.meets_threshold is False
    assert page.context["form"][f"answers.{module1.pk}"].value() == "2"
    assert page.context["form"][f"unrated_reasons.{second2.pk}"].value() == "not_started"


def test_it_refuses_an_out_of_range_rating_and_saves_nothing(
    trondheim_leader: User, world: World, adoptions: list[ComponentAdoption],
    assessment_round: AssessmentRound, trondheim: Municipality,
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        fidelity_url(world.ila_id, assessment_round.pk), {f"answers.{adoptions[0].pk}": "3"})

    assert response.status_code == 400
    assert f"answers.{adoptions[0].pk}" in response.context["form"].errors
    with tenant_context(trondheim):
        assert team_rating(world.ila_id, assessment_round.pk, "fidelity") is None


def test_it_refuses_a_rating_in_a_closed_round(
    trondheim_leader: User, world: World, adoptions: list[ComponentAdoption],
    assessment_round: AssessmentRound, trondheim: Municipality,
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    client.post(f"/runder/{assessment_round.pk}/lukk/")

    page = client.get(fidelity_url(world.ila_id, assessment_round.pk))
    response = client.post(fidelity_url(world.ila_id, assessment_round.pk),
                           {f"answers.{adoptions[0].pk}": "2"})

    assert page.status_code == 200
    assert page.context["form"].fields[f"answers.{adoptions[0].pk}"].disabled
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    with tenant_context(trondheim):
        assert team_rating(world.ila_id, assessment_round.pk, "fidelity") is None


def test_it_answers_404_when_the_round_has_no_fidelity_assessment(
    trondheim_leader: User, world: World, ila: School
) -> None:
    survey_only = open_round([ila], codes=("aim",), name="Kun AIM")

    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        fidelity_url(world.ila_id, survey_only.pk))

    assert response.status_code == 404


def test_it_lets_the_coordinator_rate_but_not_another_schools_leader(
    trondheim_coordinator: User, lade_leader: User, world: World,
    adoptions: list[ComponentAdoption], assessment_round: AssessmentRound,
    trondheim: Municipality,
) -> None:
    data = {f"answers.{adoption.pk}": "1" for adoption in adoptions}

    other = client_for(lade_leader, host_of(trondheim)).post(
        fidelity_url(world.ila_id, assessment_round.pk), data)
    coordinator = client_for(trondheim_coordinator, host_of(trondheim)).post(
        fidelity_url(world.ila_id, assessment_round.pk), data)

    assert other.status_code == 404
    assert coordinator.status_code == 302


# --- CFIR ------------------------------------------------------------------------------------


def test_it_shows_the_cfir_constructs_by_domain_with_definitions(
    trondheim_staff: User, world: World, assessment_round: AssessmentRound
) -> None:
    response = client_for(trondheim_staff, host_of(world.trondheim)).get(
        cfir_url(world.ila_id, assessment_round.pk))

    assert response.status_code == 200
    assert [d["domain"].code for d in response.context["domains"]] == ["I", "II", "III", "IV",
                                                                         "V"]
    assert 'name="answers.I.A"' in response.text
    assert "Innovasjonen" in response.text  # domain name, nb default
    assert "Skoleledelsen" in response.text  # a parent construct (role group) heading


def test_it_saves_the_cfir_rating_with_missing_items(
    trondheim_leader: User, world: World, assessment_round: AssessmentRound,
    trondheim: Municipality,
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))

    response = client.post(cfir_url(world.ila_id, assessment_round.pk),
                           {"answers.I.A": "2", "answers.I.B": "-1", "answers.II.A": ""})
    page = client.get(cfir_url(world.ila_id, assessment_round.pk))

    assert response.status_code == 302
    with tenant_context(trondheim):
        rating = team_rating(world.ila_id, assessment_round.pk, "cfir")
        assert rating is not None
        values = {a.item.code: a.value for a in rating.answers.select_related("item")}
        assert values["I.A"] == 2 and values["I.B"] == -1 and values["II.A"] is None
    domain_one = page.context["scores"][0]["score"]
    assert domain_one.mean == Decimal("0.50")


def test_it_refuses_a_cfir_rating_off_the_scale(
    trondheim_leader: User, world: World, assessment_round: AssessmentRound,
    trondheim: Municipality,
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        cfir_url(world.ila_id, assessment_round.pk), {"answers.I.A": "5"})

    assert response.status_code == 400
    assert "answers.I.A" in response.context["form"].errors
    with tenant_context(trondheim):
        assert team_rating(world.ila_id, assessment_round.pk, "cfir") is None


def test_it_prefills_the_cfir_form_with_the_saved_rating(
    trondheim_staff: User, world: World, ila: School, assessment_round: AssessmentRound
) -> None:
    team_response_submit(assessment_round=assessment_round, school=ila,
                         instrument=instrument("cfir"), answers={"III.B": -2})

    response = client_for(trondheim_staff, host_of(world.trondheim)).get(
        cfir_url(world.ila_id, assessment_round.pk))

    assert response.context["form"]["answers.III.B"].value() == "-2"
