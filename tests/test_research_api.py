"""The researchers' read-only API on the public site (issue 12, item 5): the datasets, the
codebooks and one's own export log; the rows and filters of the exports (released cells
only, through the exports' own selectors); every call that returns rows logged like an
export; researchers only, by session or research token. The Python example of
docs/research.md runs here as it stands, with requests, against the test client.

Personas: researcher (NTNU), trondheim_coordinator (a tenant role, no research role),
outsider; research_world (tests/test_research_world.py) publishes a store."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone

from accounts.models import User
from apitokens.services import api_token_create
from research.exports import CODEBOOK_HEADER, DATASETS
from research.models import ExportLog, OutcomeCell
from research.selectors import Filters

from .conftest import World, client_for, host_of
from .test_research_world import ResearchWorld, research_world

__all__ = ["research_world"]

BASE = "/api/v1/research"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "research.md"


def research_key(user: User) -> str:
    return api_token_create(
        user=user, name="Analyse", municipality=None, access="read",
        expires_on=timezone.localdate() + timedelta(days=30),
    ).key


def get(path: str, *, key: str | None = None, user: User | None = None,
        host: str = "testserver") -> HttpResponse:
    tenant = connection.tenant
    headers = {"accept-language": "en"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    try:
        response: HttpResponse = client_for(user, host).get(path, headers=headers)
    finally:
        connection.set_tenant(tenant)
    return response


def test_it_gives_the_exports_rows_with_the_same_filters_and_logs_every_call(
    research_world: ResearchWorld, researcher: User
) -> None:
    key = research_key(researcher)
    ExportLog.objects.all().delete()

    listing = get(f"{BASE}/datasets/", key=key).json()
    page = get(f"{BASE}/datasets/outcomes/?county=15&page_size=2", key=key).json()
    second = get(page["next"].removeprefix("http://testserver"), key=key).json()
    codebook = get(f"{BASE}/datasets/outcomes/codebook/", key=key).json()

    assert [d["code"] for d in listing["datasets"]] == list(DATASETS)
    assert listing["k"] == 5 and listing["through_semester"] == research_world.semester.code
    expected = list(DATASETS["outcomes"].rows(Filters(model_version="1.0", county="15"))
                    .values_list("n", flat=True))
    assert page["count"] == len(expected) > 2
    assert page["filters"] == {"county": "15", "model_version": "1.0"}
    assert [row["n"] for row in page["results"] + second["results"]] == expected[:4]
    assert list(page["results"][0]) == DATASETS["outcomes"].fields
    assert all(row["n"] >= 5 and row["county"] in ("15", "") for row in page["results"])
    assert second["previous"] is not None and "county=15" in page["next"]
    assert [v["variable"] for v in codebook["variables"]] == DATASETS["outcomes"].fields
    assert list(codebook["variables"][0]) == list(CODEBOOK_HEADER)
    logged = list(ExportLog.objects.order_by("id").values_list(
        "user", "dataset", "file_format", "filters", "row_count"))
    assert logged == [
        (researcher.pk, "outcomes", "api",
         {"county": "15", "model_version": "1.0", "page": "1", "page_size": "2"}, 2),
        (researcher.pk, "outcomes", "api",
         {"county": "15", "model_version": "1.0", "page": "2", "page_size": "2"},
         min(2, len(expected) - 2)),
    ]


def test_it_serves_the_export_file_and_the_export_log(
    research_world: ResearchWorld, researcher: User
) -> None:
    key = research_key(researcher)
    other = User.objects.create_user("annen.forsker@example.no", "x", is_researcher=True)
    ExportLog.objects.create(user=other, user_email=other.email, dataset="stages",
                             file_format="csv", row_count=1)

    response = get(f"{BASE}/datasets/fidelity/file/?file_format=csv&county=15", key=key)
    log = get(f"{BASE}/exports/", user=researcher).json()

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["codebook.csv", "data.csv", "metadata.csv"]
    assert response["Content-Disposition"].startswith('attachment; filename="sovei-research-')
    assert [(e["dataset"], e["file_format"], e["filters"]) for e in log["results"]] == [
        ("fidelity", "csv", {"county": "15", "model_version": "1.0"})]


@pytest.mark.parametrize(
    ("query", "field"),
    [("semester=1999V", "semester"), ("county=99", "county"), ("size_band=huge", "size_band"),
     ("page_size=0", "page_size"), ("page_size=5001", "page_size"), ("page=x", "page")],
)
def test_it_answers_a_wrong_filter_with_400_naming_the_field(
    world: World, researcher: User, query: str, field: str
) -> None:
    response = get(f"{BASE}/datasets/outcomes/?{query}", user=researcher)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not ExportLog.objects.exists()


def test_it_answers_404_for_an_unknown_dataset_or_page(world: World, researcher: User) -> None:
    assert get(f"{BASE}/datasets/names/", user=researcher).status_code == 404
    assert get(f"{BASE}/datasets/names/codebook/", user=researcher).status_code == 404
    assert get(f"{BASE}/datasets/stages/?page=2", user=researcher).status_code == 404
    assert not ExportLog.objects.exists()


def test_it_is_for_researchers_only(
    world: World, researcher: User, trondheim_coordinator: User, outsider: User
) -> None:
    tenant_key = api_token_create(
        user=trondheim_coordinator, name="Kommune", municipality=world.trondheim,
        access="read", expires_on=timezone.localdate() + timedelta(days=3)).key
    research = research_key(researcher)
    path = f"{BASE}/datasets/fidelity/"

    assert get(path).status_code == 401  # anonymous
    assert get(path, user=trondheim_coordinator).status_code == 403
    assert get(path, user=outsider).status_code == 403
    assert get(path, key=tenant_key).status_code == 403  # a municipality's token
    assert get("/api/v1/schools/", key=research, host=host_of(world.trondheim)).json() == {
        "detail": "This token is not valid for this municipality."}
    User.objects.filter(pk=researcher.pk).update(is_researcher=False)
    assert get(path, key=research).status_code == 403  # no longer a researcher
    assert not ExportLog.objects.exists()


def test_it_never_writes(world: World, researcher: User) -> None:
    key = research_key(researcher)
    client = client_for(None, "testserver")

    response = client.post(f"{BASE}/datasets/fidelity/", {}, headers={
        "authorization": f"Bearer {key}", "accept-language": "en"})

    assert response.status_code == 403
    assert response.json() == {"detail": "This token may only read."}


def test_it_has_a_schema_with_the_token_for_researchers(world: World, researcher: User) -> None:
    schema = get("/api/schema/?format=json", user=researcher).json()

    assert set(schema["paths"]) == {
        f"{BASE}/datasets/", f"{BASE}/datasets/{{code}}/", f"{BASE}/datasets/{{code}}/codebook/",
        f"{BASE}/datasets/{{code}}/file/", f"{BASE}/exports/"}
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    assert get("/api/schema/", user=User.objects.get(email="outsider@example.no")
               ).status_code == 403


# --- The Python example of docs/research.md, run as it stands ---------------------------------


class DjangoClientAdapter(requests.adapters.BaseAdapter):
    """requests → Django's test client: the example's own HTTP calls, headers and all."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        headers = {k.lower(): v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length")}
        answer = get(url.path + (f"?{url.query}" if url.query else ""), host=url.hostname or "",
                     key=headers.pop("authorization").removeprefix("Bearer "))
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers.update(dict(answer.items()))
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def python_example() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("### Python\n")
    section = text[start:text.index("### R\n", start)]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_python_example_in_the_docs_runs(
    research_world: ResearchWorld, researcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = research_key(researcher)
    monkeypatch.setenv("SOVEI_URL", "http://testserver")
    monkeypatch.setenv("SOVEI_TOKEN", key)
    monkeypatch.setattr(requests.Session, "get_adapter", lambda self, url: DjangoClientAdapter())
    ExportLog.objects.all().delete()
    printed = io.StringIO()

    with contextlib.redirect_stdout(printed):
        exec(compile(python_example(), "docs/research.md", "exec"), {})  # noqa: S102

    lines = printed.getvalue().splitlines()
    measured = DATASETS["fidelity"].rows(Filters(model_version="1.0")).filter(
        module_number__isnull=True, measured=True).count()
    assert measured > 0
    assert lines[0] == f"{measured} measured overall fidelity scores (fidelity %)"
    assert len(lines) == 1 + min(5, measured)
    assert ExportLog.objects.filter(user=researcher, file_format="api",
                                    dataset="fidelity").count() >= 1
    assert OutcomeCell.objects.exists()
