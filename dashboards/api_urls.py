"""/api/v1/dashboards/ on a municipality's host: every dashboard figure as JSON.

    schools/<id>/status/                 freshness of the school's aggregates
    schools/<id>/<chart>/                fidelity, component-status, stages, outcomes,
                                         determinants (?round=), time-plan,
                                         time-systematic, time-monthly
    municipality/status/                 recomputation status (coordinators)
    municipality/<chart>/                fidelity-heatmap (?round=), fidelity-spread
                                         (?module=), stage-progress, response-rates,
                                         time-use
"""

from django.urls import path

from .api import MUNICIPALITY_VIEWS, SCHOOL_VIEWS, MunicipalityStatusView, SchoolStatusView

app_name = "dashboards-api"

urlpatterns = [
    path("schools/<int:school_id>/status/", SchoolStatusView.as_view(), name="school-status"),
    *[
        path(f"schools/<int:school_id>/{key}/", view.as_view(), name=f"school-{key}")
        for key, view in SCHOOL_VIEWS.items()
    ],
    path("municipality/status/", MunicipalityStatusView.as_view(), name="municipality-status"),
    *[
        path(f"municipality/{key}/", view.as_view(), name=f"municipality-{key}")
        for key, view in MUNICIPALITY_VIEWS.items()
    ],
]
