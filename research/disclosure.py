"""Disclosure control for the measures that individuals answer (AIM, IAM, FIM, SUS).

Pure functions, no database: ``research.refresh`` loads the cells of one semester × model
version × instrument, calls ``protect`` and writes the result.

The table
---------
A *cell* is a group of respondents with its n (complete respondents), mean and SD: one
school, one municipality, one county × size band, one county, one size band, or every
school. Cells are tied by *relations* ``total = Σ members``: a total's respondents are
exactly its members' respondents together (a municipality = its schools; county × size
band = its municipalities; a county = its county × size band cells; a size band = its
county × size band cells; all schools = the counties = the size bands). n, the sum of
scores (n × mean) and the sum of squares ((n − 1) × SD² + n × mean²) all add up along a
relation, so anyone holding the published cells can subtract: if a municipality shows
n = 25 and mean 3.9, and two of its three schools show (10, 4.1) and (12, 3.8), the third
school's 3 respondents have mean (25 × 3.9 − 10 × 4.1 − 12 × 3.8) / 3 ≈ 3.63.

The rules (``protect``)
-----------------------
1. **Primary suppression**: a cell with 0 < n < k respondents is not shown.
2. **Secondary (complementary) suppression**, for every relation ``total = Σ members``:

   a. total shown → its suppressed members are either none, or at least two cells whose
      respondents together number at least k (what subtraction gives is then only the
      pooled mean of ≥ k respondents in ≥ 2 cells). Otherwise the shown member with the
      smallest n is suppressed as well (ties: by key), and when no member is left to
      suppress, the total is suppressed instead.
   b. total suppressed → at least one member is suppressed as well (otherwise the total
      is the sum of its shown members); otherwise the smallest shown member is suppressed.

   Rules a and b are applied until no relation breaks them (each step hides one more
   cell, so this ends).
3. **Audit**: per relation checks are not enough where relations cross (counties × size
   bands): a suppressed cell can be pinned down by combining several relations (a
   "bridge" between two closed cycles of suppressed cells). ``recoverable`` solves the
   whole linear system exactly (fractions, sparse Gauss–Jordan): a suppressed cell is
   recoverable iff its unit vector lies in the row space of the relations restricted to
   the suppressed cells, i.e. its row in the reduced echelon form has no free variable.
   For every recoverable cell the smallest shown cell of a relation through it is
   suppressed and 2–3 repeat, until nothing is recoverable.

Guarantees: no suppressed cell's n, mean or SD can be computed exactly from the published
cells and the relations; where a shown total has suppressed members, they are at least
two and pool at least k respondents. Not covered (docs/research.md): bounds from the
scale's range (if a pooled group of k answered all 5s, every one of them did), the
published means' rounding (treated as exact, which is on the safe side), and differences
between two refreshes of the store (a municipality that joins or leaves changes totals).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_MIN_GROUP_SIZE = 5


@dataclass(frozen=True)
class Relation(Generic[K]):
    """``total`` pools exactly the respondents of ``members``."""

    total: K
    members: tuple[K, ...]


@dataclass(frozen=True)
class Protection(Generic[K]):
    suppressed: frozenset[K]
    primary: frozenset[K]

    @property
    def secondary(self) -> frozenset[K]:
        return self.suppressed - self.primary


def primary_suppression(counts: Mapping[K, int], k: int) -> set[K]:
    """Cells with fewer than k respondents (but some: an empty cell has nothing to hide)."""
    return {cell for cell, n in counts.items() if 0 < n < k}


def _order(counts: Mapping[K, int]) -> Callable[[K], tuple[int, str]]:
    return lambda cell: (counts[cell], str(cell))


def _check(counts: Mapping[K, int], relations: Sequence[Relation[K]]) -> None:
    for relation in relations:
        cells = (relation.total, *relation.members)
        missing = [cell for cell in cells if cell not in counts]
        if missing:
            raise ValueError(f"Cells without a count: {missing!r}")
        if not relation.members or len(set(relation.members)) != len(relation.members):
            raise ValueError(f"A relation needs distinct members: {relation!r}")
        if relation.total in relation.members:
            raise ValueError(f"A total cannot be its own member: {relation!r}")
        if counts[relation.total] != sum(counts[m] for m in relation.members):
            raise ValueError(f"The total's n is not the sum of its members' n: {relation!r}")


def _fix(relation: Relation[K], counts: Mapping[K, int], hidden: set[K], k: int) -> K | None:
    """The cell to suppress so that the relation keeps rules 2a/2b, or None if it does."""
    hidden_members = [m for m in relation.members if m in hidden]
    shown_members = [m for m in relation.members if m not in hidden]
    smallest = min(shown_members, key=_order(counts)) if shown_members else None
    if relation.total in hidden:
        return smallest if not hidden_members else None
    if not hidden_members:
        return None
    if len(hidden_members) >= 2 and sum(counts[m] for m in hidden_members) >= k:
        return None
    return smallest if smallest is not None else relation.total


def protect(
    counts: Mapping[K, int], relations: Iterable[Relation[K]], k: int = DEFAULT_MIN_GROUP_SIZE
) -> Protection[K]:
    """The cells to suppress: primary (n < k), then secondary until rules 2a/2b hold for
    every relation and no suppressed cell is recoverable (module docstring)."""
    relations = list(relations)
    _check(counts, relations)
    primary = primary_suppression(counts, k)
    hidden = set(primary)
    through: dict[K, list[int]] = defaultdict(list)
    for index, relation in enumerate(relations):
        for cell in (relation.total, *relation.members):
            through[cell].append(index)

    queue: deque[int] = deque(range(len(relations)))

    def suppress(cell: K) -> None:
        hidden.add(cell)
        queue.extend(through[cell])

    while True:
        while queue:
            index = queue.popleft()
            fix = _fix(relations[index], counts, hidden, k)
            if fix is not None:
                suppress(fix)
                queue.append(index)
        determined = recoverable(hidden, relations)
        if not determined:
            return Protection(frozenset(hidden), frozenset(primary))
        complement = _complement(determined, relations, through, counts, hidden)
        if complement is None:  # cannot happen for consistent counts (all hidden = safe)
            raise RuntimeError(f"Cannot protect {sorted(map(str, determined))}")
        suppress(complement)


def _complement(
    determined: set[K],
    relations: Sequence[Relation[K]],
    through: Mapping[K, list[int]],
    counts: Mapping[K, int],
    hidden: set[K],
) -> K | None:
    """The smallest shown cell in a relation through a recoverable cell."""
    candidates: set[K] = set()
    for cell in determined:
        for index in through.get(cell, ()):
            relation = relations[index]
            shown = [m for m in relation.members if m not in hidden]
            if shown:
                candidates.add(min(shown, key=_order(counts)))
            elif relation.total not in hidden:
                candidates.add(relation.total)
    return min(candidates, key=_order(counts)) if candidates else None


def recoverable(hidden: Iterable[K], relations: Iterable[Relation[K]]) -> set[K]:
    """The hidden cells whose values follow exactly from the shown cells and the relations.

    Each relation gives the equation total − Σ members = 0; the shown cells are known, so
    the equation restricted to the hidden cells has a known right-hand side. A hidden cell
    is determined iff, in the reduced row echelon form of that system, it is a pivot whose
    row has no other (free) variable."""
    hidden = set(hidden)
    rows: list[dict[K, Fraction]] = []
    for relation in relations:
        equation: dict[K, Fraction] = {}
        if relation.total in hidden:
            equation[relation.total] = Fraction(1)
        for member in relation.members:
            if member in hidden:
                equation[member] = equation.get(member, Fraction(0)) - 1
        equation = {cell: value for cell, value in equation.items() if value}
        if equation:
            rows.append(equation)
    occurrences = Counter(cell for row in rows for cell in row)
    pivots: dict[K, dict[K, Fraction]] = {}
    holders: dict[K, set[K]] = defaultdict(set)  # cell → pivots whose row contains it

    for row in rows:
        for cell in [c for c in row if c in pivots]:
            factor = row.get(cell)
            if factor:
                _subtract(row, pivots[cell], factor)
        if not row:
            continue
        pivot = min(row, key=lambda c: (occurrences[c], str(c)))
        scale = row[pivot]
        row = {cell: value / scale for cell, value in row.items()}
        for other in list(holders.get(pivot, ())):
            other_row = pivots[other]
            factor = other_row.get(pivot)
            if not factor:
                continue
            before = set(other_row)
            _subtract(other_row, row, factor)
            for cell in before - set(other_row):
                holders[cell].discard(other)
            for cell in set(other_row) - before:
                holders[cell].add(other)
        pivots[pivot] = row
        for cell in row:
            holders[cell].add(pivot)
    return {pivot for pivot, row in pivots.items() if len(row) == 1}


def _subtract(row: dict[K, Fraction], other: Mapping[K, Fraction], factor: Fraction) -> None:
    """row −= factor × other, dropping zeros."""
    for cell, value in other.items():
        updated = row.get(cell, Fraction(0)) - factor * value
        if updated:
            row[cell] = updated
        else:
            row.pop(cell, None)


# --- The research store's groups -----------------------------------------------------------


@dataclass(frozen=True, order=True)
class GroupCell:
    """A group of schools of the research store's outcome table (``OutcomeCell.level``)."""

    level: str
    county: str = ""
    size_band: str = ""
    municipality: str = ""
    school: str = ""


