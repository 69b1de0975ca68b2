"""Included from sovei_platform.urls_public at /api/: the research API's OpenAPI schema and
interactive documentation (researchers only, like the API itself)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .api import IsResearcher

urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(
            urlconf="sovei_platform.urls_public", permission_classes=[IsResearcher]
        ),
        name="api-schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[IsResearcher]
        ),
        name="api-docs",
    ),
]
