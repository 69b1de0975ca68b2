from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "research"
    verbose_name = "Research store"
    default_auto_field = "django.db.models.BigAutoField"
