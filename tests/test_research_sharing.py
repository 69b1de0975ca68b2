"""/deling/ on a municipality's host: the coordinator stops (and restarts) sharing with
research; the municipality leaves the store and the exports at once, and comes back with
the next publication."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from accounts.models import User
from research.models import ExportLog, ResearchSchool, SharingChange
from research.pseudonyms import municipality_pseudonym
from tenants.models import Municipality

from .conftest import client_for, host_of
from .test_research_world import ResearchWorld, publish, research_world

__all__ = ["research_world"]


def test_it_shows_the_coordinator_whether_the_municipality_shares(
    trondheim_coordinator: User, trondheim: Municipality
) -> None:
    response = client_for(trondheim_coordinator, host_of(trondheim)).get("/deling/")

    assert response.status_code == 200
    assert '<input type="hidden" name="shares" value="0">' in response.content.decode()


def test_it_lets_the_coordinator_stop_and_restart_sharing(
    trondheim_coordinator: User, trondheim: Municipality
) -> None:
    client = client_for(trondheim_coordinator, host_of(trondheim))

    stopped = client.post("/deling/", {"shares": "0"})
    after_stop = Municipality.objects.get(pk=trondheim.pk).shares_research_data
    restarted = client.post("/deling/", {"shares": "1"}, follow=True)

    assert stopped.status_code == 302 and stopped["Location"] == "/deling/"
    assert after_stop is False
    assert Municipality.objects.get(pk=trondheim.pk).shares_research_data is True
    assert restarted.status_code == 200
    assert "neste publisering" in restarted.content.decode()  # the next publication
    assert [(c.shares, c.changed_by) for c in SharingChange.objects.order_by("id")] == [
        (False, trondheim_coordinator),
        (True, trondheim_coordinator),
    ]


@pytest.mark.parametrize("who", ["trondheim_leader", "trondheim_staff"])
def test_it_lets_only_the_coordinator_change_sharing(
    trondheim: Municipality, who: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(who)
    client = client_for(user, host_of(trondheim))

    assert client.get("/deling/").status_code == 403
    assert client.post("/deling/", {"shares": "0"}).status_code == 403
    assert Municipality.objects.get(pk=trondheim.pk).shares_research_data


def test_it_keeps_a_coordinator_to_their_own_municipality(
    trondheim_coordinator: User, volda: Municipality
) -> None:
    response = client_for(trondheim_coordinator, host_of(volda)).post("/deling/", {"shares": "0"})

    assert response.status_code == 403
    assert Municipality.objects.get(pk=volda.pk).shares_research_data


def test_it_removes_the_rows_from_pages_and_exports_at_once(
    research_world: ResearchWorld, trondheim_coordinator: User, researcher: User
) -> None:
    w = research_world
    trondheim = municipality_pseudonym(w.trondheim.kommunenummer)
    researcher_client = client_for(researcher, "testserver")

    def exported_municipalities() -> set[str]:
        response = researcher_client.post(
            "/forsker/eksport/last-ned/", {"dataset": "fidelity", "file_format": "csv"}
        )
        data = zipfile.ZipFile(io.BytesIO(response.content)).read("data.csv").decode()
        return {row["municipality"] for row in csv.DictReader(io.StringIO(data))}

    assert trondheim in exported_municipalities()
    client_for(trondheim_coordinator, host_of(w.trondheim)).post("/deling/", {"shares": "0"})
    assert exported_municipalities() == {municipality_pseudonym(w.volda.kommunenummer)}

    publish()

    assert exported_municipalities() == {municipality_pseudonym(w.volda.kommunenummer)}
    assert not ResearchSchool.objects.filter(municipality=trondheim).exists()
    page = researcher_client.get("/forsker/troskap/").content.decode()
    assert w.school(w.zyxqvik) not in page and w.school(w.bratteberg) in page
    assert ExportLog.objects.count() == 3
