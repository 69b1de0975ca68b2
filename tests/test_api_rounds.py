"""/api/v1/rounds/ and what hangs under a round: one-time links, the team's ratings
(fidelity, CFIR) with their scores, one's own answers (AIM/IAM/FIM/SUS) and the counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry

from implementation.models import (
    Answer,
    AssessmentRound,
    ComponentAdoption,
    Response,
    School,
    SurveyLink,
)
from implementation.services import (
    adoption_create,
    link_response_submit,
    round_close,
    round_create,
    survey_links_create,
)
from implementation.services._common import today

from .conftest import World
from .recording import adopt, instrument, module, open_round, version
from .test_api_support import (
    ENGLISH,
    Case,
    api,
    check,
    count_of,
    expect,
    in_trondheim,
    matrix,
    queries_for,
    schools,
)

AIM = {"aim1": 4, "aim2": 4, "aim3": 4, "aim4": 5}


@dataclass(frozen=True)
class Scene:
    ila: School
    lade: School
    adoption: ComponentAdoption  # Ila, 2.1
    round: AssessmentRound  # open, Ila only, every instrument


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    with in_trondheim(world):
        ila, lade = schools(world)
        adoption = adopt(ila, "2.1")
        yield Scene(ila, lade, adoption, open_round([ila]))


def url(scene: Scene, tail: str = "") -> str:
    return f"/api/v1/rounds/{scene.round.pk}/{tail}"


def new_round(school_ids: list[int], **changes: Any) -> dict[str, Any]:
    return {
        "name": "Vår 2027",
        "opens_on": today().isoformat(),
        "closes_on": (today() + timedelta(days=20)).isoformat(),
        "schools": school_ids,
        "instruments": ["fidelity", "aim", "sus"],
        **changes,
    }


CASES = [
    Case("list", "get", lambda s: "/api/v1/rounds/", expect=expect(200, 200, 200, 200)),
    Case("retrieve", "get", lambda s: url(s), expect=expect(200, 404, 200, 200)),
    Case(
        "create",
        "post",
        lambda s: "/api/v1/rounds/",
        lambda s: new_round([s.ila.pk]),
        expect(201, 400, 403, 201),
    ),
    Case(
        "put",
        "put",
        lambda s: url(s),
        lambda s: {
            "name": "Høst 2026 (forlenget)",
            "opens_on": s.round.opens_on.isoformat(),
            "closes_on": (s.round.closes_on + timedelta(days=7)).isoformat(),
        },
        expect(200, 404, 403, 200),
    ),
    Case(
        "patch",
        "patch",
        lambda s: url(s),
        lambda s: {"name": "Høst 2026 – Ila"},
        expect(200, 404, 403, 200),
    ),
    Case("close", "post", lambda s: url(s, "close/"), expect=expect(200, 404, 403, 200)),
    Case("links-list", "get", lambda s: url(s, "links/"), expect=expect(200, 404, 403, 200)),
    Case(
        "links-create",
        "post",
        lambda s: url(s, "links/"),
        lambda s: {"school": s.ila.pk, "count": 2},
        expect(201, 404, 403, 201),
    ),
    Case(
        "team-list", "get", lambda s: url(s, "team-responses/"), expect=expect(200, 404, 200, 200)
    ),
    Case(
        "team-submit",
        "post",
        lambda s: url(s, "team-responses/"),
        lambda s: {
            "school": s.ila.pk,
            "instrument": "fidelity",
            "answers": {str(s.adoption.pk): 2},
        },
        expect(201, 404, 201, 201),
    ),
    Case("my-list", "get", lambda s: url(s, "my-responses/"), expect=expect(200, 404, 200, 200)),
    Case(
        "my-submit",
        "post",
        lambda s: url(s, "my-responses/"),
        lambda s: {"instrument": "aim", "answers": AIM},
        expect(201, 404, 201, 403),
    ),
    Case("counts", "get", lambda s: url(s, "response-counts/"), expect=expect(200, 404, 200, 200)),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(
    scene: Scene, world: World, case: Case, persona: str
) -> None:
    check(case, persona, scene, world)


# --- rounds ----------------------------------------------------------------------------------


def test_it_opens_a_round_for_several_schools(scene: Scene, world: World) -> None:
    response = api("coordinator", world).post(
        "/api/v1/rounds/", new_round([scene.ila.pk, scene.lade.pk])
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [s["name"] for s in body["schools"]] == ["Ila skole", "Lade skole"]
    assert [i["code"] for i in body["instruments"]] == ["fidelity", "aim", "sus"]
    assert body["model_version"] == version().pk
    assert body["is_open"] is True


def test_it_does_not_let_a_leader_include_a_school_they_do_not_manage(
    scene: Scene, world: World
) -> None:
    response = api("leader", world).post(
        "/api/v1/rounds/", new_round([scene.ila.pk, scene.lade.pk])
    )

    assert response.status_code == 400
    assert list(response.json()) == ["schools"]
    assert count_of(AssessmentRound) == 1


def test_it_lets_a_leader_see_but_not_change_a_municipal_round(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        shared = round_create(
            name="Kommunen vår 2027",
            opens_on=today(),
            closes_on=today() + timedelta(days=10),
            schools=[scene.ila, scene.lade],
            instruments=[instrument("aim")],
            model_version=version(),
        )
    client = api("leader", world)

    seen = client.get(f"/api/v1/rounds/{shared.pk}/")
    closed = client.post(f"/api/v1/rounds/{shared.pk}/close/", headers=ENGLISH)

    assert seen.status_code == 200
    assert [s["name"] for s in seen.json()["schools"]] == ["Ila skole"]
    assert closed.status_code == 403
    assert "every school" in closed.json()["detail"]
    shared.refresh_from_db()
    assert shared.closed_at is None


def test_it_refuses_a_round_that_closes_before_it_opens(scene: Scene, world: World) -> None:
    payload = new_round([scene.ila.pk], closes_on=(today() - timedelta(days=1)).isoformat())

    response = api("leader", world).post("/api/v1/rounds/", payload)

    assert response.status_code == 400
    assert list(response.json()) == ["closes_on"]
    assert count_of(AssessmentRound) == 1


def test_it_refuses_an_unknown_instrument(scene: Scene, world: World) -> None:
    payload = new_round([scene.ila.pk], instruments=["aim", "iq"])

    response = api("leader", world).post("/api/v1/rounds/", payload)

    assert response.status_code == 400
    assert list(response.json()) == ["instruments"]
    assert count_of(AssessmentRound) == 1


def test_it_closes_a_round_once(scene: Scene, world: World) -> None:
    client = api("leader", world)

    first = client.post(url(scene, "close/"))
    second = client.post(url(scene, "close/"))

    assert first.status_code == 200
    assert first.json()["is_open"] is False
    assert second.status_code == 400
    assert list(second.json()) == ["round"]


def test_it_filters_open_rounds(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        round_close(assessment_round=open_round([scene.ila], name="Vår 2026"))
    client = api("leader", world)

    open_now = client.get("/api/v1/rounds/?is_open=true").json()
    closed = client.get("/api/v1/rounds/?is_open=false").json()

    assert [r["name"] for r in open_now["results"]] == ["Høst 2026"]
    assert [r["name"] for r in closed["results"]] == ["Vår 2026"]


# --- links -----------------------------------------------------------------------------------


def test_it_shows_new_link_tokens_once(scene: Scene, world: World) -> None:
    client = api("leader", world)

    made = client.post(url(scene, "links/"), {"school": scene.ila.pk, "count": 3})
    listed = client.get(url(scene, "links/"))

    assert made.status_code == 201
    links = made.json()
    assert len(links) == 3
    for link in links:
        assert re.fullmatch(r"https://trondheim\.localhost/s/[\w-]{20,}/", link["url"])
        assert link["url"].endswith(f"/s/{link['token']}/")
    assert listed.json()["count"] == 3
    assert all("token" not in row and "url" not in row for row in listed.json()["results"])
    assert {row["state"] for row in listed.json()["results"]} == {"open"}
    tokens = {link["token"] for link in links}
    assert not any(token in listed.content.decode() for token in tokens)


def test_it_lists_a_used_link_as_used(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        [issued] = survey_links_create(assessment_round=scene.round, school=scene.ila, count=1)
        link_response_submit(
            token=issued.token,
            answers={
                "aim": AIM,
                "iam": {f"iam{n}": 3 for n in range(1, 5)},
                "fim": {f"fim{n}": 3 for n in range(1, 5)},
                "sus": {f"sus{n}": 3 for n in range(1, 11)},
            },
        )

    body = api("leader", world).get(url(scene, "links/?used=true")).json()

    assert [(row["id"], row["state"]) for row in body["results"]] == [(issued.link.pk, "used")]


def test_it_refuses_too_many_links_at_once(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        url(scene, "links/"), {"school": scene.ila.pk, "count": 500}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["count"]
    assert count_of(SurveyLink) == 0


def test_it_refuses_links_for_a_closed_round(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        round_close(assessment_round=scene.round)

    response = api("leader", world).post(url(scene, "links/"), {"school": scene.ila.pk, "count": 1})

    assert response.status_code == 400
    assert list(response.json()) == ["round"]
    assert count_of(SurveyLink) == 0


# --- team responses --------------------------------------------------------------------------


def test_it_scores_the_fidelity_rating(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        other = adopt(scene.ila, "2.2")
        first_module = adopt(scene.ila, "1.1")
        local = adoption_create(school=scene.ila, local_module=module(3), local_title="Frokost")
    answers = {
        str(scene.adoption.pk): 2,
        str(other.pk): 1,
        str(first_module.pk): 0,
        str(local.pk): 2,
    }

    response = api("staff", world).post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "fidelity", "answers": answers},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["answers"] == answers
    fidelity = body["scores"]["fidelity"]
    assert body["scores"]["cfir"] is None
    # Model components: 2 + 1 + 0 = 3 of 6 points = 50 %; module 2: 3 of 4 = 75 %.
    assert fidelity["overall"]["points"] == 3
    assert fidelity["overall"]["max_points"] == 6
    assert Decimal(fidelity["overall"]["percent"]) == Decimal("50.0")
    assert fidelity["overall"]["meets_threshold"] is False
    modules = {m["module_number"]: m for m in fidelity["modules"]}
    assert Decimal(modules[2]["percent"]) == Decimal("75.0")
    assert modules[2]["meets_threshold"] is True
    assert Decimal(modules[1]["percent"]) == Decimal("0.0")
    assert Decimal(fidelity["threshold"]) == Decimal(version().fidelity_threshold_percent)
    assert fidelity["local"] == {"points": 2, "rated_count": 1, "unrated_count": 0}


def test_it_does_not_duplicate_a_resubmitted_rating(scene: Scene, world: World) -> None:
    client = api("leader", world)
    answers = {str(scene.adoption.pk): 1}
    payload = {"school": scene.ila.pk, "instrument": "fidelity", "answers": answers}

    first = client.post(url(scene, "team-responses/"), payload)
    rows = (count_of(Response), count_of(Answer))
    answers_logged = count_of(LogEntry, content_type__model="answer")
    second = client.post(url(scene, "team-responses/"), payload)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert (count_of(Response), count_of(Answer)) == rows == (1, 1)
    assert count_of(LogEntry, content_type__model="answer") == answers_logged


def test_it_updates_a_rating_in_place(scene: Scene, world: World) -> None:
    client = api("leader", world)
    key = str(scene.adoption.pk)
    client.post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "fidelity", "answers": {key: 1}},
    )

    changed = client.post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "fidelity", "answers": {key: 2}},
    )

    assert changed.status_code == 200
    assert changed.json()["answers"] == {key: 2}
    assert count_of(Response, respondent_kind="team") == 1


def test_it_scores_cfir_per_construct_and_domain(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        url(scene, "team-responses/"),
        {
            "school": scene.ila.pk,
            "instrument": "cfir",
            "answers": {"I.A": 2, "I.B": -1, "I.C": None},
        },
    )

    assert response.status_code == 201, response.content
    domains = {d["domain"]: d for d in response.json()["scores"]["cfir"]["domains"]}
    innovation = domains["I"]
    assert Decimal(innovation["mean"]) == Decimal("0.50")
    assert innovation["direction"] == "facilitator"
    constructs = {c["construct"]: c for c in innovation["constructs"]}
    assert Decimal(constructs["I.A"]["mean"]) == Decimal("2.00")
    assert constructs["I.C"]["mean"] is None
    assert constructs["I.C"]["n_missing"] == 1
    assert domains["II"]["mean"] is None


def test_it_scores_a_construct_rated_through_its_subconstructs(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        url(scene, "team-responses/"),
        {
            "school": scene.ila.pk,
            "instrument": "cfir",
            "answers": {"II.A": -2, "II.G.1": 2, "II.G.2": 0, "II.G.3": None},
        },
    )

    assert response.status_code == 201, response.content
    domains = {d["domain"]: d for d in response.json()["scores"]["cfir"]["domains"]}
    outer = domains["II"]
    constructs = {c["construct"]: c for c in outer["constructs"]}
    assert "II.G.1" not in constructs
    assert constructs["II.B"]["mean"] is None
    assert constructs["II.G"]["mean"] == "1.00"
    assert (constructs["II.G"]["n"], constructs["II.G"]["n_missing"]) == (2, 1)
    # Domain: mean of the construct means (-2 and 1), not of the three ratings.
    assert outer["mean"] == "-0.50"
    assert outer["direction"] == "barrier"


def test_it_refuses_an_out_of_range_rating_and_writes_nothing(scene: Scene, world: World) -> None:
    key = str(scene.adoption.pk)

    response = api("leader", world).post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "fidelity", "answers": {key: 3}},
    )

    assert response.status_code == 400
    assert list(response.json()) == [f"answers.{key}"]
    assert (count_of(Response), count_of(Answer)) == (0, 0)


def test_it_refuses_an_unknown_item(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "cfir", "answers": {"I.A": 1, "X.Y": 1}},
    )

    assert response.status_code == 400
    assert list(response.json()) == ["answers.X.Y"]
    assert count_of(Response) == 0


def test_it_refuses_answers_to_a_closed_round(scene: Scene, world: World) -> None:
    with in_trondheim(world):
        round_close(assessment_round=scene.round)

    response = api("leader", world).post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "fidelity", "answers": {str(scene.adoption.pk): 2}},
    )

    assert response.status_code == 400
    assert list(response.json()) == ["round"]
    assert count_of(Response) == 0


def test_it_refuses_an_individual_instrument_as_a_team_rating(scene: Scene, world: World) -> None:
    response = api("leader", world).post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "aim", "answers": AIM},
    )

    assert response.status_code == 400
    assert list(response.json()) == ["instrument"]


def test_it_lists_team_ratings_with_scores(scene: Scene, world: World) -> None:
    client = api("leader", world)
    client.post(
        url(scene, "team-responses/"),
        {"school": scene.ila.pk, "instrument": "fidelity", "answers": {str(scene.adoption.pk): 2}},
    )

    body = api("staff", world).get(url(scene, "team-responses/?instrument=fidelity")).json()

    [rating] = body["results"]
    assert Decimal(rating["scores"]["fidelity"]["overall"]["percent"]) == Decimal("100.0")


# --- my responses ----------------------------------------------------------------------------


def test_it_scores_my_own_answers(scene: Scene, world: World) -> None:
    client = api("staff", world)

    first = client.post(url(scene, "my-responses/"), {"instrument": "aim", "answers": AIM})
    again = client.post(url(scene, "my-responses/"), {"instrument": "aim", "answers": AIM})
    sus = client.post(
        url(scene, "my-responses/"),
        {"instrument": "sus", "answers": {f"sus{n}": 5 if n % 2 else 1 for n in range(1, 11)}},
    )

    assert (first.status_code, again.status_code, sus.status_code) == (201, 200, 201)
    assert Decimal(first.json()["scores"]["score"]) == Decimal("4.25")
    assert sus.json()["scores"]["score"] == "100.0"
    assert count_of(Response, respondent_kind="staff") == 2
    mine = client.get(url(scene, "my-responses/")).json()
    assert sorted(r["instrument"] for r in mine["results"]) == ["aim", "sus"]
    assert api("leader", world).get(url(scene, "my-responses/")).json()["count"] == 0


def test_it_refuses_an_incomplete_survey(scene: Scene, world: World) -> None:
    response = api("staff", world).post(
        url(scene, "my-responses/"), {"instrument": "aim", "answers": {"aim1": 4}}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["answers.aim2"]
    assert count_of(Response) == 0


def test_it_refuses_an_answer_off_the_scale(scene: Scene, world: World) -> None:
    response = api("staff", world).post(
        url(scene, "my-responses/"), {"instrument": "aim", "answers": {**AIM, "aim3": 6}}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["answers.aim3"]
    assert count_of(Response) == 0


def test_it_says_a_coordinator_does_not_answer_as_staff(scene: Scene, world: World) -> None:
    response = api("coordinator", world).post(
        url(scene, "my-responses/"), {"instrument": "aim", "answers": AIM}, headers=ENGLISH
    )

    assert response.status_code == 403
    assert "themselves" in response.json()["detail"]


# --- counts ----------------------------------------------------------------------------------


def test_it_counts_responses_without_showing_answers(scene: Scene, world: World) -> None:
    api("staff", world).post(url(scene, "my-responses/"), {"instrument": "aim", "answers": AIM})
    with in_trondheim(world):
        [issued] = survey_links_create(assessment_round=scene.round, school=scene.ila, count=1)
        link_response_submit(
            token=issued.token,
            answers={
                "aim": {"aim1": 1, "aim2": 2, "aim3": 1, "aim4": 2},
                "iam": {f"iam{n}": 3 for n in range(1, 5)},
                "fim": {f"fim{n}": 3 for n in range(1, 5)},
                "sus": {f"sus{n}": 3 for n in range(1, 11)},
            },
        )

    body = api("leader", world).get(url(scene, "response-counts/")).json()

    aim = next(row for row in body if row["instrument"] == "aim")
    assert aim == {
        "school": scene.ila.pk,
        "instrument": "aim",
        "team": 0,
        "staff": 1,
        "link": 1,
        "total": 2,
    }
    assert {row["instrument"] for row in body} == {"aim", "iam", "fim", "sus"}
    assert "answers" not in str(body)


def test_it_lists_team_ratings_without_a_query_per_row(scene: Scene, world: World) -> None:
    client = api("leader", world)
    ratings = url(scene, "team-responses/")
    fidelity = {"school": scene.ila.pk, "instrument": "fidelity"}
    cfir = {"school": scene.ila.pk, "instrument": "cfir"}
    client.post(ratings, {**fidelity, "answers": {str(scene.adoption.pk): 2}})
    client.post(ratings, {**cfir, "answers": {"I.A": 1}})
    few = queries_for(client, ratings)
    with in_trondheim(world):
        more = [adopt(scene.ila, key) for key in ("1.1", "2.2", "3.1")]
    client.post(ratings, {**fidelity, "answers": {str(a.pk): 1 for a in
                                                  [scene.adoption, *more]}})
    client.post(ratings, {**cfir, "answers": {"I.A": 1, "I.B": -1, "II.G.1": 2, "III.B": 0}})

    many = queries_for(client, ratings)

    assert many == few
