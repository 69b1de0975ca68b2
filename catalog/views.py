from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .forms import ResourceBankFilterForm
from .selectors import model_versions_published, resource_bank


@login_required
def resource_bank_view(request: HttpRequest) -> HttpResponse:
    """The digital resource bank, for every signed-in user on every host."""
    versions = model_versions_published()
    by_code = {v.code: v for v in versions}
    version = by_code.get(request.GET.get("version", "")) or (versions[0] if versions else None)
    form = ResourceBankFilterForm(
        request.GET or None, versions=versions, version=version,
        initial={"version": version.code if version else ""},
    )
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()  # an unknown module or kind is not applied; the valid filters are
        filters = form.cleaned_data
    bank = None
    if version is not None:
        bank = resource_bank(
            version=version,
            module_number=filters.get("module"),
            kind=filters.get("kind") or "",
            query=filters.get("q") or "",
        )
    filtering = bool(filters.get("module") or filters.get("kind") or filters.get("q"))
    return render(
        request,
        "catalog/resource_bank.html",
        {"form": form, "bank": bank, "version": version, "filtering": filtering},
    )
