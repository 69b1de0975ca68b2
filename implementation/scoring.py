"""Scoring rules for the SoVei instruments (DESIGN.md §4). Pure code, no Django, no database.

Every public function takes plain values (ints, strings, dates, small input dataclasses) and
returns frozen dataclasses. Callers (services, serializers, dashboards) turn model rows into
the inputs; nothing here touches the ORM. ``docs/scoring.md`` describes every rule with a
worked example; ``tests/test_scoring.py`` holds the same numbers.

Numbers and rounding
--------------------
* Every score is computed **exactly** as a :class:`fractions.Fraction` and kept in the
  ``*_exact`` field of the result (for example ``percent_exact``, ``mean_exact``). Nothing is
  rounded before the last step, so a sum of rounded parts never leaks into a later step.
* The presentation value (``percent``, ``mean``, ``score``, ``proportion``) is a
  :class:`decimal.Decimal` rounded by :func:`round_half_up`: ties go **away from zero**
  (``Decimal.ROUND_HALF_UP``: 62.25 -> 62.3, -0.125 -> -0.13).
* Places: percentages (fidelity %) and SUS (a 0-100 score) to **1 decimal**; means on an item
  scale (AIM/IAM/FIM 1-5, CFIR -2..+2) and the SIC proportion of steps done (0-1) to
  **2 decimals**.
* Comparisons with a threshold use the exact value, never the rounded one: 69.96 % is shown
  as 70.0 % but does not reach a 70 % threshold.
* A standard deviation is the *sample* SD (divisor n - 1), is irrational in general and is
  therefore kept as a 28-digit ``Decimal`` in ``sd_exact``; ``sd`` is that value rounded as
  above. With fewer than two values the SD is ``None``.
* "Cannot be computed" is ``None``, never 0: a module without rated components has no
  fidelity score; a scale with a missing item has no score; a CFIR construct without ratings
  has no mean. A fidelity score resting on too few rated components is computed but not
  *measured*: it is neither above nor below the threshold.

Invalid input (an answer outside its scale, a bool where a number belongs, a wrong number of
items, a duplicate rating, a stage that ends before it starts) raises ``ValueError`` whose
message names the offending component, item, construct or stage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TypeAlias

__all__ = [
    "DEFAULT_FIDELITY_MIN_RATED_PERCENT",
    "DEFAULT_FIDELITY_THRESHOLD",
    "Aggregate",
    "CfirConstructScore",
    "CfirDomainScore",
    "CfirRating",
    "CfirResult",
    "Direction",
    "FidelityRating",
    "FidelityResult",
    "FidelityScore",
    "ModuleFidelity",
    "ScaleScore",
    "SicResult",
    "SicStageInput",
    "SicStageScore",
    "Stage",
    "SusScore",
    "UnratedReason",
    "aggregate",
    "aggregate_scale_scores",
    "aggregate_sus_scores",
    "round_half_up",
    "score_aim",
    "score_cfir",
    "score_fidelity",
    "score_fim",
    "score_iam",
    "score_sic",
    "score_sus",
    "score_weiner_scale",
]

PERCENT_PLACES = 1
MEAN_PLACES = 2
SUS_PLACES = 1
PROPORTION_PLACES = 2

DEFAULT_FIDELITY_THRESHOLD = Decimal("70")
DEFAULT_FIDELITY_MIN_RATED_PERCENT = Decimal("80")

# Fixed context for the few irrational results (square roots), independent of whatever the
# caller has set with decimal.getcontext().
_SQRT_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)

Number: TypeAlias = int | Decimal | Fraction


# --------------------------------------------------------------------------------------------
# Rounding and aggregation helpers
# --------------------------------------------------------------------------------------------


def round_half_up(value: Number, places: int) -> Decimal:
    """Round ``value`` to ``places`` decimals, ties away from zero, exactly.

    The value is converted to a ``Fraction`` first, so no binary or 28-digit intermediate
    can move a tie: ``round_half_up(Fraction(1, 8), 2) == Decimal("0.13")`` and
    ``round_half_up(Fraction(-1, 8), 2) == Decimal("-0.13")``. The result always carries
    exactly ``places`` decimals (``Decimal("50.0")``, not ``Decimal("50")``).
    """
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    scaled = Fraction(value) * 10**places
    magnitude = math.floor(abs(scaled) + Fraction(1, 2))
    digits = tuple(int(d) for d in str(magnitude))
    sign = 1 if scaled < 0 and magnitude != 0 else 0
    return Decimal((sign, digits, -places))


def _round_optional(value: Fraction | None, places: int) -> Decimal | None:
    return None if value is None else round_half_up(value, places)


def _sqrt(value: Fraction) -> Decimal:
    """Square root of a non-negative Fraction as a 28-significant-digit Decimal."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).sqrt(_SQRT_CONTEXT)


