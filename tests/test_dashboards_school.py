"""The school dashboard (/dashboards/skoler/<id>/): who sees it, that its figures carry the
aggregates' numbers, its explained empty states, "last updated" and "updating…"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from accounts.models import User
from dashboards.aggregation import pending_mark, recompute_pending_school
from dashboards.models import AggregateStatus, FidelityAggregate, OutcomeAggregate
from implementation.models import School

from .conftest import World
from .test_dashboards_support import (
    Scene,
    assert_safe_scripts,
    build_scene,
    figure_of,
    get,
    trace_named,
)

SCHOOL_CHARTS = ["fidelity", "component-status", "stages", "outcomes", "determinants",
                 "time-plan", "time-systematic", "time-monthly"]


def url(school_id: int) -> str:
    return f"/dashboards/skoler/{school_id}/"


@pytest.fixture
def scene(world: World, db: None) -> Iterator[Scene]:
    yield from build_scene(world)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("persona", ["trondheim_leader", "trondheim_staff",
                                     "trondheim_coordinator"])
def test_it_shows_every_chart_to_the_school_and_the_coordinator(
    persona: str, scene: Scene, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    response = get(user, scene.world, url(scene.ila.pk))

    assert response.status_code == 200
    for key in SCHOOL_CHARTS:
        figure = figure_of(response, key)
        assert figure["data"], key
    assert 'class="empty-state"' not in response.text


def test_it_plots_the_numbers_of_the_aggregates(trondheim_leader: User, scene: Scene) -> None:
    response = get(trondheim_leader, scene.world, url(scene.ila.pk))

    fidelity = figure_of(response, "fidelity")
    overall = trace_named(fidelity, "All modules")
    with tenant_context(scene.world.trondheim):
        stored = {
            row.round_id: float(row.percent)
            for row in FidelityAggregate.objects.filter(school=scene.ila, module__isnull=True)
            if row.percent is not None
        }
        aim = OutcomeAggregate.objects.get(school=scene.ila, round=scene.vår, instrument="aim")
        open_aim = OutcomeAggregate.objects.get(school=scene.ila, round=scene.høst,
                                                instrument="aim")
    assert overall["x"] == ["Vår 2026", "Høst 2026"]
    assert overall["y"] == [stored[scene.vår.pk], stored[scene.høst.pk]] == [50.0, 83.3]
    assert trace_named(fidelity, "Threshold (70 %)")["y"] == [70.0, 70.0]
    outcomes = figure_of(response, "outcomes")
    # Vår: five link answers, released when it closed (mean of 4, 4, 5, 3, 4 = 4.0). Høst
    # is open: the staff member's one answer is counted, not shown.
    assert (aim.n, aim.mean) == (5, 4)
    assert (open_aim.n, open_aim.n_withheld, open_aim.mean) == (0, 1, None)
    assert trace_named(outcomes, "Acceptability (AIM)")["y"] == [4.0, None]
    assert "n = 5" in trace_named(outcomes, "Acceptability (AIM)")["customdata"][0]
    assert "not shown" in trace_named(outcomes, "Acceptability (AIM)")["customdata"][1]
    determinants = figure_of(response, "determinants")["data"][0]
    assert determinants["x"][1:3] == [2.0, -1.0]  # I.A facilitator, I.B barrier
    systematic = trace_named(figure_of(response, "time-systematic"), "Planned and system level")
    assert systematic["x"] == [57.1, 60.0]  # 120 of 210 minutes planned; the plan says 60


def test_it_formats_the_figures_for_the_norwegian_reader(
    trondheim_leader: User, scene: Scene
) -> None:
    response = get(trondheim_leader, scene.world, url(scene.ila.pk), language="nb")

    fidelity = figure_of(response, "fidelity")
    overall = next(t for t in fidelity["data"] if t.get("line", {}).get("width") == 4)
    assert fidelity["layout"]["separators"] == ",\xa0"
    assert overall["y"] == [50.0, 83.3]  # the numbers stay numbers
    assert overall["customdata"][1].startswith("83,3 %")  # the text uses a decimal comma
    assert '<html lang="nb">' in response.text


def test_it_serves_plotly_from_our_own_static_files_without_inline_scripts(
    trondheim_leader: User, scene: Scene
) -> None:
    response = get(trondheim_leader, scene.world, url(scene.ila.pk))

    html = response.text
    assert '<script src="/static/plotly/plotly.min.js" defer></script>' in html
    assert '<script src="/static/js/charts.js" defer></script>' in html
    assert_safe_scripts(html)
    directives = dict(d.strip().split(" ", 1) for d in
                      response.headers["Content-Security-Policy"].split(";"))
    assert directives["script-src"] == "'self'"


def test_it_shows_the_explained_empty_states_of_a_school_without_records(
    lade_leader: User, scene: Scene
) -> None:
    response = get(lade_leader, scene.world, url(scene.lade.pk))

    assert response.status_code == 200
    html = response.text
    assert "No fidelity self-assessment has been submitted yet" in html  # in two rounds
    assert "The school has not adopted any components yet" in html
    assert "No implementation stages or strategy steps are recorded yet" in html
    assert "No complete staff survey answers" in html
    assert "has not rated the determinants (CFIR) in any round yet" in html
    assert "No activities have been logged yet" in html
    assert sorted(re.findall(r'data-empty="([\w-]+)"', html)) == sorted(SCHOOL_CHARTS)
    assert "data-figure=" not in html  # no chart drawn from nothing
    # a module without steps is named, not shown as zero progress
    assert "1. Organisational development work: no strategy steps are planned yet." in html


def test_it_names_the_round_without_answers_and_the_module_without_steps(
    trondheim_leader: User, scene: Scene, world: World
) -> None:
    with tenant_context(world.trondheim):
        from .recording import open_round

        open_round([scene.ila], name="Vår 2027", codes=("fidelity",))

    response = get(trondheim_leader, world, url(scene.ila.pk))

    overall = trace_named(figure_of(response, "fidelity"), "All modules")
    assert overall["y"] == [50.0, 83.3, None]  # a gap, not a zero
    assert "Vår 2027: no fidelity self-assessment was submitted." in response.text
    assert "2. Guidance work: no strategy steps are planned yet." in response.text


def test_it_shows_when_the_figures_were_last_updated_in_oslo_time(
    trondheim_leader: User, scene: Scene
) -> None:
    with tenant_context(scene.world.trondheim):
        AggregateStatus.objects.filter(school=scene.ila).update(
            computed_at=datetime(2026, 1, 15, 12, 5, tzinfo=UTC))

    response = get(trondheim_leader, scene.world, url(scene.ila.pk))

    assert "Last updated" in response.text
    # 12:05 UTC is 13:05 in Oslo; English dates the British way, not "Jan. 15, 2026, 1:05 p.m."
    assert "15 January 2026, 13:05" in response.text
    assert 'datetime="2026-01-15T13:05:00+01:00"' in response.text


def test_it_says_updating_while_a_recomputation_is_pending(
    trondheim_leader: User, scene: Scene
) -> None:
    with tenant_context(scene.world.trondheim):
        pending_mark(scene.ila.pk)

    during = get(trondheim_leader, scene.world, url(scene.ila.pk))
    with tenant_context(scene.world.trondheim):
        recompute_pending_school(scene.ila.pk)
    after = get(trondheim_leader, scene.world, url(scene.ila.pk))

    assert 'class="updating"' in during.text
    assert f'data-status-url="/api/v1/dashboards/schools/{scene.ila.pk}/status/"' in during.text
    assert 'class="updating"' not in after.text


def test_it_says_the_figures_are_not_computed_yet(trondheim_leader: User, world: World,
                                                   ila: School) -> None:
    response = get(trondheim_leader, world, url(ila.pk))

    assert "The figures have not been computed yet." in response.text


def test_it_hides_the_dashboard_from_another_schools_leader(
    lade_leader: User, scene: Scene
) -> None:
    assert get(lade_leader, scene.world, url(scene.ila.pk)).status_code == 404


@pytest.mark.parametrize("persona", ["volda_leader", "researcher", "outsider"])
def test_it_refuses_people_without_a_role_in_the_municipality(
    persona: str, scene: Scene, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)

    assert get(user, scene.world, url(scene.ila.pk)).status_code == 403


def test_it_sends_an_anonymous_visitor_to_the_login(scene: Scene) -> None:
    response = get(None, scene.world, url(scene.ila.pk))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_answers_404_for_a_school_unknown_to_the_municipality(
    trondheim_coordinator: User, world: World, db: None
) -> None:
    response = get(trondheim_coordinator, world, url(987654))

    assert response.status_code == 404


def test_it_is_linked_from_the_overview_and_the_school_menu(
    trondheim_leader: User, scene: Scene
) -> None:
    overview = get(trondheim_leader, scene.world, "/")
    school = get(trondheim_leader, scene.world, f"/skoler/{scene.ila.pk}/")

    assert f'href="/dashboards/skoler/{scene.ila.pk}/"' in overview.text
    assert f'href="/dashboards/skoler/{scene.lade.pk}/"' not in overview.text
    assert f'href="/dashboards/skoler/{scene.ila.pk}/"' in school.text


def test_it_never_serves_a_cached_figure_older_than_the_records(
    trondheim_leader: User, scene: Scene
) -> None:
    before = get(trondheim_leader, scene.world, url(scene.ila.pk))
    with tenant_context(scene.world.trondheim):
        from implementation.models import ComponentAdoption
        from implementation.services import team_response_submit

        from .recording import adopt, instrument

        adopt(scene.ila, "4.1")  # a write: the page must show it at once (live read)
        # The signal marks the school once per transaction; this test is one transaction
        # whose earlier writes were marked already, so mark it as a new request's would.
        pending_mark(scene.ila.pk)
        written = get(trondheim_leader, scene.world, url(scene.ila.pk))
        team_response_submit(
            assessment_round=scene.høst, school=scene.ila, instrument=instrument("fidelity"),
            answers={str(a.pk): 2 for a in ComponentAdoption.objects.filter(school=scene.ila)},
        )
        recompute_pending_school(scene.ila.pk)
    recomputed = get(trondheim_leader, scene.world, url(scene.ila.pk))

    def components(response: object) -> list[str]:
        return list(figure_of(response, "component-status")["data"][0]["y"])  # type: ignore[arg-type]

    assert len(components(before)) == 3 and len(components(written)) == 4
    assert trace_named(figure_of(before, "fidelity"), "All modules")["y"] == [50.0, 83.3]
    assert trace_named(figure_of(written, "fidelity"), "All modules")["y"] == [50.0, 83.3]
    assert trace_named(figure_of(recomputed, "fidelity"), "All modules")["y"] == [50.0, 100.0]
