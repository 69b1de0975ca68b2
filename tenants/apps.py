from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Municipalities")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Domain, Municipality

        auditlog.register(Municipality)
        auditlog.register(Domain)

        from django.db.models.signals import post_delete, post_save

        from .routing import forget_routes

        for model in (Municipality, Domain):
            post_save.connect(forget_routes, sender=model, dispatch_uid=f"routes-{model.__name__}")
            post_delete.connect(
                forget_routes, sender=model, dispatch_uid=f"routes-del-{model.__name__}"
            )
