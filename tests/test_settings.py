"""Production settings refuse to start with the development secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def _start(secret: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env["DJANGO_SETTINGS_MODULE"] = "sovei_platform.settings.prod"
    env["RESEARCH_PSEUDONYM_KEY"] = "k" * 48
    if secret is not None:
        env["SECRET_KEY"] = secret
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", SETUP],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("secret", [None, "dev-insecure-sovei-secret-key-change-me", "short"])
def test_it_refuses_to_start_without_a_real_secret(secret: str | None) -> None:
    result = _start(secret)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_starts_with_a_real_secret_and_debug_off() -> None:
    result = _start("x" * 50)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_protects_sessions_cookies_and_passwords() -> None:
    """docs/security.md: what production settings promise, read from them."""
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_CONTENT_TYPE_NOSNIFF, getattr(s, 'AXES_ENABLED', True), "
        "s.PASSWORD_HASHERS[0].rsplit('.', 1)[-1], len(s.AUTH_PASSWORD_VALIDATORS)]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env |= {"DJANGO_SETTINGS_MODULE": "sovei_platform.settings.prod", "SECRET_KEY": "s" * 50,
            "RESEARCH_PSEUDONYM_KEY": "k" * 48}
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        '[true, true, true, 31536000, true, true, true, "PBKDF2PasswordHasher", 4]')