OVERALL = "overall"
COUNTY = "county"
SIZE_BAND = "size_band"
COUNTY_BAND = "county_band"
MUNICIPALITY = "municipality"
SCHOOL = "school"


def group_relations(cells: Iterable[GroupCell]) -> list[Relation[GroupCell]]:
    """The relations between the groups present (a group without respondents has no cell
    and adds nothing to its total)."""
    by_level: dict[str, list[GroupCell]] = defaultdict(list)
    for cell in cells:
        by_level[cell.level].append(cell)
    for level_cells in by_level.values():
        level_cells.sort()
    relations: list[Relation[GroupCell]] = []

    def add(total: GroupCell, members: Iterable[GroupCell]) -> None:
        members = tuple(members)
        if members:
            relations.append(Relation(total, members))

    for overall in by_level[OVERALL]:
        add(overall, by_level[COUNTY])
        add(overall, by_level[SIZE_BAND])
    for county in by_level[COUNTY]:
        add(county, (c for c in by_level[COUNTY_BAND] if c.county == county.county))
    for band in by_level[SIZE_BAND]:
        add(band, (c for c in by_level[COUNTY_BAND] if c.size_band == band.size_band))
    municipalities: dict[tuple[str, str], list[GroupCell]] = defaultdict(list)
    for municipality in by_level[MUNICIPALITY]:
        municipalities[(municipality.county, municipality.size_band)].append(municipality)
    for county_band in by_level[COUNTY_BAND]:
        add(county_band, municipalities[(county_band.county, county_band.size_band)])
    schools: dict[str, list[GroupCell]] = defaultdict(list)
    for school in by_level[SCHOOL]:
        schools[school.municipality].append(school)
    for municipality in by_level[MUNICIPALITY]:
        add(municipality, schools[municipality.municipality])
    return relations
