"""A municipal coordinator compares the schools, chooses another round and drills down to
one school's dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Site, email
from .support import check_table_alternatives, journey, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_a_coordinator_compares_schools_and_drills_down(site: Site, context: Any) -> None:
    with journey(context, "coordinator: compare and drill down") as j:
        page = j.page
        sign_in(page, site.tenant_url, email("koordinator"), site.password)
        j.check("home")
        page.get_by_role("navigation", name="Hovedmeny").get_by_role(
            "link", name="Sammenligning av skoler"
        ).click()
        page.wait_for_url("**/dashboards/kommune/**")
        j.check("comparison", screenshot="coordinator-dashboard")
        check_table_alternatives(j, at_least=4)
        heatmap = page.locator("#figure-fidelity-heatmap details.chart-table tbody")
        for name in ("Ila skole", "Lade skole", "Byåsen skole"):
            assert heatmap.get_by_text(name).count() >= 1, f"{name} in the heatmap's table"

        chosen = page.locator("select[name=round] option:not(:checked)").first.get_attribute(
            "value"
        )
        with page.expect_navigation():  # the choice submits itself
            page.locator("select[name=round]").select_option(chosen)
        assert f"round={chosen}" in page.url, page.url
        j.check("comparison, earlier round")

        page.get_by_role("link", name="Status for omberegningene").first.click()
        page.wait_for_url("**/dashboards/status/")
        j.check("recompute status", screenshot="status")
        page.go_back()
        page.wait_for_url("**/dashboards/kommune/**")

        page.locator("main").get_by_role("link", name="Lade skole").first.click()
        page.wait_for_url(f"**/dashboards/skoler/{site.schools['Lade skole']}/")
        assert "Lade skole" in page.get_by_role("heading", level=1).inner_text()
        j.check("drill-down: school dashboard")
        check_table_alternatives(j, at_least=5)
        j.assert_clean()
