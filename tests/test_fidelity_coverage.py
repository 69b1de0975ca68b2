"""Fidelity cannot be inflated by leaving components unrated (audit, issue 8 item 6).

Every adopted component the team leaves unrated needs a reason: *not started* is scored as
0 (not in place, as in the PBIS TFI), *not applicable this round* and *not assessed* are
left out of the points but count against the share rated; a score counts as measured only
when the share rated reaches the model version's minimum (80 %). The team's answers go
through the service, the REST API and the fidelity page; the aggregates and the spread
across schools only judge measured scores. Hand-computed cases (docs/scoring.md):

    ratings                          score           rated    measured  meets 70 %
    2, 2, 1, 0                       5/8 = 62.5 %    4 of 4   yes       no
    2, 2, 1, not started             5/8 = 62.5 %    4 of 4   yes       no
    2, 2, 1, not assessed            5/6 = 83.3 %    3 of 4   no        (none)
    2 and 7 × not assessed           2/2 = 100 %     1 of 8   no        (none)

Personas: Ila's school leader (rates), Bratteberg's leader (reads Nynorsk), Trondheim's
coordinator (compares the schools).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from catalog.models import ModelVersion
from catalog.services import catalog_export, catalog_import
from dashboards.aggregation import recompute_municipality, recompute_school
from dashboards.models import FidelityAggregate, MunicipalitySpread
from implementation.models import (
    Answer,
    AssessmentRound,
    ComponentAdoption,
    Response,
    School,
    UnratedReason,
)
from implementation.services import adoption_create, team_response_submit
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import adopt, instrument, module, open_round, version
from .test_api_support import api, in_trondheim

NOT_STARTED = UnratedReason.NOT_STARTED
NOT_APPLICABLE = UnratedReason.NOT_APPLICABLE
NOT_ASSESSED = UnratedReason.NOT_ASSESSED
EIGHT = ("1.1", "2.1", "2.2", "3.1", "3.2", "3.3", "4.1", "5.1")

Mark = int | UnratedReason | None


@dataclass(frozen=True)
class Ila:
    school: School
    round: AssessmentRound
    adoptions: dict[str, ComponentAdoption]  # by component key

    def id_of(self, key: str) -> str:
        return str(self.adoptions[key].pk)


@pytest.fixture
def ila_rating(world: World, ila: School) -> Ila:
    """Ila has adopted four components (1.1, 2.1, 2.2, 3.1) and the round is open."""
    adoptions = {key: adopt(ila, key) for key in ("1.1", "2.1", "2.2", "3.1")}
    return Ila(ila, open_round([ila]), adoptions)


def split(marks: dict[str, Mark]) -> tuple[dict[str, int | None], dict[str, str]]:
    """{key: 0-2 or reason} -> the service's answers and unrated_reasons."""
    answers = {k: (None if isinstance(v, UnratedReason) else v) for k, v in marks.items()}
    reasons = {k: str(v) for k, v in marks.items() if isinstance(v, UnratedReason)}
    return answers, reasons


def rate(scene: Ila, marks: dict[str, Mark], assessment_round: AssessmentRound | None = None,
         ) -> Response:
    answers, reasons = split({scene.id_of(k): v for k, v in marks.items()})
    return team_response_submit(
        assessment_round=assessment_round or scene.round, school=scene.school,
        instrument=instrument("fidelity"), answers=answers, unrated_reasons=reasons,
    )


