"""Erasure of all of one municipality's data on request (tenants.services.municipality_erase,
municipality_erase): nothing of it remains but one audit entry saying it was erased.

Each test runs in a transaction that is rolled back, the schema's DROP included."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import Membership, Role, User
from accounts.services import membership_grant, user_create
from implementation.services import school_create
from research.models import (
    OutcomeCell,
    ResearchMunicipality,
    ResearchSchool,
    SharingChange,
    TimeUseGroup,
    TimeUseGroupRow,
)
from research.pseudonyms import municipality_pseudonym, school_pseudonym
from research.services import research_sharing_set
from tenants.models import Domain, Municipality
from tenants.services import municipality_create, municipality_erase
from worker.models import RecomputeRun, RecomputeRunSchool, RunKind

from .conftest import World


@dataclass(frozen=True)
class Bodo:
    municipality: Municipality
    leader: User
    pseudonym: str

    @property
    def id(self) -> int:
        return int(self.municipality.pk)


@pytest.fixture
def bodo(world: World, db: None, platform_admin: User) -> Bodo:
    """A municipality with records, a leader, an extra domain, a research-sharing change and
    rows in the research store and the worker's bookkeeping."""
    bodo = municipality_create(name="Bodø", kommunenummer="1804", slug="bodo")
    with tenant_context(bodo):
        school = school_create(name="Bodøsjøen skole", pupil_count=410)
    leader = user_create(email="rektor@bodo.example.no", password=None, full_name="Rektor Bodø")
    membership_grant(user=leader, municipality=bodo, role=Role.LEADER, school_ids=[school.pk])
    Domain.objects.create(domain="bodo.kommune.example.no", tenant=bodo, is_primary=False)
    research_sharing_set(municipality=bodo, shares=False, actor=platform_admin)
    research_sharing_set(municipality=bodo, shares=True, actor=platform_admin)
    pseudonym = municipality_pseudonym("1804")
    ResearchMunicipality.objects.create(pseudonym=pseudonym, county="18", size_band="<1000")
    ResearchSchool.objects.create(pseudonym=school_pseudonym("1804", school.pk),
                                  municipality=pseudonym, county="18", size_band="<1000")
    OutcomeCell.objects.create(level="municipality", semester="2026V", semester_index=4052,
                               model_version="1.0", instrument="aim", county="18",
                               municipality=pseudonym, n=6, groups=1, mean=4)
    group = TimeUseGroup.objects.create(kommunenummer="1804", semester="2026V",
                                        school_id=school.pk, school_ids=[school.pk], staff=5)
    TimeUseGroupRow.objects.create(group=group, model_version="1.0", module_number=1,
                                   mode="planlagt", minutes=600)
    run = RecomputeRun.objects.create(kind=RunKind.MANUAL, total=1)
    RecomputeRunSchool.objects.create(run=run, schema_name="bodo", school_id=school.pk, ok=True)
    bodo.refresh_from_db()
    return Bodo(bodo, leader, pseudonym)


def public_rows_naming(bodo: Bodo) -> list[str]:
    """Every row of a public table, but the audit log, that names the municipality: by a
    foreign key to it, or by its number, address, schema, domain or research pseudonym in
    any text column."""
    values = ["1804", "bodo", "bodo.localhost", "bodo.kommune.example.no", bodo.pseudonym]
    found: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT kcu.table_name, kcu.column_name
            FROM information_schema.referential_constraints rc
            JOIN information_schema.key_column_usage kcu
                 ON kcu.constraint_name = rc.constraint_name
                AND kcu.constraint_schema = rc.constraint_schema
            JOIN information_schema.constraint_column_usage ccu
                 ON ccu.constraint_name = rc.unique_constraint_name
                AND ccu.constraint_schema = rc.unique_constraint_schema
            WHERE rc.constraint_schema = 'public' AND ccu.table_name = 'tenants_municipality'
            """
        )
        for table, column in cursor.fetchall():
            cursor.execute(f'SELECT count(*) FROM public."{table}" WHERE "{column}" = %s',
                           [bodo.id])
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('character varying', 'text')
              AND c.table_name <> 'auditlog_logentry'
            """
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM public."{table}" WHERE "{column}" = ANY(%s)', [values]
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return sorted(found)


