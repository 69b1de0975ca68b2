"""Included from sovei_platform.urls_public at /forsker/."""

from django.urls import path

from . import views

app_name = "research"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("troskap/", views.fidelity, name="fidelity"),
    path("utfall/", views.outcomes, name="outcomes"),
    path("faser/", views.stages, name="stages"),
    path("fremmere-og-hemmere/", views.determinants, name="determinants"),
    path("eksport/", views.export_page, name="export"),
    path("eksport/last-ned/", views.export_download, name="export_download"),
]
