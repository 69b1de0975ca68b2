from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiTokensConfig(AppConfig):
    name = "apitokens"
    verbose_name = _("API tokens")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import schema  # noqa: F401 - registers the OpenAPI security scheme
        from .models import ApiToken

        # The hash is a credential's fingerprint and last_used_at is bookkeeping (updated
        # at most once a minute, without an audit entry): neither belongs in the trail.
        auditlog.register(ApiToken, exclude_fields=["key_hash", "last_used_at"])
