"""The OpenAPI 3 schema at /api/schema/: valid, complete (every route of the API router),
documented (tags and summaries), generated without warnings; and the interactive docs
are served from our own static files."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver
from drf_spectacular.drainage import GENERATOR_STATS
from openapi_spec_validator import validate

from implementation.api import urls as api_urls

from .conftest import World
from .test_api_support import api

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(world: World, db: None) -> dict[str, Any]:
    response = api("staff", world).get("/api/schema/", headers={"accept": "application/json"})
    assert response.status_code == 200
    loaded: dict[str, Any] = (
        response.json()
        if response["Content-Type"].startswith("application/json")
        else yaml.safe_load(response.content)
    )
    return loaded


def openapi_path(route: str) -> str:
    """A router regex (`^rounds/(?P<round_pk>[0-9]+)/links/(?P<pk>[^/.]+)/$`) or a path
    (`survey/<str:token>/`) as an OpenAPI path (`/api/v1/rounds/{round_pk}/links/{id}/`)."""
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"\(\?P<pk>[^)]*\)", "{id}", route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return "/api/v1/" + route


def router_paths() -> set[str]:
    paths: set[str] = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern | URLResolver)
        route = str(pattern.pattern)
        if route in ("^$", ""):
            continue  # the browsable API root is not an API operation
        paths.add(openapi_path(route))
    return paths


def test_it_validates_as_openapi_3(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_it_lists_every_route_of_the_api(schema: dict[str, Any]) -> None:
    routes = router_paths()

    assert len(routes) >= 30
    assert routes - set(schema["paths"]) == set()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/schools/{school_pk}/positions/{id}/",
        "/api/v1/adoptions/{id}/status/",
        "/api/v1/rounds/{id}/close/",
        "/api/v1/rounds/{round_pk}/links/",
        "/api/v1/rounds/{round_pk}/team-responses/",
        "/api/v1/rounds/{round_pk}/my-responses/",
        "/api/v1/rounds/{round_pk}/response-counts/",
        "/api/v1/survey/{token}/",
        "/api/v1/audit/",
    ],
)
def test_it_documents_the_endpoints_of_the_recording_issue(
    schema: dict[str, Any], path: str
) -> None:
    assert path in schema["paths"]


def test_it_tags_and_summarises_every_operation(schema: dict[str, Any]) -> None:
    routes = router_paths()
    missing = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path in routes
        and method in HTTP_METHODS
        and (not operation.get("summary") or operation.get("tags", ["v1"]) == ["v1"])
    ]

    assert missing == []


def test_it_describes_the_request_bodies_of_the_actions(schema: dict[str, Any]) -> None:
    def body_ref(path: str, method: str) -> str:
        content = schema["paths"][path][method]["requestBody"]["content"]
        return str(content["application/json"]["schema"]["$ref"])

    assert body_ref("/api/v1/adoptions/{id}/status/", "post").endswith("/AdoptionStatusRequest")
    assert body_ref("/api/v1/rounds/{round_pk}/team-responses/", "post").endswith(
        "/TeamResponseSubmitRequest"
    )
    answers = schema["components"]["schemas"]["TeamResponseSubmitRequest"]["properties"]["answers"]
    assert answers["type"] == "object"
    assert answers["additionalProperties"]["type"] == "integer"


def test_it_documents_the_survey_endpoint_without_a_session(schema: dict[str, Any]) -> None:
    survey = schema["paths"]["/api/v1/survey/{token}/"]

    assert survey["post"].get("security") in (None, [], [{}])
    # A token (apitokens) or the session cookie
    assert schema["paths"]["/api/v1/audit/"]["get"]["security"] == [
        {"apiToken": []}, {"cookieAuth": []}]


def test_it_generates_the_schema_without_warnings(tmp_path: Any) -> None:
    GENERATOR_STATS.reset()
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yml"))

    assert not GENERATOR_STATS


def test_it_serves_the_interactive_docs_from_our_own_static_files(world: World, db: None) -> None:
    client = api("staff", world)

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    # CSP allows no inline scripts: every <script> of the page loads a file of ours.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html) == []
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_it_documents_the_errors_every_operation_can_answer(schema: dict[str, Any]) -> None:
    """Issue 9, item 6: 400 and 404 were undocumented on list and detail operations."""
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            codes = set(operation["responses"])
            queried = any(p["in"] == "query" for p in operation.get("parameters", []))
            if "{" in path and "404" not in codes:
                missing.append(f"{method} {path}: 404")
            if (queried or "requestBody" in operation) and "400" not in codes:
                missing.append(f"{method} {path}: 400")
            if "/survey/" not in path and "403" not in codes:
                missing.append(f"{method} {path}: 403")
    assert missing == []
    detail = schema["paths"]["/api/v1/schools/{id}/"]["get"]["responses"]["404"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")
