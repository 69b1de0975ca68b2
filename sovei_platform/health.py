"""`GET /healthz` on any host: database and broker status, before tenant routing."""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def broker_ok() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class HealthCheckMiddleware:
    """Answers before tenant routing, so an unknown host or a down database still gets JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != "/healthz" or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        db, broker = database_ok(), broker_ok()
        status = 200 if db and broker else 503
        return JsonResponse(
            {
                "status": "ok" if status == 200 else "degraded",
                "database": "up" if db else "down",
                "broker": "up" if broker else "down",
            },
            status=status,
        )
