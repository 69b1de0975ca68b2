from django.apps import AppConfig


class ImplementationConfig(AppConfig):
    name = "implementation"
    verbose_name = "Implementation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import School, StaffPosition

        auditlog.register(School)
        auditlog.register(StaffPosition)
