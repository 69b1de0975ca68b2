from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Lives in the public schema; municipalities are reached
    through memberships. `is_staff` means platform administrator (catalog, municipalities,
    accounts); `is_researcher` opens the anonymized research area and nothing else."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform administrator"), default=False)
    is_researcher = models.BooleanField(_("researcher"), default=False)
    # The language the user chose last (accounts.services.user_language_set), applied on
    # every host at sign-in (accounts.middleware.UserLanguageMiddleware); blank until the
    # user chooses, so the browser's language applies.
    preferred_language = models.CharField(
        _("language"),
        max_length=2,
        choices=[
            ("nb", _("Norwegian Bokmål")),
            ("nn", _("Norwegian Nynorsk")),
            ("en", _("English")),
        ],
        default="",
        blank=True,
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The Feide user id (the ID token's OIDC_FEIDE_USER_ID_CLAIM) this account signs in
    # with (accounts.oidc); set at the first Feide sign-in. Null: never signed in by Feide.
    # Null, not "", for "none": many accounts have none, and the id is unique.
    feide_user_id = models.CharField(
        _("Feide user id"), max_length=255, unique=True, null=True, blank=True
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Role(models.TextChoices):
    STAFF = "staff", _("social-work staff")
    LEADER = "leader", _("school leader")
    COORDINATOR = "coordinator", _("municipal coordinator")


SCHOOL_SCOPED_ROLES = frozenset({Role.STAFF, Role.LEADER})


class Membership(models.Model):
    """Ties a user to a municipality with a role.

    Schools live in the municipality's own schema, so staff and leaders hold the ids of
    their schools here rather than a cross-schema foreign key; accounts.services keeps
    them valid."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    municipality = models.ForeignKey(
        "tenants.Municipality",
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("municipality"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    school_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("schools")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "municipality", "role"], name="membership_unique_role"
            ),
            models.CheckConstraint(
                condition=~models.Q(role__in=["staff", "leader"]) | ~models.Q(school_ids=[]),
                name="membership_school_roles_have_schools",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} ({self.municipality})"


class SignInHandoff(models.Model):
    """A one-time link from the public site to a municipality's host that signs the user in
    there (accounts.services.sign_in_handoff_create / _redeem). Sessions belong to one host
    (browsers refuse cookies for a bare "localhost" parent domain); this carries the sign-in
    over instead. Only the token's hash is kept; it works once, for a minute, for a member
    of that municipality."""

    token_hash = models.CharField(_("link code (hashed)"), max_length=64, unique=True)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    municipality = models.ForeignKey(
        "tenants.Municipality",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("municipality"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in hand-off")
        verbose_name_plural = _("sign-in hand-offs")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.municipality_id}"


class Invitation(models.Model):
    """A coordinator's invitation of a person, by e-mail address (or Feide username), to a
    role (and schools) in the municipality (accounts.services.invitation_create). The
    person's first Feide sign-in with that address claims it: the membership is granted
    then (accounts.services.feide_sign_in). It works once, and only until it expires."""

    municipality = models.ForeignKey(
        "tenants.Municipality",
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("municipality"),
    )
    email = models.EmailField(_("e-mail address"))
    eppn = models.CharField(
        _("Feide username"),
        max_length=255,
        blank=True,
        help_text=_("eduPersonPrincipalName, e.g. ola.nordmann@kommune.no; optional."),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    school_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("schools")
    )
    invited_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    claimed_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=["staff", "leader"]) | ~models.Q(school_ids=[]),
                name="invitation_school_roles_have_schools",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} – {self.get_role_display()} ({self.municipality_id})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self) -> bool:
        return self.claimed_at is None and self.withdrawn_at is None and not self.is_expired
