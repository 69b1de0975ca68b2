"""The start-up module under double clicks (issue 10 item 1, with issue 9 item 2's rule):
twenty requests at once start a school's start-up, mark its step or pause it once; the
others answer 400, nobody 500, and there is one audit entry per real change.

Uses the committed scratch municipality and the threads of tests/test_races.py."""

from __future__ import annotations

from implementation.models import SchoolStartup, StartupStepRecord
from implementation.services import school_create, staff_position_add, startup_start

from .test_races import (
    CREATE,
    THREADS,
    UPDATE,
    Town,
    at_once,
    audited,
    codes,
    committed,
    fresh,
    fresh_school,
    here,  # noqa: F401 - the fixture
    post_form,
    same,
    town,  # noqa: F401 - the fixture
)


def test_twenty_starts_at_once_start_it_once(here: Town) -> None:  # noqa: F811
    school = committed(here, fresh_school)

    responses = at_once(here, same(post_form(f"/skoler/{school.pk}/oppstart/start/", {})))

    assert codes(responses) == [302] + [400] * (THREADS - 1)
    startup = SchoolStartup.objects.get(school=school)
    assert audited(SchoolStartup, CREATE, startup.pk) == 1
    assert audited(SchoolStartup, UPDATE, startup.pk) == 0


def test_twenty_clicks_on_mark_as_done_record_the_step_once(here: Town) -> None:  # noqa: F811
    def ready() -> SchoolStartup:
        school = school_create(name=fresh("Skole"), pupil_count=120)
        staff_position_add(school=school, profession="sosionom", position_percent=50)
        return startup_start(school=school)

    startup = committed(here, ready)

    responses = at_once(here, same(post_form(
        f"/skoler/{startup.school_id}/oppstart/profil/ferdig/", {})))

    assert codes(responses) == [302] + [400] * (THREADS - 1)
    record = StartupStepRecord.objects.get(startup=startup)
    assert audited(StartupStepRecord, CREATE, record.pk) == 1
    assert audited(SchoolStartup, UPDATE, startup.pk) == 1  # on to the next step, once
    assert SchoolStartup.objects.get(pk=startup.pk).current_step == "baseline"


def test_twenty_pauses_at_once_pause_it_once(here: Town) -> None:  # noqa: F811
    startup = committed(here, lambda: startup_start(school=fresh_school()))

    responses = at_once(here, same(post_form(f"/skoler/{startup.school_id}/oppstart/pause/",
                                             {})))

    assert codes(responses) == [302] + [400] * (THREADS - 1)
    assert audited(SchoolStartup, UPDATE, startup.pk) == 1
    assert SchoolStartup.objects.get(pk=startup.pk).paused_at is not None