def _is_int(value: object) -> bool:
    """True for real ints; ``True``/``False`` are rejected as answers."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Mean and sample standard deviation of one score over respondents.

    ``n`` counts the scores that entered the mean, ``n_missing`` the respondents whose score
    was ``None`` (an incomplete questionnaire) and who are therefore left out.
    ``mean``/``sd`` are rounded to ``places`` decimals; ``mean_exact`` is a Fraction and
    ``sd_exact`` a 28-digit Decimal. ``mean`` is None when ``n == 0``; ``sd`` when ``n < 2``.
    """

    n: int
    n_missing: int
    places: int
    mean_exact: Fraction | None
    mean: Decimal | None
    sd_exact: Decimal | None
    sd: Decimal | None


def aggregate(values: Iterable[Number | None], *, places: int = MEAN_PLACES) -> Aggregate:
    """Mean, n and sample SD (divisor n - 1) of ``values``; ``None`` entries are skipped."""
    present: list[Fraction] = []
    n_missing = 0
    for value in values:
        if value is None:
            n_missing += 1
        else:
            present.append(Fraction(value))
    n = len(present)
    if n == 0:
        return Aggregate(0, n_missing, places, None, None, None, None)
    mean = sum(present, Fraction(0)) / n
    sd_exact: Decimal | None = None
    if n >= 2:
        variance = sum(((v - mean) ** 2 for v in present), Fraction(0)) / (n - 1)
        sd_exact = _sqrt(variance)
    return Aggregate(
        n=n,
        n_missing=n_missing,
        places=places,
        mean_exact=mean,
        mean=round_half_up(mean, places),
        sd_exact=sd_exact,
        sd=None if sd_exact is None else round_half_up(sd_exact, places),
    )


# --------------------------------------------------------------------------------------------
# 1. Fidelity self-assessment (PBIS Tiered Fidelity Inventory style)
# --------------------------------------------------------------------------------------------


class UnratedReason(StrEnum):
    """Why the team left an adopted component without a rating.

    ``NOT_STARTED``: adopted, but the work on it has not begun. It is *scored* as 0 = ikke
    på plass (the PBIS TFI scores a feature that is not implemented as 0), so it counts as
    rated. ``NOT_APPLICABLE`` (not relevant this round) and ``NOT_ASSESSED`` (the team could
    not judge it) are left out of the points and the maximum, but count against the share
    rated. A rating of ``None`` without a reason (answers saved before reasons existed) is
    ``NOT_ASSESSED``.
    """

    NOT_STARTED = "not_started"
    NOT_APPLICABLE = "not_applicable"
    NOT_ASSESSED = "not_assessed"


@dataclass(frozen=True, slots=True)
class FidelityRating:
    """One team rating of one adopted component in one round.

    ``rating``: 0 = ikke på plass, 1 = delvis på plass, 2 = på plass, ``None`` = not rated.
    ``reason`` says why a component is not rated (only with ``rating is None``; see
    :class:`UnratedReason`): not started counts as 0, the others are left out of the
    denominator, and a missing reason means not assessed.
    """

    module_number: int
    component_key: str
    rating: int | None
    reason: UnratedReason | None = None

    @property
    def scored_value(self) -> int | None:
        """The points the component gives, or None when it is left out of the score."""
        if self.rating is not None:
            return self.rating
        return 0 if self.reason == UnratedReason.NOT_STARTED else None


