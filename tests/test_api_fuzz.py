"""schemathesis against the API, signed in as each role (issue 9, item 6): requests
generated from our own OpenAPI schema — valid and invalid paths, queries and bodies — sent
through Django's test client inside the test transaction, and every response checked: no
5xx, a status code, content type, headers and body that the schema documents, and JSON
everywhere under /api/.

Ids in paths are drawn from the objects that exist (an id that exists, one of another
school, and any other), so detail and write operations are reached, not only 404s."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks
from schemathesis.core import NotSet
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case

from .conftest import World, client_for, host_of, persona

RAW_SCHEMA: dict[str, Any] = json.loads(json.dumps(
    SchemaGenerator(urlconf="sovei_platform.urls_tenant").get_schema(request=None, public=True),
    default=str,
))
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)

PERSONAS = {"leader": "trondheim_leader", "staff": "trondheim_staff",
            "coordinator": "trondheim_coordinator"}
EXAMPLES = 2  # per operation, role and generation mode (positive, negative…)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
SENT: Counter[str] = Counter()
ANSWERED: Counter[tuple[str, int]] = Counter()  # (method, status)


def validated_shape(case: Case, response: Any, url: str) -> Response:
    """Django's test response in the shape schemathesis validates."""
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    request = requests.Request(case.method.upper(), url).prepare()
    return Response(status_code=response.status_code, headers=headers,
                    content=response.content, request=request, elapsed=0.0, verify=True,
                    encoding="utf-8")


def send(client: Client, case: Case) -> Any:
    """The case through Django's test client (this client's session; the case's own
    cookies are not sent)."""
    query = urlencode(case.query or {}, doseq=True)
    path = case.formatted_path + (f"?{query}" if query else "")
    body = None if isinstance(case.body, NotSet) else case.body
    if body is None:
        data: bytes | str = b""
    elif isinstance(body, bytes | str):
        data = body
    else:
        data = json.dumps(body)
    return client.generic(case.method.upper(), path, data,
                          content_type=case.media_type or "application/json")


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker: Any) -> Iterator[dict[str, Client]]:
    with django_db_blocker.unblock():
        yield {role: client_for(persona(name), host_of(world.trondheim))
               for role, name in PERSONAS.items()}


@pytest.fixture
def existing(world: World, db: None) -> dict[str, int]:
    """One of each object at Ila (the leader's and staff member's school), as in
    tests/test_route_policy.py, keyed by the names paths and bodies use."""
    from django_tenants.utils import tenant_context

    from implementation.models import School

    from .test_route_policy import _objects

    with tenant_context(world.trondheim):
        ila = School.objects.get(pk=world.ila_id)
        ids = _objects(ila, persona("trondheim_staff")).ids
    return {**ids, "module": 1, "id": ids["school"]}


# The object a detail path's {id} names, by the path's first segment.
ID_OF = {"schools": "school", "adoptions": "adoption", "adaptations": "adaptation",
         "plans": "plan", "steps": "step", "stage-periods": "stage-period", "rounds": "round",
         "activities": "activity", "positions": "position"}
TURN: Counter[str] = Counter()


def realistic(case: Case, ids: dict[str, int]) -> None:
    """Every other case of an operation gets ids that exist (in its path, and for the
    fields of a JSON body that name objects), so detail and write operations are reached;
    the others keep what was generated (mostly 404 and 400)."""
    TURN[case.path] += 1
    if TURN[case.path] % 2:
        return
    segments = [p for p in case.path.split("/") if p and not p.startswith("{")]
    for name in list(case.path_parameters or {}):
        if name in ("pk", "id"):
            key = ID_OF.get(segments[-1] if segments else "", "")
        else:
            key = name.removesuffix("_pk").removesuffix("_id")
        key = {"school_pk": "school"}.get(key, key)
        if key in ids:
            case.path_parameters[name] = ids[key]
    body = None if isinstance(case.body, NotSet) else case.body
    if isinstance(body, dict):
        for field in list(body):
            key = field.replace("_", "-") if field == "stage_period" else field
            if key in ids and isinstance(body[field], int):
                body[field] = ids[key]


@pytest.mark.parametrize("role", list(PERSONAS))
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_the_api_answers_every_generated_request_as_documented(
    case: Case, role: str, clients: dict[str, Client], existing: dict[str, int]
) -> None:
    realistic(case, existing)
    response = send(clients[role], case)
    SENT[f"{role} {case.method} {case.path}"] += 1
    ANSWERED[(case.method.upper(), response.status_code)] += 1

    url = f"http://{host_of('trondheim')}{case.formatted_path}"
    if response.status_code != 204 and not case.path.startswith("/api/docs"):
        assert response.get("Content-Type", "").startswith("application/json"), (
            response.content[:200])
    case.validate_response(validated_shape(case, response, url), checks=CHECKS)


def test_it_sent_over_a_thousand_requests() -> None:
    """Runs after the generated tests in this module (file order)."""
    if not SENT:
        pytest.skip("run with the generated tests")
    print(f"{sum(SENT.values())} generated requests: {sorted(ANSWERED.items())}")
    assert sum(SENT.values()) >= 1000, SENT.most_common(5)


