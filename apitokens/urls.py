"""Included at /api-nokler/ from both URL roots (a municipality's host and the public site)."""

from django.urls import path

from . import views

app_name = "apitokens"

urlpatterns = [
    path("", views.tokens, name="tokens"),
    path("<int:token_id>/trekk-tilbake/", views.revoke, name="revoke"),
]

# Only on a municipality's host: its coordinator's view of the tokens that reach it.
tenant_urlpatterns = [
    *urlpatterns,
    path("kommune/", views.municipality_tokens, name="municipality"),
    path("kommune/<int:token_id>/trekk-tilbake/", views.municipality_revoke,
         name="municipality_revoke"),
]
