"""A new school's leader runs the start-up module from the home page to the end (a
position, a first time entry, a round with a CFIR rating, a component, a first plan and
the survey links), pausing and resuming on the way; then fills in the fidelity
self-assessment of the new round and sees the school dashboard show it once the worker
has recomputed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ..worker_support import poll
from .conftest import Site, email
from .support import Journey, alerts, check_table_alternatives, journey, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ROUND = "Oppstart Nyhavna"


def submit(page: Any, form: Any) -> None:
    """Click the form's submit button and wait for the answer page."""
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()


def mark_done(j: Journey, step: int, *, check: bool = False) -> None:
    page = j.page
    assert re.search(rf"Steg {step} av 6", page.get_by_role("heading", level=1).inner_text())
    if check:
        j.check(f"start-up step {step}")
    with page.expect_navigation():
        page.get_by_role("button", name="Marker som fullført").click()
    assert "Dette kunne ikke gjøres" not in page.content(), (
        f"step {step} was refused: {alerts(page)}"
    )


def test_a_leader_runs_the_start_up_then_the_fidelity_self_assessment(
    site: Site, context: Any
) -> None:
    sid = site.new_school_id
    base = site.tenant_url
    with journey(context, "leader: start-up, round, fidelity, dashboard") as j:
        page = j.page
        sign_in(page, base, email("rektor.ny"), site.password)
        assert page.get_by_text("Ny skole? Start her").count() == 1
        j.check("home, new school", screenshot="startup-home")
        page.get_by_role("link", name="Oppstartsmodul for Nyhavna skole").click()
        page.wait_for_url(f"**/skoler/{sid}/oppstart/")
        j.check("start-up, not started")
        with page.expect_navigation():
            page.get_by_role("button", name="Start oppstarten").click()
        page.wait_for_url(f"**/skoler/{sid}/oppstart/profil/")
        j.check("start-up step 1", screenshot="startup-step")

        # 1. Profile: a social-work position.
        page.goto(f"{base}/skoler/{sid}/stillinger/ny/")
        form = page.locator("main form")
        form.locator("#id_profession").select_option("sosionom")
        form.locator("#id_position_percent").fill("80")
        j.check("position form")
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/oppstart/profil/")
        mark_done(j, 1)

        # 2. Time use now: a first entry. Then a pause, and on again.
        page.wait_for_url(f"**/skoler/{sid}/oppstart/tidsbruk/")
        with page.expect_navigation():
            page.get_by_role("button", name="Fortsett senere").click()
        page.goto(f"{base}/skoler/{sid}/oppstart/")
        j.check("start-up, paused", screenshot="startup-paused")
        with page.expect_navigation():
            page.get_by_role("button", name="Fortsett oppstarten").click()
        page.goto(f"{base}/skoler/{sid}/tid/")
        form = page.locator("main form").first
        form.locator("#id_minutes").fill("60")
        form.locator("#id_module").select_option(index=1)
        form.locator("input[name=mode][value=planlagt]").check()
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/oppstart/tidsbruk/")
        mark_done(j, 2, check=True)

        # 3. Readiness: open a round and rate the determinants (CFIR).
        page.wait_for_url(f"**/skoler/{sid}/oppstart/forutsetninger/")
        page.goto(f"{base}/runder/ny/")
        form = page.locator("main form")
        form.locator("#id_name").fill(ROUND)
        j.check("new round")
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/oppstart/forutsetninger/")
        page.get_by_role("link", name=re.compile(f"Vurder determinantene i «{ROUND}»")).click()
        page.wait_for_url(re.compile(rf".*/skoler/{sid}/runder/\d+/cfir/$"))
        round_path = re.sub(r"cfir/$", "", page.url)
        j.check("CFIR rating")
        form = page.locator("main form")
        groups = form.locator("fieldset.rating")
        for index in range(min(3, groups.count())):
            groups.nth(index).locator("input[type=radio]").nth(3).check()
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/oppstart/forutsetninger/")
        mark_done(j, 3, check=True)

        # 4. Components: adopt the first one offered.
        page.goto(f"{base}/skoler/{sid}/komponenter/")
        j.check("components")
        form = page.locator("main form[action$='/ta-i-bruk/']").first
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/oppstart/komponenter/")
        mark_done(j, 4, check=True)

        # 5. A first plan with a strategy step and a stage.
        page.goto(f"{base}/skoler/{sid}/plan/ny/")
        form = page.locator("main form")
        form.locator("#id_intended_systematic_percent").fill("60")
        j.check("new plan")
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/plan/tiltak/nytt/")
        form = page.locator("main form")
        for name in ("module", "stage", "eric_cluster"):
            form.locator(f"#id_{name}").select_option(index=1)
        form.locator("#id_action").fill("Felles kurs om elevsyn for lærerne")
        form.locator("#id_strategy_actor").fill("Rektor")
        form.locator("#id_target").fill("Lærerne")
        form.locator("#id_due_on").fill("2027-02-01")
        j.check("new strategy step")
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/plan/")
        form = page.locator("main form[action$='/plan/faser/']")
        page.locator("details:has(form[action$='/plan/faser/']) > summary").click()
        form.locator("#id_module").select_option(index=1)
        form.locator("#id_stage").select_option("exploration")
        form.locator("#id_entered_on").fill("2026-12-01")
        submit(page, form)
        j.check("plan", screenshot="recording-plan")
        page.goto(f"{base}/skoler/{sid}/oppstart/plan/")
        mark_done(j, 5, check=True)

        # 6. Invite staff: survey links for the round; the start-up is then complete.
        page.goto(f"{round_path}lenker/")
        j.check("survey links")
        form = page.locator("main form:has(button:text-is('Lag lenkene'))")
        submit(page, form)
        page.goto(f"{base}/skoler/{sid}/oppstart/runde/")
        mark_done(j, 6, check=True)
        page.goto(f"{base}/skoler/{sid}/oppstart/")
        assert page.get_by_text("Oppstarten er fullført.").count() == 1
        j.check("start-up finished", screenshot="startup-finished")

        # The fidelity self-assessment of the new round, then the dashboard.
        page.goto(f"{round_path}troskap/")
        form = page.locator("main form")
        rated = form.locator("fieldset.rating")
        assert rated.count() >= 1, "the adopted component is there to rate"
        for index in range(rated.count()):
            rated.nth(index).locator("input[type=radio][value='2']").check()
        j.check("fidelity self-assessment", screenshot="recording-fidelity")
        submit(page, form)
        assert "Dette kunne ikke" not in page.content(), alerts(page)

        def shows_round() -> bool:
            page.goto(f"{base}/dashboards/skoler/{sid}/")
            table = page.locator("#figure-fidelity details.chart-table")
            # every component rated 2 of 2: 100 % in the new round's row
            text = (table.text_content() or "") if table.count() == 1 else ""
            return ROUND in text and "100" in text

        try:
            poll(shows_round, timeout=60, interval=1.0)
        except AssertionError:
            figures = page.locator("#fidelity").inner_text()
            raise AssertionError(
                f"the dashboard does not show «{ROUND}» after 60 s: {figures[:1500]}\n"
                f"worker log:\n{site.worker.log()[-3000:]}"
            ) from None
        j.check("school dashboard after the worker")
        check_table_alternatives(j, at_least=3)
        j.assert_clean()
