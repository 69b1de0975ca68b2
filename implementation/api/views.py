"""REST API views. Thin by design (DESIGN.md §7): fetch through a selector (404 outside
the user's scope), check the capability (403 with a reason when the user may see but not
change), call the service, serialize. Service ValidationErrors become 400 responses naming
the field (sovei_platform.api.exception_handler)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.db.models import Model, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import TenantAccess
from catalog.models import Instrument, Module
from catalog.selectors import model_version_current
from implementation.models import (
    Activity,
    Adaptation,
    AssessmentRound,
    ComponentAdoption,
    ImplementationPlan,
    School,
    StaffPosition,
    StagePeriod,
    StrategyStep,
    SurveyLink,
)
from implementation.models import Response as SurveyResponse
from implementation.selectors import (
    activities_for,
    adaptations_for,
    adoptions_for,
    audit_entries_for,
    can_manage_round,
    catalog_instruments,
    catalog_modules,
    instrument_by_code,
    own_responses_for,
    plans_for,
    response_counts_for,
    round_school_ids,
    rounds_for,
    school_for,
    school_members,
    schools_for,
    staff_positions_for,
    stage_periods_for,
    steps_for,
    survey_instruments,
    survey_link_by_token,
    survey_links_for,
    team_responses_for,
)
from implementation.services import (
    activity_delete,
    activity_log,
    adaptation_create,
    adaptation_delete,
    adaptation_update,
    adoption_change_status,
    adoption_create,
    adoption_delete,
    adoption_update,
    link_response_submit,
    plan_create,
    plan_update,
    round_close,
    round_create,
    round_update,
    school_create,
    school_update,
    staff_position_add,
    staff_position_remove,
    staff_response_upsert,
    stage_period_set,
    stage_period_upsert,
    step_create,
    step_delete,
    step_update,
    survey_links_create,
    team_response_upsert,
)
from implementation.services.responses import LINK_PROBLEMS, survey_link_problem

from . import filters
from . import serializers as s
from .permissions import (
    AUDIT_DENIED,
    COORDINATOR_DENIED,
    MANAGE_DENIED,
    NAME_DENIED,
    RATE_DENIED,
    ROUND_DENIED,
    WORK_DENIED,
    HasTenantAccess,
    access_of,
    require,
)
from .scores import RESPONSE_PREFETCH, RESPONSE_SELECT

DENIED = OpenApiResponse(s.DetailSerializer, description=_("Not allowed (with the reason)."))
NOT_FOUND = OpenApiResponse(s.DetailSerializer, description=_("Not found or outside your scope."))
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT, description=_("Invalid input: {field: [reason, …]}; nothing is written.")
)
WRITE_ERRORS = {400: INVALID, 403: DENIED, 404: NOT_FOUND}


def schema_only(model: type[Model]) -> QuerySet[Any]:
    """An empty queryset that tells the schema generator the view's model. The real rows
    always come from a selector in get_queryset()."""
    return QuerySet(model=model).none()


def _path_id(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH, description=description)


ROUND_PK = _path_id("round_pk", "Assessment round id.")
SCHOOL_PK = _path_id("school_pk", "School id.")


class TenantViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Base of the municipality's endpoints: a membership of the host's municipality is
    required, and every read goes through the user's access."""

    permission_classes = [HasTenantAccess]
    parser_classes = [JSONParser]

    @property
    def access(self) -> TenantAccess:
        return access_of(self.request)

    @property
    def actor(self) -> User:
        return self.access.user

    def validated(
        self, serializer_class: type[BaseSerializer[Any]], *, partial: bool = False
    ) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def render(self, obj: Model, code: int = status.HTTP_200_OK) -> Response:
        """The object as the list shows it (fetched again through the selector)."""
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(fresh).data, status=code)


# --- Catalog (read-only) ---------------------------------------------------------------------


@extend_schema(tags=["catalog"])
@extend_schema_view(
    list=extend_schema(summary="Modules and components of the published model versions")
)
class ModuleViewSet(mixins.ListModelMixin, TenantViewSet):
    queryset = schema_only(Module)
    serializer_class = s.CatalogModuleSerializer
    filterset_fields: list[str] = []

    def get_queryset(self) -> QuerySet[Module]:
        return catalog_modules().prefetch_related("components").order_by("version_id", "number")


