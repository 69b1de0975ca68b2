"""Signal receivers of accounts (connected in AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from .models import User
from .services import user_language_set


def remember_sign_in_language(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """A user who has never chosen a language but chose one on the sign-in page keeps it."""
    if user.preferred_language or request is None:
        return
    language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if language:
        try:
            user_language_set(user=user, language=language)
        except ValidationError:
            return
