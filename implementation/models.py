"""Tenant-schema records: what one municipality's schools record."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .validators import validate_organisation_number


class School(models.Model):
    name = models.CharField(_("name"), max_length=150)
    organisation_number = models.CharField(
        _("organisation number (NSR)"),
        max_length=9,
        blank=True,
        validators=[validate_organisation_number],
    )
    grade_from = models.PositiveSmallIntegerField(
        _("lowest grade"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    grade_to = models.PositiveSmallIntegerField(
        _("highest grade"), default=7, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    pupil_count = models.PositiveIntegerField(_("pupils"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="school_unique_name"),
            models.UniqueConstraint(
                fields=["organisation_number"],
                condition=~models.Q(organisation_number=""),
                name="school_unique_organisation_number",
            ),
            models.CheckConstraint(
                condition=models.Q(grade_from__lte=models.F("grade_to")),
                name="school_grade_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def grade_levels(self) -> str:
        return f"{self.grade_from}–{self.grade_to}"


class Profession(models.TextChoices):
    SOCIAL_WORKER = "sosionom", _("social worker (sosionom)")
    CHILD_WELFARE = "barnevernspedagog", _("child welfare officer (barnevernspedagog)")
    SOCIAL_EDUCATOR = "vernepleier", _("social educator (vernepleier)")
    MILIEU_THERAPIST = "miljoterapeut", _("milieu therapist (miljøterapeut)")
    OTHER = "annen", _("other")


class StaffPosition(models.Model):
    """A social-work position at a school: one of the framework conditions (rammefaktorer)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="positions")
    profession = models.CharField(_("profession"), max_length=30, choices=Profession.choices)
    position_percent = models.DecimalField(
        _("position %"),
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("100"))],
    )
    title = models.CharField(_("title"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("social-work position")
        verbose_name_plural = _("social-work positions")
        ordering = ["school", "profession", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(position_percent__gt=0, position_percent__lte=100),
                name="position_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_profession_display()} {self.position_percent} %"
