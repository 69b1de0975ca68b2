"""Releasing survey results: the one place where individual answers (AIM, IAM, FIM, SUS)
become numbers that someone else may see.

The rule (docs/research.md, "Released groups"):

* Only answers of **closed** rounds are released (closed early, or past the closing day):
  while a round is open its results would change one answer at a time.
* Per round and instrument, the complete answers that are in no released group yet form
  **one group per school with at least k of them** (k = ``RESEARCH_MIN_GROUP_SIZE``), and
  **one group of all the other schools' answers together** when those reach k (they then
  come from at least two schools, none of which reached k alone).
* A released group never changes: its answers are locked (``staff_response_submit``
  refuses to change them), a reopened round's new answers form a *new* group only when k
  of them have come in, and answers left over stay unreleased.

Everything that shows survey results — the school dashboard, the coordinator's views, the
research store and its exports — adds up whole groups and nothing else. The difference
of any two published numbers, whenever and wherever they were seen, is therefore a sum
of whole groups of at least k people, never one person's answers.

Callers: ``round_close`` and ``round_update`` (a round that becomes closed), and the
nightly full recomputation (rounds that closed by date). Idempotent: a second call finds
nothing to release.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from sovei_platform.privacy import min_group_size

from ..models import SurveyRelease
from ._common import today

logger = logging.getLogger(__name__)

OUTCOME_INSTRUMENTS = ("aim", "iam", "fim", "sus")
_CODES = ", ".join(f"'{code}'" for code in OUTCOME_INSTRUMENTS)

# Unreleased answers of closed rounds, locked (skipping any a writer holds right now: it
# stays for the next release). A link answer is written in one transaction and a staff
# member's change takes the response's row lock first, so a locked row's answers are final.
_CANDIDATES_SQL = f"""
SELECT r.id
FROM implementation_response r
JOIN implementation_assessmentround ar ON ar.id = r.round_id
JOIN catalog_instrument i ON i.id = r.instrument_id
WHERE r.release_id IS NULL
  AND r.respondent_kind IN ('staff', 'link')
  AND i.code IN ({_CODES})
  AND (ar.closed_at IS NOT NULL OR ar.closes_on < %(today)s)
  {{round_filter}}
ORDER BY r.id
FOR UPDATE OF r SKIP LOCKED
"""

# The score of each complete answer, as ``dashboards.aggregation`` and
# ``implementation.scoring`` score it: AIM/IAM/FIM = mean of the 4 items (1–5), SUS =
# 2.5 × (Σ(odd − 1) + Σ(5 − even)) (0–100). Exact in numeric: multiples of 1/4 and 2.5.
SCORES_SQL = """
WITH items AS (
    SELECT instrument_id, COUNT(*) AS n_items
    FROM catalog_instrumentitem GROUP BY instrument_id
), answered AS (
    SELECT r.id, r.round_id, r.school_id, r.instrument_id, i.code, it.n_items,
           COUNT(a.value) AS answered, SUM(a.value) AS total,
           SUM(CASE WHEN mod(ci.number, 2) = 1 THEN a.value - 1 ELSE 5 - a.value END)
               AS sus_total
    FROM implementation_response r
    JOIN catalog_instrument i ON i.id = r.instrument_id
    JOIN items it ON it.instrument_id = r.instrument_id
    LEFT JOIN implementation_answer a ON a.response_id = r.id AND a.item_id IS NOT NULL
    LEFT JOIN catalog_instrumentitem ci ON ci.id = a.item_id
    WHERE r.id = ANY(%(ids)s)
    GROUP BY r.id, r.round_id, r.school_id, r.instrument_id, i.code, it.n_items
)
SELECT id, round_id, school_id, instrument_id,
       CASE WHEN code = 'sus' THEN sus_total * 2.5
            ELSE total::numeric / n_items END AS score
FROM answered
WHERE answered = n_items
"""


@dataclass(frozen=True)
class _Answer:
    response_id: int
    round_id: int
    school_id: int
    instrument_id: int
    score: Decimal


@dataclass(frozen=True)
class ReleaseResult:
    groups: int
    answers: int
    school_ids: frozenset[int]


def _group(answers: list[_Answer], k: int) -> list[tuple[int | None, list[_Answer]]]:
    """(school id or None for the pooled rest, answers) of one round × instrument."""
    by_school: dict[int, list[_Answer]] = defaultdict(list)
    for answer in answers:
        by_school[answer.school_id].append(answer)
    groups: list[tuple[int | None, list[_Answer]]] = []
    rest: list[_Answer] = []
    for school_id in sorted(by_school):
        members = by_school[school_id]
        if len(members) >= k:
            groups.append((school_id, members))
        else:
            rest.extend(members)
    if len(rest) >= k:
        groups.append((None, rest))
    return groups


def survey_results_release(
    *, round_ids: list[int] | None = None, as_of: date | None = None
) -> ReleaseResult:
    """Release what is due in the current municipality (module docstring); returns what
    was released. Runs in its own transaction (or the caller's) under a per-municipality
    advisory lock, so two releases never form overlapping groups."""
    k = min_group_size()
    as_of = as_of or today()
    round_filter = "AND r.round_id = ANY(%(round_ids)s)" if round_ids is not None else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':release', 0))"
        )
        cursor.execute(
            _CANDIDATES_SQL.format(round_filter=round_filter),
            {"today": as_of, "round_ids": round_ids or []},
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return ReleaseResult(0, 0, frozenset())
        cursor.execute(SCORES_SQL, {"ids": ids})
        answers = [_Answer(*row) for row in cursor.fetchall()]
        batches: dict[tuple[int, int], list[_Answer]] = defaultdict(list)
        for answer in answers:
            batches[(answer.round_id, answer.instrument_id)].append(answer)
        released_at = timezone.now()
        made = 0
        counted = 0
        touched: set[int] = set()
        for (round_id, instrument_id), batch in sorted(batches.items()):
            for school_id, members in _group(batch, k):
                release = SurveyRelease.objects.create(
                    round_id=round_id,
                    school_id=school_id,
                    instrument_id=instrument_id,
                    n=len(members),
                    schools=len({m.school_id for m in members}),
                    total=sum((m.score for m in members), Decimal(0)),
                    total_squares=sum((m.score * m.score for m in members), Decimal(0)),
                    min_group_size=k,
                    released_at=released_at,
                )
                cursor.execute(
                    "UPDATE implementation_response SET release_id = %s WHERE id = ANY(%s)",
                    [release.pk, [m.response_id for m in members]],
                )
                made += 1
                counted += len(members)
                touched.update(m.school_id for m in members)
        if touched:
            from dashboards.signals import school_mark_dirty

            for school_id in sorted(touched):
                school_mark_dirty(school_id)
    if made:
        logger.info("Released %s survey groups (%s answers)", made, counted)
    return ReleaseResult(made, counted, frozenset(touched))
