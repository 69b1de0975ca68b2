from django.apps import AppConfig


class ImplementationConfig(AppConfig):
    name = "implementation"
    verbose_name = "Implementation"
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