def error_codes(error: ValidationError) -> dict[str, list[str | None]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


# --- The service -----------------------------------------------------------------------------


@pytest.mark.parametrize("left_out", ["null", "missing"])
def test_it_refuses_an_unrated_component_without_a_reason_and_saves_nothing(
    ila_rating: Ila, left_out: str
) -> None:
    answers: dict[str, int | None] = {ila_rating.id_of(k): 2 for k in ("1.1", "2.1", "2.2")}
    if left_out == "null":
        answers[ila_rating.id_of("3.1")] = None

    with pytest.raises(ValidationError) as caught:
        team_response_submit(assessment_round=ila_rating.round, school=ila_rating.school,
                             instrument=instrument("fidelity"), answers=answers)

    assert error_codes(caught.value) == {f"answers.{ila_rating.id_of('3.1')}": ["reason_required"]}
    assert not Response.objects.filter(round=ila_rating.round).exists()


def test_it_stores_the_reason_beside_the_empty_rating_and_clears_it_when_rated(
    ila_rating: Ila,
) -> None:
    response = rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": NOT_STARTED})
    stored = {a.adoption_id: (a.value, a.unrated_reason) for a in response.answers.all()}

    rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": 0})
    again = {a.adoption_id: (a.value, a.unrated_reason) for a in response.answers.all()}

    not_started = ila_rating.adoptions["3.1"].pk
    assert stored[not_started] == (None, "not_started")
    assert stored[ila_rating.adoptions["1.1"].pk] == (2, None)
    assert again[not_started] == (0, None)
    assert Answer.objects.filter(response=response).count() == 4


@pytest.mark.parametrize(
    ("key", "reason", "code"),
    [
        ("1.1", "not_started", "reason_for_rated"),  # 1.1 has a rating
        ("3.1", "forgot", "unknown_reason"),
    ],
)
def test_it_refuses_a_reason_beside_a_rating_or_an_unknown_reason(
    ila_rating: Ila, key: str, reason: str, code: str
) -> None:
    answers: dict[str, int | None] = {ila_rating.id_of(k): 2 for k in ("1.1", "2.1", "2.2")}
    answers[ila_rating.id_of("3.1")] = None
    reasons = {ila_rating.id_of("3.1"): "not_assessed", ila_rating.id_of(key): reason}

    with pytest.raises(ValidationError) as caught:
        team_response_submit(
            assessment_round=ila_rating.round, school=ila_rating.school,
            instrument=instrument("fidelity"), answers=answers, unrated_reasons=reasons,
        )

    assert error_codes(caught.value) == {f"unrated_reasons.{ila_rating.id_of(key)}": [code]}
    assert not Response.objects.filter(round=ila_rating.round).exists()


def test_it_refuses_reasons_on_a_cfir_rating(ila_rating: Ila) -> None:
    with pytest.raises(ValidationError) as caught:
        team_response_submit(
            assessment_round=ila_rating.round, school=ila_rating.school,
            instrument=instrument("cfir"), answers={"I.A": None},
            unrated_reasons={"I.A": "not_assessed"},
        )

    assert error_codes(caught.value) == {"unrated_reasons": ["not_fidelity"]}


def test_the_database_allows_a_reason_only_beside_an_empty_fidelity_rating(
    ila_rating: Ila,
) -> None:
    response = rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": NOT_ASSESSED})
    rated = response.answers.get(adoption=ila_rating.adoptions["1.1"])
    cfir = team_response_submit(assessment_round=ila_rating.round, school=ila_rating.school,
                                instrument=instrument("cfir"), answers={"I.A": None})
    cfir_answer = cfir.answers.get(item__code="I.A")

    for answer in (rated, cfir_answer):
        with pytest.raises(IntegrityError), transaction.atomic():
            Answer.objects.filter(pk=answer.pk).update(unrated_reason="not_started")
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.filter(adoption=ila_rating.adoptions["3.1"]).update(unrated_reason="later")


def test_it_keeps_an_old_unrated_answer_without_a_reason_as_not_assessed(
    ila_rating: Ila,
) -> None:
    response = rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": NOT_ASSESSED})
    # Answers saved before reasons existed: NULL value, NULL reason.
    Answer.objects.filter(response=response, adoption=ila_rating.adoptions["3.1"]).update(
        unrated_reason=None)

    recompute_school(ila_rating.school.pk)

    overall = FidelityAggregate.objects.get(round=ila_rating.round, module__isnull=True)
    assert (overall.rated_count, overall.unrated_count, overall.percent) == (3, 1, Decimal("83.3"))
    assert (overall.measured, overall.meets_threshold) == (False, None)


# --- Aggregates ------------------------------------------------------------------------------


def overall_of(scene: Ila, assessment_round: AssessmentRound | None = None) -> FidelityAggregate:
    recompute_school(scene.school.pk)
    return FidelityAggregate.objects.get(
        school=scene.school, round=assessment_round or scene.round, module__isnull=True)


@pytest.mark.parametrize(
    ("last", "percent", "rated", "share", "measured", "meets"),
    [
        (0, "62.5", 4, "100.0", True, False),  # 5 / 8; 4 of 4
        (NOT_STARTED, "62.5", 4, "100.0", True, False),  # not started = 0 points: 5 / 8
        (NOT_ASSESSED, "83.3", 3, "75.0", False, None),  # 5 / 6; 3 of 4 = 75 % < 80 %
        (NOT_APPLICABLE, "83.3", 3, "75.0", False, None),
    ],
)
def test_it_aggregates_the_share_rated_and_whether_the_score_is_measured(
    ila_rating: Ila, last: Mark, percent: str, rated: int, share: str, measured: bool,
    meets: bool | None,
) -> None:
    rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": last})

    row = overall_of(ila_rating)

    assert row.percent == Decimal(percent)
    assert row.rated_count == rated
    assert row.not_started_count == (1 if last == NOT_STARTED else 0)
    assert row.rated_share_percent == Decimal(share)
    assert (row.measured, row.meets_threshold) == (measured, meets)
    assert (row.threshold_percent, row.min_rated_percent) == (70, 80)


def test_it_does_not_measure_one_component_rated_of_eight(ila: School) -> None:
    scene = Ila(ila, open_round([ila]), {key: adopt(ila, key) for key in EIGHT})
    rate(scene, {key: 2 if key == "1.1" else NOT_ASSESSED for key in EIGHT})

    row = overall_of(scene)

    # 2 / 2 = 100 %, but only 1 of 8 rated = 12.5 %
    assert (row.percent, row.rated_count, row.unrated_count) == (Decimal("100.0"), 1, 7)
    assert row.rated_share_percent == Decimal("12.5")
    assert (row.measured, row.meets_threshold) == (False, None)


def test_it_measures_each_module_on_its_own(ila_rating: Ila) -> None:
    rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": NOT_ASSESSED, "3.1": NOT_STARTED})
    recompute_school(ila_rating.school.pk)

    by_module = {r.module_number: r for r in FidelityAggregate.objects.filter(
        school=ila_rating.school, round=ila_rating.round)}

    # module 1: 2 / 2 = 100 %, 1 of 1; module 2: 2 / 2 = 100 % but 1 of 2 rated = 50 %;
    # module 3: not started = 0 / 2 = 0 %, 1 of 1; overall (2 + 2 + 0) / 6 = 66.7 %, 3 of 4
    assert by_module[1].measured and by_module[1].meets_threshold
    assert (by_module[2].percent, by_module[2].rated_share_percent) == (Decimal("100.0"),
                                                                        Decimal("50.0"))
    assert (by_module[2].measured, by_module[2].meets_threshold) == (False, None)
    assert (by_module[3].percent, by_module[3].measured, by_module[3].meets_threshold) == (
        Decimal("0.0"), True, False)
    assert (by_module[None].percent, by_module[None].rated_share_percent) == (
        Decimal("66.7"), Decimal("75.0"))
    assert by_module[None].measured is False


def test_it_follows_the_model_versions_minimum_share_rated(ila_rating: Ila) -> None:
    ModelVersion.objects.filter(pk=version().pk).update(fidelity_min_rated_percent=75)
    rate(ila_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": NOT_ASSESSED})

    row = overall_of(ila_rating)

    assert row.min_rated_percent == 75
    assert (row.measured, row.meets_threshold) == (True, True)  # 3 of 4 = 75 % >= 75 %


def test_it_keeps_local_components_out_of_the_share_rated(ila_rating: Ila) -> None:
    local = adoption_create(school=ila_rating.school, local_module=module(3),
                            local_title="Frokostklubb")
    answers, reasons = split({
        **{ila_rating.id_of(k): 2 for k in ("1.1", "2.1", "2.2", "3.1")},
        str(local.pk): NOT_ASSESSED,
    })
    team_response_submit(assessment_round=ila_rating.round, school=ila_rating.school,
                         instrument=instrument("fidelity"), answers=answers,
                         unrated_reasons=reasons)

    row = overall_of(ila_rating)

    assert (row.rated_count, row.unrated_count, row.local_unrated_count) == (4, 0, 1)
    assert (row.rated_share_percent, row.measured) == (Decimal("100.0"), True)


def test_it_spreads_only_measured_scores_across_the_schools(world: World, ila: School) -> None:
    lade = School.objects.get(pk=world.lade_id)
    assessment_round = open_round([ila, lade])
    ila_scene = Ila(ila, assessment_round, {k: adopt(ila, k) for k in ("1.1", "2.1")})
    lade_scene = Ila(lade, assessment_round, {k: adopt(lade, k) for k in ("1.1", "2.1")})
    rate(ila_scene, {"1.1": 2, "2.1": 1})  # 3 / 4 = 75 %, measured, meets
    rate(lade_scene, {"1.1": 0, "2.1": NOT_ASSESSED})  # 0 %, 1 of 2 rated: not measured
    recompute_school(ila.pk)
    recompute_school(lade.pk)

    recompute_municipality()

    spread = MunicipalitySpread.objects.get(metric="fidelity", round=assessment_round,
                                            module__isnull=True)
    assert (spread.n_schools, spread.n_meets_threshold) == (1, 1)
    assert spread.minimum == spread.maximum == Decimal("75.00")


# --- REST API --------------------------------------------------------------------------------


@pytest.fixture
def api_rating(world: World, db: None) -> Iterator[Ila]:
    with in_trondheim(world):
        ila = School.objects.get(pk=world.ila_id)
        adoptions = {key: adopt(ila, key) for key in ("1.1", "2.1", "2.2", "3.1")}
        yield Ila(ila, open_round([ila]), adoptions)


def post_rating(world: World, scene: Ila, marks: dict[str, Mark],
                headers: dict[str, str] | None = None) -> Any:
    answers, reasons = split({scene.id_of(k): v for k, v in marks.items()})
    return api("leader", world).post(
        f"/api/v1/rounds/{scene.round.pk}/team-responses/",
        {"school": scene.school.pk, "instrument": "fidelity", "answers": answers,
         "unrated_reasons": reasons},
        headers=headers,
    )


def test_it_takes_the_reasons_through_the_api_and_reports_the_share_rated(
    world: World, api_rating: Ila
) -> None:
    response = post_rating(world, api_rating,
                           {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": NOT_ASSESSED})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["unrated_reasons"] == {api_rating.id_of("3.1"): "not_assessed"}
    fidelity = body["scores"]["fidelity"]
    assert Decimal(fidelity["min_rated_percent"]) == Decimal("80")
    overall = fidelity["overall"]
    assert Decimal(overall["percent"]) == Decimal("83.3")
    assert (overall["rated_count"], overall["unrated_count"]) == (3, 1)
    assert Decimal(overall["rated_share_percent"]) == Decimal("75.0")
    assert (overall["measured"], overall["meets_threshold"]) == (False, None)


def test_it_answers_400_in_the_users_language_for_a_component_without_a_reason(
    world: World, api_rating: Ila
) -> None:
    response = post_rating(world, api_rating, {"1.1": 2, "2.1": 2, "2.2": 1, "3.1": None},
                           headers={"accept-language": "nb"})

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [f"answers.{api_rating.id_of('3.1')}"]
    assert "hvorfor" in str(body[f"answers.{api_rating.id_of('3.1')}"])
    with in_trondheim(world):
        assert not Response.objects.filter(round=api_rating.round).exists()


# --- The fidelity page -----------------------------------------------------------------------


def page_url(scene: Ila) -> str:
    return f"/skoler/{scene.school.pk}/runder/{scene.round.pk}/troskap/"


def test_it_shows_a_reason_select_beside_each_components_rating(
    trondheim_leader: User, trondheim: Municipality, ila_rating: Ila
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).get(page_url(ila_rating))

    assert response.status_code == 200
    for key in ila_rating.adoptions:
        assert f'<select name="unrated_reasons.{ila_rating.id_of(key)}"' in response.text
    assert '<option value="not_started">ikke startet</option>' in response.text
    assert '<option value="not_applicable">ikke aktuelt denne runden</option>' in response.text
    assert '<option value="not_assessed">ikke vurdert</option>' in response.text


def test_it_refuses_a_component_left_without_rating_or_reason_on_the_page(
    trondheim_leader: User, trondheim: Municipality, ila_rating: Ila
) -> None:
    form = {f"answers.{ila_rating.id_of(k)}": "2" for k in ("1.1", "2.1", "2.2")}
    form[f"answers.{ila_rating.id_of('3.1')}"] = ""

    response = client_for(trondheim_leader, host_of(trondheim)).post(page_url(ila_rating), form)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == [f"answers.{ila_rating.id_of('3.1')}"]
    with tenant_context(trondheim):
        assert not Response.objects.filter(round=ila_rating.round).exists()


def test_it_saves_the_reason_and_shows_the_score_as_not_measured(
    trondheim_leader: User, trondheim: Municipality, ila_rating: Ila
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    form = {f"answers.{ila_rating.id_of(k)}": v for k, v in
            (("1.1", "2"), ("2.1", "2"), ("2.2", "1"), ("3.1", ""))}
    form[f"unrated_reasons.{ila_rating.id_of('3.1')}"] = "not_assessed"
    # a reason beside a rating is dropped: the rating wins
    form[f"unrated_reasons.{ila_rating.id_of('1.1')}"] = "not_started"

    response = client.post(page_url(ila_rating), form)
    page = client.get(page_url(ila_rating))

    assert response.status_code == 302
    with tenant_context(trondheim):
        rating = Response.objects.get(round=ila_rating.round)
        assert {a.adoption_id: (a.value, a.unrated_reason) for a in rating.answers.all()} == {
            ila_rating.adoptions["1.1"].pk: (2, None),
            ila_rating.adoptions["2.1"].pk: (2, None),
            ila_rating.adoptions["2.2"].pk: (1, None),
            ila_rating.adoptions["3.1"].pk: (None, "not_assessed"),
        }
    overall = page.context["scores"]["result"].overall
    assert (overall.percent, overall.measured, overall.meets_threshold) == (
        Decimal("83.3"), False, None)
    assert page.context["form"][f"unrated_reasons.{ila_rating.id_of('3.1')}"].value() == (
        "not_assessed")
    assert "3 av 4 vurdert" in page.text
    assert "ikke målt" in page.text


def test_it_speaks_nynorsk_to_bratteberg(volda_leader: User, volda: Municipality,
                                          world: World) -> None:
    with tenant_context(volda):
        bratteberg = School.objects.get(pk=world.bratteberg_id)
        scene = Ila(bratteberg, open_round([bratteberg]),
                    {k: adopt(bratteberg, k) for k in ("1.1", "2.1")})
    client = client_for(volda_leader, host_of(volda))
    form = {f"answers.{scene.id_of('1.1')}": "2", f"answers.{scene.id_of('2.1')}": ""}

    page = client.get(page_url(scene), headers={"accept-language": "nn"})
    refused = client.post(page_url(scene), form, headers={"accept-language": "nn"})

    assert '<option value="not_started">ikkje starta</option>' in page.text
    assert '<option value="not_applicable">ikkje aktuelt denne runden</option>' in page.text
    assert refused.status_code == 400
    assert "kvifor" in refused.text


# --- The catalog -----------------------------------------------------------------------------


def test_it_reads_and_writes_the_minimum_share_rated_in_the_catalog_file(
    world: World, db: None
) -> None:
    shipped = version()
    text = catalog_export(version=shipped)
    changed = text.replace("code: '1.0'", "code: '9.1'").replace(
        "fidelity_min_rated_percent: 80", "fidelity_min_rated_percent: 75")
    without = "\n".join(line for line in changed.splitlines()
                        if "fidelity_min_rated_percent" not in line)

    assert shipped.fidelity_min_rated_percent == 80
    assert "  fidelity_threshold_percent: 70\n  fidelity_min_rated_percent: 80\n" in text
    assert catalog_import(text=changed).fidelity_min_rated_percent == 75
    assert catalog_export(version="9.1") == changed
    assert catalog_import(text=without).fidelity_min_rated_percent == 80  # the default
