from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import path

from .views import SignInView


def _with_passwords(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Password reset only while local passwords are on (PASSWORD_SIGN_IN_ENABLED)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.PASSWORD_SIGN_IN_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        _with_passwords(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        _with_passwords(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        _with_passwords(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        _with_passwords(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]
