"""Assessment rounds: list, opening (several schools at once), closing, survey links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import AssessmentRound, School, SurveyLink
from implementation.services import round_close, team_response_submit
from implementation.services._common import today
from tenants.models import Municipality

from .conftest import World, client_for, host_of
from .recording import instrument, open_round

SCHOOL_PEOPLE = ["trondheim_leader", "trondheim_staff", "trondheim_coordinator"]


def round_data(school_ids: list[int], **change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Vår 2027",
        "opens_on": today().isoformat(),
        "closes_on": (today() + timedelta(days=30)).isoformat(),
        "instruments": [instrument(c).pk for c in ("fidelity", "aim", "sus")],
        "schools": school_ids,
    }
    data.update(change)
    return data


@pytest.fixture
def lade(world: World, db: None) -> School:
    with tenant_context(world.trondheim):
        return School.objects.get(pk=world.lade_id)


@pytest.mark.parametrize("persona", SCHOOL_PEOPLE)
def test_it_lists_the_rounds_of_the_users_schools(
    persona: str, world: World, ila: School, request: pytest.FixtureRequest
) -> None:
    open_round([ila])
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(world.trondheim)).get("/runder/")

    assert response.status_code == 200
    assert "Høst 2026" in response.text


def test_it_hides_a_round_of_another_school(
    lade_leader: User, world: World, ila: School
) -> None:
    assessment_round = open_round([ila])
    client = client_for(lade_leader, host_of(world.trondheim))

    assert "Høst 2026" not in client.get("/runder/").text
    assert client.get(f"/runder/{assessment_round.pk}/").status_code == 404


def test_it_forbids_another_municipality(volda_leader: User, world: World) -> None:
    response = client_for(volda_leader, host_of(world.trondheim)).get("/runder/")

    assert response.status_code == 403


def test_it_lets_the_coordinator_open_a_round_for_several_schools(
    trondheim_coordinator: User, world: World, trondheim: Municipality
) -> None:
    client = client_for(trondheim_coordinator, host_of(trondheim))

    page = client.get("/runder/ny/")
    response = client.post("/runder/ny/", round_data([world.ila_id, world.lade_id]))

    assert page.status_code == 200
    assert response.status_code == 302
    with tenant_context(trondheim):
        created = AssessmentRound.objects.get(name="Vår 2027")
        assert sorted(created.schools.values_list("id", flat=True)) == sorted(
            [world.ila_id, world.lade_id])
        assert sorted(i.code for i in created.instruments.all()) == ["aim", "fidelity", "sus"]
    assert response["Location"] == f"/runder/{created.pk}/"


def test_it_offers_a_leader_only_their_own_school(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))

    page = client.get("/runder/ny/")
    response = client.post("/runder/ny/", round_data([world.ila_id, world.lade_id]))

    assert [s.pk for s in page.context["form"].fields["schools"].queryset] == [world.ila_id]
    assert response.status_code == 400
    assert "schools" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not AssessmentRound.objects.exists()


def test_it_refuses_a_round_that_closes_before_it_opens(
    trondheim_leader: User, world: World, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).post(
        "/runder/ny/",
        round_data([world.ila_id], closes_on=(today() - timedelta(days=1)).isoformat()),
    )

    assert response.status_code == 400
    assert "closes_on" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not AssessmentRound.objects.exists()


def test_it_refuses_a_duplicate_round_name(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    open_round([ila], name="Vår 2027")

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        "/runder/ny/", round_data([world.ila_id]))

    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    with tenant_context(trondheim):
        assert AssessmentRound.objects.count() == 1


def test_it_forbids_staff_to_open_a_round(
    trondheim_staff: User, world: World, trondheim: Municipality
) -> None:
    client = client_for(trondheim_staff, host_of(trondheim))

    assert client.get("/runder/ny/").status_code == 403
    assert client.post("/runder/ny/", round_data([world.ila_id])).status_code == 403
    with tenant_context(trondheim):
        assert not AssessmentRound.objects.exists()


def test_it_shows_a_schools_tasks_in_a_round(
    trondheim_staff: User, world: World, ila: School
) -> None:
    assessment_round = open_round([ila])

    response = client_for(trondheim_staff, host_of(world.trondheim)).get(
        f"/runder/{assessment_round.pk}/")

    assert response.status_code == 200
    assert f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/troskap/" in response.text
    assert f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/sporreskjema/" in response.text
    assert f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/" not in response.text


def test_it_closes_a_round_early(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        f"/runder/{assessment_round.pk}/lukk/")

    assert response.status_code == 302
    with tenant_context(trondheim):
        assessment_round.refresh_from_db()
        assert assessment_round.closed_at is not None


def test_it_forbids_a_leader_to_close_a_round_of_other_schools_too(
    trondheim_leader: User, world: World, ila: School, lade: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila, lade])

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        f"/runder/{assessment_round.pk}/lukk/")

    assert response.status_code == 403
    with tenant_context(trondheim):
        assessment_round.refresh_from_db()
        assert assessment_round.closed_at is None


def test_it_forbids_staff_to_close_a_round(
    trondheim_staff: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])

    response = client_for(trondheim_staff, host_of(trondheim)).post(
        f"/runder/{assessment_round.pk}/lukk/")

    assert response.status_code == 403


def test_it_shows_new_survey_links_once(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])
    client = client_for(trondheim_leader, host_of(trondheim))
    links_url = f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/"

    posted = client.post(links_url, {"count": "3"})
    response = client.get(links_url)
    later = client.get(links_url)

    assert posted.status_code == 303 and posted["Location"] == links_url
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    urls = response.context["urls"]
    assert len(urls) == 3
    assert all(u.startswith("http://trondheim.localhost/s/") for u in urls)
    assert all(u in response.text for u in urls)
    assert later.status_code == 200
    assert not any(u in later.text for u in urls)
    with tenant_context(trondheim):
        assert SurveyLink.objects.filter(round=assessment_round, school=ila).count() == 3


def test_it_makes_no_links_on_a_get_or_a_reload(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    """Issue 10, item 3: reloading the page that showed new links made another batch."""
    assessment_round = open_round([ila])
    client = client_for(trondheim_leader, host_of(trondheim))
    links_url = f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/"

    first = client.get(links_url)
    second = client.get(links_url, {"count": "3"})

    assert first.status_code == second.status_code == 200
    with tenant_context(trondheim):
        assert not SurveyLink.objects.exists()
    client.post(links_url, {"count": "3", "batch": first.context["form"]["batch"].value()})
    client.get(links_url)  # the page with the links
    client.get(links_url)  # reloaded
    with tenant_context(trondheim):
        assert SurveyLink.objects.count() == 3


def test_it_makes_one_batch_per_click_also_when_the_form_is_sent_twice(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])
    client = client_for(trondheim_leader, host_of(trondheim))
    links_url = f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/"
    batch = client.get(links_url).context["form"]["batch"].value()

    first = client.post(links_url, {"count": "3", "batch": batch})
    again = client.post(links_url, {"count": "3", "batch": batch})  # a double click
    shown = client.get(links_url)
    another = client.get(links_url).context["form"]["batch"].value()
    other = client.post(links_url, {"count": "2", "batch": another})  # a new, deliberate one

    assert first.status_code == again.status_code == other.status_code == 303
    assert len(shown.context["urls"]) == 3
    assert another != batch
    with tenant_context(trondheim):
        assert SurveyLink.objects.filter(round=assessment_round, school=ila).count() == 5


def test_it_refuses_too_many_links_at_once(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])

    response = client_for(trondheim_leader, host_of(trondheim)).post(
        f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/", {"count": "500"})

    assert response.status_code == 400
    assert "count" in response.context["form"].errors
    with tenant_context(trondheim):
        assert not SurveyLink.objects.exists()


def test_it_refuses_links_for_a_closed_round(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])
    client = client_for(trondheim_leader, host_of(trondheim))
    client.post(f"/runder/{assessment_round.pk}/lukk/")

    response = client.post(
        f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/", {"count": "2"})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    with tenant_context(trondheim):
        assert not SurveyLink.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("trondheim_staff", 403), ("lade_leader", 404)])
def test_it_lets_only_the_schools_managers_make_links(
    persona: str, status: int, world: World, ila: School, trondheim: Municipality,
    request: pytest.FixtureRequest,
) -> None:
    assessment_round = open_round([ila])
    user: User = request.getfixturevalue(persona)

    response = client_for(user, host_of(trondheim)).post(
        f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/", {"count": "2"})

    assert response.status_code == status
    with tenant_context(trondheim):
        assert not SurveyLink.objects.exists()


def test_it_counts_answers_per_school(
    trondheim_leader: User, world: World, ila: School
) -> None:
    assessment_round = open_round([ila], codes=("aim",))

    response = client_for(trondheim_leader, host_of(world.trondheim)).get(
        f"/skoler/{world.ila_id}/runder/")

    assert response.status_code == 200
    tasks = response.context["rounds"][0]["tasks"]
    assert tasks["individual"][0][1] == 0
    assert tasks["links"] == {"issued": 0, "used": 0}
    assert assessment_round.name in response.text


def test_it_says_a_closed_rounds_saved_ratings_can_no_longer_be_changed(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    """Issue 10, item 4: closed rounds said "lagret – du kan fortsatt gjøre endringer"
    while their forms were read-only."""
    with tenant_context(trondheim):
        closed = open_round([ila], codes=("fidelity", "cfir"), name="Vår 2026")
        team_response_submit(assessment_round=closed, school=ila,
                             instrument=instrument("cfir"), answers={"I.A": 1})
        round_close(assessment_round=closed)
        still_open = open_round([ila], codes=("cfir",), name="Høst 2026")
        team_response_submit(assessment_round=still_open, school=ila,
                             instrument=instrument("cfir"), answers={"I.A": 2})
    client = client_for(trondheim_leader, host_of(trondheim))

    closed_page = client.get(f"/runder/{closed.pk}/").content.decode()
    open_page = client.get(f"/runder/{still_open.pk}/").content.decode()

    assert "du kan fortsatt gjøre endringer" not in closed_page
    assert "lagret – runden er lukket og kan ikke lenger endres" in closed_page
    assert "ikke fylt ut – runden er lukket" in closed_page  # the fidelity self-assessment
    assert "lagret – du kan fortsatt gjøre endringer" in open_page


def test_it_explains_a_form_sent_again_after_its_links_were_shown(
    trondheim_leader: User, world: World, ila: School, trondheim: Municipality
) -> None:
    assessment_round = open_round([ila])
    client = client_for(trondheim_leader, host_of(trondheim))
    client.cookies["django_language"] = "en"
    links_url = f"/skoler/{world.ila_id}/runder/{assessment_round.pk}/lenker/"
    form = client.get(links_url)
    batch = form.context["form"]["batch"].value()
    client.post(links_url, {"count": "3", "batch": batch})
    client.get(links_url)  # the links, shown once

    again = client.post(links_url, {"count": "3", "batch": batch}, follow=True)

    assert "no-store" in form["Cache-Control"]
    assert "These links were made already" in again.text
    assert "urls" not in again.context
    with tenant_context(trondheim):
        assert SurveyLink.objects.count() == 3
