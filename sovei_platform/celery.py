"""The Celery app. Tasks run in a municipality's schema through tenant-schemas-celery."""

from __future__ import annotations

import os
from typing import Any

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sovei_platform.settings.dev")


def django_ready() -> None:
    """Set Django up if this process has not (idempotent; a no-op while it is loading)."""
    from django.apps import apps

    if not apps.ready and not apps.loading:
        import django

        django.setup()


class SoveiCelery(CeleryApp):
    """tenant-schemas-celery's app, able to send from a process without Django set up.

    Its ``send_task`` stamps every message with the current schema, read from Django's
    database connection, and loading django-tenants' backend imports models: that needs the
    app registry. The web, ``manage.py`` and the worker (Celery's Django fix-up, before it
    imports the task modules) have set Django up by then; ``celery -A sovei_platform call
    …`` (docs/research.md) has not, and failed with ``AppRegistryNotReady``. Setting Django
    up here, rather than when this module is imported, keeps the import cheap and safe:
    the settings package itself imports this module (``sovei_platform/__init__.py``)."""

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        django_ready()
        return super().send_task(name, args=args, kwargs=kwargs, **options)


app = SoveiCelery("sovei")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
