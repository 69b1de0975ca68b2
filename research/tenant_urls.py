"""Included from sovei_platform.urls_tenant: the coordinator's sharing choice."""

from django.urls import path

from . import tenant_views

app_name = "research_tenant"

urlpatterns = [
    path("deling/", tenant_views.sharing, name="sharing"),
]
