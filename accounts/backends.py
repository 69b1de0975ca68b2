"""Turning local passwords off (PASSWORD_SIGN_IN_ENABLED): this backend stands before
Django's ModelBackend and refuses every password while they are off. ModelBackend stays
in AUTHENTICATION_BACKENDS, since it loads the user of a signed-in session and signs in
the sign-in hand-off (accounts.views.sign_in_handoff_accept), which are no passwords.
This backend has no get_user(), so no session ever names it as its user's backend."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class PasswordSwitchBackend:
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if password is not None and not settings.PASSWORD_SIGN_IN_ENABLED:
            # Django's authenticate() stops at PermissionDenied: no later backend is asked.
            raise PermissionDenied
        return None
