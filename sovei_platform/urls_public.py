"""URL root of the public site (the bare BASE_DOMAIN)."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views
from accounts.oidc import FeideCallbackView, FeideSignInView

from . import views

handler403 = "sovei_platform.views.permission_denied"
handler404 = "sovei_platform.views.page_not_found"

admin.site.site_header = _("SoVei – platform administration")
admin.site.site_title = "SoVei"

urlpatterns = [
    path("", views.landing, name="landing"),
    # One sign-in for the public site and the municipalities (accounts.models.SignInHandoff)
    path("accounts/kommune/<slug:slug>/", account_views.sign_in_handoff, name="sign_in_handoff"),
    # Sign-in with Feide (OpenID Connect), here only: the callback is registered with Feide
    path("accounts/feide/", FeideSignInView.as_view(), name="feide_sign_in"),
    path("accounts/feide/callback/", FeideCallbackView.as_view(), name="feide_callback"),
    path("accounts/", include("accounts.urls")),
    # Django's set_language, remembering the choice on a signed-in user
    path("i18n/setlang/", account_views.language_switch, name="set_language"),
    path("ressursbank/", include("catalog.urls")),
    path("forsker/", include("research.urls")),
    # The researchers' read-only API and its schema; tokens for it (apitokens)
    path("api/v1/research/", include("research.api_urls")),
    path("api/", include("research.api_schema_urls")),
    path("api-nokler/", include("apitokens.urls")),
    path("admin/", admin.site.urls),
]
