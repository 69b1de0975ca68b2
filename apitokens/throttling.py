"""Requests per token (DRF throttling with the scope "api_token", keyed on the token):
``API_TOKEN_THROTTLE_RATE`` (default 600/minute) per token, counted in Redis (the
"api_throttle" cache), so every web process shares the count. Session requests are not
counted here. If Redis cannot be reached the request goes through (logged): a broker
outage must not take the API down."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken

logger = logging.getLogger(__name__)


class ApiTokenRateThrottle(SimpleRateThrottle):
    scope = "api_token"

    def __init__(self) -> None:
        self.cache = caches["api_throttle"]
        super().__init__()

    def get_rate(self) -> str:
        return str(getattr(settings, "API_TOKEN_THROTTLE_RATE", "600/minute"))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        # The hash, not the id: ids repeat between databases sharing one Redis.
        return self.cache_format % {"scope": self.scope, "ident": token.key_hash[:32]}

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # redis.exceptions.RedisError, OSError: fail open
            logger.warning("API token throttle: the cache is unreachable", exc_info=True)
            return True
