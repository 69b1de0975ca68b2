from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Membership, User
from .selectors import school_names, schools_by_municipality
from .services import membership_grant, membership_revoke, membership_update


def _school_value(municipality_id: int, school_id: int) -> str:
    """A school's choice value: ids are per municipality (each has its own schema)."""
    return f"{municipality_id}:{school_id}"


class MembershipForm(forms.ModelForm):
    """Schools by name, grouped by municipality, instead of a box of raw ids; checked
    against the chosen municipality and the role (accounts.services)."""

    schools = forms.MultipleChoiceField(
        label=_("schools"),
        required=False,
        help_text=_("Staff and school leaders: their schools. Coordinators: none."),
    )

    class Meta:
        model = Membership
        fields = ("user", "municipality", "role")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._names: dict[str, tuple[str, str]] = {}
        groups = []
        for municipality, schools in schools_by_municipality():
            options = []
            for school_id, name in schools:
                value = _school_value(municipality.pk, school_id)
                options.append((value, name))
                self._names[value] = (name, municipality.name)
            groups.append((municipality.name, options))
        self.fields["schools"].choices = groups  # type: ignore[attr-defined]
        self.fields["schools"].widget.attrs["size"] = 10
        if self.instance.pk:
            self.initial["schools"] = [
                _school_value(self.instance.municipality_id, i) for i in self.instance.school_ids
            ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        municipality, role = data.get("municipality"), data.get("role")
        if municipality is None or not role:
            return data
        ids, foreign = [], []
        for value in data.get("schools") or []:
            municipality_id, _sep, school_id = value.partition(":")
            if int(municipality_id) == municipality.pk:
                ids.append(int(school_id))
            else:
                foreign.append(self._names.get(value, (value, ""))[0])
        if foreign:
            self.add_error("schools", gettext(
                "Not a school in %(municipality)s: %(schools)s"
            ) % {"municipality": municipality.name, "schools": ", ".join(foreign)})
            return data
        from .services import membership_schools_validate

        try:
            data["school_ids"] = membership_schools_validate(
                municipality=municipality, role=role, school_ids=ids
            )
        except ValidationError as error:
            for message in error.message_dict.get("school_ids", []):
                self.add_error("schools", message)
        return data

    def save_through_services(self, *, user: User, actor: User | None) -> Membership:
        data = self.cleaned_data
        if self.instance.pk:
            return membership_update(
                membership=self.instance, municipality=data["municipality"], role=data["role"],
                school_ids=data.get("school_ids", []), actor=actor,
            )
        return membership_grant(
            user=user, municipality=data["municipality"], role=data["role"],
            school_ids=data.get("school_ids", []), actor=actor,
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    fields = ("municipality", "role", "schools")


def _schools_shown(membership: Membership) -> str:
    names = school_names(membership.municipality, membership.school_ids)
    return ", ".join(names.get(i, f"#{i}") for i in membership.school_ids) or "–"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_researcher", "is_active")
    list_filter = ("is_staff", "is_researcher", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "preferred_language")}),
        (
            _("Platform roles"),
            {"fields": ("is_active", "is_staff", "is_superuser", "is_researcher")},
        ),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = [MembershipInline]

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        """Memberships through accounts.services (validated, audited), not a bare save."""
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        actor = request.user if request.user.is_authenticated else None
        # What the admin's change message reads (ModelAdmin.construct_change_message).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for membership_form in formset.deleted_forms:
            if membership_form.instance.pk:
                formset.deleted_objects.append(membership_form.instance)
                membership_revoke(membership=membership_form.instance, actor=actor)  # type: ignore[arg-type]
        for membership_form in formset.forms:
            if membership_form in formset.deleted_forms or not membership_form.has_changed():
                continue
            existed = bool(membership_form.instance.pk)
            saved = membership_form.save_through_services(user=form.instance, actor=actor)
            if existed:
                formset.changed_objects.append((saved, membership_form.changed_data))
            else:
                formset.new_objects.append(saved)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ("user", "municipality", "role", "schools_shown")
    list_filter = ("role", "municipality")
    search_fields = ("user__email", "user__full_name")
    list_select_related = ("user", "municipality")

    @admin.display(description=_("schools"))
    def schools_shown(self, membership: Membership) -> str:
        return _schools_shown(membership)

    def save_model(
        self, request: HttpRequest, obj: Membership, form: Any, change: bool
    ) -> None:
        actor = request.user if request.user.is_authenticated else None
        saved = form.save_through_services(user=form.cleaned_data["user"], actor=actor)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        actor = request.user if request.user.is_authenticated else None
        membership_revoke(membership=obj, actor=actor)  # type: ignore[arg-type]
