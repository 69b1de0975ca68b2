"""/api/v1/modules/ and /api/v1/instruments/: the catalog (read-only), so that an API
client can find the ids of modules and components and the codes of instrument items."""

from __future__ import annotations

import pytest

from .conftest import World
from .recording import component, instrument, module
from .test_api_support import Case, api, check, expect, matrix

CASES = [
    Case("modules", "get", lambda s: "/api/v1/modules/", expect=expect(200, 200, 200, 200)),
    Case("instruments", "get", lambda s: "/api/v1/instruments/", expect=expect(200, 200, 200, 200)),
    Case(
        "instrument",
        "get",
        lambda s: f"/api/v1/instruments/{instrument('cfir').pk}/",
        expect=expect(200, 200, 200, 200),
    ),
    Case(
        "modules-write",
        "post",
        lambda s: "/api/v1/modules/",
        lambda s: {"number": 9},
        expect(405, 405, 405, 405),
    ),
]


@pytest.mark.parametrize(("case", "persona"), matrix(CASES))
def test_it_gives_each_role_its_rights(world: World, db: None, case: Case, persona: str) -> None:
    check(case, persona, None, world)


def test_it_lists_modules_with_their_components(world: World, db: None) -> None:
    body = api("staff", world).get("/api/v1/modules/").json()

    modules = {m["number"]: m for m in body["results"]}
    assert sorted(modules) == [1, 2, 3, 4, 5]
    assert modules[2]["id"] == module(2).pk
    assert modules[2]["version"] == "1.0"
    assert [c["id"] for c in modules[2]["components"]] == [
        component("2.1").pk,
        component("2.2").pk,
    ]


def test_it_lists_instrument_items_with_their_domains(world: World, db: None) -> None:
    body = api("leader", world).get("/api/v1/instruments/?code=cfir").json()

    [cfir] = body["results"]
    assert cfir["respondent"] == "team"
    assert (cfir["scale_min"], cfir["scale_max"], cfir["missing_allowed"]) == (-2, 2, True)
    first = cfir["items"][0]
    assert first["code"] == "I.A"
    assert first["domain"] == "I"
    aim = api("leader", world).get("/api/v1/instruments/?code=aim").json()["results"][0]
    assert [i["domain"] for i in aim["items"]] == [None] * 4