@dataclass(frozen=True, slots=True)
class FidelityScore:
    """Points / (2 x rated components) x 100 for one module or for all modules.

    ``rated_count`` counts the components that are scored: rated 0-2, or not started (0
    points; ``not_started_count`` of them). ``unrated_count`` counts those left out: not
    applicable this round, or not assessed. ``rated_share_exact``/``rated_share_percent``
    = rated / (rated + unrated) x 100 (None without any component). ``measured``: at least
    one component is rated and the share rated reaches the model version's minimum.

    ``percent`` (1 decimal) and ``percent_exact`` are ``None`` when no component was rated.
    ``meets_threshold`` is ``None`` unless the score is measured (neither reached nor
    missed).
    """

    points: int
    max_points: int
    rated_count: int
    unrated_count: int
    not_started_count: int
    percent_exact: Fraction | None
    percent: Decimal | None
    rated_share_exact: Fraction | None
    rated_share_percent: Decimal | None
    measured: bool
    meets_threshold: bool | None

    @property
    def component_count(self) -> int:
        """All components of the rating (scored or left out)."""
        return self.rated_count + self.unrated_count


@dataclass(frozen=True, slots=True)
class ModuleFidelity:
    module_number: int
    score: FidelityScore


@dataclass(frozen=True, slots=True)
class FidelityResult:
    """Per-module scores (sorted by module number) and the overall score."""

    threshold: Decimal
    modules: tuple[ModuleFidelity, ...]
    overall: FidelityScore
    min_rated_percent: Decimal = DEFAULT_FIDELITY_MIN_RATED_PERCENT

    def module(self, module_number: int) -> FidelityScore:
        for item in self.modules:
            if item.module_number == module_number:
                return item.score
        raise KeyError(module_number)


def _fidelity_score(
    ratings: Sequence[FidelityRating], threshold: Fraction, min_rated: Fraction
) -> FidelityScore:
    scored = [r.scored_value for r in ratings if r.scored_value is not None]
    points = sum(scored)
    max_points = 2 * len(scored)
    percent: Fraction | None = None
    share: Fraction | None = None
    if scored:
        percent = Fraction(points * 100, max_points)
    if ratings:
        share = Fraction(len(scored) * 100, len(ratings))
    measured = share is not None and bool(scored) and share >= min_rated
    return FidelityScore(
        points=points,
        max_points=max_points,
        rated_count=len(scored),
        unrated_count=len(ratings) - len(scored),
        not_started_count=sum(
            1 for r in ratings if r.rating is None and r.reason == UnratedReason.NOT_STARTED
        ),
        percent_exact=percent,
        percent=_round_optional(percent, PERCENT_PLACES),
        rated_share_exact=share,
        rated_share_percent=_round_optional(share, PERCENT_PLACES),
        measured=measured,
        meets_threshold=(percent >= threshold) if measured and percent is not None else None,
    )


def _check_percent(value: Decimal | int, what: str, low: int) -> Fraction:
    fraction = Fraction(value)
    if not low <= fraction <= 100:
        raise ValueError(f"fidelity {what} must be within {low}..100 %, got {value}")
    return fraction


