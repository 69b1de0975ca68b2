from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Role


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean(self) -> dict[str, object]:
        if not settings.PASSWORD_SIGN_IN_ENABLED:
            raise ValidationError(
                _("Sign-in with a password is turned off here. Sign in with Feide."),
                code="passwords_off",
            )
        return super().clean()  # type: ignore[no-any-return]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    eppn = forms.CharField(
        label=_("Feide username"),
        required=False,
        max_length=255,
        help_text=_("Optional: eduPersonPrincipalName, e.g. ola.nordmann@kommune.no."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    school_ids = forms.TypedMultipleChoiceField(
        label=_("Schools"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For school leaders and social-work staff; a coordinator covers every school."),
    )

    def __init__(self, *args: object, schools: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["school_ids"].choices = schools  # type: ignore[attr-defined]
