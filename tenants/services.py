"""Provisioning of municipalities (tenants): row, domain and schema in one transaction."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

from sovei_platform.audit import audited_write

from .models import Domain, Municipality
from .validators import COUNTIES, county_for

if TYPE_CHECKING:
    from accounts.models import User

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
            "migrate_schemas", tenant=True, schema_name=template, interactive=False,
            verbosity=verbosity,
        )
    connection.set_schema_to_public()
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
            ValidationError(_("The address %(domain)s is taken."), code="domain_taken",
                            params={"domain": domain})
        )
    errors.pop("schema_name", None)  # derived from the slug, whose errors say more
    if errors:
        raise ValidationError(errors)

    template_schema_ensure(verbosity=verbosity)
    with audited_write(actor):
        municipality.save()
        _schema_create(municipality, verbosity=verbosity)
        Domain.objects.create(domain=domain, tenant=municipality, is_primary=True)
    connection.set_schema_to_public()
    logger.info("Provisioned municipality %s (%s)", municipality.slug, municipality.kommunenummer)
    return municipality


def _schema_create(municipality: Municipality, *, verbosity: int) -> None:
    template = settings.TENANT_BASE_SCHEMA
    if settings.TENANT_CREATION_FAKES_MIGRATIONS and schema_exists(template):
        CloneSchema().clone_schema(template, municipality.schema_name, "DATA")
    else:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{municipality.schema_name}"')
        call_command(
            "migrate_schemas", tenant=True, schema_name=municipality.schema_name,
            interactive=False, verbosity=verbosity,
        )
    connection.set_schema_to_public()
