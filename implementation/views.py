from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import schools_for


def home(request: HttpRequest) -> HttpResponse:
    access = request.access  # type: ignore[attr-defined]
    return render(request, "implementation/home.html", {"schools": schools_for(access)})
