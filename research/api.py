"""The researchers' read-only API on the public site (/api/v1/research/): the datasets, their
codebooks, and one's own export log. The same filters as the researcher pages (the
pages' filter form, but a wrong value answers 400 instead of falling back to "all"), the
same rows as the exports (the export's selectors, so the same released cells and
nothing else), and every call that returns rows is logged like an export
(research.services.research_rows_read / export_create). Researchers only, by session or by
a research token (apitokens)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sovei_platform.privacy import min_group_size, min_staff_group

from . import selectors, services
from .exports import CODEBOOK_HEADER, DATASETS, FORMATS, ExportTooLarge, codebook_rows
from .forms import FilterForm
from .selectors import Filters

DEFAULT_PAGE_SIZE = 1000


class IsResearcher(BasePermission):
    """Signed-in (or token-carrying) active researchers, on the public site."""

    message = gettext_lazy("The research API is for researchers only.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and getattr(user, "is_researcher", False)
            and getattr(request._request, "tenant", None) is None
        )


class ResearchView(APIView):
    permission_classes = [IsResearcher]


def _filters(request: Request) -> Filters:
    """The page's filter form, strict: an unknown round, version, county or size band is a
    400 naming the field."""
    form = FilterForm(request.query_params, choices=selectors.store_choices())
    if not form.is_valid():
        raise ValidationError(
            {field: [str(m) for m in messages] for field, messages in form.errors.items()}
        )
    return form.filters()


def _positive(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError({name: [_("A whole number from 1.")]})
    return int(raw)


def _dataset(code: str) -> Any:
    dataset = DATASETS.get(code)
    if dataset is None:
        raise Http404(_("No such dataset."))
    return dataset


# --- Schema shapes --------------------------------------------------------------------------


class DatasetSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    title = serializers.CharField()
    pooling = serializers.CharField()
    variables = serializers.ListField(child=serializers.CharField())


class DatasetListSerializer(serializers.Serializer):  # type: ignore[type-arg]
    publication = serializers.IntegerField(allow_null=True)
    through_semester = serializers.CharField()
    k = serializers.IntegerField()
    k_staff = serializers.IntegerField()
    datasets = DatasetSerializer(many=True)


class CodebookEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    variable = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    type = serializers.CharField()
    unit = serializers.CharField()
    values = serializers.CharField()
    formula = serializers.CharField()
    empty_means = serializers.CharField()


class CodebookSerializer(serializers.Serializer):  # type: ignore[type-arg]
    dataset = serializers.CharField()
    title = serializers.CharField()
    pooling = serializers.CharField()
    variables = CodebookEntrySerializer(many=True)


class RowsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    dataset = serializers.CharField()
    publication = serializers.IntegerField(allow_null=True)
    through_semester = serializers.CharField()
    k = serializers.IntegerField()
    k_staff = serializers.IntegerField()
    filters = serializers.DictField(child=serializers.CharField())
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = serializers.ListField(child=serializers.DictField())


class ExportLogSerializer(serializers.Serializer):  # type: ignore[type-arg]
    created_at = serializers.DateTimeField()
    dataset = serializers.CharField()
    file_format = serializers.CharField()
    filters = serializers.DictField(child=serializers.CharField())
    row_count = serializers.IntegerField()
    publication = serializers.IntegerField(source="refresh_id", allow_null=True)


FILTER_PARAMETERS = [
    OpenApiParameter("semester", str, description="Round semester, e.g. 2026H (all if empty)."),
    OpenApiParameter(
        "model_version", str, description="Model version, e.g. 1.0 (the newest if empty)."
    ),
    OpenApiParameter("county", str, description="County code, e.g. 50 (all if empty)."),
    OpenApiParameter(
        "size_band", str, description="Municipality size band, e.g. 1000-4999 (all if empty)."
    ),
]


# --- Views ----------------------------------------------------------------------------------


@extend_schema(tags=["research"], summary="The datasets and the publication they come from",
               responses={200: DatasetListSerializer})
class DatasetListView(ResearchView):
    def get(self, request: Request) -> Response:
        with selectors.consistent_read():
            summary = selectors.store_summary(Filters())
        refresh = summary.refresh
        return Response({
            "publication": refresh.pk if refresh else None,
            "through_semester": refresh.through_semester if refresh else "",
            "k": refresh.min_group_size if refresh else min_group_size(),
            "k_staff": refresh.min_staff_group if refresh else min_staff_group(),
            "datasets": [
                {"code": code, "title": str(d.title), "pooling": str(d.pooling),
                 "variables": d.fields}
                for code, d in DATASETS.items()
            ],
        })


CODE = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, enum=list(DATASETS),
    description="fidelity, stages, outcomes, determinants or time_use",
)


@extend_schema(tags=["research"], summary="One dataset's codebook",
               parameters=[CODE], responses={200: CodebookSerializer})
class CodebookView(ResearchView):
    def get(self, request: Request, code: str) -> Response:
        dataset = _dataset(code)
        return Response({
            "dataset": dataset.code,
            "title": str(dataset.title),
            "pooling": str(dataset.pooling),
            "variables": [dict(zip(CODEBOOK_HEADER, row, strict=True))
                          for row in codebook_rows(dataset)],
        })


@extend_schema(
    tags=["research"],
    summary="One dataset's rows (logged like an export)",
    parameters=[
        CODE,
        *FILTER_PARAMETERS,
        OpenApiParameter("page", int, description="Page, from 1."),
        OpenApiParameter("page_size", int, description=f"Rows per page, 1–"
                         f"{services.API_MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."),
    ],
    responses={200: RowsSerializer},
)
class RowsView(ResearchView):
    def get(self, request: Request, code: str) -> Response:
        _dataset(code)
        filters = _filters(request)
        page = _positive(request, "page", 1)
        page_size = _positive(request, "page_size", DEFAULT_PAGE_SIZE)
        result = services.research_rows_read(
            user=request.user,  # type: ignore[arg-type]
            dataset=code, filters=filters, page=page, page_size=page_size,
        )

        def link(number: int) -> str | None:
            if not 1 <= number <= result.pages:
                return None
            query = request.query_params.copy()
            query["page"] = str(number)
            return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

        metadata = result.metadata
        return Response({
            "dataset": code,
            "publication": metadata["publication"],
            "through_semester": metadata["through_semester"],
            "k": metadata["min_group_size"],
            "k_staff": metadata["min_staff_group"],
            "filters": metadata["filters"],
            "count": result.count,
            "page": result.page,
            "pages": result.pages,
            "next": link(result.page + 1),
            "previous": link(result.page - 1),
            "results": result.rows,
        })


@extend_schema(
    tags=["research"],
    summary="One dataset as a file with its codebook (logged like an export)",
    parameters=[
        CODE,
        *FILTER_PARAMETERS,
        OpenApiParameter("file_format", str, enum=list(FORMATS), required=True,
                         description="csv (zip), xlsx or parquet (zip)"),
    ],
    responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
)
class FileView(ResearchView):
    def get(self, request: Request, code: str) -> HttpResponse:
        _dataset(code)
        file_format = request.query_params.get("file_format", "")
        if file_format not in FORMATS:
            raise ValidationError({"file_format": [_("Choose csv, xlsx or parquet.")]})
        filters = _filters(request)
        try:
            export = services.export_create(
                user=request.user,  # type: ignore[arg-type]
                dataset=code, file_format=file_format, filters=filters,
            )
        except ExportTooLarge as exc:
            raise ValidationError({"file_format": [str(exc)]}) from exc
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(
    tags=["research"],
    summary="Your own exports and API calls, newest first",
    responses={200: ExportLogSerializer(many=True)},
)
class ExportLogView(ResearchView):
    def get(self, request: Request) -> Response:
        from rest_framework.pagination import PageNumberPagination

        paginator = PageNumberPagination()
        entries = paginator.paginate_queryset(
            selectors.export_log_of(request.user), request, view=self
        )
        return paginator.get_paginated_response(
            ExportLogSerializer(entries, many=True).data
        )
