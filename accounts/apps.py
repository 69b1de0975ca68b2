from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Invitation, Membership, SignInHandoff, User

        auditlog.register(User, exclude_fields=["password", "last_login"])
        auditlog.register(Membership)
        auditlog.register(SignInHandoff, exclude_fields=["token_hash"])
        auditlog.register(Invitation)

        from django.contrib.auth.signals import user_logged_in

        from .receivers import remember_sign_in_language

        user_logged_in.connect(remember_sign_in_language, dispatch_uid="remember_sign_in_language")
