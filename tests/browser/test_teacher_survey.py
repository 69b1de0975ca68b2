"""A teacher answers the staff survey through a one-time link on a 390 px phone, with the
keyboard alone, and the link then refuses a second answer."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from implementation.models import Response, SurveyLink
from implementation.services.rounds import token_hash

from .conftest import Site
from .support import journey, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_a_teacher_answers_on_a_phone_and_the_link_refuses_a_second_answer(
    site: Site, context: Any
) -> None:
    link = f"{site.tenant_url}/s/{site.survey_token}/"
    with journey(context, "teacher: one-time link", viewport=(390, 844)) as j:
        page = j.page
        first = page.goto(link)
        assert first is not None and first.status == 200
        j.check("survey", screenshot="survey-phone", shot_width=390)
        groups = page.locator("main fieldset.rating")
        count = groups.count()
        assert count >= 4, f"statements to answer: {count}"

        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("body").focus()
        for index in range(count):
            fieldset_id = groups.nth(index).get_attribute("id")
            tab_to(page, f'[id="{fieldset_id}"] input[type=radio]')
            page.keyboard.press("Space")  # the first option …
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")  # … then two to the right: the middle one
        tab_to(page, "main form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", level=1).inner_text() == "Takk for svarene dine!"
        j.check("thank you", screenshot="survey-thanks", shot_width=390)

        with tenant_context(site.municipality):
            stored = SurveyLink.objects.get(token_hash=token_hash(site.survey_token))
            assert stored.used_at is not None
            answers = Response.objects.filter(survey_link=stored)
            assert answers.count() >= 1

        again = page.goto(link)
        assert again is not None and again.status == 410
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading == "Denne lenken er allerede brukt", heading
        j.check("link used")
        with tenant_context(site.municipality):
            assert Response.objects.filter(survey_link=stored).count() == answers.count()
        j.assert_clean()
