"""A newcomer's rough edges in pages and menus (issue 10, item 10): the favicon, the API
link, the start page's cards per role, the site's own 404 page with DEBUG on, expected
403/404 logged without a traceback, charts without nested interactive controls, no
skipped heading levels, readable cancelled steps."""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import override_settings

from accounts.models import User
from tenants.models import Municipality

from .conftest import World, client_for, host_of

STATIC = Path(__file__).resolve().parent.parent / "sovei_platform" / "static"


@pytest.mark.parametrize("host", ["localhost", "trondheim.localhost"])
def test_it_serves_a_favicon_without_signing_in(world: World, db: None, host: str) -> None:
    response = client_for(None, host).get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # ICO header


def test_every_page_links_its_icon(trondheim_leader: User, trondheim: Municipality) -> None:
    page = client_for(trondheim_leader, host_of(trondheim)).get("/").text

    link = re.search(r'<link rel="icon" href="/static/([^"]+)"', page)
    assert link is not None
    assert finders.find(link.group(1)) is not None


def _menu(page: str) -> str:
    match = re.search(r'<nav class="mainnav".*?</nav>', page, re.S)
    assert match is not None
    return match.group(0)


def test_it_shows_the_api_link_to_those_who_manage_schools(
    trondheim_leader: User, trondheim_coordinator: User, trondheim: Municipality
) -> None:
    for user in (trondheim_leader, trondheim_coordinator):
        page = client_for(user, host_of(trondheim)).get("/").text

        assert 'href="/api/docs/"' in _menu(page)


def test_it_keeps_the_api_link_out_of_staff_menus(
    trondheim_staff: User, trondheim: Municipality
) -> None:
    page = client_for(trondheim_staff, host_of(trondheim)).get("/").text

    assert "/api/docs/" not in _menu(page)


def test_staff_start_page_offers_logging_time_at_their_school(
    trondheim_staff: User, trondheim: Municipality, world: World
) -> None:
    page = client_for(trondheim_staff, host_of(trondheim)).get("/").text

    assert f'href="/skoler/{world.ila_id}/tid/"' in page
    assert "Registrer tid" in page


def _task_cards(page: str) -> str:
    match = re.search(r'<ul class="cards">.*?</ul>', page, re.S)
    assert match is not None
    return match.group(0)


def test_staff_see_only_task_cards_they_can_do(
    trondheim_staff: User, trondheim: Municipality, world: World
) -> None:
    cards = _task_cards(
        client_for(trondheim_staff, host_of(trondheim)).get(f"/skoler/{world.ila_id}/").text
    )

    assert f"/skoler/{world.ila_id}/tid/" in cards
    assert f"/skoler/{world.ila_id}/runder/" in cards
    assert "Ta i bruk komponenter" not in cards  # adopting is the leaders' task
    assert "Registrer tilpasninger" not in cards


def test_leaders_still_see_every_task_card(
    trondheim_leader: User, trondheim: Municipality, world: World
) -> None:
    cards = _task_cards(
        client_for(trondheim_leader, host_of(trondheim)).get(f"/skoler/{world.ila_id}/").text
    )

    for section in ("komponenter", "tilpasninger", "plan", "runder", "tid"):
        assert f"/skoler/{world.ila_id}/{section}/" in cards


@override_settings(DEBUG=True)
def test_another_schools_page_is_the_sites_404_page_even_with_debug_on(
    trondheim_leader: User, trondheim: Municipality, world: World
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).get(
        f"/skoler/{world.lade_id}/"
    )

    assert response.status_code == 404
    assert "<h1>Ikke funnet</h1>" in response.text
    assert "Using the URLconf" not in response.text
    assert "technical_404" not in response.text
    assert '<html lang="nb">' in response.text


def test_an_expected_403_is_logged_at_info_without_a_traceback(
    trondheim_leader: User, volda: Municipality, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = client_for(trondheim_leader, host_of(volda)).get("/")

    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "the refusal is still logged"
    assert all(r.levelno == logging.INFO and not r.exc_info for r in records)


def test_an_expected_404_is_logged_at_info(
    trondheim_leader: User, trondheim: Municipality, world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = client_for(trondheim_leader, host_of(trondheim)).get(
            f"/skoler/{world.lade_id}/"
        )

    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records
    assert all(r.levelno == logging.INFO and not r.exc_info for r in records)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("dashboards/_chart.html", {"chart": {
            "dom_id": "c1", "data_id": "c1-data", "title": "T", "description": "D",
            "figure": {"data": [], "layout": {}}, "key": "k", "notes": [], "table": None}}),
        ("research/_chart.html", {"dom_id": "c1", "data_id": "c1-data", "title": "T",
                                  "description": "D", "figure": {"data": [], "layout": {}}}),
    ],
)
def test_a_chart_does_not_wrap_plotlys_controls_in_a_role(
    template: str, context: dict[str, object]
) -> None:
    """plotly draws its mode bar (buttons) inside the plot element; an element with a role
    such as img may not contain interactive controls (axe: nested-interactive)."""
    plots = [attrs for tag, attrs in _tags(render_to_string(template, context))
             if "plot" in (attrs.get("class") or "").split()]

    assert len(plots) == 1
    assert "role" not in plots[0]
    assert "aria-label" not in plots[0]  # a div without a role may not have a name


def _heading_levels(html: str) -> list[int]:
    main = html[html.index("<main"):]
    return [int(tag[1]) for tag, _attrs in _tags(main) if re.fullmatch(r"h[1-6]", tag)]


@pytest.mark.parametrize("path", ["", "troskap/", "utfall/", "faser/", "fremmere-og-hemmere/",
                                  "eksport/"])
def test_research_pages_skip_no_heading_level(researcher: User, path: str) -> None:
    page = client_for(researcher, "localhost").get(f"/forsker/{path}")
    assert page.status_code == 200
    levels = _heading_levels(page.text)

    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in pairwise(levels)), levels


def test_cancelled_steps_are_not_faded() -> None:
    """Opacity fades the text of a cancelled step below 4.5:1 (axe: color-contrast)."""
    css = (STATIC / "css" / "sovei.css").read_text()
    rules = re.findall(r"([^{}]*\.step-cancelled[^{}]*)\{([^}]*)\}", css)

    assert rules
    assert all("opacity" not in body for _selector, body in rules)


@override_settings(DEBUG=True)
def test_an_unknown_address_is_the_sites_404_page_even_with_debug_on(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    response = client_for(trondheim_leader, host_of(trondheim)).get("/finnes-ikke/")

    assert response.status_code == 404
    assert "<h1>Ikke funnet</h1>" in response.text
    assert "Using the URLconf" not in response.text


def test_plotlys_toolbar_speaks_the_pages_language(
    trondheim_leader: User, trondheim: Municipality, world: World
) -> None:
    page = client_for(trondheim_leader, host_of(trondheim)).get(
        f"/dashboards/skoler/{world.ila_id}/", HTTP_ACCEPT_LANGUAGE="nb").text

    block = re.search(
        r'<script type="application/json" id="chart-labels" data-locale="nb">(.*?)</script>',
        page, re.S)
    assert block is not None
    labels = json.loads(block.group(1))
    assert labels["Download plot as a PNG"] == "Last ned figuren som PNG"
    assert labels["Zoom in"] == "Zoom inn"


def test_charts_offer_no_button_that_sends_the_numbers_to_a_cloud() -> None:
    script = (STATIC / "js" / "charts.js").read_text()

    assert '"sendChartToCloud"' in script.split("modeBarButtonsToRemove", 1)[1].split("]", 1)[0]
    assert "showSendToCloud: false" in script
