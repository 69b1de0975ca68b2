"""The form for a new token. The service (apitokens.services.api_token_create) decides
what is allowed; its refusals are shown next to the fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import TokenAccess, TokenKind

DEFAULT_DAYS = 90


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses the token, e.g. “R script for the semester report”."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=TokenKind.choices)
    access = forms.ChoiceField(label=_("Access"), choices=TokenAccess.choices)
    expires_on = forms.DateField(
        label=_("Expires"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The last day the token works; at most a year ahead."),
    )

    def __init__(self, *args: Any, research: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].initial = timezone.localdate() + timedelta(days=DEFAULT_DAYS)
        if research:
            del self.fields["access"]  # the research API only reads

    def access_value(self) -> str:
        return str(self.cleaned_data.get("access") or TokenAccess.READ)
