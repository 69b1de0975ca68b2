"""The production settings for the load test on one machine without a TLS proxy.

``sovei_platform.settings.prod`` with DEBUG off, the production secrets checks, the
strict CSP and the middleware stack, minus what needs HTTPS in front (the redirect to
https, HSTS and cookies marked Secure, which a client over plain HTTP never sends back)."""

from sovei_platform.settings.prod import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
