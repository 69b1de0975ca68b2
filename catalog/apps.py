from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("SoVei catalog")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import (
            Component,
            ExampleTask,
            Instrument,
            InstrumentDomain,
            InstrumentItem,
            ModelVersion,
            Module,
            Resource,
        )

        auditlog.register(ModelVersion)
        auditlog.register(Module)
        auditlog.register(Component)
        auditlog.register(ExampleTask)
        auditlog.register(Resource, m2m_fields={"components", "example_tasks"})
        auditlog.register(Instrument)
        auditlog.register(InstrumentDomain)
        auditlog.register(InstrumentItem)
