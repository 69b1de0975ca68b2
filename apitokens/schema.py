"""The token in the OpenAPI schema: an HTTP bearer security scheme beside the session."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apitokens.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A personal or service token made at /api-nokler/ (shown once): "
                "`Authorization: Bearer <token>` (`Token <token>` works too). A token "
                "reaches one municipality (read, or read and write) or the research API "
                "(read); no CSRF token is needed. Requests are limited per token (429)."
            ),
        }
