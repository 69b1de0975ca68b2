from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .models import ModelVersion, ResourceKind


class ResourceBankFilterForm(forms.Form):
    """The resource bank's filters (GET). Invalid values are ignored, not fatal."""

    version = forms.ChoiceField(label=_("Model version"), required=False)
    module = forms.TypedChoiceField(
        label=_("Module"), required=False, coerce=int, empty_value=None
    )
    kind = forms.ChoiceField(
        label=_("Kind of resource"), required=False,
        choices=[("", _("All kinds")), *((v, capfirst(name)) for v, name in ResourceKind.choices)],
    )
    q = forms.CharField(
        label=_("Search"), required=False, max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("Search in titles")}),
    )

    def __init__(
        self, *args: Any, versions: list[ModelVersion], version: ModelVersion | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        version_field: forms.ChoiceField = self.fields["version"]  # type: ignore[assignment]
        version_field.choices = [(v.code, f"{v.code} – {v.name}") for v in versions]
        modules = list(version.modules.order_by("number")) if version else []
        module_field: forms.ChoiceField = self.fields["module"]  # type: ignore[assignment]
        module_field.choices = [
            ("", _("All modules")),
            *((m.number, f"{m.number}. {m.title}") for m in modules),
        ]