def score_fidelity(
    ratings: Iterable[FidelityRating],
    *,
    threshold: Decimal | int = DEFAULT_FIDELITY_THRESHOLD,
    min_rated_percent: Decimal | int = DEFAULT_FIDELITY_MIN_RATED_PERCENT,
) -> FidelityResult:
    """Score a fidelity self-assessment, per module and overall.

    Rule (DESIGN.md §4, after the PBIS Tiered Fidelity Inventory): each rated component gives
    0, 1 or 2 points; score = points / (2 x rated components) x 100.

    * A component the team did not rate carries a reason (:class:`UnratedReason`). *Not
      started* is scored as 0 and counts as rated (TFI: not implemented = 0). *Not
      applicable* and *not assessed* (also a ``None`` rating without a reason) are excluded
      from numerator *and* denominator, but count against the share rated.
    * Share rated = rated / all components x 100. The score is **measured** only if at least
      one component is rated and the share reaches ``min_rated_percent`` (the model
      version's minimum, default 80 %: a completeness rule as for prorated scale scores,
      stricter than the SF-36 "half rule"). Compared exactly; 80 % reaches 80 %.
    * A module (or the whole assessment) with zero rated components has score ``None`` and
      ``rated_count == 0`` - "not measured", not "0 % fidelity".
    * **Overall** is computed over all rated components of all modules pooled together, the
      same formula as per module, and so is its share rated. It is *not* the mean of the
      module percentages: a module with 6 rated components weighs three times as much as one
      with 2. (Module 1: 4 of 4 points = 100 %; module 2: 3 of 12 points = 25 %; overall 7
      of 16 points = 43.75 % -> 43.8 %, whereas the mean of the module percentages would be
      62.5 %.)
    * ``meets_threshold`` is ``percent_exact >= threshold`` (the model version's threshold,
      default 70 %), compared before rounding; exactly 70 % reaches a 70 % threshold. It is
      ``None`` for a score that is not measured.

    Raises ``ValueError`` for a rating outside {0, 1, 2} (naming module and component), for a
    reason beside a rating or an unknown reason, for the same component rated twice in one
    module, for a threshold outside 0..100 and a minimum share rated outside 1..100.
    """
    threshold_fraction = _check_percent(threshold, "threshold", 0)
    min_rated = _check_percent(min_rated_percent, "minimum share rated", 1)

    by_module: dict[int, list[FidelityRating]] = {}
    seen: set[tuple[int, str]] = set()
    for item in ratings:
        key = (item.module_number, item.component_key)
        where = f"component {item.component_key!r} in module {item.module_number}"
        if key in seen:
            raise ValueError(f"{where} is rated more than once")
        seen.add(key)
        if item.rating is not None and (not _is_int(item.rating) or item.rating not in (0, 1, 2)):
            raise ValueError(f"{where}: rating must be 0, 1, 2 or None, got {item.rating!r}")
        if item.reason is not None:
            if item.rating is not None:
                raise ValueError(f"{where}: a rated component takes no reason, got {item.reason!r}")
            if item.reason not in set(UnratedReason):
                raise ValueError(f"{where}: unknown reason {item.reason!r}")
        by_module.setdefault(item.module_number, []).append(item)

    modules = tuple(
        ModuleFidelity(number, _fidelity_score(by_module[number], threshold_fraction, min_rated))
        for number in sorted(by_module)
    )
    pooled = [r for number in sorted(by_module) for r in by_module[number]]
    return FidelityResult(
        threshold=Decimal(threshold),
        modules=modules,
        overall=_fidelity_score(pooled, threshold_fraction, min_rated),
        min_rated_percent=Decimal(min_rated_percent),
    )


# --------------------------------------------------------------------------------------------
# 2. AIM / IAM / FIM (Weiner et al. 2017)
# --------------------------------------------------------------------------------------------

WEINER_ITEMS = 4
WEINER_MIN, WEINER_MAX = 1, 5


@dataclass(frozen=True, slots=True)
class ScaleScore:
    """One respondent's score on one Weiner scale (AIM, IAM or FIM).

    ``score`` (2 decimals) / ``score_exact`` are ``None`` when any item is missing;
    ``missing_items`` lists the 1-based numbers of the unanswered items.
    """

    scale: str
    answered: int
    missing_items: tuple[int, ...]
    score_exact: Fraction | None
    score: Decimal | None

    @property
    def complete(self) -> bool:
        return not self.missing_items


def score_weiner_scale(scale: str, answers: Sequence[int | None]) -> ScaleScore:
    """Score one of Weiner's 4-item scales: the mean of its 4 items (1 = helt uenig ... 5).

    ``answers`` are items 1-4 in order; ``None`` marks an unanswered item.

    Missing items: the score is computed **only when all 4 items are answered**; otherwise it
    is ``None`` and the respondent is left out of the aggregate (counted in
    ``Aggregate.n_missing``). Why: Weiner et al. (2017) score each measure as the mean of its
    four items and validated the measures on complete responses; they give no imputation
    rule. With only four items, one missing item is 25 % of the scale, and a mean of three
    items would silently be a different instrument. The survey pages are meant to require every
    item, so an incomplete answer set should only arise from imported or partial data, and
    we would rather show it as missing than guess.

    Raises ``ValueError`` unless there are exactly 4 answers, each an int 1..5 or None.
    """
    if isinstance(answers, (str, bytes)) or len(answers) != WEINER_ITEMS:
        raise ValueError(f"{scale}: expected {WEINER_ITEMS} answers, got {len(answers)}")
    missing: list[int] = []
    for number, value in enumerate(answers, start=1):
        if value is None:
            missing.append(number)
        elif not _is_int(value) or not WEINER_MIN <= value <= WEINER_MAX:
            raise ValueError(
                f"{scale} item {number}: answer must be an integer "
                f"{WEINER_MIN}..{WEINER_MAX} or None, got {value!r}"
            )
    exact: Fraction | None = None
    if not missing:
        exact = Fraction(sum(v for v in answers if v is not None), WEINER_ITEMS)
    return ScaleScore(
        scale=scale,
        answered=WEINER_ITEMS - len(missing),
        missing_items=tuple(missing),
        score_exact=exact,
        score=_round_optional(exact, MEAN_PLACES),
    )


