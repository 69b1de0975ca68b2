from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from .validators import COUNTIES, COUNTY_CHOICES, validate_kommunenummer, validate_slug


class Municipality(TenantMixin):
    """A kommune: the school owner, data controller and tenant (its own schema)."""

    name = models.CharField(_("name"), max_length=100)
    kommunenummer = models.CharField(
        _("municipality number"), max_length=4, unique=True, validators=[validate_kommunenummer]
    )
    slug = models.SlugField(_("address"), max_length=50, unique=True, validators=[validate_slug])
    county = models.CharField(_("county"), max_length=2, choices=COUNTY_CHOICES)
    # The municipality's coordinator can stop (and restart) sharing anonymized data with
    # the research store (research.services.research_sharing_set); the next refresh of the
    # store leaves a municipality that does not share out entirely.
    shares_research_data = models.BooleanField(_("shares data with research"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    # Schemas are created explicitly by tenants.services.municipality_create, inside the
    # same transaction as the row, so a failure leaves neither behind.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def county_name(self) -> str:
        return COUNTIES.get(self.county, self.county)


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
