"""Django admin for platform administrators: the model tree with inlines, and the
resource bank. Larger changes go through catalog files (import_catalog / export_catalog)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, ForeignKey, ManyToManyField, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Component, ExampleTask, ModelVersion, Module, Resource


class ModuleInline(admin.TabularInline):
    model = Module
    extra = 0
    fields = ("number", "title_nb", "title_nn", "title_en")
    show_change_link = True


class ComponentInline(admin.StackedInline):
    model = Component
    extra = 0
    fields = (
        "number", ("title_nb", "title_nn", "title_en"),
        ("description_nb", "description_nn", "description_en"),
    )
    show_change_link = True


class ExampleTaskInline(admin.TabularInline):
    model = ExampleTask
    extra = 0
    fields = ("number", "text_nb", "text_nn", "text_en")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("code", "name_nb", "status", "fidelity_threshold_percent", "module_count",
                    "updated_at")
    list_filter = ("status",)
    search_fields = ("code", "name_nb", "name_nn", "name_en")
    fieldsets = (
        (None, {"fields": ("code", "status", "fidelity_threshold_percent",
                           "fidelity_min_rated_percent")}),
        (_("Name"), {"fields": ("name_nb", "name_nn", "name_en")}),
    )
    inlines = [ModuleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return super().get_queryset(request).annotate(_module_count=Count("modules"))

    @admin.display(description=_("modules"), ordering="_module_count")
    def module_count(self, obj: ModelVersion) -> int:
        return obj._module_count  # type: ignore[attr-defined,no-any-return]


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "version", "title_en")
    list_filter = ("version",)
    search_fields = ("title_nb", "title_nn", "title_en")
    list_select_related = ("version",)
    fieldsets = (
        (None, {"fields": ("version", "number")}),
        (_("Title"), {"fields": ("title_nb", "title_nn", "title_en")}),
        (_("Description"), {"fields": ("description_nb", "description_nn", "description_en")}),
    )
    inlines = [ComponentInline]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "module_title", "version_code", "task_count")
    list_filter = ("module__version", "module__number")
    search_fields = ("title_nb", "title_nn", "title_en")
    list_select_related = ("module__version",)
    fieldsets = (
        (None, {"fields": ("module", "number")}),
        (_("Title"), {"fields": ("title_nb", "title_nn", "title_en")}),
        (_("Description"), {"fields": ("description_nb", "description_nn", "description_en")}),
    )
    inlines = [ExampleTaskInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Component]:
        return super().get_queryset(request).annotate(_task_count=Count("example_tasks"))

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.name == "module":
            kwargs["queryset"] = Module.objects.select_related("version")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("module"), ordering="module__number")
    def module_title(self, obj: Component) -> str:
        return obj.module.title_nb

    @admin.display(description=_("version"), ordering="module__version__code")
    def version_code(self, obj: Component) -> str:
        return obj.module.version.code

    @admin.display(description=_("example tasks"), ordering="_task_count")
    def task_count(self, obj: Component) -> int:
        return obj._task_count  # type: ignore[attr-defined,no-any-return]


class ResourceAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(label=_("address (URL)"), max_length=500, assume_scheme="https")

    class Meta:
        model = Resource
        fields = [
            "version", "key", "kind", "url", "language", "title_nb", "title_nn", "title_en",
            "description_nb", "description_nn", "description_en", "components", "example_tasks",
        ]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        version = data.get("version")
        if version is not None:
            for name in ("components", "example_tasks"):
                wrong = [
                    str(obj) for obj in data.get(name) or []
                    if _version_of(obj).pk != version.pk
                ]
                if wrong:
                    self.add_error(
                        name,
                        _("Not in model version %(code)s: %(items)s")
                        % {"code": version.code, "items": "; ".join(wrong)},
                    )
        return data


def _version_of(obj: Component | ExampleTask) -> ModelVersion:
    component = obj if isinstance(obj, Component) else obj.component
    return component.module.version


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    form = ResourceAdminForm
    list_display = ("title_nb", "kind", "version", "language", "key", "url")
    list_filter = ("version", "kind", "language")
    search_fields = ("key", "title_nb", "title_nn", "title_en", "url")
    list_select_related = ("version",)
    filter_horizontal = ("components", "example_tasks")
    fieldsets = (
        (None, {"fields": ("version", "key", "kind", "url", "language")}),
        (_("Title"), {"fields": ("title_nb", "title_nn", "title_en")}),
        (_("Description"), {"fields": ("description_nb", "description_nn", "description_en")}),
        (_("Linked to"), {"fields": ("components", "example_tasks")}),
    )

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        if db_field.name == "components":
            kwargs["queryset"] = Component.objects.select_related("module__version")
        elif db_field.name == "example_tasks":
            kwargs["queryset"] = ExampleTask.objects.select_related("component__module__version")
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None:
            # Several versions share numbers: say which version each choice belongs to.
            formfield.label_from_instance = _label_with_version  # type: ignore[method-assign]
        return formfield


def _label_with_version(obj: Component | ExampleTask) -> str:
    return f"{_version_of(obj).code} · {obj}"