def score_aim(answers: Sequence[int | None]) -> ScaleScore:
    """Acceptability of Intervention Measure; see :func:`score_weiner_scale`."""
    return score_weiner_scale("AIM", answers)


def score_iam(answers: Sequence[int | None]) -> ScaleScore:
    """Intervention Appropriateness Measure; see :func:`score_weiner_scale`."""
    return score_weiner_scale("IAM", answers)


def score_fim(answers: Sequence[int | None]) -> ScaleScore:
    """Feasibility of Intervention Measure; see :func:`score_weiner_scale`."""
    return score_weiner_scale("FIM", answers)


def aggregate_scale_scores(scores: Iterable[ScaleScore]) -> Aggregate:
    """Mean, n and sample SD of respondents' AIM/IAM/FIM scores, 2 decimals.

    The mean is over respondents' scale scores (each the mean of 4 items); incomplete
    respondents are excluded and counted in ``n_missing``.
    """
    return aggregate((s.score_exact for s in scores), places=MEAN_PLACES)


# --------------------------------------------------------------------------------------------
# 3. SUS (Brooke 1996)
# --------------------------------------------------------------------------------------------

SUS_ITEMS = 10


@dataclass(frozen=True, slots=True)
class SusScore:
    """One respondent's SUS score, 0..100 (1 decimal); ``None`` when any item is missing."""

    answered: int
    missing_items: tuple[int, ...]
    score_exact: Fraction | None
    score: Decimal | None

    @property
    def complete(self) -> bool:
        return not self.missing_items


def score_sus(answers: Sequence[int | None]) -> SusScore:
    """Score the System Usability Scale (Brooke 1996).

    ``answers`` are items 1-10 in order, each 1 (strongly disagree) .. 5 (strongly agree).
    Odd items are positively worded and contribute (answer - 1); even items are negatively
    worded and contribute (5 - answer); the sum (0..40) is multiplied by 2.5, giving 0..100.
    All answers 1 -> 50 (odd items 0 each, even items 4 each: 2.5 x 20); all answers 5 -> 50;
    odd 5 / even 1 -> 100; odd 1 / even 5 -> 0. Every score is a multiple of 2.5.

    Missing items: **any missing item makes the score ``None``**. Brooke (1996) tells the
    *respondent* to mark the centre point (3) of an item they feel unable to answer; that is
    an instruction for filling in the form, which the survey page is meant to show (and to
    require all ten items). It is not a rule for the scorer to invent answers: imputing 3
    afterwards would be indistinguishable from a real answer and would pull the score
    towards 50. So an incomplete SUS is reported as missing, not scored.

    Raises ``ValueError`` unless there are exactly 10 answers, each an int 1..5 or None.
    """
    if isinstance(answers, (str, bytes)) or len(answers) != SUS_ITEMS:
        raise ValueError(f"SUS: expected {SUS_ITEMS} answers, got {len(answers)}")
    missing: list[int] = []
    total = 0
    for number, value in enumerate(answers, start=1):
        if value is None:
            missing.append(number)
            continue
        if not _is_int(value) or not 1 <= value <= 5:
            raise ValueError(
                f"SUS item {number}: answer must be an integer 1..5 or None, got {value!r}"
            )
        total += (value - 1) if number % 2 == 1 else (5 - value)
    exact: Fraction | None = None if missing else Fraction(total) * Fraction(5, 2)
    return SusScore(
        answered=SUS_ITEMS - len(missing),
        missing_items=tuple(missing),
        score_exact=exact,
        score=_round_optional(exact, SUS_PLACES),
    )


def aggregate_sus_scores(scores: Iterable[SusScore]) -> Aggregate:
    """Mean, n and sample SD of respondents' SUS scores, 1 decimal; incomplete ones excluded."""
    return aggregate((s.score_exact for s in scores), places=SUS_PLACES)


# --------------------------------------------------------------------------------------------
# 4. CFIR 2.0 determinants (Damschroder et al. 2022)
# --------------------------------------------------------------------------------------------

CFIR_MIN, CFIR_MAX = -2, 2


