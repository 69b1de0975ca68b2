"""The research store's publication (research.refresh): what it holds, pseudonyms that stay
the same, person-level data only as released groups, publication by semester, sharing, and
a swap that is all or nothing. The disclosure attacks themselves are played in
tests/test_disclosure_attacks.py."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import AssessmentRound
from implementation.services import activity_log
from implementation.services._common import today
from implementation.services.releases import survey_results_release
from research import refresh as refresh_module
from research.models import (
    CfirFact,
    FidelityFact,
    OutcomeCell,
    ResearchMunicipality,
    ResearchRefresh,
    ResearchRound,
    ResearchSchool,
    SharingChange,
    StageFact,
    TimeUseCell,
    TimeUseGroup,
)
from research.pseudonyms import (
    Semester,
    key_fingerprint,
    municipality_pseudonym,
    published_semester,
    school_pseudonym,
)
from research.refresh import publication_due, refresh_research_store
from research.services import research_sharing_set
from tenants.models import Municipality

from .recording import module
from .test_research_world import (
    ResearchWorld,
    log_time_at_lade,
    publish,
    research_world,
    respondents,
)

__all__ = ["research_world"]

PSEUDONYM = re.compile(r"^[KSR]-[0-9a-f]{12}$")
STORE_MODELS: tuple[Any, ...] = (
    ResearchSchool,
    ResearchRound,
    FidelityFact,
    StageFact,
    CfirFact,
    TimeUseCell,
    OutcomeCell,
)


def cell(w: ResearchWorld, instrument: str, level: str, **keys: str) -> OutcomeCell | None:
    return OutcomeCell.objects.filter(
        semester=keys.pop("semester", w.semester.code),
        model_version="1.0",
        instrument=instrument,
        level=level,
        county=keys.get("county", ""),
        size_band=keys.get("size_band", ""),
        municipality=keys.get("municipality", ""),
        school=keys.get("school", ""),
    ).first()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {
        model.__name__: sorted(
            (
                tuple(row)
                for row in model.objects.values_list(
                    *[f.name for f in model._meta.concrete_fields if f.name != "id"]
                )
            ),
            key=repr,
        )
        for model in STORE_MODELS
    }


TRONDHEIM = {"county": "50", "size_band": "1000-4999"}


# --- What the store holds ------------------------------------------------------------------


def test_it_names_municipalities_by_pseudonym_county_and_size_band(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    rows = set(ResearchMunicipality.objects.values_list("pseudonym", "county", "size_band"))

    assert rows == {
        (municipality_pseudonym("5001"), "50", "1000-4999"),  # 420 + 300 + 500 pupils
        (municipality_pseudonym("1577"), "15", "<1000"),  # 250 pupils
    }
    assert all(
        PSEUDONYM.match(p) for p in ResearchSchool.objects.values_list("pseudonym", flat=True)
    )
    assert w.school(w.ila) in set(ResearchSchool.objects.values_list("pseudonym", flat=True))


def test_it_keeps_rounds_as_semesters_and_stages_in_semesters_without_dates(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    semesters = set(ResearchRound.objects.values_list("semester", flat=True))

    assert semesters == {w.semester.code, w.earlier.code}
    for model in STORE_MODELS:
        for field in model._meta.concrete_fields:
            assert not isinstance(field, models.DateField), f"{model.__name__}.{field.name}"
        assert "days" not in {f.name for f in model._meta.fields}, model.__name__
    stage = StageFact.objects.get(school=w.school(w.zyxqvik), module_number=1, stage="installation")
    entered = Semester.of(today() - timedelta(days=120))
    assert stage.ongoing and stage.is_furthest and stage.exited_semester == ""
    assert stage.entered_semester == entered.code
    assert stage.semesters == w.semester.index - entered.index  # counted to the published one
    left = StageFact.objects.get(school=w.school(w.zyxqvik), module_number=1, stage="exploration")
    assert left.semesters == entered.index - Semester.of(today() - timedelta(days=200)).index


def test_it_carries_fidelity_per_module_and_overall_with_the_share_rated(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    facts = FidelityFact.objects.filter(school=w.school(w.ila))
    ila = {(f.semester, f.module_number): f for f in facts}

    # Earlier: 1.1 = 1, 2.1 = 0, 3.1 = 1 → 2 of 6 = 33.3 %. Now: 7 of 12 = 58.3 %.
    assert ila[(w.earlier.code, None)].percent == Decimal("33.3")
    now = ila[(w.semester.code, None)]
    assert (now.percent, now.rated_share_percent, now.measured) == (
        Decimal("58.3"), Decimal("100.0"), True)
    assert ila[(w.semester.code, 2)].percent == Decimal("75.0")


def test_it_carries_determinants_and_no_time_use_of_a_single_staff_member(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    cfir = dict(
        CfirFact.objects.filter(
            school=w.school(w.lade), level="construct", mean__isnull=False
        ).values_list("code", "mean")
    )

    assert cfir == {"I.A": Decimal("-1.00"), "II.A": Decimal("-2.00")}
    # Zyxqvik's time is one person's (Gunnhild's): no group, no cell, at no level.
    assert not TimeUseCell.objects.exists()
    assert not TimeUseGroup.objects.exists()
    assert "minutes" not in {f.name for f in TimeUseCell._meta.fields}


def test_it_publishes_time_use_of_at_least_k_staff_and_never_changes_a_group(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    log_time_at_lade(w)
    publish()
    lade = TimeUseCell.objects.filter(level="school", school=w.school(w.lade))
    assert {(c.mode, c.share_percent, c.staff) for c in lade} == {
        ("akutt", Decimal("40.0"), 5), ("planlagt", Decimal("60.0"), 5)}
    # Zyxqvik (1 staff) is not pooled: the rest of Trondheim is Zyxqvik alone.
    assert not TimeUseCell.objects.filter(school=w.school(w.zyxqvik)).exists()

    with tenant_context(w.trondheim):
        activity_log(school=w.lade, staff=User.objects.get(email="lade-staff-0@example.no"),
                     performed_on=today(), minutes=600, module=module(1), mode="akutt")
    publish()

    lade = TimeUseCell.objects.filter(level="school", school=w.school(w.lade))
    assert {(c.mode, c.share_percent) for c in lade} == {
        ("akutt", Decimal("40.0")), ("planlagt", Decimal("60.0"))}  # formed once: unchanged


def test_it_publishes_survey_results_only_as_released_groups(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    trondheim = {**TRONDHEIM, "municipality": municipality_pseudonym("5001")}

    ila = cell(w, "aim", "school", **trondheim, school=w.school(w.ila))
    lade = cell(w, "aim", "school", **trondheim, school=w.school(w.lade))
    zyxqvik = cell(w, "aim", "school", **trondheim, school=w.school(w.zyxqvik))
    municipality = cell(w, "aim", "municipality", **trondheim)

    assert ila is None  # 3 < 5, and no other school to pool them with
    assert lade is not None and (lade.n, lade.groups) == (6, 1)
    assert zyxqvik is not None and zyxqvik.n == 7
    assert municipality is not None and (municipality.n, municipality.groups) == (13, 2)
    assert all(c.n >= 5 for c in OutcomeCell.objects.all())


def test_it_has_no_cell_for_a_county_whose_answers_were_never_released(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    assert cell(w, "sus", "county", county="15") is None  # Bratteberg's 2 SUS respondents
    assert cell(w, "sus", "size_band", size_band="<1000") is None
    trondheim = cell(w, "sus", "county", county="50")
    overall = cell(w, "sus", "overall")
    assert trondheim is not None and overall is not None
    assert trondheim.n == overall.n == 18  # the overall total is Trondheim's: nothing hidden


def test_it_counts_only_closed_rounds_for_the_staff_surveys(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    bratteberg = cell(
        w, "aim", "school", county="15", size_band="<1000",
        municipality=municipality_pseudonym("1577"), school=w.school(w.bratteberg),
    )

    assert bratteberg is not None and bratteberg.n == 6  # not 6 + the open round's 9


def test_it_keeps_an_earlier_semester(research_world: ResearchWorld) -> None:
    w = research_world

    lade_earlier = cell(
        w, "aim", "school", semester=w.earlier.code, **TRONDHEIM,
        municipality=municipality_pseudonym("5001"), school=w.school(w.lade),
    )

    assert lade_earlier is not None and lade_earlier.n == 5
    # Answers 3/4/5 cycling: (3+4+4+3)/4, (4+4+4+4)/4, (5+4+4+3)/4, 3.5, 4.0 → 3.8
    assert lade_earlier.mean == Decimal("3.80")


# --- Publication ---------------------------------------------------------------------------


def test_it_publishes_a_semester_a_month_after_it_ended() -> None:
    assert published_semester(date(2026, 7, 30), 30).code == "2025H"
    assert published_semester(date(2026, 7, 31), 30).code == "2026V"
    assert published_semester(date(2027, 1, 31), 30).code == "2026H"
    assert published_semester(date(2026, 12, 4), 30).code == "2026V"


def test_it_leaves_out_the_semester_that_is_not_published_yet(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    result = refresh_research_store(through=w.semester.previous())

    assert result is not None and result.through == w.semester.previous().code
    assert set(ResearchRound.objects.values_list("semester", flat=True)) == {w.earlier.code}
    assert not OutcomeCell.objects.filter(semester=w.semester.code).exists()
    assert not StageFact.objects.exclude(entered_semester="").filter(
        entered_semester=w.semester.code).exists()


def test_the_nightly_task_publishes_only_when_a_new_semester_is_due(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    on_schedule = refresh_research_store(through=w.semester.previous())  # as of today
    assert on_schedule is not None
    latest = ResearchRefresh.objects.latest()

    nothing = refresh_research_store(only_if_due=True)
    assert nothing is None and ResearchRefresh.objects.latest() == latest

    still = w.semester.last_day + timedelta(days=30)
    assert not publication_due(today=still)
    later = w.semester.last_day + timedelta(days=31)
    assert publication_due(today=later)
    published = refresh_research_store(only_if_due=True, today=later)
    assert published is not None and published.through == w.semester.code
    assert not publication_due(today=later)


# --- Pseudonyms ----------------------------------------------------------------------------


def test_it_keeps_the_pseudonyms_and_facts_the_same_across_publications(
    research_world: ResearchWorld,
) -> None:
    before = snapshot()
    first = ResearchRefresh.objects.latest()

    again = publish()

    assert again.refresh_id != first.pk
    assert snapshot() == before


def test_it_changes_every_pseudonym_when_the_key_is_rotated(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    before = set(ResearchSchool.objects.values_list("pseudonym", flat=True))
    new_key = b"a-new-research-key-of-at-least-32-bytes!"

    publish(key=new_key)

    after = set(ResearchSchool.objects.values_list("pseudonym", flat=True))
    assert len(after) == len(before) and not after & before
    assert school_pseudonym("5001", w.ila.pk, key=new_key) in after
    assert ResearchRefresh.objects.latest().key_fingerprint == key_fingerprint(key=new_key)
    assert key_fingerprint(key=new_key) != key_fingerprint()
    assert publication_due() is True  # the nightly task notices a key it did not publish with


# --- Sharing -------------------------------------------------------------------------------


def test_it_removes_a_municipality_that_stops_sharing_at_once(
    research_world: ResearchWorld, volda_leader: User
) -> None:
    w = research_world
    volda = municipality_pseudonym("1577")
    overall_before = cell(w, "aim", "overall")
    assert ResearchSchool.objects.filter(municipality=volda).exists()

    research_sharing_set(municipality=Municipality.objects.get(pk=w.volda.pk), shares=False,
                         actor=volda_leader)

    for model in STORE_MODELS:
        assert not model.objects.filter(municipality=volda).exists(), model.__name__
    assert not ResearchMunicipality.objects.filter(pseudonym=volda).exists()
    # Totals above it stay as published until the next publication (a deletion only).
    assert cell(w, "aim", "overall") == overall_before
    change = SharingChange.objects.get(municipality=w.volda)
    assert (change.shares, change.changed_by) == (False, volda_leader)

    result = publish()

    assert result.excluded == 1
    assert not OutcomeCell.objects.filter(county="15").exists()
    overall = cell(w, "aim", "overall")
    assert overall is not None and overall.n == 13  # Trondheim only


def test_it_brings_a_municipality_back_at_the_next_publication(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    volda_now = Municipality.objects.get(pk=w.volda.pk)
    research_sharing_set(municipality=volda_now, shares=False, actor=None)

    research_sharing_set(municipality=volda_now, shares=True, actor=None)
    volda = municipality_pseudonym("1577")
    assert not ResearchSchool.objects.filter(municipality=volda).exists()
    publish()

    assert ResearchSchool.objects.filter(municipality=volda).count() == 1
    assert Municipality.objects.get(pk=w.volda.pk).shares_research_data


def test_it_leaves_out_a_municipality_whose_schema_is_missing(
    research_world: ResearchWorld,
) -> None:
    Municipality.objects.create(
        name="Atlantis",
        kommunenummer="5099",
        slug="atlantis",
        county="50",
        schema_name="atlantis",
    )

    result = publish()

    assert (result.municipalities, result.excluded) == (2, 1)


# --- All or nothing, set-based -------------------------------------------------------------


def test_it_keeps_the_previous_store_when_a_publication_fails(
    research_world: ResearchWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot()
    latest = ResearchRefresh.objects.latest()

    monkeypatch.setattr(refresh_module, "TIME_USE_CELLS_SQL", "SELECT 1 / 0")
    with pytest.raises(Exception, match="division by zero"):
        publish()

    assert snapshot() == before
    assert ResearchRefresh.objects.latest() == latest


def test_it_runs_a_fixed_number_of_statements_whatever_the_number_of_rows(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    with CaptureQueriesContext(connection) as small:
        publish()
    with tenant_context(w.trondheim):
        closed = AssessmentRound.objects.get(name__startswith="Qwzx")
        respondents(closed, w.zyxqvik, {"aim": 20, "sus": 20})
        survey_results_release()  # a new group of 20 (what the nightly run does)
    with CaptureQueriesContext(connection) as large:
        publish()

    overall = cell(w, "aim", "overall")
    assert overall is not None and overall.n == 39  # 13 + 6 (Volda) + 20: the new group is in
    assert len(large.captured_queries) == len(small.captured_queries)
    statements = [q["sql"] for q in large.captured_queries]
    assert sum("UNION ALL" in s and "dashboards_fidelityaggregate" in s for s in statements) == 1


# --- The worker's entry points -------------------------------------------------------------


def test_it_publishes_from_the_celery_task_and_the_command(
    research_world: ResearchWorld,
) -> None:
    from django.core.management import call_command

    from research.tasks import refresh_research_store as task

    result = task.apply().get()
    output = io.StringIO()
    call_command("research_refresh", stdout=output)

    assert result == {"published": False}  # this semester is out already: nothing is due
    latest = ResearchRefresh.objects.latest()
    assert f"Publication {latest.pk} through {latest.through_semester}: 2 municipalities" in (
        output.getvalue()
    )
    earlier = research_world.earlier.code
    call_command("research_refresh", "--through", earlier, stdout=output)
    assert ResearchRefresh.objects.latest().through_semester == earlier
    with pytest.raises(CommandError, match="not a semester"):
        call_command("research_refresh", "--through", "873X")


def test_it_leaves_out_a_round_dated_before_2000(research_world: ResearchWorld) -> None:
    """Issue 9, item 3: rounds moved to the years 873–1620 before dates were checked put a
    semester "873V" in the exports."""
    w = research_world
    with tenant_context(w.trondheim):
        AssessmentRound.objects.filter(name="Vrimle-runde 1").update(
            opens_on=date(873, 3, 1), closes_on=date(873, 4, 1))

    publish()

    semesters = set(ResearchRound.objects.values_list("semester", flat=True))
    assert semesters and not any(code.startswith("873") for code in semesters)
    assert not OutcomeCell.objects.filter(semester__startswith="873").exists()
    assert not FidelityFact.objects.filter(semester__startswith="873").exists()
