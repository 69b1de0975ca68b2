"""The coordinator's dashboard (/dashboards/kommune/) and the status page
(/dashboards/status/): only coordinators, the numbers of the aggregates, round and module
choice, drill-down to the schools, empty states and the nightly run's progress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from accounts.models import User
from dashboards.aggregation import pending_mark, recompute_municipality, recompute_pending_school
from dashboards.models import FidelityAggregate, MunicipalitySpread
from implementation.services import school_create, team_response_submit
from worker.models import RecomputeRun, RunKind

from .conftest import World
from .recording import adopt, instrument, open_round
from .test_dashboards_support import (
    Scene,
    assert_safe_scripts,
    build_scene,
    figure_of,
    get,
    trace_named,
)

DASHBOARD = "/dashboards/kommune/"
STATUS = "/dashboards/status/"


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    yield from build_scene(world)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_it_compares_the_schools_for_the_coordinator(
    trondheim_coordinator: User, scene: Scene
) -> None:
    response = get(trondheim_coordinator, scene.world, DASHBOARD)

    assert response.status_code == 200
    heatmap = figure_of(response, "fidelity-heatmap")["data"][0]
    with tenant_context(scene.world.trondheim):
        ila = {row.module_number: float(row.percent) for row in FidelityAggregate.objects.filter(
            school=scene.ila, round=scene.høst) if row.percent is not None}
    assert heatmap["y"] == [f'<a href="/dashboards/skoler/{scene.ila.pk}/">Ila skole</a>',
                            f'<a href="/dashboards/skoler/{scene.lade.pk}/">Lade skole</a>']
    assert heatmap["z"][0][:3] == [ila[1], ila[2], ila[3]] == [100.0, 100.0, 50.0]
    assert heatmap["z"][0][-1] == ila[None] == 83.3
    assert set(heatmap["z"][1]) == {None}  # Lade answered nothing: grey, not 0
    assert "No fidelity self-assessment in this round from: Lade skole." in response.text
    for key in ("fidelity-spread", "stage-progress", "response-rates"):
        assert figure_of(response, key)["data"]
    assert_safe_scripts(response.text)


def test_it_drills_down_to_every_school_dashboard(
    trondheim_coordinator: User, scene: Scene
) -> None:
    response = get(trondheim_coordinator, scene.world, DASHBOARD)

    for school in (scene.ila, scene.lade):
        assert f'<a href="/dashboards/skoler/{school.pk}/">{school.name}</a>' in response.text
        assert get(trondheim_coordinator, scene.world,
                   f"/dashboards/skoler/{school.pk}/").status_code == 200


def test_it_shows_the_chosen_round(trondheim_coordinator: User, scene: Scene) -> None:
    response = get(trondheim_coordinator, scene.world, f"{DASHBOARD}?round={scene.vår.pk}")

    heatmap = figure_of(response, "fidelity-heatmap")
    assert heatmap["layout"]["title"]["text"].endswith("Vår 2026")
    assert heatmap["data"][0]["z"][0][-1] == 50.0
    assert f'<option value="{scene.vår.pk}" selected>Vår 2026</option>' in response.text


def test_it_explains_a_round_without_answers(
    trondheim_coordinator: User, scene: Scene, world: World
) -> None:
    with tenant_context(world.trondheim):
        empty = open_round([scene.ila, scene.lade], name="Vår 2027", codes=("fidelity",))

    response = get(trondheim_coordinator, world, f"{DASHBOARD}?round={empty.pk}")

    assert "No school has submitted a fidelity self-assessment in Vår 2027 yet." in response.text
    assert 'id="figure-fidelity-heatmap-data"' not in response.text
    assert f'<option value="{empty.pk}" selected>Vår 2027</option>' in response.text


def test_it_shows_the_spread_across_schools_from_the_spread_table(
    trondheim_coordinator: User, scene: Scene
) -> None:
    response = get(trondheim_coordinator, scene.world, DASHBOARD)

    spread = figure_of(response, "fidelity-spread")
    with tenant_context(scene.world.trondheim):
        stored = MunicipalitySpread.objects.get(metric="fidelity", round=scene.høst,
                                                module__isnull=True)
    median = trace_named(spread, "Median school")
    assert median["x"] == ["Vår 2026", "Høst 2026"]
    assert median["y"][1] == float(stored.median) == 83.3
    assert "Only one school rated in Vår 2026, Høst 2026: no spread to show there." in (
        response.text)


def test_it_shows_the_spread_of_one_module(trondheim_coordinator: User, scene: Scene) -> None:
    response = get(trondheim_coordinator, scene.world, f"{DASHBOARD}?module=3")

    spread = figure_of(response, "fidelity-spread")
    assert "3. Pupil-directed work" in spread["layout"]["title"]["text"]
    assert trace_named(spread, "Median school")["y"] == [0.0, 50.0]


def test_it_shows_stage_progress_and_response_rates(
    trondheim_coordinator: User, scene: Scene
) -> None:
    response = get(trondheim_coordinator, scene.world, DASHBOARD)

    stages = figure_of(response, "stage-progress")["data"][0]
    assert stages["z"][0][0] == 2  # Ila, module 1: installation
    assert stages["z"][1] == [None] * len(stages["z"][1])
    rates = figure_of(response, "response-rates")
    fidelity = trace_named(rates, "Schools with a fidelity self-assessment")
    assert fidelity["y"] == [50.0, 50.0]  # Ila of Ila and Lade, in both rounds


@pytest.mark.parametrize("persona", ["trondheim_leader", "trondheim_staff", "lade_leader",
                                     "volda_leader", "researcher", "outsider"])
@pytest.mark.parametrize("page", [DASHBOARD, STATUS])
def test_it_is_for_coordinators_only(
    persona: str, page: str, scene: Scene, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    assert get(user, scene.world, page).status_code == 403


def test_it_explains_an_empty_municipality(trondheim_coordinator: User, world: World,
                                           db: None) -> None:
    response = get(trondheim_coordinator, world, DASHBOARD)

    assert response.status_code == 200
    assert "No assessment round has been opened yet." in response.text
    assert "No school has recorded an implementation stage yet." in response.text
    assert "data-figure=" not in response.text  # no chart drawn from nothing


def test_it_says_updating_while_a_school_is_pending(
    trondheim_coordinator: User, scene: Scene
) -> None:
    with tenant_context(scene.world.trondheim):
        pending_mark(scene.lade.pk)

    response = get(trondheim_coordinator, scene.world, DASHBOARD)

    assert 'class="updating"' in response.text
    assert 'data-status-url="/api/v1/dashboards/municipality/status/"' in response.text
    assert "updating…" in response.text  # next to Lade in the list of schools


def test_it_shows_the_progress_of_the_nightly_recomputation(
    trondheim_coordinator: User, scene: Scene
) -> None:
    RecomputeRun.objects.create(kind=RunKind.NIGHTLY, municipalities=2, total=40, done=17,
                                failed=1)

    response = get(trondheim_coordinator, scene.world, STATUS)

    assert response.status_code == 200
    html = response.text
    assert '<progress max="40" value="17"' in html
    assert "17 / 40" in html and "45 %" in html  # (17 + 1 failed) of 40
    assert "Ila skole" in html and "Lade skole" in html
    assert "Bratteberg" not in html  # nothing of another municipality
    assert_safe_scripts(html)


def test_it_explains_that_no_nightly_run_has_happened(
    trondheim_coordinator: User, scene: Scene
) -> None:
    response = get(trondheim_coordinator, scene.world, STATUS)

    assert "No full recomputation has run yet." in response.text


def test_it_links_the_coordinator_from_the_overview(
    trondheim_coordinator: User, trondheim_leader: User, world: World, db: None
) -> None:
    coordinator = get(trondheim_coordinator, world, "/")
    leader = get(trondheim_leader, world, "/")

    assert f'href="{DASHBOARD}"' in coordinator.text and f'href="{STATUS}"' in coordinator.text
    assert f'href="{DASHBOARD}"' not in leader.text


def test_it_shows_new_answers_after_the_recomputation_not_a_cached_heatmap(
    trondheim_coordinator: User, scene: Scene
) -> None:
    before = get(trondheim_coordinator, scene.world, DASHBOARD)
    with tenant_context(scene.world.trondheim):
        from dashboards.aggregation import recompute_pending_school
        from implementation.services import team_response_submit

        from .recording import adopt, instrument

        adoption = adopt(scene.lade, "1.1")
        team_response_submit(assessment_round=scene.høst, school=scene.lade,
                             instrument=instrument("fidelity"),
                             answers={str(adoption.pk): 2})
        recompute_pending_school(scene.lade.pk)
    after = get(trondheim_coordinator, scene.world, DASHBOARD)

    assert figure_of(before, "fidelity-heatmap")["data"][0]["z"][1][-1] is None
    assert figure_of(after, "fidelity-heatmap")["data"][0]["z"][1][-1] == 100.0
    assert "No fidelity self-assessment in this round from: Lade skole." not in after.text


def test_it_opens_on_the_newest_round_most_schools_have_answered(
    trondheim_coordinator: User, scene: Scene
) -> None:
    """Issue 10, item 7: the dashboard opened on the newest round even when one school of
    many had answered it."""
    with tenant_context(scene.world.trondheim):
        vestlia = school_create(name="Vestlia skole", pupil_count=200)
        newest = open_round([scene.ila, scene.lade, vestlia], name="Vår 2027",
                            codes=("fidelity",))
        adoption = adopt(scene.lade, "1.1")
        team_response_submit(assessment_round=newest, school=scene.lade,
                             instrument=instrument("fidelity"),
                             answers={str(adoption.pk): 2})
        for school in (scene.lade, vestlia):
            recompute_pending_school(school.pk, with_municipality=False)
        recompute_municipality()

    opened = get(trondheim_coordinator, scene.world, DASHBOARD)
    chosen = get(trondheim_coordinator, scene.world, f"{DASHBOARD}?round={newest.pk}")

    # Høst 2026: one of its two schools; Vår 2027: one of three.
    assert opened.context["chosen_round"].id == scene.høst.pk
    assert f'<option value="{newest.pk}">Vår 2027</option>' in opened.text
    assert chosen.context["chosen_round"].id == newest.pk


def test_it_compares_the_schools_time_use_as_their_dashboards_show_it(
    trondheim_coordinator: User, scene: Scene
) -> None:
    page = get(trondheim_coordinator, scene.world, DASHBOARD)
    ila = get(trondheim_coordinator, scene.world,
              f"/api/v1/dashboards/schools/{scene.ila.pk}/time-systematic/").json()
    api = get(trondheim_coordinator, scene.world,
              "/api/v1/dashboards/municipality/time-use/")

    comparison = figure_of(page, "time-use")
    systematic = trace_named(comparison, "Planned and system level")
    intended = trace_named(comparison, "Intended in the plan")
    assert systematic["y"] == [f'<a href="/dashboards/skoler/{scene.ila.pk}/">Ila skole</a>']
    # 120 of 210 minutes planned or system-level: the school dashboard's own number.
    assert systematic["x"] == [57.1] == [float(r["share_percent"]) for r in ila["rows"]
                                         if r["kind"] == "systematic"]
    assert intended["x"] == [60]
    assert "No time logged: Lade skole." in page.text
    assert api.status_code == 200 and api.json()["rows"][0]["school_id"] == scene.ila.pk


def test_it_puts_the_comparison_in_the_coordinators_menu(
    trondheim_coordinator: User, trondheim_leader: User, scene: Scene
) -> None:
    coordinator = get(trondheim_coordinator, scene.world, "/runder/")
    leader = get(trondheim_leader, scene.world, "/runder/")

    def menu(html: str) -> str:
        return html.split('class="mainnav"')[1].split("</nav>")[0]

    assert f'href="{DASHBOARD}"' in menu(coordinator.text)
    assert f'href="{DASHBOARD}"' not in menu(leader.text)
