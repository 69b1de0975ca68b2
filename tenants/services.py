"""Provisioning of municipalities (tenants): row, domain and schema in one transaction."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_tenants.clone import CLONE_SCHEMA_FUNCTION, CloneSchema
from django_tenants.utils import schema_exists
from psycopg import sql

from accounts.models import Membership, User
from research.models import SharingChange, TimeUseGroup
from research.refresh import withdraw_municipality
from sovei_platform.audit import audited_write
from worker.models import RecomputeRunSchool

from .db import use_public_schema
from .models import Domain, Municipality
from .schema_replay import ReplayUnavailable, replay_template
from .selectors import table_row_counts
from .validators import COUNTIES, county_for

logger = logging.getLogger(__name__)


def tenant_domain(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def template_schema_ensure(*, verbosity: int = 0) -> bool:
    """Create and migrate the template schema that new municipalities are cloned from.

    Returns True if it had to be created."""
    template = settings.TENANT_BASE_SCHEMA
    if not settings.TENANT_CREATION_FAKES_MIGRATIONS or schema_exists(template):
        return False
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=verbosity,
        )
    use_public_schema()
    return True


def municipality_create(
    *,
    name: str,
    kommunenummer: str,
    slug: str,
    county: str | None = None,
    actor: User | None = None,
    verbosity: int = 0,
) -> Municipality:
    """Create a municipality with its schema and primary domain, or nothing at all.

    Raises ValidationError (field → messages) on bad input; any failure while building
    the schema rolls back the row, the domain and the schema together (PostgreSQL DDL
    is transactional)."""
    county = county or county_for(kommunenummer or "")
    municipality = Municipality(
        name=(name or "").strip(),
        kommunenummer=(kommunenummer or "").strip(),
        slug=(slug or "").strip(),
        county=county,
        schema_name=schema_name_for(slug or ""),
    )
    errors: dict[str, list[ValidationError]] = {}
    try:
        municipality.full_clean()
    except ValidationError as exc:
        errors = dict(exc.error_dict)
    number = municipality.kommunenummer
    if "kommunenummer" not in errors and county in COUNTIES and county != county_for(number):
        errors.setdefault("county", []).append(
            ValidationError(
                _("The municipality number %(number)s belongs to %(county)s."),
                code="county_mismatch",
                params={"number": number, "county": COUNTIES[county_for(number)]},
            )
        )
    domain = tenant_domain(municipality.slug)
    if "slug" not in errors and Domain.objects.filter(domain=domain).exists():
        errors.setdefault("slug", []).append(
            ValidationError(
                _("The address %(domain)s is taken."),
                code="domain_taken",
                params={"domain": domain},
            )
        )
    errors.pop("schema_name", None)  # derived from the slug, whose errors say more
    if errors:
        raise ValidationError(errors)

    template_schema_ensure(verbosity=verbosity)
    with audited_write(actor):
        municipality.save()
        _schema_create(municipality, verbosity=verbosity)
        Domain.objects.create(domain=domain, tenant=municipality, is_primary=True)
    use_public_schema()
    logger.info("Provisioned municipality %s (%s)", municipality.slug, municipality.kommunenummer)
    return municipality


def _schema_create(municipality: Municipality, *, verbosity: int) -> None:
    template = settings.TENANT_BASE_SCHEMA
    if settings.TENANT_CREATION_FAKES_MIGRATIONS and schema_exists(template):
        if not _replayed(template, municipality.schema_name):
            _clone_schema(template, municipality.schema_name)
            _clone_align_with_template(template, municipality.schema_name)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{municipality.schema_name}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=municipality.schema_name,
            interactive=False,
            verbosity=verbosity,
        )
    use_public_schema()


def _replayed(template: str, schema: str) -> bool:
    """Create the schema by replaying the template's dump (tenants.schema_replay) unless
    settings.TENANT_PROVISIONING says "clone"; False when the clone must do it instead."""
    if settings.TENANT_PROVISIONING != "replay":
        return False
    if schema_exists(schema, case_sensitive=False):
        raise ValidationError("New schema name already exists")
    try:
        with transaction.atomic():  # a failed replay leaves nothing for the clone to trip on
            replay_template(template, schema)
    except ReplayUnavailable as exc:
        logger.warning("Provisioning %s by clone: %s", schema, exc)
        return False
    return True


# Identifies the clone_schema() SQL function this django-tenants ships (kept in its comment).
_CLONE_FUNCTION_TAG = "django-tenants " + hashlib.sha256(CLONE_SCHEMA_FUNCTION.encode()).hexdigest()


def _clone_schema(template: str, schema: str) -> None:
    """CloneSchema().clone_schema(template, schema, "DATA"), installing its SQL function once.

    django-tenants re-installs its 4,600-line clone_schema() function (DROP TYPE … CASCADE,
    CREATE FUNCTION) before every clone. Each re-install makes every later clone in the
    same connection slower (0.28 s → 0.85 s over 45 clones; docs/benchmarks.md), and the
    DROP locks shared objects in public until the provisioning transaction ends. We
    install it only when the installed one is not the one this django-tenants ships."""
    use_public_schema()
    if schema_exists(schema, case_sensitive=False):  # as CloneSchema.clone_schema checks
        raise ValidationError("New schema name already exists")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
        )
        if [row[0] for row in cursor.fetchall()] != [_CLONE_FUNCTION_TAG]:
            CloneSchema()._create_clone_schema_function()
            cursor.execute(
                "COMMENT ON FUNCTION public.clone_schema(text, text, public.cloneparms[]) "
                f"IS '{_CLONE_FUNCTION_TAG}'"
            )
        cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template, schema])


def _clone_align_with_template(template: str, schema: str) -> None:
    """Undo the two ways django-tenants' clone_schema() differs from a migrated schema.

    * It rebuilds tables with CREATE TABLE (LIKE … INCLUDING ALL), which gives UNIQUE
      constraints PostgreSQL's default names (implementation_school_name_key instead of
      school_unique_name), so a later RemoveConstraint/AlterField that names the
      constraint fails on every cloned schema. We rename them back, matching each one by
      table and definition.
    * It creates identity sequences as bigint (max 2147483647 for integer columns), so a
      later integer → bigint AlterField leaves the sequence capped at 2^31-1. We give each
      sequence its template's data type.

    Runs inside the provisioning transaction; see docs/benchmarks.md for the evidence.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tbl.relname, clone.conname, tpl.conname
            FROM pg_namespace tns
            JOIN pg_constraint tpl ON tpl.connamespace = tns.oid AND tpl.contype = 'u'
            JOIN pg_class tbl ON tbl.oid = tpl.conrelid
            JOIN pg_namespace cns ON cns.nspname = %s
            JOIN pg_constraint clone ON clone.connamespace = cns.oid AND clone.contype = 'u'
                 AND clone.conname <> tpl.conname
            JOIN pg_class ctbl ON ctbl.oid = clone.conrelid AND ctbl.relname = tbl.relname
            WHERE tns.nspname = %s
              AND pg_get_constraintdef(clone.oid) = pg_get_constraintdef(tpl.oid)
            """,
            [schema, template],
        )
        for table, current, wanted in cursor.fetchall():
            cursor.execute(
                f'ALTER TABLE "{schema}"."{table}" RENAME CONSTRAINT "{current}" TO "{wanted}"'
            )
        cursor.execute(
            """
            SELECT seq.relname, format_type(tpl.seqtypid, NULL)
            FROM pg_namespace tns
            JOIN pg_class tseq ON tseq.relnamespace = tns.oid AND tseq.relkind = 'S'
            JOIN pg_sequence tpl ON tpl.seqrelid = tseq.oid
            JOIN pg_namespace cns ON cns.nspname = %s
            JOIN pg_class seq ON seq.relnamespace = cns.oid AND seq.relname = tseq.relname
            JOIN pg_sequence clone ON clone.seqrelid = seq.oid AND clone.seqtypid <> tpl.seqtypid
            WHERE tns.nspname = %s
            """,
            [schema, template],
        )
        for sequence, data_type in cursor.fetchall():
            cursor.execute(f'ALTER SEQUENCE "{schema}"."{sequence}" AS {data_type}')


def municipality_access_log(
    *, municipality: Municipality, actor: User | None, **data: object
) -> None:
    """Audit a read of a whole municipality's data (a backup, an export): an ACCESS entry
    on the municipality in the public schema, with what was read in ``data``."""
    use_public_schema()
    with audited_write(actor):
        LogEntry.objects.log_create(
            municipality,
            force_log=True,
            action=LogEntry.Action.ACCESS,
            changes={},
            actor=actor,
            additional_data=data,
        )


# --- Erasure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureResult:
    slug: str
    kommunenummer: str
    tables: dict[str, int]  # the schema's tables and their rows, as they were dropped
    domains: int
    memberships: int
    research_rows: int  # rows of the research store withdrawn (facts, cells, time-use groups)
    audit_entries: int  # earlier audit entries of its row, domains and memberships
    users_without_membership: list[str]  # accounts of its members that now have no role

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def municipality_erase(
    *, municipality: Municipality, confirm: str, actor: User | None = None
) -> ErasureResult:
    """Erase all of a municipality's data, on its request, in one transaction: its schema
    (every record of its schools), its domains and memberships, its research-sharing
    history, its rows in the research store and in the worker's bookkeeping, and the
    earlier audit entries of those public rows (they hold its members' roles).

    ``confirm`` must be the municipality's address (slug). What remains is one audit entry
    in the public schema saying that it was erased, by whom, and how much (no personal
    data). User accounts are people's own and are not deleted; the result names those left
    without any role, for the operator to review."""
    if confirm != municipality.slug:
        raise ValidationError(
            {
                "confirm": [
                    ValidationError(
                        _("Type the municipality's address (%(slug)s) to confirm the erasure."),
                        code="confirm",
                        params={"slug": municipality.slug},
                    )
                ]
            }
        )
    use_public_schema()
    schema = str(municipality.schema_name)
    number = str(municipality.kommunenummer)
    with audited_write(actor), disable_auditlog():
        row = Municipality.objects.select_for_update().get(pk=municipality.pk)
        tables = table_row_counts(schema) if schema_exists(schema) else {}
        with connection.cursor() as cursor:
            # Foreign-key checks still pending in this transaction (rows written earlier in
            # it) would stop the DROP: run them now, then defer the rest again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                .as_string()
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        research_rows = withdraw_municipality(number)
        research_rows += TimeUseGroup.objects.filter(kommunenummer=number).delete()[0]
        RecomputeRunSchool.objects.filter(schema_name=schema).delete()
        SharingChange.objects.filter(municipality=row).delete()
        domains = Domain.objects.filter(tenant=row)
        domain_ids = [str(pk) for pk in domains.values_list("pk", flat=True)]
        memberships = Membership.objects.filter(municipality=row)
        membership_ids = [str(pk) for pk in memberships.values_list("pk", flat=True)]
        member_ids = set(memberships.values_list("user_id", flat=True))
        memberships.delete()
        domains.delete()
        kinds = ContentType.objects.get_for_models(Municipality, Domain, Membership)
        audit_entries = LogEntry.objects.filter(
            Q(content_type=kinds[Municipality], object_pk=str(row.pk))
            | Q(content_type=kinds[Domain], object_pk__in=domain_ids)
            | Q(content_type=kinds[Membership], object_pk__in=membership_ids)
        ).delete()[0]
        LogEntry.objects.log_create(
            row,
            action=LogEntry.Action.DELETE,
            changes=model_instance_diff(row, None),
            actor=actor,
            additional_data={
                "operation": "erase",
                "tables": len(tables),
                "rows": sum(tables.values()),
                "domains": len(domain_ids),
                "memberships": len(membership_ids),
                "research_rows": research_rows,
                "audit_entries": audit_entries,
            },
        )
        row.delete()
    left = User.objects.filter(
        pk__in=member_ids, memberships__isnull=True, is_staff=False, is_researcher=False
    ).order_by("email")
    logger.info("Erased municipality %s (%s): %s rows", municipality.slug, number,
                sum(tables.values()))
    return ErasureResult(
        slug=str(municipality.slug),
        kommunenummer=number,
        tables=tables,
        domains=len(domain_ids),
        memberships=len(membership_ids),
        research_rows=research_rows,
        audit_entries=audit_entries,
        users_without_membership=list(left.values_list("email", flat=True)),
    )
