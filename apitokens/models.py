"""Tokens for programs (issue 12, item 4): a person's or a service's key to the API.

A token lives in the public schema, like the users it belongs to, and reaches exactly one
place: one municipality's API (``municipality``, a foreign key to the tenant) with read or
write access, or — with no municipality — the read-only research API of the public site
(researchers only). It never does more than its owner may: every request is also checked
against the owner's membership, as a session would be (accounts.middleware).

Only a SHA-256 of the key is stored (the key is 256 random bits, so a fast hash is
enough); the key itself is shown once, when it is made."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TokenKind(models.TextChoices):
    PERSONAL = "personal", _("personal (my own scripts)")
    SERVICE = "service", _("service (a program that runs on its own)")


class TokenAccess(models.TextChoices):
    READ = "read", _("read")
    WRITE = "write", _("read and write")


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=TokenKind.choices, default=TokenKind.PERSONAL
    )
    # None: the research API on the public site (researchers only, read-only).
    municipality = models.ForeignKey(
        "tenants.Municipality",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_tokens",
        verbose_name=_("municipality"),
    )
    access = models.CharField(
        _("access"), max_length=5, choices=TokenAccess.choices, default=TokenAccess.READ
    )
    prefix = models.CharField(_("beginning of the token"), max_length=16)
    key_hash = models.CharField(_("token (hashed)"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(municipality__isnull=False) | models.Q(access="read"),
                name="apitoken_research_tokens_read_only",
            ),
        ]
        indexes = [models.Index(fields=["municipality", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_research(self) -> bool:
        return self.municipality_id is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        """Neither revoked nor expired (the owner's membership is checked per request)."""
        return self.revoked_at is None and not self.is_expired

    @property
    def can_write(self) -> bool:
        return self.access == TokenAccess.WRITE
