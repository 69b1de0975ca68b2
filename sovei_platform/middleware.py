"""The site's own 404 page whatever DEBUG says (a newcomer runs `make run` with DEBUG on
and should not meet Django's technical page for another school's record)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.log import log_response

from .views import page_not_found


class NotFoundPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            # With DEBUG on, Django answers an address no route matches with its technical
            # page before any view runs; answer with the site's page here instead.
            try:
                resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
            except Resolver404 as exception:
                return self.process_exception(request, exception) or self.get_response(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Http404):
            return None
        response = page_not_found(request, exception)
        # Django logs the 404s it answers itself; this one is answered here.
        log_response("Not Found: %s", request.path, response=response, request=request)
        return response
