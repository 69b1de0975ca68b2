"""Who reaches what: the research area is for researchers on the public site only; a
researcher reaches no municipality's host or API; tenant roles open no research page."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import User
from tenants.models import Municipality

from .conftest import World, client_for, host_of, persona

ROOT = Path(__file__).resolve().parent.parent
RESEARCH_PAGES = [
    "/forsker/",
    "/forsker/troskap/",
    "/forsker/utfall/",
    "/forsker/faser/",
    "/forsker/fremmere-og-hemmere/",
    "/forsker/eksport/",
]
TENANT_PATHS = [
    "/",
    "/deling/",
    "/dashboards/",
    "/api/v1/schools/",
    "/api/v1/rounds/",
    "/api/v1/responses/",
    "/api/v1/dashboards/",
    "/api/schema/",
]


@pytest.mark.parametrize("path", RESEARCH_PAGES)
def test_it_shows_the_research_pages_to_a_researcher(researcher: User, path: str) -> None:
    response = client_for(researcher, "testserver").get(path)

    assert response.status_code == 200


@pytest.mark.parametrize("path", RESEARCH_PAGES)
@pytest.mark.parametrize(
    "who",
    [
        "trondheim_coordinator",
        "trondheim_leader",
        "trondheim_staff",
        "volda_leader",
        "platform_admin",
        "outsider",
    ],
)
def test_it_forbids_the_research_pages_to_everyone_else(
    world: World, db: None, who: str, path: str
) -> None:
    response = client_for(persona(who), "testserver").get(path)

    assert response.status_code == 403


def test_it_sends_anonymous_visitors_to_the_login_page(world: World, db: None) -> None:
    response = client_for(None, "testserver").get("/forsker/utfall/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/forsker/utfall/")


@pytest.mark.parametrize("who", ["trondheim_coordinator", "outsider", "platform_admin"])
def test_it_forbids_exports_to_everyone_but_researchers(world: World, db: None, who: str) -> None:
    response = client_for(persona(who), "testserver").post(
        "/forsker/eksport/last-ned/", {"dataset": "fidelity", "file_format": "csv"}
    )

    assert response.status_code == 403


def test_it_opens_the_research_area_to_a_coordinator_who_is_also_a_researcher(
    trondheim_coordinator: User,
) -> None:
    trondheim_coordinator.is_researcher = True
    trondheim_coordinator.save(update_fields=["is_researcher"])

    response = client_for(trondheim_coordinator, "testserver").get("/forsker/")

    assert response.status_code == 200


@pytest.mark.parametrize("path", RESEARCH_PAGES)
def test_it_has_no_research_pages_on_a_municipality_host(
    trondheim_coordinator: User, trondheim: Municipality, path: str
) -> None:
    response = client_for(trondheim_coordinator, host_of(trondheim)).get(path)

    assert response.status_code == 404


@pytest.mark.parametrize("path", TENANT_PATHS)
def test_it_keeps_a_researcher_out_of_every_municipality_host_and_api(
    researcher: User, trondheim: Municipality, volda: Municipality, path: str
) -> None:
    for municipality in (trondheim, volda):
        response = client_for(researcher, host_of(municipality)).get(path)

        assert response.status_code == 403, (municipality.slug, path)


def test_it_keeps_a_researcher_from_changing_a_municipality_s_sharing(
    researcher: User, trondheim: Municipality
) -> None:
    response = client_for(researcher, host_of(trondheim)).post("/deling/", {"shares": "0"})

    assert response.status_code == 403
    assert Municipality.objects.get(pk=trondheim.pk).shares_research_data


# --- The refresh runs in the worker, never on a web request -------------------------------

WEB_MODULES = ["research/views.py", "research/tenant_views.py", "research/tasks.py"]


@pytest.mark.parametrize("module", WEB_MODULES)
def test_it_keeps_model_managers_out_of_views_and_tasks(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))

    uses = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr in {"objects", "_default_manager"}
    ]

    assert uses == []


@pytest.mark.parametrize(
    "module",
    [
        "research/views.py",
        "research/tenant_views.py",
        "research/services.py",
        "research/selectors.py",
    ],
)
def test_it_never_refreshes_on_a_web_request(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))

    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for alias in n.names
    }

    assert "refresh_research_store" not in names


def test_it_schedules_the_refresh_nightly_in_the_worker() -> None:
    from research.tasks import refresh_research_store
    from sovei_platform.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["research-refresh"]

    assert entry["task"] == refresh_research_store.name == "research.tasks.refresh_research_store"
    assert refresh_research_store.name in app.tasks


# --- Production refuses a missing pseudonym key --------------------------------------------


def _import_prod_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if key != "RESEARCH_PSEUDONYM_KEY"
    }
    environment.update({"SECRET_KEY": "s" * 50, "DJANGO_SETTINGS_MODULE": "x", **env})
    return subprocess.run(
        [sys.executable, "-c", "import sovei_platform.settings.prod"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_refuses_to_run_production_without_a_pseudonym_key() -> None:
    missing = _import_prod_settings()
    short = _import_prod_settings(RESEARCH_PSEUDONYM_KEY="too-short")
    good = _import_prod_settings(RESEARCH_PSEUDONYM_KEY="k" * 40)

    assert missing.returncode != 0 and "RESEARCH_PSEUDONYM_KEY" in missing.stderr
    assert short.returncode != 0 and "RESEARCH_PSEUDONYM_KEY" in short.stderr
    assert good.returncode == 0, good.stderr