@extend_schema(tags=["catalog"])
@extend_schema_view(
    list=extend_schema(summary="Assessment instruments with their items"),
    retrieve=extend_schema(summary="One instrument with its items"),
)
class InstrumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = schema_only(Instrument)
    serializer_class = s.InstrumentSerializer
    filterset_fields = ["code", "respondent"]

    def get_queryset(self) -> QuerySet[Instrument]:
        return catalog_instruments()


# --- Schools ---------------------------------------------------------------------------------


@extend_schema(tags=["schools"])
@extend_schema_view(
    list=extend_schema(summary="Schools you can see"),
    retrieve=extend_schema(summary="A school with its social-work positions"),
    create=extend_schema(
        summary="Add a school (coordinator)",
        request=s.SchoolWriteSerializer,
        responses={201: s.SchoolSerializer, 400: INVALID, 403: DENIED},
    ),
    update=extend_schema(
        summary="Change a school (coordinator)",
        request=s.SchoolWriteSerializer,
        responses={200: s.SchoolSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a school (coordinator)",
        request=s.SchoolWriteSerializer,
        responses={200: s.SchoolSerializer, **WRITE_ERRORS},
    ),
    members=extend_schema(
        summary="People with a role at the school (for `responsible`)",
        responses={200: s.PersonSerializer(many=True), 404: NOT_FOUND},
    ),
)
class SchoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Schools of the municipality that the signed-in user may see."""

    queryset = schema_only(School)
    serializer_class = s.SchoolSerializer
    filterset_fields = ["grade_from", "grade_to"]

    def get_queryset(self) -> QuerySet[School]:
        return schools_for(self.access).prefetch_related("positions")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(self.access.is_coordinator, COORDINATOR_DENIED)
        data = self.validated(s.SchoolWriteSerializer)
        school = school_create(**data, actor=self.actor)
        return self.render(school, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The coordinator changes everything; the school's leader its profile but not its
        name (``TenantAccess.school_fields_refused``, the rule the profile page asks)."""
        school = self.get_object()
        require(self.access.can_manage_school(school.pk), MANAGE_DENIED)
        data = self.validated(s.SchoolWriteSerializer, partial=kwargs.get("partial", False))
        changed = [name for name, value in data.items() if getattr(school, name) != value]
        require(not self.access.school_fields_refused(school.pk, changed), NAME_DENIED)
        school_update(school=school, actor=self.actor, **data)
        return self.render(school)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def members(self, request: Request, pk: str | None = None) -> Response:
        members: Any = school_members(self.get_object())
        return Response(s.PersonSerializer(members, many=True).data)


@extend_schema(tags=["schools"], parameters=[SCHOOL_PK])
@extend_schema_view(
    list=extend_schema(summary="Social-work positions of a school"),
    create=extend_schema(
        summary="Add a position (school leader, coordinator)",
        request=s.StaffPositionWriteSerializer,
        responses={201: s.StaffPositionSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Remove a position (school leader, coordinator)",
        responses={204: None, 403: DENIED, 404: NOT_FOUND},
    ),
)
class StaffPositionViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, TenantViewSet):
    queryset = schema_only(StaffPosition)
    serializer_class = s.StaffPositionSerializer
    filterset_fields: list[str] = []

    @cached_property
    def school(self) -> School:
        return school_for(self.access, self.kwargs["school_pk"])

    def get_queryset(self) -> QuerySet[StaffPosition]:
        return staff_positions_for(self.access).filter(school_id=self.school.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        school = self.school
        require(self.access.can_manage_school(school.pk), MANAGE_DENIED)
        data = self.validated(s.StaffPositionWriteSerializer)
        position = staff_position_add(school=school, actor=self.actor, **data)
        return self.render(position, status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        position = self.get_object()
        require(self.access.can_manage_school(position.school_id), MANAGE_DENIED)
        staff_position_remove(position=position, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Adoptions and adaptations ---------------------------------------------------------------


@extend_schema(tags=["adoptions"])
@extend_schema_view(
    list=extend_schema(summary="Adopted components (catalog and local)"),
    retrieve=extend_schema(summary="An adoption with its status history"),
    create=extend_schema(
        summary="Adopt a catalog component or a local one",
        request=s.AdoptionCreateSerializer,
        responses={201: s.AdoptionSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Change the responsible person (and a local component's text)",
        request=s.AdoptionUpdateSerializer,
        responses={200: s.AdoptionSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an adoption",
        request=s.AdoptionUpdateSerializer,
        responses={200: s.AdoptionSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete an adoption made by mistake (discontinue it otherwise)",
        responses={204: None, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    ),
    change_status=extend_schema(
        summary="Move the adoption to another status",
        request=s.AdoptionStatusSerializer,
        responses={200: s.AdoptionSerializer, **WRITE_ERRORS},
    ),
)
class AdoptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    queryset = schema_only(ComponentAdoption)
    serializer_class = s.AdoptionSerializer
    filterset_class = filters.AdoptionFilter

    def get_queryset(self) -> QuerySet[ComponentAdoption]:
        return adoptions_for(self.access)

    def _responsible(self, school: School, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        user = school_members(school).filter(pk=user_id).first()
        if user is None:
            raise ValidationError(
                {"responsible": [_("Choose someone with a role at the school.")]}, code="member"
            )
        return user

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.AdoptionCreateSerializer)
        school: School = data["school"]
        require(self.access.can_manage_school(school.pk), MANAGE_DENIED)
        local = data.get("local_component") or {}
        adoption = adoption_create(
            school=school,
            component=data.get("component"),
            local_module=local.get("module"),
            local_title=local.get("title", ""),
            local_description=local.get("description", ""),
            status=data["status"],
            status_since=data["status_since"],
            responsible=self._responsible(school, data["responsible"]),
            actor=self.actor,
        )
        return self.render(adoption, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        adoption = self.get_object()
        require(self.access.can_manage_school(adoption.school_id), MANAGE_DENIED)
        data = self.validated(s.AdoptionUpdateSerializer, partial=kwargs.get("partial", False))
        if "responsible" in data:
            responsible = self._responsible(adoption.school, data["responsible"])
        else:
            responsible = adoption.responsible
        adoption_update(
            adoption=adoption,
            responsible=responsible,
            local_title=data.get("title"),
            local_description=data.get("description"),
            actor=self.actor,
        )
        return self.render(adoption)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        adoption = self.get_object()
        require(self.access.can_manage_school(adoption.school_id), MANAGE_DENIED)
        adoption_delete(adoption=adoption, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str | None = None) -> Response:
        adoption = self.get_object()
        require(self.access.can_manage_school(adoption.school_id), MANAGE_DENIED)
        data = self.validated(s.AdoptionStatusSerializer)
        adoption_change_status(
            adoption=adoption,
            to_status=data["to_status"],
            on=data["on"],
            note=data["note"],
            actor=self.actor,
        )
        return self.render(adoption)


@extend_schema(tags=["adaptations"])
@extend_schema_view(
    list=extend_schema(summary="Adaptations (FRAME) of adopted components"),
    retrieve=extend_schema(summary="One adaptation"),
    create=extend_schema(
        summary="Record an adaptation",
        request=s.AdaptationWriteSerializer,
        responses={201: s.AdaptationSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Change an adaptation",
        request=s.AdaptationUpdateSerializer,
        responses={200: s.AdaptationSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an adaptation",
        request=s.AdaptationUpdateSerializer,
        responses={200: s.AdaptationSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete an adaptation", responses={204: None, 403: DENIED, 404: NOT_FOUND}
    ),
)
class AdaptationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    queryset = schema_only(Adaptation)
    serializer_class = s.AdaptationSerializer
    filterset_class = filters.AdaptationFilter

    def get_queryset(self) -> QuerySet[Adaptation]:
        return adaptations_for(self.access).order_by("-made_on", "-id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.AdaptationWriteSerializer)
        adoption: ComponentAdoption = data.pop("adoption")
        require(self.access.can_manage_school(adoption.school_id), MANAGE_DENIED)
        adaptation = adaptation_create(adoption=adoption, actor=self.actor, **data)
        return self.render(adaptation, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        adaptation = self.get_object()
        require(self.access.can_manage_school(adaptation.adoption.school_id), MANAGE_DENIED)
        data = self.validated(s.AdaptationUpdateSerializer, partial=kwargs.get("partial", False))
        adaptation_update(adaptation=adaptation, actor=self.actor, **data)
        return self.render(adaptation)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        adaptation = self.get_object()
        require(self.access.can_manage_school(adaptation.adoption.school_id), MANAGE_DENIED)
        adaptation_delete(adaptation=adaptation, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Plans, strategy steps, stage periods ----------------------------------------------------


def _priorities(data: dict[str, Any]) -> dict[Module, int] | None:
    if "priorities" not in data:
        return None
    return {p["module"]: p["intended_percent"] for p in data["priorities"]}


@extend_schema(tags=["plans"])
@extend_schema_view(
    list=extend_schema(summary="Implementation plans"),
    retrieve=extend_schema(summary="A plan with its intended time per module"),
    create=extend_schema(
        summary="Write a school's plan for a model version",
        request=s.PlanCreateSerializer,
        responses={201: s.PlanSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Change a plan",
        request=s.PlanUpdateSerializer,
        responses={200: s.PlanSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a plan",
        request=s.PlanUpdateSerializer,
        responses={200: s.PlanSerializer, **WRITE_ERRORS},
    ),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = schema_only(ImplementationPlan)
    serializer_class = s.PlanSerializer
    filterset_class = filters.PlanFilter

    def get_queryset(self) -> QuerySet[ImplementationPlan]:
        return plans_for(self.access).order_by("school__name", "-starts_on")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.PlanCreateSerializer)
        school: School = data["school"]
        require(self.access.can_manage_school(school.pk), MANAGE_DENIED)
        version = data.get("model_version") or model_version_current()
        if version is None:
            raise ValidationError({"model_version": [_("No model version is published yet.")]})
        plan = plan_create(
            school=school,
            model_version=version,
            title=data["title"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            intended_systematic_percent=data["intended_systematic_percent"],
            priorities=_priorities(data),
            actor=self.actor,
        )
        return self.render(plan, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.get_object()
        require(self.access.can_manage_school(plan.school_id), MANAGE_DENIED)
        data = self.validated(s.PlanUpdateSerializer, partial=kwargs.get("partial", False))
        plan_update(
            plan=plan,
            title=data.get("title"),
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on", plan.ends_on),
            intended_systematic_percent=data.get(
                "intended_systematic_percent", plan.intended_systematic_percent
            ),
            priorities=_priorities(data),
            actor=self.actor,
        )
        return self.render(plan)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema(tags=["steps"])
@extend_schema_view(
    list=extend_schema(summary="Strategy steps (Proctor et al. 2013)"),
    retrieve=extend_schema(summary="One strategy step"),
    create=extend_schema(
        summary="Add a step to a plan",
        request=s.StepWriteSerializer,
        responses={201: s.StepSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Change a step",
        request=s.StepUpdateSerializer,
        responses={200: s.StepSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a step (e.g. mark it done)",
        request=s.StepUpdateSerializer,
        responses={200: s.StepSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a step", responses={204: None, 403: DENIED, 404: NOT_FOUND}
    ),
)
class StepViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    queryset = schema_only(StrategyStep)
    serializer_class = s.StepSerializer
    filterset_class = filters.StepFilter

    def get_queryset(self) -> QuerySet[StrategyStep]:
        return steps_for(self.access).order_by("plan_id", "due_on", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.StepWriteSerializer)
        plan: ImplementationPlan = data.pop("plan")
        require(self.access.can_manage_school(plan.school_id), MANAGE_DENIED)
        step = step_create(plan=plan, actor=self.actor, **data)
        return self.render(step, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        step = self.get_object()
        require(self.access.can_manage_school(step.plan.school_id), MANAGE_DENIED)
        data = self.validated(s.StepUpdateSerializer, partial=kwargs.get("partial", False))
        step_update(step=step, actor=self.actor, **data)
        return self.render(step)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        step = self.get_object()
        require(self.access.can_manage_school(step.plan.school_id), MANAGE_DENIED)
        step_delete(step=step, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["stage-periods"])
@extend_schema_view(
    list=extend_schema(summary="When each school entered and left each stage, per module"),
    retrieve=extend_schema(summary="One stage period"),
    create=extend_schema(
        summary="Record (or correct) a stage period: upsert by school, module and stage",
        description="201 when the period is new, 200 when an existing one was updated.",
        request=s.StagePeriodSetSerializer,
        responses={201: s.StagePeriodSerializer, 200: s.StagePeriodSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Change the dates of a stage period",
        request=s.StagePeriodDatesSerializer,
        responses={200: s.StagePeriodSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change one date of a stage period",
        request=s.StagePeriodDatesSerializer,
        responses={200: s.StagePeriodSerializer, **WRITE_ERRORS},
    ),
)
class StagePeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = schema_only(StagePeriod)
    serializer_class = s.StagePeriodSerializer
    filterset_class = filters.StagePeriodFilter

    def get_queryset(self) -> QuerySet[StagePeriod]:
        return stage_periods_for(self.access).order_by("school__name", "module_id", "entered_on")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.StagePeriodSetSerializer)
        school: School = data["school"]
        require(self.access.can_manage_school(school.pk), MANAGE_DENIED)
        period, created = stage_period_upsert(actor=self.actor, **data)
        return self.render(period, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        period = self.get_object()
        require(self.access.can_manage_school(period.school_id), MANAGE_DENIED)
        partial = kwargs.get("partial", False)
        data = self.validated(s.StagePeriodDatesSerializer, partial=partial)
        stage_period_set(
            school=period.school,
            module=period.module,
            stage=period.stage,
            entered_on=data.get("entered_on", period.entered_on),
            exited_on=data.get("exited_on", period.exited_on if partial else None),
            actor=self.actor,
        )
        return self.render(period)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)


# --- Assessment rounds -----------------------------------------------------------------------


@extend_schema(tags=["rounds"])
@extend_schema_view(
    list=extend_schema(summary="Assessment rounds of the schools you can see"),
    retrieve=extend_schema(summary="One assessment round"),
    create=extend_schema(
        summary="Open a round for one or more schools you manage",
        request=s.RoundCreateSerializer,
        responses={201: s.RoundSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Rename a round or change its dates",
        request=s.RoundUpdateSerializer,
        responses={200: s.RoundSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a round",
        request=s.RoundUpdateSerializer,
        responses={200: s.RoundSerializer, **WRITE_ERRORS},
    ),
    close=extend_schema(
        summary="Close the round now",
        request=None,
        responses={200: s.RoundSerializer, **WRITE_ERRORS},
    ),
)
class RoundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = schema_only(AssessmentRound)
    serializer_class = s.RoundSerializer
    filterset_class = filters.RoundFilter

    def get_queryset(self) -> QuerySet[AssessmentRound]:
        return rounds_for(self.access)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.RoundCreateSerializer)
        schools: list[School] = data["schools"]
        for school in schools:
            require(
                self.access.can_manage_school(school.pk),
                _("You can only include schools you manage."),
            )
        instruments: list[Instrument] = []
        for code in dict.fromkeys(data["instruments"]):
            instrument = instrument_by_code(code)
            if instrument is None:
                raise ValidationError(
                    {"instruments": [_("Unknown instrument: %(code)s.") % {"code": code}]}
                )
            instruments.append(instrument)
        version = data.get("model_version") or model_version_current()
        if version is None:
            raise ValidationError({"model_version": [_("No model version is published yet.")]})
        assessment_round = round_create(
            name=data["name"],
            opens_on=data["opens_on"],
            closes_on=data["closes_on"],
            schools=schools,
            instruments=instruments,
            model_version=version,
            actor=self.actor,
        )
        return self.render(assessment_round, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        assessment_round = self.get_object()
        require(can_manage_round(self.access, assessment_round), ROUND_DENIED)
        data = self.validated(s.RoundUpdateSerializer, partial=kwargs.get("partial", False))
        round_update(
            assessment_round=assessment_round,
            name=data.get("name", assessment_round.name),
            opens_on=data.get("opens_on", assessment_round.opens_on),
            closes_on=data.get("closes_on", assessment_round.closes_on),
            actor=self.actor,
        )
        return self.render(assessment_round)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        assessment_round = self.get_object()
        require(can_manage_round(self.access, assessment_round), ROUND_DENIED)
        round_close(assessment_round=assessment_round, actor=self.actor)
        return self.render(assessment_round)


class RoundChildViewSet(TenantViewSet):
    """Endpoints under /rounds/{round_pk}/: the round must be visible (else 404)."""

    @cached_property
    def round(self) -> AssessmentRound:
        return get_object_or_404(rounds_for(self.access), pk=self.kwargs["round_pk"])


def _link_url(request: Request, token: str) -> str:
    # Links go out by e-mail or paper: always https in production (behind the proxy the
    # request itself may look like http); the request's own scheme in development.
    scheme = request.scheme if settings.DEBUG else "https"
    return f"{scheme}://{request.get_host()}/s/{token}/"


@extend_schema(tags=["survey-links"], parameters=[ROUND_PK])
@extend_schema_view(
    list=extend_schema(
        summary="The round's one-time links of the schools you manage (never their tokens)"
    ),
    create=extend_schema(
        summary="Make one-time survey links; the tokens are returned only here, once",
        request=s.SurveyLinkCreateSerializer,
        responses={201: s.IssuedLinkSerializer(many=True), **WRITE_ERRORS},
    ),
)
class SurveyLinkViewSet(mixins.ListModelMixin, RoundChildViewSet):
    queryset = schema_only(SurveyLink)
    serializer_class = s.SurveyLinkSerializer
    filterset_class = filters.SurveyLinkFilter

    def get_queryset(self) -> QuerySet[SurveyLink]:
        return survey_links_for(self.access).filter(round=self.round).order_by("school_id", "id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access = self.access
        manages_one = access.is_coordinator or bool(
            access.leader_school_ids & round_school_ids(self.round)
        )
        require(manages_one, MANAGE_DENIED)
        return super().list(request, *args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        assessment_round = self.round
        data = self.validated(s.SurveyLinkCreateSerializer)
        school: School = data["school"]
        require(self.access.can_manage_school(school.pk), MANAGE_DENIED)
        issued = survey_links_create(
            assessment_round=assessment_round, school=school, count=data["count"], actor=self.actor
        )
        body = [
            {
                "id": i.link.pk,
                "school": school.pk,
                "expires_at": i.link.expires_at,
                "token": i.token,
                "url": _link_url(request, i.token),
            }
            for i in issued
        ]
        return Response(
            s.IssuedLinkSerializer(body, many=True).data, status=status.HTTP_201_CREATED
        )


def _submitted(response: Response, created: bool) -> Response:
    """201 for the submission that created the response (one, also of several at once),
    200 for those that updated it."""
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return response


@extend_schema(tags=["responses"], parameters=[ROUND_PK])
@extend_schema_view(
    list=extend_schema(
        summary="The team's ratings in the round (fidelity, CFIR) with their scores"
    ),
    create=extend_schema(
        summary="Submit the team's rating; resubmitting updates it (never a duplicate)",
        description="201 for the first submission, 200 when it replaced an earlier one.",
        request=s.TeamResponseSubmitSerializer,
        responses={
            201: s.TeamResponseSerializer,
            200: s.TeamResponseSerializer,
            **WRITE_ERRORS,
        },
    ),
)
class TeamResponseViewSet(mixins.ListModelMixin, RoundChildViewSet):
    queryset = schema_only(SurveyResponse)
    serializer_class = s.TeamResponseSerializer
    filterset_class = filters.ResponseFilter

    def get_queryset(self) -> QuerySet[SurveyResponse]:
        return (
            team_responses_for(self.access)
            .filter(round=self.round)
            .select_related(*RESPONSE_SELECT)
            .prefetch_related(*RESPONSE_PREFETCH)
            .order_by("school__name", "instrument_id")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        assessment_round = self.round
        data = self.validated(s.TeamResponseSubmitSerializer)
        school: School = data["school"]
        require(self.access.can_rate_school(school.pk), RATE_DENIED)
        instrument = instrument_by_code(data["instrument"], assessment_round)
        if instrument is None:
            raise ValidationError({"instrument": [_("Unknown instrument.")]})
        response, created = team_response_upsert(
            assessment_round=assessment_round,
            school=school,
            instrument=instrument,
            answers=data["answers"],
            unrated_reasons=data.get("unrated_reasons"),
            actor=self.actor,
        )
        return _submitted(self.render(response), created)


@extend_schema(tags=["responses"], parameters=[ROUND_PK])
@extend_schema_view(
    list=extend_schema(summary="Your own answers in the round (AIM, IAM, FIM, SUS)"),
    create=extend_schema(
        summary="Answer a staff survey as yourself; resubmitting updates your answers",
        description="201 for the first submission, 200 when it replaced an earlier one.",
        request=s.MyResponseSubmitSerializer,
        responses={201: s.MyResponseSerializer, 200: s.MyResponseSerializer, **WRITE_ERRORS},
    ),
)
class MyResponseViewSet(mixins.ListModelMixin, RoundChildViewSet):
    queryset = schema_only(SurveyResponse)
    serializer_class = s.MyResponseSerializer
    filterset_class = filters.ResponseFilter

    def get_queryset(self) -> QuerySet[SurveyResponse]:
        return (
            own_responses_for(self.access)
            .filter(round=self.round)
            .select_related(*RESPONSE_SELECT)
            .prefetch_related(*RESPONSE_PREFETCH)
            .order_by("instrument_id")
        )

    def _school(self, chosen: School | None) -> School:
        access = self.access
        if chosen is not None:
            require(access.works_at_school(chosen.pk), WORK_DENIED)
            return chosen
        mine = [sc for sc in self.round.schools.all() if access.works_at_school(sc.pk)]
        require(bool(mine), WORK_DENIED)
        if len(mine) > 1:
            raise ValidationError({"school": [_("Choose the school you answer for.")]})
        return mine[0]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        assessment_round = self.round
        data = self.validated(s.MyResponseSubmitSerializer)
        school = self._school(data.get("school"))
        instrument = instrument_by_code(data["instrument"], assessment_round)
        if instrument is None:
            raise ValidationError({"instrument": [_("Unknown instrument.")]})
        response, created = staff_response_upsert(
            assessment_round=assessment_round,
            school=school,
            instrument=instrument,
            respondent=self.actor,
            answers=data["answers"],
        )
        return _submitted(self.render(response), created)


@extend_schema(tags=["responses"], parameters=[ROUND_PK])
@extend_schema_view(
    list=extend_schema(
        summary="How many have answered, per school and instrument (counts only)",
        responses={200: s.ResponseCountSerializer(many=True), 404: NOT_FOUND},
    )
)
class ResponseCountViewSet(RoundChildViewSet):
    """Counts only, never answers: individual respondents stay out of sight."""

    queryset = schema_only(SurveyResponse)
    serializer_class = s.ResponseCountSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        for row in response_counts_for(self.access, self.round):
            key = (row["school_id"], row["instrument__code"])
            entry = rows.setdefault(
                key,
                {"school": key[0], "instrument": key[1], "team": 0, "staff": 0, "link": 0},
            )
            entry[row["respondent_kind"]] += row["n"]
        body = [{**r, "total": r["team"] + r["staff"] + r["link"]} for r in rows.values()]
        return Response(s.ResponseCountSerializer(body, many=True).data)


# --- Activity log and audit ------------------------------------------------------------------


@extend_schema(tags=["activities"])
@extend_schema_view(
    list=extend_schema(
        summary="Logged time: your own; a leader sees the school's, a coordinator all"
    ),
    retrieve=extend_schema(summary="One activity"),
    create=extend_schema(
        summary="Log your own time (staff and leaders of the school)",
        request=s.ActivityCreateSerializer,
        responses={201: s.ActivitySerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete an entry (your own; leaders: the school's)",
        responses={204: None, 403: DENIED, 404: NOT_FOUND},
    ),
)
class ActivityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    queryset = schema_only(Activity)
    serializer_class = s.ActivitySerializer
    filterset_class = filters.ActivityFilter

    def get_queryset(self) -> QuerySet[Activity]:
        return activities_for(self.access).order_by("-performed_on", "-id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(s.ActivityCreateSerializer)
        school: School = data.pop("school")
        require(self.access.works_at_school(school.pk), WORK_DENIED)
        activity = activity_log(school=school, staff=self.actor, **data)
        return self.render(activity, status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        activity = self.get_object()
        require(
            activity.staff_id == self.actor.pk or self.access.can_manage_school(activity.school_id),
            _("You can delete only your own entries."),
        )
        activity_delete(activity=activity, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(
        summary="Audit trail: who created, changed or deleted what, and when",
        description="School leaders see their schools' entries, the coordinator all.",
    )
)
class AuditViewSet(mixins.ListModelMixin, TenantViewSet):
    queryset = schema_only(LogEntry)
    serializer_class = s.AuditEntrySerializer
    filterset_class = filters.AuditFilter

    def get_queryset(self) -> QuerySet[LogEntry]:
        return audit_entries_for(self.access)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(self.access.can_read_audit, AUDIT_DENIED)
        return super().list(request, *args, **kwargs)


# --- Public survey by one-time link ----------------------------------------------------------


def _problem(reason: str) -> Response:
    return Response(
        {"token": [str(LINK_PROBLEMS[reason])], "reason": reason},
        status=status.HTTP_400_BAD_REQUEST,
    )


TOKEN = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="The one-time link's token."
)
PROBLEM = OpenApiResponse(
    s.SurveyProblemSerializer, description=_("The link is unknown, used, expired or closed.")
)


@extend_schema(tags=["survey"], parameters=[TOKEN], auth=[])
class SurveyView(APIView):
    """A staff survey answered by one-time link (teachers and other staff without an
    account). Needs no session and no CSRF token: the token is the credential. Stores no
    name, e-mail or address with the answers."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="The questions of the link's surveys, in the Accept-Language language",
        responses={200: s.SurveySerializer, 400: PROBLEM},
    )
    def get(self, request: Request, token: str) -> Response:
        link = survey_link_by_token(token)
        problem = survey_link_problem(link)
        if problem is not None or link is None:
            return _problem(problem or "unknown")
        body = {
            "round": link.round.name,
            "school": link.school.name,
            "closes_on": link.round.closes_on,
            "language": get_language(),
            "instruments": [
                {
                    "code": i.code,
                    "name": i.name,
                    "description": i.description,
                    "scale_min": i.scale_min,
                    "scale_max": i.scale_max,
                    "missing_allowed": i.missing_allowed,
                    "labels": s.InstrumentSerializer().get_labels(i),
                    "items": [
                        {"code": item.code, "number": item.number, "text": item.text}
                        for item in i.items.all()
                    ],
                }
                for i in survey_instruments(link)
            ],
        }
        return Response(s.SurveySerializer(body).data)

    @extend_schema(
        summary="Answer the link's surveys (once)",
        request=s.SurveySubmitSerializer,
        responses={201: s.DetailSerializer, 400: PROBLEM},
    )
    def post(self, request: Request, token: str) -> Response:
        problem = survey_link_problem(survey_link_by_token(token))
        if problem is not None:
            return _problem(problem)
        serializer = s.SurveySubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link_response_submit(token=token, answers=serializer.validated_data["answers"])
        return Response(
            {"detail": str(_("Thank you! Your answers are saved."))},
            status=status.HTTP_201_CREATED,
        )
