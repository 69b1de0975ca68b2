"""/api/v1/ on a municipality's host. Nested resources (a school's positions, a round's
links and responses) are routes with the parent's id in the prefix."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_format_suffixes = False  # JSON only: no /schools.json twins
router.register("schools", views.SchoolViewSet, basename="school")
router.register(
    r"schools/(?P<school_pk>[0-9]+)/positions", views.StaffPositionViewSet, basename="position"
)
router.register("adoptions", views.AdoptionViewSet, basename="adoption")
router.register("adaptations", views.AdaptationViewSet, basename="adaptation")
router.register("plans", views.PlanViewSet, basename="plan")
router.register("steps", views.StepViewSet, basename="step")
router.register("stage-periods", views.StagePeriodViewSet, basename="stage-period")
router.register("rounds", views.RoundViewSet, basename="round")
router.register(
    r"rounds/(?P<round_pk>[0-9]+)/links", views.SurveyLinkViewSet, basename="round-link"
)
router.register(
    r"rounds/(?P<round_pk>[0-9]+)/team-responses",
    views.TeamResponseViewSet,
    basename="round-team-response",
)
router.register(
    r"rounds/(?P<round_pk>[0-9]+)/my-responses",
    views.MyResponseViewSet,
    basename="round-my-response",
)
router.register(
    r"rounds/(?P<round_pk>[0-9]+)/response-counts",
    views.ResponseCountViewSet,
    basename="round-response-count",
)
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("audit", views.AuditViewSet, basename="audit")
router.register("modules", views.ModuleViewSet, basename="module")
router.register("instruments", views.InstrumentViewSet, basename="instrument")

urlpatterns = [
    path("survey/<str:token>/", views.SurveyView.as_view(), name="survey"),
    *router.urls,
]
