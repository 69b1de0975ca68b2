"""Project package (the product card's `platform/`): settings, URL roots and the Celery app.

Named `sovei_platform` because a package called `platform` would shadow the standard
library module that Celery, pytest and many others import.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