def test_the_fixture_names_the_municipality_all_over_the_public_schema(bodo: Bodo) -> None:
    assert public_rows_naming(bodo) == [
        "accounts_membership.municipality_id",
        "research_outcomecell.municipality",
        "research_researchmunicipality.pseudonym",
        "research_researchschool.municipality",
        "research_sharingchange.municipality_id",
        "research_timeusegroup.kommunenummer",
        "tenants_domain.domain",
        "tenants_domain.tenant_id",
        "tenants_municipality.kommunenummer",
        "tenants_municipality.schema_name",
        "tenants_municipality.slug",
        "worker_recomputerunschool.schema_name",
    ]


def test_nothing_of_the_municipality_remains(bodo: Bodo, platform_admin: User) -> None:
    municipality_erase(municipality=bodo.municipality, confirm="bodo", actor=platform_admin)

    assert not schema_exists("bodo")
    assert public_rows_naming(bodo) == []
    assert not TimeUseGroupRow.objects.filter(group__kommunenummer="1804").exists()


def test_one_audit_entry_says_it_was_erased_and_by_whom(
    bodo: Bodo, platform_admin: User
) -> None:
    result = municipality_erase(municipality=bodo.municipality, confirm="bodo",
                                actor=platform_admin)

    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Municipality), object_pk=str(bodo.id)
    )
    assert [(e.action, e.actor) for e in entries] == [(LogEntry.Action.DELETE, platform_admin)]
    entry = entries.get()
    assert entry.changes_dict["kommunenummer"] == ["1804", "None"]
    assert entry.additional_data == {
        "operation": "erase",
        "tables": len(result.tables),
        "rows": result.rows,
        "domains": 2,
        "memberships": 1,
        "research_rows": result.research_rows,
        "audit_entries": result.audit_entries,
    }
    assert result.research_rows == 5  # municipality, school, cell, time-use group and its row


def test_earlier_audit_entries_of_its_rows_are_gone(bodo: Bodo) -> None:
    kinds = ContentType.objects.get_for_models(Domain, Membership)
    domain_ids = [str(pk) for pk in Domain.objects.filter(tenant=bodo.municipality)
                  .values_list("pk", flat=True)]
    membership_ids = [str(pk) for pk in Membership.objects.filter(municipality=bodo.municipality)
                      .values_list("pk", flat=True)]
    assert LogEntry.objects.filter(content_type=kinds[Membership],
                                   object_pk__in=membership_ids).exists()

    municipality_erase(municipality=bodo.municipality, confirm="bodo")

    assert not LogEntry.objects.filter(content_type=kinds[Domain],
                                       object_pk__in=domain_ids).exists()
    assert not LogEntry.objects.filter(content_type=kinds[Membership],
                                       object_pk__in=membership_ids).exists()


def test_other_municipalities_keep_everything(bodo: Bodo, world: World) -> None:
    before = {
        m.slug: (Membership.objects.filter(municipality=m).count(),
                 Domain.objects.filter(tenant=m).count())
        for m in (world.trondheim, world.volda)
    }

    municipality_erase(municipality=bodo.municipality, confirm="bodo")

    assert schema_exists("trondheim")
    assert schema_exists("volda")
    assert before == {
        m.slug: (Membership.objects.filter(municipality=m).count(),
                 Domain.objects.filter(tenant=m).count())
        for m in (world.trondheim, world.volda)
    }


def test_accounts_are_kept_and_those_left_without_a_role_are_named(bodo: Bodo) -> None:
    result = municipality_erase(municipality=bodo.municipality, confirm="bodo")

    assert User.objects.filter(pk=bodo.leader.pk).exists()
    assert result.users_without_membership == ["rektor@bodo.example.no"]


def test_it_refuses_without_the_confirmation(bodo: Bodo) -> None:
    with pytest.raises(ValidationError) as exc:
        municipality_erase(municipality=bodo.municipality, confirm="trondheim")

    assert [e.code for e in exc.value.error_dict["confirm"]] == ["confirm"]
    assert schema_exists("bodo")
    assert Municipality.objects.filter(slug="bodo").exists()


def test_the_command_refuses_without_the_confirmation(bodo: Bodo) -> None:
    with pytest.raises(CommandError, match="--confirm bodo"):
        call_command("municipality_erase", "bodo")
    with pytest.raises(CommandError, match="--confirm bodo"):
        call_command("municipality_erase", "bodo", confirm="bod")

    assert schema_exists("bodo")
    assert Municipality.objects.filter(slug="bodo").exists()


def test_the_command_erases(bodo: Bodo, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("municipality_erase", "bodo", confirm="bodo")

    out = capsys.readouterr().out
    assert "Erased Bodø (1804)" in out
    assert "rektor@bodo.example.no" in out
    assert not schema_exists("bodo")
    assert not SharingChange.objects.filter(municipality_id=bodo.id).exists()