class Direction(StrEnum):
    """Sign of a CFIR rating or mean: < 0 barrier, > 0 facilitator, 0 neutral/mixed."""

    BARRIER = "barrier"
    NEUTRAL = "neutral"
    FACILITATOR = "facilitator"

    @classmethod
    def of(cls, value: Fraction | int | None) -> Direction | None:
        if value is None:
            return None
        if value < 0:
            return cls.BARRIER
        if value > 0:
            return cls.FACILITATOR
        return cls.NEUTRAL


@dataclass(frozen=True, slots=True)
class CfirRating:
    """One rater's rating of one construct: -2 strong barrier .. +2 strong facilitator,
    0 neutral/mixed, ``None`` missing. ``rater`` is optional; when given, the same rater may
    rate a construct only once."""

    domain: str
    construct: str
    rating: int | None
    rater: str | None = None


@dataclass(frozen=True, slots=True)
class CfirConstructScore:
    """Mean over raters of one construct (2 decimals), missing ratings excluded.

    ``barrier_ratings``/``facilitator_ratings``/``neutral_ratings`` count the individual
    ratings < 0, > 0 and == 0; ``direction`` is the sign of the mean (None without ratings).
    """

    domain: str
    construct: str
    n: int
    n_missing: int
    mean_exact: Fraction | None
    mean: Decimal | None
    direction: Direction | None
    barrier_ratings: int
    facilitator_ratings: int
    neutral_ratings: int


@dataclass(frozen=True, slots=True)
class CfirDomainScore:
    """Mean of the construct means of one domain (2 decimals).

    ``n_constructs`` constructs had at least one rating and entered the mean;
    ``n_constructs_missing`` had none. ``barrier_constructs`` etc. count constructs by the sign
    of their mean; ``n_ratings``/``n_missing_ratings`` and ``barrier_ratings`` etc. count the
    individual ratings in the domain.
    """

    domain: str
    constructs: tuple[CfirConstructScore, ...]
    n_constructs: int
    n_constructs_missing: int
    n_ratings: int
    n_missing_ratings: int
    mean_exact: Fraction | None
    mean: Decimal | None
    direction: Direction | None
    barrier_constructs: int
    facilitator_constructs: int
    neutral_constructs: int
    barrier_ratings: int
    facilitator_ratings: int
    neutral_ratings: int


@dataclass(frozen=True, slots=True)
class CfirResult:
    domains: tuple[CfirDomainScore, ...]

    def domain(self, key: str) -> CfirDomainScore:
        for item in self.domains:
            if item.domain == key:
                return item
        raise KeyError(key)

    def construct(self, domain: str, construct: str) -> CfirConstructScore:
        for item in self.domain(domain).constructs:
            if item.construct == construct:
                return item
        raise KeyError((domain, construct))


def _construct_score(
    domain: str, construct: str, ratings: Sequence[int | None]
) -> CfirConstructScore:
    present = [r for r in ratings if r is not None]
    mean = Fraction(sum(present), len(present)) if present else None
    return CfirConstructScore(
        domain=domain,
        construct=construct,
        n=len(present),
        n_missing=len(ratings) - len(present),
        mean_exact=mean,
        mean=_round_optional(mean, MEAN_PLACES),
        direction=Direction.of(mean),
        barrier_ratings=sum(1 for r in present if r < 0),
        facilitator_ratings=sum(1 for r in present if r > 0),
        neutral_ratings=sum(1 for r in present if r == 0),
    )


def _domain_score(domain: str, constructs: tuple[CfirConstructScore, ...]) -> CfirDomainScore:
    means = [c.mean_exact for c in constructs if c.mean_exact is not None]
    mean = sum(means, Fraction(0)) / len(means) if means else None
    return CfirDomainScore(
        domain=domain,
        constructs=constructs,
        n_constructs=len(means),
        n_constructs_missing=len(constructs) - len(means),
        n_ratings=sum(c.n for c in constructs),
        n_missing_ratings=sum(c.n_missing for c in constructs),
        mean_exact=mean,
        mean=_round_optional(mean, MEAN_PLACES),
        direction=Direction.of(mean),
        barrier_constructs=sum(1 for c in constructs if c.direction is Direction.BARRIER),
        facilitator_constructs=sum(1 for c in constructs if c.direction is Direction.FACILITATOR),
        neutral_constructs=sum(1 for c in constructs if c.direction is Direction.NEUTRAL),
        barrier_ratings=sum(c.barrier_ratings for c in constructs),
        facilitator_ratings=sum(c.facilitator_ratings for c in constructs),
        neutral_ratings=sum(c.neutral_ratings for c in constructs),
    )


