"""The researcher's filter form (GET) and the export choice."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.validators import COUNTIES

from .exports import DATASETS, FORMATS
from .models import SizeBand
from .pseudonyms import semester_label
from .selectors import Filters, StoreChoices


class FilterForm(forms.Form):
    semester = forms.ChoiceField(label=_("Round"), required=False)
    model_version = forms.ChoiceField(label=_("Model version"), required=False)
    county = forms.ChoiceField(label=_("County"), required=False)
    size_band = forms.ChoiceField(label=_("Municipality size"), required=False)

    def __init__(self, *args: Any, choices: StoreChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store_choices = choices
        fields: dict[str, Any] = self.fields
        fields["semester"].choices = [("", _("All rounds"))] + [
            (code, semester_label(code)) for code in reversed(choices.semesters)
        ]
        fields["model_version"].choices = [(v, v) for v in choices.model_versions] or [("", "–")]
        fields["county"].choices = [("", _("All counties"))] + [
            (code, COUNTIES.get(code, code)) for code in choices.counties
        ]
        fields["size_band"].choices = [("", _("All sizes"))] + [
            (band.value, band.label) for band in SizeBand
        ]

    def filters(self) -> Filters:
        """The valid choices (an invalid value falls back to "all"; the model version to
        the newest version in the store)."""
        data = self.cleaned_data if self.is_valid() else {}
        version = data.get("model_version") or next(iter(self.store_choices.model_versions), "")
        return Filters(
            semester=data.get("semester", ""),
            model_version=version,
            county=data.get("county", ""),
            size_band=data.get("size_band", ""),
        )


class ExportForm(forms.Form):
    dataset = forms.ChoiceField(choices=[(code, d.title) for code, d in DATASETS.items()])
    file_format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("xlsx", "Excel"), ("parquet", "Parquet")]
    )

    def clean_file_format(self) -> str:
        value: str = self.cleaned_data["file_format"]
        if value not in FORMATS:
            raise forms.ValidationError(_("Unknown format."))
        return value
