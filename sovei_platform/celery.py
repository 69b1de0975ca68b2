"""The Celery app. Tasks run in a municipality's schema through tenant-schemas-celery."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sovei_platform.settings.dev")

app = CeleryApp("sovei")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