def score_cfir(ratings: Iterable[CfirRating]) -> CfirResult:
    """Summarise CFIR 2.0 determinant ratings per construct and per domain.

    * **Construct** mean = mean of its non-missing ratings over raters (one team rating is
      simply n = 1). Missing ratings are excluded and counted; all missing -> mean ``None``.
    * **Domain** mean = mean of its **construct means** (constructs without any rating are
      left out); all constructs missing -> ``None``. We average construct means rather than
      all ratings pooled because the construct is CFIR's unit of assessment: each construct
      is one determinant and should weigh the same in its domain however many raters happened
      to rate it. Pooling would let one well-rated construct dominate the domain. (Domain
      with construct A rated +2, +2, +2 and B rated -1: construct means 2 and -1, domain
      mean 0.50; pooled ratings would give 1.25.)
    * Counts: per construct the ratings < 0 (barrier), > 0 (facilitator) and == 0 (neutral);
      per domain the constructs by the sign of their mean, and the ratings summed.

    Domains and constructs are returned in the order they first appear in ``ratings`` (the
    catalog order, when the caller passes ratings in that order); a construct listed only
    with ``None`` ratings still appears, with mean ``None``.

    Raises ``ValueError`` for a rating outside -2..+2 (naming domain and construct), and for
    the same rater rating the same construct twice.
    """
    grouped: dict[str, dict[str, list[int | None]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for item in ratings:
        if item.rating is not None and (
            not _is_int(item.rating) or not CFIR_MIN <= item.rating <= CFIR_MAX
        ):
            raise ValueError(
                f"CFIR construct {item.construct!r} in domain {item.domain!r}: rating must be "
                f"an integer {CFIR_MIN}..{CFIR_MAX} or None, got {item.rating!r}"
            )
        if item.rater is not None:
            key = (item.domain, item.construct, item.rater)
            if key in seen:
                raise ValueError(
                    f"CFIR construct {item.construct!r} in domain {item.domain!r} is rated "
                    f"more than once by rater {item.rater!r}"
                )
            seen.add(key)
        grouped.setdefault(item.domain, {}).setdefault(item.construct, []).append(item.rating)

    domains = tuple(
        _domain_score(
            domain,
            tuple(_construct_score(domain, c, values) for c, values in constructs.items()),
        )
        for domain, constructs in grouped.items()
    )
    return CfirResult(domains=domains)


# --------------------------------------------------------------------------------------------
# 5. SIC - Stages of Implementation Completion (Saldana) over the five NIRN stages
# --------------------------------------------------------------------------------------------


class Stage(StrEnum):
    """The five NIRN implementation stages, in order (DESIGN.md §4).

    Values are the English keys; the Norwegian keys (``"utforskning"``, ``"installering"``,
    ``"innledende_implementering"``, ``"full_implementering"``, ``"baerekraft"``/
    ``"bærekraft"``) are accepted too: ``Stage("utforskning") is Stage.EXPLORATION``.
    """

    EXPLORATION = "exploration"  # Utforskning
    INSTALLATION = "installation"  # Installering
    INITIAL = "initial"  # Innledende implementering
    FULL = "full"  # Full implementering
    SUSTAINMENT = "sustainment"  # Bærekraft

    @classmethod
    def _missing_(cls, value: object) -> Stage | None:
        if isinstance(value, str):
            return _STAGE_ALIASES.get(value.strip().lower().replace(" ", "_"))
        return None

    @property
    def order(self) -> int:
        """1 (exploration) .. 5 (sustainment)."""
        return _STAGE_ORDER.index(self) + 1


_STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)
_STAGE_ALIASES: Mapping[str, Stage] = {
    "utforskning": Stage.EXPLORATION,
    "installering": Stage.INSTALLATION,
    "innledende_implementering": Stage.INITIAL,
    "innledende": Stage.INITIAL,
    "initial_implementation": Stage.INITIAL,
    "full_implementering": Stage.FULL,
    "full_implementation": Stage.FULL,
    "baerekraft": Stage.SUSTAINMENT,
    "bærekraft": Stage.SUSTAINMENT,
}


@dataclass(frozen=True, slots=True)
class SicStageInput:
    """Dates and steps of one stage for one school x module.

    ``entered``: first day in the stage (``None`` = not entered); ``exited``: the day it was
    left (``None`` = still in it). ``steps``: one bool per strategy step of the stage, True
    when done. ``stage`` may be a :class:`Stage` or any key it accepts.
    """

    stage: Stage | str
    entered: date | None
    exited: date | None = None
    steps: Sequence[bool] = ()


@dataclass(frozen=True, slots=True)
class SicStageScore:
    """Duration and completion of one stage.

    ``days``: ``exited - entered`` in whole days (same-day entry and exit = 0), or
    ``as_of - entered`` while ongoing, ``None`` when not entered. ``proportion`` (2 decimals)
    / ``proportion_exact``: steps done / steps in the stage, ``None`` when the stage has no
    steps; computed whether or not the stage was entered.
    """

    stage: Stage
    entered: date | None
    exited: date | None
    ongoing: bool
    days: int | None
    steps_total: int
    steps_done: int
    proportion_exact: Fraction | None
    proportion: Decimal | None

    @property
    def reached(self) -> bool:
        return self.entered is not None


@dataclass(frozen=True, slots=True)
class SicResult:
    """All five stages in NIRN order (stages missing from the input are "not entered")."""

    as_of: date
    stages: tuple[SicStageScore, ...]
    furthest_stage: Stage | None

    def stage(self, stage: Stage | str) -> SicStageScore:
        wanted = Stage(stage)
        return next(s for s in self.stages if s.stage is wanted)


def _sic_stage(stage: Stage, item: SicStageInput | None, as_of: date) -> SicStageScore:
    if item is None:
        return SicStageScore(stage, None, None, False, None, 0, 0, None, None)
    entered, exited = item.entered, item.exited
    if entered is None and exited is not None:
        raise ValueError(f"stage {stage.value!r}: exit date {exited} without an entry date")
    if entered is not None and exited is not None and exited < entered:
        raise ValueError(f"stage {stage.value!r}: exit date {exited} is before entry {entered}")
    for label, day in (("entry", entered), ("exit", exited)):
        if day is not None and day > as_of:
            raise ValueError(f"stage {stage.value!r}: {label} date {day} is after as_of {as_of}")
    for position, done in enumerate(item.steps, start=1):
        if not isinstance(done, bool):
            raise ValueError(
                f"stage {stage.value!r} step {position}: expected True/False, got {done!r}"
            )
    days: int | None = None
    if entered is not None:
        days = ((exited or as_of) - entered).days
    total = len(item.steps)
    done_count = sum(1 for done in item.steps if done)
    proportion = Fraction(done_count, total) if total else None
    return SicStageScore(
        stage=stage,
        entered=entered,
        exited=exited,
        ongoing=entered is not None and exited is None,
        days=days,
        steps_total=total,
        steps_done=done_count,
        proportion_exact=proportion,
        proportion=_round_optional(proportion, PROPORTION_PLACES),
    )


def score_sic(stages: Iterable[SicStageInput], *, as_of: date) -> SicResult:
    """Score one school x module as SIC does: time spent in each stage and share of its
    steps completed (Saldana 2014, Stages of Implementation Completion), over the five NIRN
    stages.

    * Days in stage = exit - entry; an ongoing stage (no exit) counts up to ``as_of``; a stage
      not entered has ``days is None``. NIRN stages may overlap, so days are per stage and are
      not summed into a total.
    * Proportion = steps done / steps of the stage; zero steps -> ``None``.
    * Furthest stage reached = the latest stage (in NIRN order) with an entry date, whether
      or not earlier stages were recorded; ``None`` when no stage was entered.

    Raises ``ValueError`` for an exit before its entry, an exit without an entry, a date after
    ``as_of``, a step flag that is not a bool, an unknown stage key, or a stage given twice.
    """
    by_stage: dict[Stage, SicStageInput] = {}
    for item in stages:
        try:
            stage = Stage(item.stage)
        except ValueError:
            raise ValueError(f"unknown implementation stage {item.stage!r}") from None
        if stage in by_stage:
            raise ValueError(f"stage {stage.value!r} is given more than once")
        by_stage[stage] = item
    scored = tuple(_sic_stage(stage, by_stage.get(stage), as_of) for stage in _STAGE_ORDER)
    reached = [s.stage for s in scored if s.reached]
    return SicResult(as_of=as_of, stages=scored, furthest_stage=reached[-1] if reached else None)
