"""/api/v1/survey/{token}/: a staff survey answered by one-time link, without an account,
a session or a CSRF token. Each link answers once, only while the round is open, and no
name, e-mail or address is stored with the answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from implementation.models import Answer, AssessmentRound, Response, School, SurveyLink
from implementation.services import round_close, survey_links_create

from .conftest import World, client_for, host_of
from .recording import open_round
from .test_api_support import (
    PERSONAS,
    Api,
    Case,
    api,
    check,
    count_of,
    in_trondheim,
    matrix,
    schools,
)


@dataclass(frozen=True)
class Scene:
    ila: School
    round: AssessmentRound  # open, Ila, fidelity + AIM + SUS
    link: SurveyLink
    token: str
    spare_token: str


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, _lade = schools(world)
        assessment_round = open_round([ila], codes=("fidelity", "aim", "sus"))
        first, second = survey_links_create(assessment_round=assessment_round, school=ila, count=2)
        yield Scene(ila, assessment_round, first.link, first.token, second.token)


def answers(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "aim": {"aim1": 4, "aim2": 5, "aim3": 4, "aim4": 3},
        "sus": {f"sus{n}": 4 if n % 2 else 2 for n in range(1, 11)},
    }
    for key, value in changes.items():
        body[key] = value
    return {"answers": body}


def anonymous(world: World) -> Api:
    """No session, and CSRF checks on as in a real browser."""
    return api(None, world, csrf=True)


# The token is the credential: every persona, signed in or not, of this municipality or
# another, gets the same answer.
CASES = [
    Case(
        "questions",
        "get",
        lambda s: f"/api/v1/survey/{s.token}/",
        expect=dict.fromkeys(PERSONAS, 200),
    ),
    Case(
        "answer",
        "post",
        lambda s: f"/api/v1/survey/{s.token}/",
        lambda s: answers(),
        expect=dict.fromkeys(PERSONAS, 201),
    ),
    Case(
        "unknown-token",
        "get",
        lambda s: "/api/v1/survey/no-such-token/",
        expect=dict.fromkeys(PERSONAS, 400),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_answers_every_role_alike(scene: Scene, world: World, case: Case, persona: str) -> None:
    check(case, persona, scene, world)


def test_it_shows_the_questions_of_the_staff_surveys(scene: Scene, world: World) -> None:
    response = anonymous(world).get(f"/api/v1/survey/{scene.token}/")

    assert response.status_code == 200
    body = response.json()
    assert body["round"] == "Høst 2026"
    assert body["school"] == "Ila skole"
    assert [i["code"] for i in body["instruments"]] == ["aim", "sus"]
    aim = body["instruments"][0]
    assert [item["code"] for item in aim["items"]] == ["aim1", "aim2", "aim3", "aim4"]
    assert (aim["scale_min"], aim["scale_max"]) == (1, 5)
    assert len(aim["labels"]) == 5


@pytest.mark.parametrize(
    ("language", "item", "label"),
    [
        ("nb", "SoVei-modellen har min tilslutning.", "helt uenig"),
        ("nn", "SoVei-modellen har tilslutnaden min.", "heilt ueinig"),
        ("en", "The SoVei model meets my approval.", "Completely disagree"),
    ],
)
def test_it_asks_in_the_respondents_language(
    scene: Scene, world: World, language: str, item: str, label: str
) -> None:
    response = anonymous(world).get(
        f"/api/v1/survey/{scene.token}/", headers={"accept-language": language}
    )

    body = response.json()
    assert body["language"] == language
    aim = body["instruments"][0]
    assert aim["items"][0]["text"] == item
    assert aim["labels"][0] == {"value": 1, "label": label}


def test_it_takes_answers_without_a_session_or_csrf_token(scene: Scene, world: World) -> None:
    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", answers())

    assert response.status_code == 201, response.content
    assert response.json()["detail"]
    scene.link.refresh_from_db()
    assert scene.link.used_at is not None
    stored = Response.objects.filter(survey_link=scene.link)
    assert sorted(r.instrument.code for r in stored) == ["aim", "sus"]
    assert {(r.respondent_kind, r.respondent_id) for r in stored} == {("link", None)}
    assert count_of(Answer, response__survey_link=scene.link) == 14


def test_it_keeps_a_signed_in_respondent_anonymous(scene: Scene, world: World) -> None:
    staff = api("staff", world)

    response = staff.post(f"/api/v1/survey/{scene.token}/", answers())

    assert response.status_code == 201
    ids = [r.pk for r in Response.objects.filter(survey_link=scene.link)]
    entries = LogEntry.objects.filter(content_type__model="response", object_id__in=ids)
    assert entries.count() == 2
    assert {(e.actor_id, e.remote_addr) for e in entries} == {(None, None)}
    assert {r.respondent_id for r in Response.objects.filter(pk__in=ids)} == {None}


def test_it_refuses_a_second_answer_from_the_same_link(scene: Scene, world: World) -> None:
    client = anonymous(world)
    client.post(f"/api/v1/survey/{scene.token}/", answers())

    again = client.post(f"/api/v1/survey/{scene.token}/", answers())
    questions = client.get(f"/api/v1/survey/{scene.token}/")

    assert again.status_code == 400
    assert again.json()["reason"] == "used"
    assert list(again.json()["token"])
    assert questions.status_code == 400
    assert questions.json()["reason"] == "used"
    assert count_of(Response, survey_link=scene.link) == 2


def test_it_refuses_an_expired_link(scene: Scene, world: World) -> None:
    SurveyLink.objects.filter(pk=scene.link.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", answers())

    assert response.status_code == 400
    assert response.json()["reason"] == "expired"
    assert count_of(Response) == 0


def test_it_refuses_answers_when_the_round_is_closed(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        round_close(assessment_round=scene.round)

    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", answers())
    questions = anonymous(world).get(f"/api/v1/survey/{scene.token}/")

    assert response.status_code == 400
    assert response.json()["reason"] == "closed"
    assert questions.json()["reason"] == "closed"
    assert count_of(Response) == 0


def test_it_refuses_an_unknown_token(scene: Scene, world: World) -> None:
    response = anonymous(world).get("/api/v1/survey/not-a-real-token/")

    assert response.status_code == 400
    assert response.json()["reason"] == "unknown"
    assert response.json()["token"]


def test_it_knows_no_token_of_another_municipality(scene: Scene, world: World) -> None:
    response = Api(client_for(None, host_of(world.volda))).get(f"/api/v1/survey/{scene.token}/")

    assert response.status_code == 400
    assert response.json()["reason"] == "unknown"


def test_it_refuses_an_answer_off_the_scale_and_writes_nothing(scene: Scene, world: World) -> None:
    payload = answers(aim={"aim1": 4, "aim2": 9, "aim3": 4, "aim4": 3})

    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", payload)

    assert response.status_code == 400
    assert list(response.json()) == ["answers.aim.aim2"]
    assert (count_of(Response), count_of(Answer)) == (0, 0)
    scene.link.refresh_from_db()
    assert scene.link.used_at is None


def test_it_refuses_an_unknown_question(scene: Scene, world: World) -> None:
    payload = answers(aim={"aim1": 4, "aim2": 4, "aim3": 4, "aim4": 3, "aim5": 2})

    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", payload)

    assert response.status_code == 400
    assert list(response.json()) == ["answers.aim.aim5"]
    assert count_of(Response) == 0


def test_it_refuses_a_team_instrument_by_link(scene: Scene, world: World) -> None:
    payload = answers(fidelity={"1": 2})

    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", payload)

    assert response.status_code == 400
    assert list(response.json()) == ["answers.fidelity"]
    assert count_of(Response) == 0


def test_it_refuses_answers_that_are_not_an_object(scene: Scene, world: World) -> None:
    response = anonymous(world).post(f"/api/v1/survey/{scene.token}/", {"answers": [1, 2, 3]})

    assert response.status_code == 400
    assert list(response.json()) == ["answers"]


def test_it_leaves_other_links_answerable(scene: Scene, world: World) -> None:
    client = anonymous(world)
    client.post(f"/api/v1/survey/{scene.token}/", answers())

    response = client.post(f"/api/v1/survey/{scene.spare_token}/", answers())

    assert response.status_code == 201
