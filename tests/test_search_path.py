"""One `SET search_path` per request (TENANT_LIMIT_SET_CALLS) without ever reading the
wrong municipality: a reused connection, a schema switch inside a request's code and a
rolled-back savepoint each leave the connection on the schema Django thinks it is on; and
the host routing that spares the lookup of the municipality (tenants.routing).

Personas: trondheim_leader (Ila skole), volda_leader (Bratteberg skule)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.selectors import schools_by_municipality
from implementation.models import School
from tenants.models import Domain, Municipality
from tenants.routing import municipality_for_host

from .conftest import client_for, host_of
from .query_counts_support import remembered_hosts, statements_of

__all__ = ["remembered_hosts"]  # the fixture, used by name


def database_search_path() -> str:
    """The search path the database session has now (after the one Django would send)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return str(cursor.fetchone()[0])


def expected_search_path() -> str:
    schema = connection.schema_name
    return "public" if schema == "public" else f"{schema}, public"


def names(response: object) -> set[str]:
    return {row["name"] for row in response.json()["results"]}  # type: ignore[attr-defined]


def test_it_is_on_in_the_settings() -> None:
    assert settings.TENANT_LIMIT_SET_CALLS is True


def test_it_sends_one_search_path_per_request(
    trondheim_leader: User, trondheim: Municipality, remembered_hosts: None
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))
    client.get("/api/v1/schools/")  # the host is remembered from now on

    sent = statements_of(client, "/api/v1/schools/")

    assert sent.status == 200
    assert sent.search_paths == ['SET search_path = "trondheim","public"'], sent.listing()


def test_it_gives_a_reused_connection_each_requests_municipality(
    trondheim_leader: User, volda_leader: User, trondheim: Municipality,
    volda: Municipality, remembered_hosts: None,
) -> None:
    in_trondheim = client_for(trondheim_leader, host_of(trondheim))
    in_volda = client_for(volda_leader, host_of(volda))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        session = cursor.fetchone()[0]

    seen = []
    for client in (in_trondheim, in_volda, in_trondheim, in_volda):
        response = client.get("/api/v1/schools/")
        assert response.status_code == 200
        seen.append(names(response))
        assert database_search_path() == expected_search_path()
        connection.set_schema_to_public()

    assert seen == [{"Ila skole"}, {"Bratteberg skule"}, {"Ila skole"}, {"Bratteberg skule"}]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == session  # one database session all along


def test_it_follows_a_schema_switch_inside_a_municipalitys_code(
    trondheim: Municipality, volda: Municipality
) -> None:
    with tenant_context(trondheim):
        assert School.objects.filter(name="Ila skole").exists()
        # Visits every municipality's schema (tenant_context per municipality) and back.
        visited = {m.slug for m, _schools in schools_by_municipality()}

        assert {"trondheim", "volda"} <= visited
        assert database_search_path() == "trondheim, public"
        assert set(School.objects.values_list("name", flat=True)) == {"Ila skole", "Lade skole"}


def test_it_sends_the_search_path_again_after_a_rolled_back_savepoint(
    trondheim: Municipality, volda: Municipality
) -> None:
    connection.set_tenant(volda)
    assert School.objects.count() == 1  # sends SET search_path to volda
    try:
        with transaction.atomic():  # a savepoint: the test runs in a transaction
            connection.set_tenant(trondheim)
            assert School.objects.count() == 2  # SET to trondheim, inside the savepoint
            raise RuntimeError("roll the savepoint back")
    except RuntimeError:
        pass

    # The database went back to volda's path with the savepoint; Django still means
    # trondheim, and must say so again rather than read volda's schools.
    assert set(School.objects.values_list("name", flat=True)) == {"Ila skole", "Lade skole"}
    assert database_search_path() == "trondheim, public"


def test_it_remembers_a_host_until_a_domain_changes(
    trondheim: Municipality, remembered_hosts: None
) -> None:
    host = host_of(trondheim)
    municipality_for_host(host)
    with CaptureQueriesContext(connection) as remembered:
        assert municipality_for_host(host) == trondheim
    Domain.objects.filter(tenant=trondheim, domain=host).get().save()  # e.g. in the admin
    with CaptureQueriesContext(connection) as looked_up:
        assert municipality_for_host(host) == trondheim

    assert len(remembered) == 0
    assert [q["sql"] for q in looked_up if "tenants_domain" in q["sql"]]


def test_it_reads_the_municipalitys_other_fields_fresh(
    trondheim: Municipality, remembered_hosts: None
) -> None:
    host = host_of(trondheim)
    assert municipality_for_host(host).shares_research_data is True  # type: ignore[union-attr]
    # Changed without a save signal, as another process's change looks from here.
    Municipality.objects.filter(pk=trondheim.pk).update(shares_research_data=False)

    again = municipality_for_host(host)

    assert again is not None
    assert again.shares_research_data is False
    assert again.name == "Trondheim"


def test_it_does_not_remember_an_unknown_host(
    volda: Municipality, remembered_hosts: None
) -> None:
    assert municipality_for_host("nynorskby.localhost") is None
    # Added without a save signal, as another process's new domain looks from here.
    Domain.objects.bulk_create([Domain(domain="nynorskby.localhost", tenant=volda)])

    assert municipality_for_host("nynorskby.localhost") == volda


def test_it_gives_every_request_a_municipality_of_its_own(
    trondheim: Municipality, remembered_hosts: None
) -> None:
    first = municipality_for_host(host_of(trondheim))
    assert first is not None
    first.name = "changed by one request"

    second = municipality_for_host(host_of(trondheim))

    assert second is not None
    assert second is not first
    assert second.name == "Trondheim"
