"""Disclosure control (research.disclosure): primary suppression below k, complementary
suppression so that no hidden cell can be worked out from totals or differences, and the
exact audit that proves it. Pure functions: no database."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from fractions import Fraction
from typing import Any

import pytest

from research.disclosure import (
    GroupCell,
    Relation,
    group_relations,
    primary_suppression,
    protect,
    recoverable,
)

K = 5


def _published_sums(
    counts: dict[str, int], means: dict[str, Fraction], hidden: set[str]
) -> dict[str, tuple[int, Fraction]]:
    """What a reader sees: n and the sum of scores (n × mean) of every shown cell."""
    return {c: (counts[c], counts[c] * means[c]) for c in counts if c not in hidden}


def _assert_rules_hold(
    counts: Mapping[Any, int],
    relations: list[Relation[Any]],
    hidden: AbstractSet[Any],
    k: int = K,
) -> None:
    assert primary_suppression(counts, k) <= hidden
    for relation in relations:
        hidden_members = [m for m in relation.members if m in hidden]
        if relation.total in hidden:
            assert hidden_members, relation
        elif hidden_members:
            assert len(hidden_members) >= 2, relation
            assert sum(counts[m] for m in hidden_members) >= k, relation
    assert recoverable(hidden, relations) == set()


# --- Primary suppression -------------------------------------------------------------------


def test_it_hides_groups_of_fewer_than_k_respondents_but_not_empty_ones() -> None:
    counts = {"a": 0, "b": 1, "c": 4, "d": 5, "e": 40}

    assert primary_suppression(counts, 5) == {"b", "c"}
    assert primary_suppression(counts, 3) == {"b"}


# --- The crafted case: a small school recovered by subtraction from its municipality ----


MUNICIPALITY = {"Trondheim": 25, "Ila": 3, "Lade": 10, "Rosten": 12}
MEANS = {
    "Trondheim": Fraction(98, 25),  # (3 × 11/3 + 10 × 4.1 + 12 × 23/6) / 25
    "Ila": Fraction(11, 3),
    "Lade": Fraction(41, 10),
    "Rosten": Fraction(23, 6),
}
TRONDHEIM = Relation("Trondheim", ("Ila", "Lade", "Rosten"))


def test_it_shows_that_primary_suppression_alone_gives_the_small_school_away() -> None:
    hidden = primary_suppression(MUNICIPALITY, K)
    seen = _published_sums(MUNICIPALITY, MEANS, hidden)

    # The attacker's subtraction: municipality − the two shown schools.
    n = seen["Trondheim"][0] - seen["Lade"][0] - seen["Rosten"][0]
    total = seen["Trondheim"][1] - seen["Lade"][1] - seen["Rosten"][1]

    assert hidden == {"Ila"}
    assert (n, total / n) == (3, MEANS["Ila"])  # Ila's 3 respondents' mean, exactly
    assert recoverable(hidden, [TRONDHEIM]) == {"Ila"}


def test_it_hides_the_smallest_other_school_as_well() -> None:
    protection = protect(MUNICIPALITY, [TRONDHEIM], K)

    assert protection.primary == {"Ila"}
    assert protection.suppressed == {"Ila", "Lade"}  # Lade (10) is smaller than Rosten (12)
    assert recoverable(protection.suppressed, [TRONDHEIM]) == set()
    # What subtraction still gives is Ila and Lade pooled: 13 respondents, ≥ k.
    seen = _published_sums(MUNICIPALITY, MEANS, set(protection.suppressed))
    assert seen["Trondheim"][0] - seen["Rosten"][0] == 13


def test_it_hides_more_when_the_hidden_cells_together_are_still_fewer_than_k() -> None:
    counts = {"total": 24, "a": 2, "b": 2, "c": 20}

    protection = protect(counts, [Relation("total", ("a", "b", "c"))], K)

    # a and b together are 4 people: their pooled mean would be total − c.
    assert protection.suppressed == {"a", "b", "c"}
    assert protection.secondary == {"c"}


def test_it_hides_the_total_when_no_other_member_is_left() -> None:
    counts = {"municipality": 3, "school": 3}

    protection = protect(counts, [Relation("municipality", ("school",))], K)

    assert protection.suppressed == {"municipality", "school"}


def test_it_hides_a_member_when_a_hidden_total_would_be_their_sum() -> None:
    # The county C (n = 20) is hidden as the complement of D in the overall total; C's
    # municipalities (10 + 10) are shown, so C = m1 + m2 unless one of them goes too.
    counts = {"all": 23, "C": 20, "D": 3, "m1": 10, "m2": 10, "m3": 3}
    relations = [
        Relation("all", ("C", "D")),
        Relation("C", ("m1", "m2")),
        Relation("D", ("m3",)),
    ]

    protection = protect(counts, relations, K)

    assert {"C", "D", "m3"} <= protection.suppressed
    assert protection.suppressed & {"m1", "m2"}
    _assert_rules_hold(counts, relations, protection.suppressed)


# --- The crafted case: a small county recovered from the overall total ---------------------


def test_it_protects_a_small_county_against_the_overall_total_and_the_size_bands() -> None:
    # County 15 has only Volda (2 SUS respondents): the county, the size band <1000 and the
    # municipality are all those same 2 people. Overall = county 50 + county 15 =
    # band 1000-4999 + band <1000.
    cells = {
        GroupCell("overall"): 20,
        GroupCell("county", county="50"): 18,
        GroupCell("county", county="15"): 2,
        GroupCell("size_band", size_band="1000-4999"): 18,
        GroupCell("size_band", size_band="<1000"): 2,
        GroupCell("county_band", "50", "1000-4999"): 18,
        GroupCell("county_band", "15", "<1000"): 2,
        GroupCell("municipality", "50", "1000-4999", "K-t"): 18,
        GroupCell("municipality", "15", "<1000", "K-v"): 2,
        GroupCell("school", "50", "1000-4999", "K-t", "S-ila"): 6,
        GroupCell("school", "50", "1000-4999", "K-t", "S-lade"): 6,
        GroupCell("school", "50", "1000-4999", "K-t", "S-zyx"): 6,
        GroupCell("school", "15", "<1000", "K-v", "S-bra"): 2,
    }
    relations = group_relations(cells)
    naive = primary_suppression(cells, K)

    protection = protect(cells, relations, K)

    # Without complements, county 15 = overall − county 50.
    assert GroupCell("county", county="15") in recoverable(naive, relations)
    assert GroupCell("county", county="50") in protection.suppressed
    assert GroupCell("size_band", size_band="1000-4999") in protection.suppressed
    assert GroupCell("overall") not in protection.suppressed  # 20 people, nothing to subtract
    _assert_rules_hold(cells, relations, protection.suppressed)


# --- Crossing relations: the audit catches what per-relation rules miss ---------------------


def _table(
    rows: int, cols: int, small: set[tuple[int, int]]
) -> tuple[dict[str, int], list[Relation[str]]]:
    """A two-way table with row, column and grand totals; `small` cells have n = 4."""
    counts: dict[str, int] = {}
    for r in range(rows):
        for c in range(cols):
            counts[f"{r},{c}"] = 4 if (r, c) in small else 10
    relations: list[Relation[str]] = []
    for r in range(rows):
        members = tuple(f"{r},{c}" for c in range(cols))
        counts[f"row{r}"] = sum(counts[m] for m in members)
        relations.append(Relation(f"row{r}", members))
    for c in range(cols):
        members = tuple(f"{r},{c}" for r in range(rows))
        counts[f"col{c}"] = sum(counts[m] for m in members)
        relations.append(Relation(f"col{c}", members))
    counts["all"] = sum(counts[f"row{r}"] for r in range(rows))
    relations.append(Relation("all", tuple(f"row{r}" for r in range(rows))))
    relations.append(Relation("all", tuple(f"col{c}" for c in range(cols))))
    return counts, relations


# Two closed 2 × 2 blocks of hidden cells joined by one "bridge" cell (1,2): every row and
# column has two or more hidden cells that pool ≥ k people, yet the bridge is the flow
# between the blocks: (row0 + row1 − col0 − col1) restricted to hidden cells = cell (1,2).
BRIDGE = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)}


def test_it_finds_a_cell_that_only_a_combination_of_relations_gives_away() -> None:
    counts, relations = _table(4, 4, BRIDGE)
    hidden = {f"{r},{c}" for r, c in BRIDGE}

    for relation in relations:  # each relation on its own looks safe
        inside = [m for m in relation.members if m in hidden]
        assert not inside or (len(inside) >= 2 and sum(counts[m] for m in inside) >= K)
    assert recoverable(hidden, relations) == {"1,2"}


def test_it_suppresses_more_until_the_bridge_is_protected() -> None:
    counts, relations = _table(4, 4, BRIDGE)

    protection = protect(counts, relations, K)

    assert protection.primary == {f"{r},{c}" for r, c in BRIDGE}
    assert protection.secondary
    _assert_rules_hold(counts, relations, protection.suppressed)


def test_it_agrees_with_solving_the_table_by_hand() -> None:
    # 2 × 2 with all margins: hiding all four interior cells leaves one degree of freedom.
    counts, relations = _table(2, 2, {(0, 0)})

    protection = protect(counts, relations, K)

    assert protection.suppressed == {"0,0", "0,1", "1,0", "1,1"}
    assert recoverable({"0,0", "0,1", "1,0"}, relations) == {"0,0", "0,1", "1,0"}


# --- Random lattices of the research store's shape ----------------------------------------


def _random_lattice(seed: int) -> dict[GroupCell, int]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    schools: dict[GroupCell, int] = {}
    for m in range(rng.randint(2, 25)):
        county = rng.choice(["03", "11", "15", "50"])
        band = rng.choice(["<1000", "1000-4999", "5000-19999"])
        for s in range(rng.randint(1, 6)):
            n = rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 14])
            if n:
                schools[GroupCell("school", county, band, f"K-{m}", f"S-{m}-{s}")] = n
    cells: dict[GroupCell, int] = dict(schools)
    totals: dict[GroupCell, int] = defaultdict(int)
    for school, n in schools.items():
        c, b, mu = school.county, school.size_band, school.municipality
        for group in (
            GroupCell("overall"),
            GroupCell("county", county=c),
            GroupCell("size_band", size_band=b),
            GroupCell("county_band", c, b),
            GroupCell("municipality", c, b, mu),
        ):
            totals[group] += n
    cells.update(totals)
    return cells


@pytest.mark.parametrize("seed", range(40))
def test_it_leaves_no_hidden_cell_recoverable_in_random_store_tables(seed: int) -> None:
    cells = _random_lattice(seed)
    relations = group_relations(cells)

    protection = protect(cells, relations, K)

    _assert_rules_hold(cells, relations, protection.suppressed)


def test_it_uses_the_configured_k() -> None:
    assert protect(MUNICIPALITY, [TRONDHEIM], 3).suppressed == frozenset()
    assert protect(MUNICIPALITY, [TRONDHEIM], 11).primary == {"Ila", "Lade"}


def test_it_builds_the_relations_between_the_store_groups() -> None:
    cells = _random_lattice(3)

    relations = group_relations(cells)

    for relation in relations:
        assert cells[relation.total] == sum(cells[m] for m in relation.members)
    totals = {(r.total.level, tuple(m.level for m in r.members[:1])) for r in relations}
    assert ("overall", ("county",)) in totals
    assert ("overall", ("size_band",)) in totals
    assert ("municipality", ("school",)) in totals


def test_it_refuses_totals_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="sum"):
        protect({"t": 10, "a": 3, "b": 3}, [Relation("t", ("a", "b"))], K)
