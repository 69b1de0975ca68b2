"""Included from sovei_platform.urls_public at /api/v1/research/ (research.api)."""

from django.urls import path

from . import api

app_name = "research-api"

urlpatterns = [
    path("datasets/", api.DatasetListView.as_view(), name="datasets"),
    path("datasets/<str:code>/", api.RowsView.as_view(), name="rows"),
    path("datasets/<str:code>/codebook/", api.CodebookView.as_view(), name="codebook"),
    path("datasets/<str:code>/file/", api.FileView.as_view(), name="file"),
    path("exports/", api.ExportLogView.as_view(), name="exports"),
]
