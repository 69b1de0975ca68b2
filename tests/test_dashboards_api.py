"""/api/v1/dashboards/: every dashboard figure as JSON with the aggregate rows it rests on;
the same scope as the pages (404 outside the school scope, 403 without a role or, for the
comparison of schools, without the coordinator role); documented in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from django.core.cache import cache
from django.db.models import Sum
from django_tenants.utils import tenant_context

from accounts.models import User
from dashboards.models import (
    FidelityAggregate,
    MunicipalitySpread,
    ResponseRateAggregate,
    StageAggregate,
    TimeUsePlanAggregate,
)

from .conftest import World
from .test_dashboards_support import Scene, build_scene, figure_of, get

SCHOOL_CHARTS = ["fidelity", "component-status", "stages", "outcomes", "determinants",
                 "time-plan", "time-systematic", "time-monthly", "status"]
MUNICIPALITY_CHARTS = ["fidelity-heatmap", "fidelity-spread", "stage-progress",
                       "response-rates", "status"]


def school_api(school_id: int, key: str) -> str:
    return f"/api/v1/dashboards/schools/{school_id}/{key}/"


def municipality_api(key: str) -> str:
    return f"/api/v1/dashboards/municipality/{key}/"


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    yield from build_scene(world)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def json_of(user: User | None, world: World, url: str) -> dict[str, Any]:
    response = get(user, world, url)
    assert response.status_code == 200, response.content[:300]
    body: dict[str, Any] = response.json()
    return body


def test_it_returns_the_fidelity_figure_with_the_aggregate_rows(
    trondheim_leader: User, scene: Scene
) -> None:
    body = json_of(trondheim_leader, scene.world, school_api(scene.ila.pk, "fidelity"))

    with tenant_context(scene.world.trondheim):
        stored = sorted((
            (r.round_id, r.module_number, float(r.percent) if r.percent is not None else None,
             r.points, r.max_points, r.meets_threshold)
            for r in FidelityAggregate.objects.filter(school=scene.ila)
        ), key=repr)
    returned = sorted((
        (r["round_id"], r["module_number"], r["percent"], r["points"], r["max_points"],
         r["meets_threshold"])
        for r in body["rows"]
    ), key=repr)
    assert returned == stored
    assert body["key"] == "fidelity" and body["empty"] is None
    overall = next(t for t in body["figure"]["data"] if t["name"] == "All modules")
    assert overall["y"] == [50.0, 83.3]
    assert [r["name"] for r in body["related"]["rounds"]] == ["Vår 2026", "Høst 2026"]
    assert body["computed_at"] and body["updating"] is False


def test_it_returns_the_same_figure_as_the_page(trondheim_leader: User, scene: Scene) -> None:
    page = get(trondheim_leader, scene.world, f"/dashboards/skoler/{scene.ila.pk}/")

    for key in ("fidelity", "stages", "time-monthly", "determinants"):
        body = json_of(trondheim_leader, scene.world, school_api(scene.ila.pk, key))
        assert body["figure"] == figure_of(page, key), key


def test_it_returns_stage_rows_and_the_steps(trondheim_leader: User, scene: Scene) -> None:
    body = json_of(trondheim_leader, scene.world, school_api(scene.ila.pk, "stages"))

    with tenant_context(scene.world.trondheim):
        stored = {(r.stage, r.days, r.steps_done, r.steps_total)
                  for r in StageAggregate.objects.filter(school=scene.ila)}
    assert {(r["stage"], r["days"], r["steps_done"], r["steps_total"])
            for r in body["rows"]} == stored
    assert ("exploration", 40, 1, 2) in stored
    assert [s["action"] for s in body["related"]["steps"]] == ["Opplæring 1", "Opplæring 2"]


def test_it_returns_time_use_against_the_plan(trondheim_leader: User, scene: Scene) -> None:
    body = json_of(trondheim_leader, scene.world, school_api(scene.ila.pk, "time-systematic"))

    with tenant_context(scene.world.trondheim):
        row = TimeUsePlanAggregate.objects.get(school=scene.ila, kind="systematic")
    assert body["rows"][0]["share_percent"] == float(row.share_percent or 0) == 57.1
    assert body["rows"][0]["intended_percent"] == row.intended_percent == 60


def test_it_chooses_the_determinants_round(trondheim_leader: User, scene: Scene) -> None:
    chosen = json_of(trondheim_leader, scene.world,
                     school_api(scene.ila.pk, "determinants") + f"?round={scene.høst.pk}")
    other = json_of(trondheim_leader, scene.world,
                    school_api(scene.ila.pk, "determinants") + f"?round={scene.vår.pk}")

    constructs = {r["code"]: r["mean"] for r in chosen["rows"]
                  if r["level"] == "construct" and r["mean"] is not None}
    assert constructs == {"I.A": 2.0, "I.B": -1.0, "III.B": -2.0}
    assert other["rows"] == chosen["rows"]  # Vår has no CFIR rating: the latest one is shown


def test_it_explains_empty_charts_in_json_too(lade_leader: User, scene: Scene) -> None:
    body = json_of(lade_leader, scene.world, school_api(scene.lade.pk, "component-status"))

    assert body["figure"] is None and body["rows"] == []
    assert "has not adopted any components yet" in body["empty"]


def test_it_returns_the_heatmap_of_the_chosen_round(
    trondheim_coordinator: User, scene: Scene
) -> None:
    body = json_of(trondheim_coordinator, scene.world,
                   municipality_api("fidelity-heatmap") + f"?round={scene.vår.pk}")

    with tenant_context(scene.world.trondheim):
        stored = sorted(((r.school_id, r.module_number, float(r.percent or 0))
                         for r in FidelityAggregate.objects.filter(round=scene.vår)), key=repr)
    assert sorted(((r["school_id"], r["module_number"], r["percent"])
                   for r in body["rows"]), key=repr) == stored
    assert {r["round_id"] for r in body["rows"]} == {scene.vår.pk}
    assert body["figure"]["data"][0]["z"][0][-1] == 50.0


def test_it_returns_the_spread_rows(trondheim_coordinator: User, scene: Scene) -> None:
    body = json_of(trondheim_coordinator, scene.world, municipality_api("fidelity-spread"))

    with tenant_context(scene.world.trondheim):
        stored = sorted((r.round_id, float(r.minimum), float(r.median), float(r.maximum))
                        for r in MunicipalitySpread.objects.filter(metric="fidelity",
                                                                   module__isnull=True))
    assert sorted((r["round_id"], r["minimum"], r["median"], r["maximum"])
                  for r in body["rows"]) == stored


def test_it_sums_the_response_rates_per_round_and_instrument(
    trondheim_coordinator: User, scene: Scene
) -> None:
    body = json_of(trondheim_coordinator, scene.world, municipality_api("response-rates"))

    with tenant_context(scene.world.trondheim):
        stored = {
            (r["round_id"], r["instrument"]): (r["n"], r["staff"])
            for r in ResponseRateAggregate.objects.values("round_id", "instrument").annotate(
                n=Sum("responses"), staff=Sum("staff_responses"))
        }
    assert {(r["round_id"], r["instrument"]): (r["responses"], r["staff_responses"])
            for r in body["rows"]} == stored
    assert stored[(scene.høst.pk, "aim")] == (1, 1)


def test_it_reports_the_status_of_the_recomputation(
    trondheim_coordinator: User, scene: Scene
) -> None:
    school = json_of(trondheim_coordinator, scene.world, school_api(scene.ila.pk, "status"))
    municipality = json_of(trondheim_coordinator, scene.world, municipality_api("status"))

    assert school == {"school_id": scene.ila.pk, "computed_at": school["computed_at"],
                      "updating": False}
    assert municipality["updating"] is False and municipality["pending_school_ids"] == []
    assert [s["name"] for s in municipality["schools"]] == ["Ila skole", "Lade skole"]


@pytest.mark.parametrize("key", SCHOOL_CHARTS)
@pytest.mark.parametrize(("persona", "status"), [
    ("trondheim_leader", 200), ("trondheim_staff", 200), ("trondheim_coordinator", 200),
    ("lade_leader", 404), ("volda_leader", 403), ("researcher", 403), ("outsider", 403),
])
def test_it_keeps_school_figures_within_the_school_scope(
    key: str, persona: str, status: int, scene: Scene, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = get(user, scene.world, school_api(scene.ila.pk, key))

    assert response.status_code == status
    if status != 200:
        assert "rows" not in response.json()


@pytest.mark.parametrize("key", MUNICIPALITY_CHARTS)
@pytest.mark.parametrize(("persona", "status"), [
    ("trondheim_coordinator", 200), ("trondheim_leader", 403), ("trondheim_staff", 403),
    ("volda_leader", 403), ("researcher", 403),
])
def test_it_keeps_the_comparison_for_coordinators(
    key: str, persona: str, status: int, scene: Scene, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = get(user, scene.world, municipality_api(key))

    assert response.status_code == status
    if status == 403:
        assert response.json()["detail"]


def test_it_refuses_an_anonymous_caller(scene: Scene) -> None:
    response = get(None, scene.world, school_api(scene.ila.pk, "fidelity"))

    assert response.status_code == 403


def test_it_documents_every_dashboard_endpoint(world: World, db: None) -> None:
    response = get(User.objects.get(email="trondheim_staff@example.no"), world, "/api/schema/",
                   headers={"accept": "application/json"})
    schema = (response.json() if response["Content-Type"].startswith("application/json")
              else yaml.safe_load(response.content))

    paths = schema["paths"]
    for key in SCHOOL_CHARTS:
        operation = paths[f"/api/v1/dashboards/schools/{{school_id}}/{key}/"]["get"]
        assert operation["tags"] == ["dashboards"] and operation["summary"]
    for key in MUNICIPALITY_CHARTS:
        assert f"/api/v1/dashboards/municipality/{key}/" in paths
    heatmap = paths["/api/v1/dashboards/municipality/fidelity-heatmap/"]["get"]
    assert [p["name"] for p in heatmap["parameters"]] == ["round"]
    components = schema["components"]["schemas"]
    row = components["FidelityRow"]["properties"]
    assert row["percent"] == {"type": "number", "format": "double", "nullable": True}
    chart = components["SchoolFidelityChart"]["properties"]
    assert chart["rows"]["items"]["$ref"] == "#/components/schemas/FidelityRow"
