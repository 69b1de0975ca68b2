"""Social-work staff log their time with the keyboard alone and see it against the plan
on the school dashboard once the worker has recomputed it."""

from __future__ import annotations

from typing import Any

import pytest

from ..worker_support import poll
from .conftest import Site, email
from .support import alerts, check_table_alternatives, journey, sign_in, tab_to, table_cell

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

MODULE = "1. Organisatorisk utviklingsarbeid"


def minutes(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


def test_staff_log_time_with_the_keyboard_and_see_it_against_the_plan(
    site: Site, context: Any
) -> None:
    school = site.pilot_school_id
    with journey(context, "staff: time against the plan") as j:
        page = j.page
        sign_in(page, site.tenant_url, email("ansatt"), site.password)
        j.check("home")
        page.goto(f"{site.tenant_url}/dashboards/skoler/{school}/")
        before = minutes(table_cell(page, "figure-time-plan", MODULE, 0))
        assert before > 0, "the demo history logged time for module 1"

        page.goto(f"{site.tenant_url}/")
        page.get_by_role("link", name="Registrer tid – Ila skole").click()
        page.wait_for_url(f"**/skoler/{school}/tid/")
        j.check("time log", screenshot="recording-time")

        # Keyboard only from here: Tab into the form, type, arrows and Space, Enter.
        page.locator("body").focus()
        tab_to(page, "#id_performed_on")
        assert page.locator("#id_performed_on").input_value(), "the date defaults to today"
        tab_to(page, "#id_minutes")
        page.keyboard.type("45")
        tab_to(page, "#id_module")
        page.keyboard.type("1")  # a closed <select> picks the option starting with "1"
        tab_to(page, "input[name=mode]")
        page.keyboard.press("Space")  # the first type of work: akutt
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")  # → planlagt
        tab_to(page, "#id_note")
        page.keyboard.type("Klassemøte 6B om trivsel")
        tab_to(page, "main form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")

        row = page.locator("table tbody tr", has_text="Klassemøte 6B om trivsel")
        assert row.count() == 1, f"the new entry is listed; the page says: {alerts(page)}"
        assert "45" in row.inner_text() and "planlagt" in row.inner_text()
        j.check("time log after saving")

        def updated() -> bool:
            page.goto(f"{site.tenant_url}/dashboards/skoler/{school}/")
            return minutes(table_cell(page, "figure-time-plan", MODULE, 0)) == before + 45

        poll(updated, timeout=60, interval=1.0)
        planned = table_cell(page, "figure-time-plan", MODULE, 2)
        assert planned.endswith("%"), f"the plan's share is shown next to it: {planned!r}"
        j.check("school dashboard", screenshot="school-dashboard")
        check_table_alternatives(j, at_least=5)
        j.assert_clean()
