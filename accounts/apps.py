from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Membership, User

        auditlog.register(User, exclude_fields=["password", "last_login"])
        auditlog.register(Membership)
