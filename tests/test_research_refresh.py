"""The research store's refresh (research.refresh): what it holds, pseudonyms that stay the
same, disclosure control on the individual-respondent measures, sharing, and a swap that
is all or nothing."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import AssessmentRound
from research import refresh as refresh_module
from research.disclosure import GroupCell, Relation, group_relations, recoverable
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
    TimeUseFact,
)
from research.pseudonyms import key_fingerprint, municipality_pseudonym, school_pseudonym
from research.refresh import refresh_research_store
from research.services import research_sharing_set
from tenants.models import Municipality

from .test_research_world import ResearchWorld, research_world, respondents

__all__ = ["research_world"]

PSEUDONYM = re.compile(r"^[KSR]-[0-9a-f]{12}$")
STORE_MODELS: tuple[Any, ...] = (
    ResearchSchool,
    ResearchRound,
    FidelityFact,
    StageFact,
    CfirFact,
    TimeUseFact,
    OutcomeCell,
)


def cell(w: ResearchWorld, instrument: str, level: str, **keys: str) -> OutcomeCell:
    return OutcomeCell.objects.get(
        semester=keys.pop("semester", w.semester.code),
        model_version="1.0",
        instrument=instrument,
        level=level,
        county=keys.get("county", ""),
        size_band=keys.get("size_band", ""),
        municipality=keys.get("municipality", ""),
        school=keys.get("school", ""),
    )


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


def test_it_keeps_rounds_as_semesters_and_facts_without_dates(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    semesters = set(ResearchRound.objects.values_list("semester", flat=True))

    assert semesters == {w.semester.code, w.earlier.code}
    for model in STORE_MODELS:
        for field in model._meta.concrete_fields:
            assert not isinstance(field, models.DateField), f"{model.__name__}.{field.name}"
    stage = StageFact.objects.get(school=w.school(w.zyxqvik), module_number=1, stage="installation")
    assert stage.ongoing and stage.is_furthest and stage.exited_semester == ""
    assert re.fullmatch(r"\d{4}[VH]", stage.entered_semester)
    assert stage.days == 120


def test_it_carries_fidelity_per_module_and_overall_for_every_round(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    ila = {
        (f.semester, f.module_number): f.percent
        for f in FidelityFact.objects.filter(school=w.school(w.ila))
    }

    # Earlier: 1.1 = 1, 2.1 = 0, 3.1 = 1 → 2 of 6 = 33.3 %. Now: 7 of 12 = 58.3 %.
    assert ila[(w.earlier.code, None)] == Decimal("33.3")
    assert ila[(w.semester.code, None)] == Decimal("58.3")
    assert ila[(w.semester.code, 2)] == Decimal("75.0")


def test_it_carries_determinants_and_time_use_shares_without_minutes(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    cfir = dict(
        CfirFact.objects.filter(
            school=w.school(w.lade), level="construct", mean__isnull=False
        ).values_list("code", "mean")
    )
    shares = dict(
        TimeUseFact.objects.filter(school=w.school(w.zyxqvik)).values_list("mode", "share_percent")
    )

    assert cfir == {"I.A": Decimal("-1.00"), "II.A": Decimal("-2.00")}
    assert shares == {
        "akutt": Decimal("33.3"),
        "planlagt": Decimal("50.0"),
        "systemniva": Decimal("16.7"),
    }  # 60 / 90 / 30 of 180 minutes
    assert "minutes" not in {f.name for f in TimeUseFact._meta.fields}


# --- Individual-respondent measures --------------------------------------------------------


def test_it_suppresses_a_school_with_fewer_than_k_respondents_and_its_complement(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    trondheim = municipality_pseudonym("5001")
    where = {"county": "50", "size_band": "1000-4999", "municipality": trondheim}

    ila = cell(w, "aim", "school", **where, school=w.school(w.ila))
    lade = cell(w, "aim", "school", **where, school=w.school(w.lade))
    zyxqvik = cell(w, "aim", "school", **where, school=w.school(w.zyxqvik))
    municipality = cell(w, "aim", "municipality", **where)

    assert (ila.suppressed, ila.n, ila.mean, ila.sd) == (True, None, None, None)  # 3 < 5
    assert (lade.suppressed, lade.n, lade.mean) == (True, None, None)  # the complement
    assert (zyxqvik.suppressed, zyxqvik.n) == (False, 7)
    assert (municipality.suppressed, municipality.n) == (False, 16)
    # What subtraction gives is Ila and Lade together: 9 respondents in 2 schools.
    assert (municipality.n or 0) - (zyxqvik.n or 0) == 9


def test_it_suppresses_a_small_county_that_the_overall_total_would_give_away(
    research_world: ResearchWorld,
) -> None:
    w = research_world

    volda = cell(w, "sus", "county", county="15")
    trondheim = cell(w, "sus", "county", county="50")
    small_band = cell(w, "sus", "size_band", size_band="<1000")
    other_band = cell(w, "sus", "size_band", size_band="1000-4999")
    overall = cell(w, "sus", "overall")

    assert volda.suppressed and small_band.suppressed  # Bratteberg's 2 SUS respondents
    assert trondheim.suppressed and other_band.suppressed  # else overall − it = Volda
    assert (overall.suppressed, overall.n) == (False, 20)


def test_it_leaves_nothing_recoverable_from_the_published_cells(
    research_world: ResearchWorld,
) -> None:
    problems: dict[tuple[str, str, str], dict[GroupCell, OutcomeCell]] = defaultdict(dict)
    for row in OutcomeCell.objects.all():
        key = GroupCell(row.level, row.county, row.size_band, row.municipality, row.school)
        problems[(row.semester, row.model_version, row.instrument)][key] = row

    assert problems
    for published in problems.values():
        # The reader knows which cells exist and how they nest, but not the hidden n.
        relations: list[Relation[GroupCell]] = group_relations(published)
        hidden = {key for key, row in published.items() if row.suppressed}
        assert recoverable(hidden, relations) == set()
        for key, row in published.items():
            assert row.suppressed or (row.n or 0) >= 5, key


def test_it_counts_only_closed_rounds_for_the_staff_surveys(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    volda = municipality_pseudonym("1577")

    bratteberg = cell(
        w,
        "aim",
        "school",
        county="15",
        size_band="<1000",
        municipality=volda,
        school=w.school(w.bratteberg),
    )

    assert (bratteberg.n, bratteberg.suppressed) == (6, False)  # not 6 + the open round's 9


def test_it_pools_a_semester_with_k_respondents(research_world: ResearchWorld) -> None:
    w = research_world

    lade_earlier = cell(
        w,
        "aim",
        "school",
        semester=w.earlier.code,
        county="50",
        size_band="1000-4999",
        municipality=municipality_pseudonym("5001"),
        school=w.school(w.lade),
    )

    assert (lade_earlier.suppressed, lade_earlier.n) == (False, 5)
    # Answers 3/4/5 cycling: (3+4+4+3)/4, (4+4+4+4)/4, (5+4+4+3)/4, 3.5, 4.0 → 3.8
    assert lade_earlier.mean == Decimal("3.80")


# --- Pseudonyms ----------------------------------------------------------------------------


def test_it_keeps_the_pseudonyms_and_facts_the_same_across_refreshes(
    research_world: ResearchWorld,
) -> None:
    before = snapshot()
    first = ResearchRefresh.objects.latest()

    again = refresh_research_store()

    assert again.refresh_id != first.pk
    assert snapshot() == before


def test_it_changes_every_pseudonym_when_the_key_is_rotated(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    before = set(ResearchSchool.objects.values_list("pseudonym", flat=True))
    new_key = b"a-new-research-key-of-at-least-32-bytes!"

    refresh_research_store(key=new_key)

    after = set(ResearchSchool.objects.values_list("pseudonym", flat=True))
    assert len(after) == len(before) and not after & before
    assert school_pseudonym("5001", w.ila.pk, key=new_key) in after
    assert ResearchRefresh.objects.latest().key_fingerprint == key_fingerprint(key=new_key)
    assert key_fingerprint(key=new_key) != key_fingerprint()


# --- Sharing -------------------------------------------------------------------------------


def test_it_removes_a_municipality_that_stops_sharing_at_the_next_refresh(
    research_world: ResearchWorld, volda_leader: User
) -> None:
    w = research_world
    volda = municipality_pseudonym("1577")
    assert ResearchSchool.objects.filter(municipality=volda).exists()

    research_sharing_set(municipality=w.volda, shares=False, actor=volda_leader)
    result = refresh_research_store()

    assert result.excluded == 1
    for model in STORE_MODELS:
        assert not model.objects.filter(municipality=volda).exists(), model.__name__
    assert not ResearchMunicipality.objects.filter(pseudonym=volda).exists()
    assert not OutcomeCell.objects.filter(county="15").exists()
    assert cell(w, "aim", "overall").n == 16  # Trondheim only
    change = SharingChange.objects.get(municipality=w.volda)
    assert (change.shares, change.changed_by) == (False, volda_leader)


def test_it_brings_a_municipality_back_when_it_shares_again(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    research_sharing_set(municipality=w.volda, shares=False, actor=None)
    refresh_research_store()

    research_sharing_set(municipality=w.volda, shares=True, actor=None)
    refresh_research_store()

    assert ResearchSchool.objects.filter(municipality=municipality_pseudonym("1577")).count() == 1
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

    result = refresh_research_store()

    assert (result.municipalities, result.excluded) == (2, 1)


# --- All or nothing, set-based -------------------------------------------------------------


def test_it_keeps_the_previous_store_when_a_refresh_fails(
    research_world: ResearchWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot()
    latest = ResearchRefresh.objects.latest()

    def fail(cursor: Any, k: int) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(refresh_module, "_protect_outcomes", fail)
    with pytest.raises(RuntimeError):
        refresh_research_store()

    assert snapshot() == before
    assert ResearchRefresh.objects.latest() == latest


def test_it_runs_a_fixed_number_of_statements_whatever_the_number_of_rows(
    research_world: ResearchWorld,
) -> None:
    w = research_world
    with CaptureQueriesContext(connection) as small:
        refresh_research_store()
    with tenant_context(w.trondheim):
        closed = AssessmentRound.objects.get(name__startswith="Qwzx")
        respondents(closed, w.zyxqvik, {"aim": 20, "sus": 20})
    with CaptureQueriesContext(connection) as large:
        refresh_research_store()

    assert cell(w, "aim", "overall").n == 42  # 22 + 20: the new rows are in
    assert len(large.captured_queries) == len(small.captured_queries)
    statements = [q["sql"] for q in large.captured_queries]
    assert sum("UNION ALL" in s and "dashboards_fidelityaggregate" in s for s in statements) == 1


# --- The worker's entry points -------------------------------------------------------------


def test_it_refreshes_from_the_celery_task_and_the_command(
    research_world: ResearchWorld,
) -> None:
    from django.core.management import call_command

    from research.tasks import refresh_research_store as task

    result = task.apply().get()
    output = io.StringIO()
    call_command("research_refresh", stdout=output)

    assert result["refresh_id"] == ResearchRefresh.objects.order_by("id").reverse()[1].pk
    assert f"Refresh {ResearchRefresh.objects.latest().pk}: 2 municipalities" in output.getvalue()
