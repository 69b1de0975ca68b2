"""Every dashboard figure as JSON under /api/v1/dashboards/, so others can reuse it.

Each endpoint answers with the plotly figure (``data`` + ``layout``, or null with an
explained ``empty`` message), the aggregate ``rows`` it was built from, and the freshness of
those rows (``computed_at``, ``updating``). Reads go through ``dashboards.selectors``: a
school outside the user's scope is 404, the comparison of schools is 403 for anyone but a
coordinator. The response schemas are derived from the row dataclasses of
``dashboards.figures``, so the OpenAPI document names every field of every row."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import TenantAccess
from implementation.api.permissions import HasTenantAccess, access_of

from . import figures, selectors
from .figures import Chart

TAG = "dashboards"

# --- Response schemas -----------------------------------------------------------------------

_SCALARS: dict[Any, type[serializers.Field]] = {
    int: serializers.IntegerField,
    str: serializers.CharField,
    bool: serializers.BooleanField,
    Decimal: serializers.FloatField,  # rendered as a JSON number (DRF's encoder)
    float: serializers.FloatField,
    date: serializers.DateField,
    datetime: serializers.DateTimeField,
}


def _field_for(hint: Any) -> serializers.Field:
    nullable = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if typing.get_origin(hint) in (tuple, list):
        child = typing.get_args(hint)[0]
        return serializers.ListField(child=row_serializer(child)(), allow_null=nullable)
    if dataclasses.is_dataclass(hint):
        return row_serializer(hint)(allow_null=nullable)  # type: ignore[arg-type]
    return _SCALARS[hint](allow_null=nullable)


@cache
def row_serializer(row_type: type) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    """A read-only serializer describing one row dataclass (for the OpenAPI schema)."""
    hints = typing.get_type_hints(row_type)
    fields = {f.name: _field_for(hints[f.name]) for f in dataclasses.fields(row_type)}
    doc = (row_type.__doc__ or "").strip()
    meta = type("Meta", (), {"ref_name": row_type.__name__})
    attrs: dict[str, Any] = {**fields, "Meta": meta, "__doc__": doc}
    return type(f"{row_type.__name__}Serializer", (serializers.Serializer,), attrs)


@cache
def chart_serializer(name: str, row_type: type) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    attrs: dict[str, Any] = {
        "__doc__": "A dashboard figure, the aggregate rows it shows and their freshness.",
        "key": serializers.CharField(help_text="The chart's key."),
        "title": serializers.CharField(help_text="Accessible title (active language)."),
        "description": serializers.CharField(help_text="What the chart shows."),
        "figure": serializers.DictField(
            allow_null=True,
            help_text="The plotly figure (data and layout) for Plotly.newPlot; null when "
                      "there is nothing to show (see empty).",
        ),
        "empty": serializers.CharField(
            allow_null=True, help_text="Why nothing is shown and what to do, or null."),
        "notes": serializers.ListField(child=serializers.CharField(),
                                       help_text="Remarks on missing values."),
        "rows": serializers.ListField(child=row_serializer(row_type)(),
                                      help_text="The aggregate rows the figure rests on."),
        "related": serializers.DictField(
            child=serializers.ListField(child=serializers.DictField()),
            help_text="Further rows the figure uses (rounds, strategy steps, schools …)."),
        "computed_at": serializers.DateTimeField(
            allow_null=True, help_text="When the aggregates were last rebuilt."),
        "updating": serializers.BooleanField(
            help_text="True while newer records wait for the recomputation."),
        "Meta": type("Meta", (), {"ref_name": name}),
    }
    return type(f"{name}Serializer", (serializers.Serializer,), attrs)


class SchoolStatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    school_id = serializers.IntegerField()
    computed_at = serializers.DateTimeField(allow_null=True)
    updating = serializers.BooleanField()


class RunSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    municipalities = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    progress_percent = serializers.IntegerField()


class MunicipalityStatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    computed_at = serializers.DateTimeField(allow_null=True)
    updating = serializers.BooleanField()
    pending_school_ids = serializers.ListField(child=serializers.IntegerField())
    schools = serializers.ListField(child=serializers.DictField())
    runs = RunSerializer(many=True)


# --- Payloads -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def chart_payload(chart: Chart, freshness: selectors.Freshness) -> dict[str, Any]:
    return {
        "key": chart.key,
        "title": chart.title,
        "description": chart.description,
        "figure": chart.figure,
        "empty": chart.empty,
        "notes": chart.notes,
        "rows": [_plain(r) for r in chart.rows],
        "related": {k: [_plain(r) for r in v] for k, v in chart.related.items()},
        "computed_at": freshness.computed_at,
        "updating": freshness.updating,
    }


# --- Views ----------------------------------------------------------------------------------

ROUND_PARAM = OpenApiParameter(
    "round", OpenApiTypes.INT, description="Assessment round id (default: the latest with data)."
)
MODULE_PARAM = OpenApiParameter(
    "module", OpenApiTypes.INT, description="Module number (default: all modules together)."
)
NOT_FOUND = OpenApiResponse(description="The school does not exist or is outside your scope.")
FORBIDDEN = OpenApiResponse(description="No access to the municipality (or not a coordinator).")


class _DashboardView(APIView):
    permission_classes = [IsAuthenticated, HasTenantAccess]
    pagination_class = None


class _SchoolChartView(_DashboardView):
    chart_key: ClassVar[str] = ""

    def get(self, request: Request, school_id: int) -> Response:
        access: TenantAccess = access_of(request)
        school = selectors.dashboard_school(access, school_id)
        freshness = selectors.school_freshness(access, school.pk)
        chart = selectors.school_chart(access, school, self.chart_key,
                                       {"round": request.query_params.get("round")},
                                       freshness=freshness)
        return Response(chart_payload(chart, freshness))


class _MunicipalityChartView(_DashboardView):
    chart_key: ClassVar[str] = ""

    def get(self, request: Request) -> Response:
        access: TenantAccess = access_of(request)
        selectors.require_coordinator(access)
        freshness = selectors.municipality_freshness(access)
        chart = selectors.municipality_chart(access, self.chart_key, {
            "round": request.query_params.get("round"),
            "module": request.query_params.get("module"),
        }, freshness=freshness)
        return Response(chart_payload(chart, freshness))


@dataclasses.dataclass(frozen=True)
class Endpoint:
    key: str
    row_type: type
    summary: str
    params: tuple[OpenApiParameter, ...] = ()


SCHOOL_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("fidelity", figures.FidelityRow,
             "Fidelity per module over the assessment rounds (lines with the threshold)"),
    Endpoint("component-status", figures.ComponentStatusRow,
             "Status of the adopted components month by month (heatmap)"),
    Endpoint("stages", figures.StageRow,
             "Implementation stages per module (Gantt) with strategy steps as markers"),
    Endpoint("outcomes", figures.OutcomeRow,
             "AIM, IAM, FIM and SUS means over the rounds, with n"),
    Endpoint("determinants", figures.CfirRow,
             "CFIR 2.0 construct means as diverging bars, grouped by domain",
             (ROUND_PARAM,)),
    Endpoint("time-plan", figures.TimePlanRow,
             "Share of logged time per module against the plan's intended share"),
    Endpoint("time-systematic", figures.TimePlanRow,
             "Acute and outreach versus planned and system-level work, logged and intended"),
    Endpoint("time-monthly", figures.TimeUseRow,
             "Logged hours per month, stacked by kind of work"),
)

MUNICIPALITY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("fidelity-heatmap", figures.FidelityRow,
             "Fidelity of every school in every module for one round (heatmap)",
             (ROUND_PARAM,)),
    Endpoint("fidelity-spread", figures.SpreadRow,
             "Spread of fidelity across the schools over the rounds (min, median, max, sd)",
             (MODULE_PARAM,)),
    Endpoint("stage-progress", figures.StageProgressRow,
             "Furthest implementation stage per school and module, with steps done"),
    Endpoint("response-rates", figures.ResponseRateSummaryRow,
             "Survey links answered and team instruments submitted, per round"),
    Endpoint("time-use", figures.TimePlanRow,
             "Planned and system-level work versus acute and outreach work per school, "
             "logged and intended"),
)


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("-"))


def _school_view(endpoint: Endpoint) -> type[APIView]:
    name = f"School{_camel(endpoint.key)}Chart"

    @extend_schema(
        tags=[TAG], summary=endpoint.summary, parameters=list(endpoint.params),
        responses={200: chart_serializer(name, endpoint.row_type), 403: FORBIDDEN,
                   404: NOT_FOUND},
    )
    def get(self: _SchoolChartView, request: Request, school_id: int) -> Response:
        return _SchoolChartView.get(self, request, school_id)

    return type(f"{name}View", (_SchoolChartView,), {"chart_key": endpoint.key, "get": get})


def _municipality_view(endpoint: Endpoint) -> type[APIView]:
    name = f"Municipality{_camel(endpoint.key)}Chart"

    @extend_schema(
        tags=[TAG], summary=endpoint.summary + " (coordinators)",
        parameters=list(endpoint.params),
        responses={200: chart_serializer(name, endpoint.row_type), 403: FORBIDDEN},
    )
    def get(self: _MunicipalityChartView, request: Request) -> Response:
        return _MunicipalityChartView.get(self, request)

    return type(f"{name}View", (_MunicipalityChartView,),
                {"chart_key": endpoint.key, "get": get})


SCHOOL_VIEWS: dict[str, type[APIView]] = {e.key: _school_view(e) for e in SCHOOL_ENDPOINTS}
MUNICIPALITY_VIEWS: dict[str, type[APIView]] = {
    e.key: _municipality_view(e) for e in MUNICIPALITY_ENDPOINTS
}


class SchoolStatusView(_DashboardView):
    @extend_schema(tags=[TAG], summary="When the school's aggregates were rebuilt; updating?",
                   responses={200: SchoolStatusSerializer, 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request: Request, school_id: int) -> Response:
        access = access_of(request)
        school = selectors.dashboard_school(access, school_id)
        freshness = selectors.school_freshness(access, school.pk)
        return Response({"school_id": school.pk, "computed_at": freshness.computed_at,
                         "updating": freshness.updating})


class MunicipalityStatusView(_DashboardView):
    @extend_schema(
        tags=[TAG],
        summary="Recomputation status: schools waiting, last builds, nightly run progress "
                "(coordinators)",
        responses={200: MunicipalityStatusSerializer, 403: FORBIDDEN},
    )
    def get(self, request: Request) -> Response:
        access = access_of(request)
        selectors.require_coordinator(access)
        freshness = selectors.municipality_freshness(access)
        return Response({
            "computed_at": freshness.computed_at,
            "updating": freshness.updating,
            "pending_school_ids": list(freshness.pending_school_ids),
            "schools": [{
                "school_id": s.school.id, "name": s.school.name, "computed_at": s.computed_at,
                "updating": s.updating, "pending_since": s.pending_since,
            } for s in selectors.school_statuses(access)],
            "runs": [{
                "kind": r.kind, "started_at": r.started_at, "finished_at": r.finished_at,
                "municipalities": r.municipalities, "total": r.total, "done": r.done,
                "failed": r.failed, "progress_percent": r.progress_percent,
            } for r in selectors.recompute_runs(access)],
        })
