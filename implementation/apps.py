from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImplementationConfig(AppConfig):
    name = "implementation"
    verbose_name = _("Implementation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        for model in (
            models.School,
            models.StaffPosition,
            models.LocalComponent,
            models.ComponentAdoption,
            models.AdoptionStatusChange,
            models.Adaptation,
            models.ImplementationPlan,
            models.PlanModulePriority,
            models.StrategyStep,
            models.StagePeriod,
            models.AssessmentRound,
            models.SurveyLink,
            models.Response,
            models.Answer,
            models.SurveyRelease,
            models.Activity,
            models.SchoolStartup,
            models.StartupStepRecord,
        ):
            auditlog.register(model)
