"""Production: refuses to start with the development secret or with DEBUG on."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DEV_RESEARCH_PSEUDONYM_KEY,
    DEV_SECRET_KEY,
    RESEARCH_PSEUDONYM_KEY,
    SECRET_KEY,
    env,
)

if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters in production."
    )
if (
    not RESEARCH_PSEUDONYM_KEY
    or RESEARCH_PSEUDONYM_KEY == DEV_RESEARCH_PSEUDONYM_KEY
    or len(RESEARCH_PSEUDONYM_KEY) < 32
):
    raise ImproperlyConfigured(
        "RESEARCH_PSEUDONYM_KEY must be set to a random value of at least 32 characters in "
        "production (it keys the research pseudonyms; see docs/research.md)."
    )
DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
