"""Test settings: the real PostgreSQL and Redis, fast password hashing, e-mail in memory."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TENANT_MULTIPROCESSING_MAX_PROCESSES = 2
PUBLIC_HOSTS = ["testserver", "127.0.0.1"]
BASE_DOMAIN = "localhost"
WHITENOISE_AUTOREFRESH = True
# Static files straight from the apps' folders (no collectstatic): the browser journeys'
# gunicorn serves them through WhiteNoise.
WHITENOISE_USE_FINDERS = True
# Test sessions publish recompute messages; keep them off the normal queue.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="sovei-test")
# Tests roll back municipalities they made without a delete signal; a remembered host
# would outlive its row. tests/test_search_path.py and tests/test_query_counts.py turn it on.
TENANT_HOST_CACHE_SECONDS = 0
