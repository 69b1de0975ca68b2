"""DRF glue: service errors become 400 responses naming the field and the reason."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Django ValidationErrors raised by services (field → messages) answer 400 like DRF's
    own validation errors: {"field": ["reason", ...]}; errors without a field go under
    "non_field_errors"."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {
                ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
                for field, messages in exc.message_dict.items()
            }
        else:
            body = {"non_field_errors": [str(m) for m in exc.messages]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


# --- The error responses in the OpenAPI schema --------------------------------------------

_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}},
           "required": ["detail"]}
_FIELD_ERRORS = {
    "type": "object",
    "description": "Field name (or non_field_errors) → the reasons, in the user's language.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
_ERRORS = {
    "400": ("Invalid input: the fields and the reasons.", "FieldErrors", _FIELD_ERRORS),
    "403": ("Not signed in, or no permission for this action.", "ErrorDetail", _DETAIL),
    "404": ("No such object, or it is outside your scope.", "ErrorDetail", _DETAIL),
    # Where a token is accepted (apitokens): a dead token, and too many requests for one.
    "401": ("The token is unknown, expired or revoked.", "ErrorDetail", _DETAIL),
    "429": ("Too many requests with this token; see Retry-After.", "ErrorDetail", _DETAIL),
}


def document_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the errors the API
    actually answers (all JSON): 400 where a body or query parameters are validated, 404
    where the path names an object, 403 where a session is needed (everything but the
    public survey endpoints). Responses an operation already documents are kept."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for _code, (_text, name, schema) in _ERRORS.items():
        schemas.setdefault(name, schema)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            wanted = set()
            parameters = operation.get("parameters", [])
            if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
                wanted.add("400")
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                wanted.add("404")  # a page number past the last page is 404 as well
            if operation.get("security") != [{}] and "/survey/" not in path:
                wanted.add("403")
            if {"apiToken": []} in operation.get("security", []):
                wanted |= {"401", "429"}
            responses = operation.setdefault("responses", {})
            for code in sorted(wanted - set(responses)):
                text, name, _schema = _ERRORS[code]
                responses[code] = {
                    "description": text,
                    "content": {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/{name}"}}},
                }
    return result
