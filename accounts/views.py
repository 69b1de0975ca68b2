"""Account pages of our own; sign-in, sign-out and password reset are Django's."""

from __future__ import annotations

from contextlib import suppress

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .services import user_language_set


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie for this browser and host), and for a signed-in
    user the choice kept on the account, so it follows them to the next sign-in."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        # A language we do not speak: Django's view has ignored it too.
        with suppress(ValidationError):
            user_language_set(user=request.user, language=language)  # type: ignore[arg-type]
    return response
