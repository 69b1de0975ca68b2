"""URL root of a municipality's host (<slug>.BASE_DOMAIN)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from apitokens.urls import tenant_urlpatterns as api_token_urls
from implementation import views as implementation_views

handler403 = "sovei_platform.views.permission_denied"
handler404 = "sovei_platform.views.page_not_found"

urlpatterns = [
    path("", implementation_views.home, name="home"),
    path("", include("implementation.urls")),
    # One sign-in for the public site and the municipalities (accounts.models.SignInHandoff)
    path("accounts/videre/", account_views.sign_in_handoff_accept, name="sign_in_handoff_accept"),
    path("accounts/", include("accounts.urls")),
    # The coordinator invites people (accounts.views.invitations)
    path("invitasjoner/", include("accounts.invitation_urls")),
    # Django's set_language, remembering the choice on a signed-in user
    path("i18n/setlang/", account_views.language_switch, name="set_language"),
    path("ressursbank/", include("catalog.urls")),
    path("", include("research.tenant_urls")),
    path("api-nokler/", include((api_token_urls, "apitokens"))),
    path("dashboards/", include("dashboards.urls")),
    path("api/v1/dashboards/", include("dashboards.api_urls")),
    path("api/v1/", include("implementation.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: CSP forbids inline scripts.
    path(
        "api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"
    ),
]
