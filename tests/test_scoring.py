"""Scoring rules against hand-computed values (implementation/scoring.py, docs/scoring.md).

Pure tests: no database, no Django fixtures. Every expected number is a literal, with the
arithmetic that produces it written next to it.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from implementation.scoring import (
    DEFAULT_FIDELITY_MIN_RATED_PERCENT,
    DEFAULT_FIDELITY_THRESHOLD,
    CfirRating,
    Direction,
    FidelityRating,
    SicStageInput,
    Stage,
    UnratedReason,
    aggregate,
    aggregate_scale_scores,
    aggregate_sus_scores,
    round_half_up,
    score_aim,
    score_cfir,
    score_fidelity,
    score_fim,
    score_iam,
    score_sic,
    score_sus,
)

# --------------------------------------------------------------------------------------------
# Rounding
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(175, 4), 1, "43.8"),  # 43.75 -> tie, away from zero
        (Fraction(-1, 8), 2, "-0.13"),  # -0.125 -> tie, away from zero
        (Fraction(1, 8), 2, "0.13"),  # 0.125
        (Fraction(107, 40), 2, "2.68"),  # 2.675 (a float would give 2.67)
        (Fraction(200, 3), 1, "66.7"),  # 66.666...
        (Fraction(2, 3), 2, "0.67"),
        (50, 1, "50.0"),  # always carries the places
        (0, 2, "0.00"),
        (Fraction(-1, 1000), 2, "0.00"),  # -0.001 -> zero without a minus sign
        (Decimal("23.84848"), 1, "23.8"),
    ],
)
def test_it_rounds_half_up_exactly(
    value: Fraction | int | Decimal, places: int, expected: str
) -> None:
    result = round_half_up(value, places)

    assert str(result) == expected


def test_it_aggregates_with_a_sample_standard_deviation() -> None:
    result = aggregate([1, 2, 3, 4, None])

    # mean = (1 + 2 + 3 + 4) / 4 = 2.5
    # SD = sqrt(((-1.5)² + (-0.5)² + 0.5² + 1.5²) / (4 - 1)) = sqrt(5 / 3) = 1.29099...
    assert (result.n, result.n_missing) == (4, 1)
    assert result.mean_exact == Fraction(5, 2)
    assert result.mean == Decimal("2.50")
    assert result.sd == Decimal("1.29")
    assert result.sd_exact is not None
    assert abs(result.sd_exact - Decimal("1.290994448735805628393088466")) < Decimal("1e-26")


def test_it_leaves_mean_and_sd_empty_without_enough_values() -> None:
    nothing = aggregate([None, None])
    one = aggregate([Fraction(7, 2)])

    assert (nothing.n, nothing.n_missing, nothing.mean, nothing.sd) == (0, 2, None, None)
    assert (one.n, one.mean, one.sd, one.sd_exact) == (1, Decimal("3.50"), None, None)


# --------------------------------------------------------------------------------------------
# 1. Fidelity self-assessment
# --------------------------------------------------------------------------------------------


def _fidelity(module_ratings: dict[int, list[int | None]]) -> list[FidelityRating]:
    return [
        FidelityRating(module, f"m{module}c{index}", rating)
        for module, ratings in module_ratings.items()
        for index, rating in enumerate(ratings, start=1)
    ]


def test_it_scores_fidelity_per_module_and_overall_from_pooled_components() -> None:
    result = score_fidelity(_fidelity({1: [2, 2], 2: [1, 1, 0, 0, 1, 0]}))

    module_1, module_2 = result.module(1), result.module(2)
    # module 1: (2 + 2) / (2 × 2) × 100 = 4 / 4 × 100 = 100 %
    assert (module_1.points, module_1.max_points, module_1.rated_count) == (4, 4, 2)
    assert module_1.percent == Decimal("100.0")
    assert module_1.meets_threshold is True
    # module 2: (1 + 1 + 0 + 0 + 1 + 0) / (2 × 6) × 100 = 3 / 12 × 100 = 25 %
    assert (module_2.points, module_2.max_points, module_2.rated_count) == (3, 12, 6)
    assert module_2.percent == Decimal("25.0")
    assert module_2.meets_threshold is False
    # overall: (4 + 3) / (2 × 8) × 100 = 7 / 16 × 100 = 43.75 -> 43.8 (half up)
    assert (result.overall.points, result.overall.max_points) == (7, 16)
    assert result.overall.percent_exact == Fraction(175, 4)
    assert result.overall.percent == Decimal("43.8")
    assert result.overall.meets_threshold is False
    # ... and not the mean of the module percentages: (100 + 25) / 2 = 62.5
    assert result.overall.percent != Decimal("62.5")
    assert [m.module_number for m in result.modules] == [1, 2]
    assert result.threshold == DEFAULT_FIDELITY_THRESHOLD == Decimal("70")


def test_it_counts_a_module_exactly_at_the_threshold_as_reaching_it() -> None:
    result = score_fidelity(_fidelity({3: [2, 2, 1, 1, 1]}))

    # (2 + 2 + 1 + 1 + 1) / (2 × 5) × 100 = 7 / 10 × 100 = 70 % >= 70 %
    assert result.module(3).percent == Decimal("70.0")
    assert result.module(3).meets_threshold is True
    assert result.overall.meets_threshold is True


def test_it_compares_with_the_threshold_before_rounding() -> None:
    result = score_fidelity(_fidelity({1: [2, 1, 1]}), threshold=Decimal("66.7"))

    # (2 + 1 + 1) / (2 × 3) × 100 = 4 / 6 × 100 = 66.666... shown as 66.7, but < 66.7
    assert result.module(1).percent == Decimal("66.7")
    assert result.module(1).percent_exact == Fraction(200, 3)
    assert result.module(1).meets_threshold is False


def test_it_uses_the_model_versions_threshold() -> None:
    ratings = _fidelity({1: [2, 2, 2, 1]})

    # (2 + 2 + 2 + 1) / (2 × 4) × 100 = 7 / 8 × 100 = 87.5 %
    assert score_fidelity(ratings, threshold=Decimal("80")).overall.meets_threshold is True
    assert score_fidelity(ratings, threshold=90).overall.meets_threshold is False
    assert score_fidelity(ratings).overall.percent == Decimal("87.5")


def test_it_leaves_unrated_components_out_of_the_denominator() -> None:
    result = score_fidelity(_fidelity({1: [2, None, 1, None]}))

    # rated: 2 and 1 -> (2 + 1) / (2 × 2) × 100 = 3 / 4 × 100 = 75 %  (not 3 / 8 = 37.5 %)
    score = result.module(1)
    assert (score.rated_count, score.unrated_count) == (2, 2)
    assert score.percent == Decimal("75.0")
    # ... but 2 of 4 rated is 50 % < 80 %: not measured, so neither reached nor missed
    assert score.measured is False
    assert score.meets_threshold is None


def test_it_gives_no_score_to_a_module_with_zero_rated_components() -> None:
    result = score_fidelity(_fidelity({1: [2, 1], 2: [None, None]}))

    empty = result.module(2)
    assert (empty.rated_count, empty.unrated_count, empty.points) == (0, 2, 0)
    assert empty.percent is None
    assert empty.percent_exact is None
    assert empty.meets_threshold is None
    # overall only over rated components: (2 + 1) / (2 × 2) × 100 = 75 %
    assert result.overall.percent == Decimal("75.0")
    assert (result.overall.rated_count, result.overall.unrated_count) == (2, 2)
    assert result.overall.measured is False  # 2 of 4 rated = 50 % < 80 %


def test_it_gives_no_overall_score_when_nothing_is_rated() -> None:
    unrated = score_fidelity(_fidelity({1: [None]}))
    empty = score_fidelity([])

    assert unrated.overall.percent is None
    assert unrated.overall.rated_count == 0
    assert unrated.overall.meets_threshold is None
    assert empty.modules == ()
    assert empty.overall.percent is None


def test_it_scores_all_minimum_and_all_maximum_fidelity() -> None:
    lowest = score_fidelity(_fidelity({1: [0, 0, 0]}))
    highest = score_fidelity(_fidelity({1: [2, 2, 2]}))

    # 0 / (2 × 3) × 100 = 0 %;  6 / (2 × 3) × 100 = 100 %
    assert lowest.overall.percent == Decimal("0.0")
    assert lowest.overall.meets_threshold is False
    assert highest.overall.percent == Decimal("100.0")
    assert highest.overall.meets_threshold is True


@pytest.mark.parametrize("bad", [3, -1, True, 1.5, "2"])
def test_it_rejects_a_fidelity_rating_outside_0_1_2_naming_the_component(bad: object) -> None:
    ratings = [FidelityRating(1, "kartlegging", 2), FidelityRating(2, "samtalegrupper", bad)]  # type: ignore[arg-type]

    with pytest.raises(ValueError, match=r"'samtalegrupper' in module 2"):
        score_fidelity(ratings)


def test_it_rejects_a_component_rated_twice_and_a_threshold_out_of_range() -> None:
    twice = [FidelityRating(1, "kartlegging", 2), FidelityRating(1, "kartlegging", 1)]

    with pytest.raises(ValueError, match="'kartlegging' in module 1 is rated more than once"):
        score_fidelity(twice)
    with pytest.raises(ValueError, match="threshold"):
        score_fidelity([], threshold=Decimal("100.1"))
    with pytest.raises(ValueError, match="threshold"):
        score_fidelity([], threshold=-1)


# --- Why a component is not rated, and the share rated --------------------------------------

NOT_STARTED = UnratedReason.NOT_STARTED
NOT_APPLICABLE = UnratedReason.NOT_APPLICABLE
NOT_ASSESSED = UnratedReason.NOT_ASSESSED

Mark = int | UnratedReason | None


def _marked(module_ratings: dict[int, list[Mark]]) -> list[FidelityRating]:
    """Ratings 0-2, or the reason a component is left unrated."""
    return [
        FidelityRating(module, f"m{module}c{index}", None, mark)
        if isinstance(mark, UnratedReason)
        else FidelityRating(module, f"m{module}c{index}", mark)
        for module, marks in module_ratings.items()
        for index, mark in enumerate(marks, start=1)
    ]


def test_it_measures_four_rated_components_of_four() -> None:
    score = score_fidelity(_fidelity({1: [2, 2, 1, 0]})).overall

    # (2 + 2 + 1 + 0) / (2 × 4) × 100 = 5 / 8 × 100 = 62.5 %;  4 of 4 rated = 100 %
    assert (score.points, score.max_points, score.rated_count, score.unrated_count) == (5, 8, 4, 0)
    assert score.percent == Decimal("62.5")
    assert score.rated_share_percent == Decimal("100.0")
    assert score.measured is True
    assert score.meets_threshold is False


def test_it_scores_a_component_not_started_as_zero() -> None:
    score = score_fidelity(_marked({1: [2, 2, 1, NOT_STARTED]})).overall

    # "not started" is "not in place": 0 points of 2, as in the TFI.
    # (2 + 2 + 1 + 0) / (2 × 4) × 100 = 5 / 8 × 100 = 62.5 %;  (3 + 1) of 4 rated = 100 %
    assert (score.points, score.max_points, score.rated_count) == (5, 8, 4)
    assert (score.not_started_count, score.unrated_count) == (1, 0)
    assert score.percent == Decimal("62.5")
    assert score.rated_share_percent == Decimal("100.0")
    assert score.measured is True
    assert score.meets_threshold is False


def test_it_does_not_count_a_score_as_measured_when_a_component_is_not_assessed() -> None:
    score = score_fidelity(_marked({1: [2, 2, 1, NOT_ASSESSED]})).overall

    # (2 + 2 + 1) / (2 × 3) × 100 = 5 / 6 × 100 = 83.333... -> 83.3 %, above 70 % ...
    assert (score.points, score.max_points, score.rated_count, score.unrated_count) == (5, 6, 3, 1)
    assert score.percent == Decimal("83.3")
    # ... but only 3 of 4 rated = 75 % < 80 %: not measured, so no verdict on the threshold
    assert score.rated_share_exact == Fraction(75)
    assert score.rated_share_percent == Decimal("75.0")
    assert score.measured is False
    assert score.meets_threshold is None


def test_it_does_not_measure_one_component_rated_of_eight() -> None:
    score = score_fidelity(_marked({1: [2, *[NOT_ASSESSED] * 7]})).overall

    # 2 / (2 × 1) × 100 = 100 %, but 1 of 8 rated = 12.5 % < 80 %
    assert (score.rated_count, score.unrated_count) == (1, 7)
    assert score.percent == Decimal("100.0")
    assert score.rated_share_percent == Decimal("12.5")
    assert score.measured is False
    assert score.meets_threshold is None


def test_it_measures_a_score_with_exactly_the_minimum_share_rated() -> None:
    score = score_fidelity(_marked({1: [2, 2, 1, 2, NOT_APPLICABLE]})).overall

    # (2 + 2 + 1 + 2) / (2 × 4) × 100 = 7 / 8 × 100 = 87.5 %;  4 of 5 rated = 80 % >= 80 %
    assert score.percent == Decimal("87.5")
    assert score.rated_share_percent == Decimal("80.0")
    assert score.measured is True
    assert score.meets_threshold is True


def test_it_treats_an_unrated_component_without_a_reason_as_not_assessed() -> None:
    without_reason = score_fidelity(_fidelity({1: [2, 2, 1, None]})).overall
    not_assessed = score_fidelity(_marked({1: [2, 2, 1, NOT_ASSESSED]})).overall

    assert without_reason == not_assessed


def test_it_measures_each_module_and_the_pooled_overall_on_its_own() -> None:
    result = score_fidelity(
        _marked({1: [2, 2, 1, 1], 2: [2, NOT_ASSESSED, NOT_APPLICABLE], 3: [NOT_STARTED, 1]})
    )

    module_1, module_2, module_3 = result.module(1), result.module(2), result.module(3)
    # module 1: 6 / 8 = 75 %, 4 of 4 rated = 100 % -> measured, 75 % >= 70 %
    assert (module_1.percent, module_1.rated_share_percent) == (Decimal("75.0"), Decimal("100.0"))
    assert (module_1.measured, module_1.meets_threshold) == (True, True)
    # module 2: 2 / 2 = 100 %, 1 of 3 rated = 33.333... -> 33.3 % < 80 % -> not measured
    assert (module_2.percent, module_2.rated_share_percent) == (Decimal("100.0"), Decimal("33.3"))
    assert (module_2.measured, module_2.meets_threshold) == (False, None)
    # module 3: (0 + 1) / (2 × 2) = 1 / 4 = 25 %, 2 of 2 rated -> measured, below 70 %
    assert (module_3.percent, module_3.not_started_count) == (Decimal("25.0"), 1)
    assert (module_3.measured, module_3.meets_threshold) == (True, False)
    # overall, pooled: (6 + 2 + 1) / (2 × 7) = 9 / 14 = 64.285... -> 64.3 %;
    # 7 of 9 rated = 77.777... -> 77.8 % < 80 % -> not measured
    overall = result.overall
    assert (overall.points, overall.max_points, overall.rated_count) == (9, 14, 7)
    assert (overall.not_started_count, overall.unrated_count) == (1, 2)
    assert overall.percent == Decimal("64.3")
    assert overall.rated_share_percent == Decimal("77.8")
    assert (overall.measured, overall.meets_threshold) == (False, None)


def test_it_uses_the_model_versions_minimum_share_rated() -> None:
    ratings = _marked({1: [2, 2, 1, NOT_ASSESSED]})

    # 3 of 4 rated = 75 %: measured with a minimum of 75 %, not with 76 %
    lenient = score_fidelity(ratings, min_rated_percent=75)
    strict = score_fidelity(ratings, min_rated_percent=Decimal("76"))

    assert (lenient.overall.measured, lenient.overall.meets_threshold) == (True, True)
    assert (strict.overall.measured, strict.overall.meets_threshold) == (False, None)
    assert lenient.min_rated_percent == Decimal("75")
    assert score_fidelity(ratings).min_rated_percent == DEFAULT_FIDELITY_MIN_RATED_PERCENT
    assert Decimal("80") == DEFAULT_FIDELITY_MIN_RATED_PERCENT


def test_it_measures_nothing_when_every_component_is_left_out() -> None:
    score = score_fidelity(_marked({1: [NOT_APPLICABLE, NOT_ASSESSED]})).overall

    assert (score.rated_count, score.unrated_count) == (0, 2)
    assert score.percent is None
    assert score.rated_share_percent == Decimal("0.0")
    assert (score.measured, score.meets_threshold) == (False, None)
    assert score_fidelity([]).overall.rated_share_percent is None


def test_it_rejects_a_reason_for_a_rated_component_and_an_unknown_reason() -> None:
    rated_with_reason = [FidelityRating(1, "kartlegging", 2, NOT_STARTED)]
    unknown = [FidelityRating(1, "kartlegging", None, "forgot")]  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="'kartlegging' in module 1: a rated component"):
        score_fidelity(rated_with_reason)
    with pytest.raises(ValueError, match="'kartlegging' in module 1: unknown reason 'forgot'"):
        score_fidelity(unknown)
    with pytest.raises(ValueError, match="minimum share rated"):
        score_fidelity([], min_rated_percent=0)
    with pytest.raises(ValueError, match="minimum share rated"):
        score_fidelity([], min_rated_percent=101)


# --------------------------------------------------------------------------------------------
# 2. AIM / IAM / FIM
# --------------------------------------------------------------------------------------------


def test_it_scores_a_weiner_scale_as_the_mean_of_its_four_items() -> None:
    aim = score_aim([4, 5, 4, 3])
    iam = score_iam([4, 4, 5, 4])
    fim = score_fim([3, 4, 3, 4])

    # AIM (4 + 5 + 4 + 3) / 4 = 16 / 4 = 4.00
    assert (aim.scale, aim.score, aim.complete) == ("AIM", Decimal("4.00"), True)
    # IAM (4 + 4 + 5 + 4) / 4 = 17 / 4 = 4.25
    assert (iam.scale, iam.score, iam.score_exact) == ("IAM", Decimal("4.25"), Fraction(17, 4))
    # FIM (3 + 4 + 3 + 4) / 4 = 14 / 4 = 3.50
    assert (fim.scale, fim.score) == ("FIM", Decimal("3.50"))


def test_it_scores_all_minimum_and_all_maximum_weiner_answers() -> None:
    # (1 + 1 + 1 + 1) / 4 = 1.00;  (5 + 5 + 5 + 5) / 4 = 5.00
    assert score_aim([1, 1, 1, 1]).score == Decimal("1.00")
    assert score_aim([5, 5, 5, 5]).score == Decimal("5.00")


def test_it_gives_no_weiner_score_when_an_item_is_missing() -> None:
    result = score_fim([5, 5, None, 5])

    # rule: all 4 items required; the mean of the 3 answered (5.00) is NOT used
    assert result.score is None
    assert result.score_exact is None
    assert result.answered == 3
    assert result.missing_items == (3,)
    assert result.complete is False
    assert score_fim([None, None, None, None]).missing_items == (1, 2, 3, 4)


def test_it_aggregates_weiner_scores_over_complete_respondents() -> None:
    respondents = [
        score_aim([4, 5, 4, 3]),  # 4.00
        score_aim([4, 4, 5, 4]),  # 4.25
        score_aim([3, 4, 3, 4]),  # 3.50
        score_aim([1, None, 1, 1]),  # incomplete -> left out
    ]

    result = aggregate_scale_scores(respondents)

    # mean = (4 + 4.25 + 3.5) / 3 = 11.75 / 3 = 47/12 = 3.91666... -> 3.92
    # deviations from 47/12: +1/12, +4/12, -5/12; squares sum (1 + 16 + 25) / 144 = 7/24
    # SD = sqrt((7/24) / (3 - 1)) = sqrt(7/48) = 0.38188... -> 0.38
    assert (result.n, result.n_missing) == (3, 1)
    assert result.mean_exact == Fraction(47, 12)
    assert result.mean == Decimal("3.92")
    assert result.sd == Decimal("0.38")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0, 3, 3, 3], "AIM item 1"),
        ([3, 3, 3, 6], "AIM item 4"),
        ([3, True, 3, 3], "AIM item 2"),
        ([3, 3, 3.5, 3], "AIM item 3"),
        ([3, 3, 3], "expected 4 answers, got 3"),
        ([3, 3, 3, 3, 3], "expected 4 answers, got 5"),
    ],
)
def test_it_rejects_invalid_weiner_answers(answers: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score_aim(answers)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# 3. SUS
# --------------------------------------------------------------------------------------------


def test_it_scores_sus_with_brookes_formula() -> None:
    result = score_sus([4, 2, 4, 1, 5, 2, 4, 2, 4, 2])

    # odd items 1,3,5,7,9 = 4,4,5,4,4 -> (4-1)+(4-1)+(5-1)+(4-1)+(4-1) = 16
    # even items 2,4,6,8,10 = 2,1,2,2,2 -> (5-2)+(5-1)+(5-2)+(5-2)+(5-2) = 16
    # 2.5 × (16 + 16) = 80.0
    assert result.score == Decimal("80.0")
    assert result.score_exact == 80
    assert result.complete is True


def test_it_keeps_the_half_point_of_a_sus_score() -> None:
    result = score_sus([3, 3, 3, 3, 3, 3, 3, 3, 3, 2])

    # odd: 5 × (3-1) = 10; even: 4 × (5-3) + (5-2) = 11; 2.5 × 21 = 52.5
    assert result.score == Decimal("52.5")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([1] * 10, "50.0"),  # odd 5 × (1-1) = 0, even 5 × (5-1) = 20 -> 2.5 × 20 = 50
        ([5] * 10, "50.0"),  # odd 5 × (5-1) = 20, even 5 × (5-5) = 0 -> 2.5 × 20 = 50
        ([3] * 10, "50.0"),  # odd 5 × 2 = 10, even 5 × 2 = 10 -> 2.5 × 20 = 50
        ([5, 1] * 5, "100.0"),  # odd 5 × 4 = 20, even 5 × 4 = 20 -> 2.5 × 40 = 100
        ([1, 5] * 5, "0.0"),  # odd 5 × 0, even 5 × 0 -> 0
    ],
)
def test_it_scores_sus_extremes(answers: list[int], expected: str) -> None:
    assert score_sus(answers).score == Decimal(expected)


def test_it_gives_no_sus_score_when_an_item_is_missing() -> None:
    result = score_sus([4, 2, 4, 1, 5, None, 4, 2, 4, 2])

    # rule: any missing item -> no score (no imputation of the midpoint 3)
    assert result.score is None
    assert result.score_exact is None
    assert result.answered == 9
    assert result.missing_items == (6,)


def test_it_aggregates_sus_scores_to_one_decimal() -> None:
    scores = [
        score_sus([4, 2, 4, 1, 5, 2, 4, 2, 4, 2]),  # 80.0
        score_sus([3, 3, 3, 3, 3, 3, 3, 3, 3, 2]),  # 52.5
        score_sus([5, 1] * 5),  # 100.0
        score_sus([None] * 10),  # incomplete -> left out
    ]

    result = aggregate_sus_scores(scores)

    # mean = (80 + 52.5 + 100) / 3 = 232.5 / 3 = 77.5
    # deviations 2.5, -25, 22.5 -> squares 6.25 + 625 + 506.25 = 1137.5
    # SD = sqrt(1137.5 / 2) = sqrt(568.75) = 23.848... -> 23.8
    assert (result.n, result.n_missing) == (3, 1)
    assert result.mean == Decimal("77.5")
    assert result.sd == Decimal("23.8")


def test_it_keeps_every_sampled_sus_score_within_0_to_100_in_steps_of_2_5() -> None:
    # deterministic sample of the 5**10 possible answer sets (not cryptography)
    rng = random.Random(1996)  # noqa: S311
    for _ in range(5000):
        answers = [rng.randint(1, 5) for _ in range(10)]
        mirrored = [6 - a for a in answers]

        score = score_sus(answers).score_exact
        mirror = score_sus(mirrored).score_exact

        assert score is not None and mirror is not None
        assert 0 <= score <= 100
        assert (score / Fraction(5, 2)).denominator == 1
        # independent form of the formula: 2.5 × (Σodd - 5 + 25 - Σeven)
        assert score == Fraction(5, 2) * (sum(answers[0::2]) - 5 + 25 - sum(answers[1::2]))
        # answering every item the other way round mirrors the score around 50
        assert mirror == 100 - score


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0, 3, 3, 3, 3, 3, 3, 3, 3, 3], "SUS item 1"),
        ([3, 3, 3, 3, 3, 3, 3, 3, 3, 6], "SUS item 10"),
        ([3, 3, 3, 3, False, 3, 3, 3, 3, 3], "SUS item 5"),
        ([3] * 9, "expected 10 answers, got 9"),
    ],
)
def test_it_rejects_invalid_sus_answers(answers: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score_sus(answers)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# 4. CFIR 2.0 determinants
# --------------------------------------------------------------------------------------------


def _cfir(domain: str, construct: str, *ratings: int | None) -> list[CfirRating]:
    return [
        CfirRating(domain, construct, rating, rater=f"rater{index}")
        for index, rating in enumerate(ratings, start=1)
    ]


def test_it_averages_a_cfir_construct_over_raters_excluding_missing() -> None:
    result = score_cfir(_cfir("innovation", "evidence_base", 1, 2, -1, None))

    construct = result.construct("innovation", "evidence_base")
    # (1 + 2 + (-1)) / 3 = 2/3 = 0.666... -> 0.67; the missing rating is excluded
    assert (construct.n, construct.n_missing) == (3, 1)
    assert construct.mean_exact == Fraction(2, 3)
    assert construct.mean == Decimal("0.67")
    assert construct.direction is Direction.FACILITATOR
    # ratings < 0: -1; > 0: 1, 2; == 0: none
    assert (construct.barrier_ratings, construct.facilitator_ratings) == (1, 2)
    assert construct.neutral_ratings == 0


def test_it_averages_a_cfir_domain_over_its_construct_means() -> None:
    ratings = [
        *_cfir("inner_setting", "culture", 2, 2, 2),
        *_cfir("inner_setting", "available_resources", -1),
        *_cfir("inner_setting", "compatibility", None, None),
    ]

    domain = score_cfir(ratings).domain("inner_setting")

    # construct means: culture (2+2+2)/3 = 2; available_resources -1/1 = -1; compatibility None
    # domain = (2 + (-1)) / 2 = 0.50   (pooling all ratings would give (2+2+2-1)/4 = 1.25)
    assert [c.mean for c in domain.constructs] == [Decimal("2.00"), Decimal("-1.00"), None]
    assert domain.mean == Decimal("0.50")
    assert domain.direction is Direction.FACILITATOR
    assert (domain.n_constructs, domain.n_constructs_missing) == (2, 1)
    assert (domain.n_ratings, domain.n_missing_ratings) == (4, 2)
    # constructs by sign of their mean: culture facilitator, available_resources barrier
    assert (domain.facilitator_constructs, domain.barrier_constructs) == (1, 1)
    assert domain.neutral_constructs == 0
    # individual ratings: +2 +2 +2 facilitators, -1 barrier
    assert (domain.facilitator_ratings, domain.barrier_ratings, domain.neutral_ratings) == (3, 1, 0)


def test_it_counts_neutral_cfir_constructs_and_negative_domains() -> None:
    ratings = [
        *_cfir("outer_setting", "partnerships", -2, -1),
        *_cfir("outer_setting", "policies_and_laws", 0, 0),
    ]

    domain = score_cfir(ratings).domain("outer_setting")

    # partnerships (-2 + -1) / 2 = -1.50; policies (0 + 0) / 2 = 0.00
    # domain (-1.5 + 0) / 2 = -0.75 -> barrier
    assert [c.mean for c in domain.constructs] == [Decimal("-1.50"), Decimal("0.00")]
    assert domain.mean == Decimal("-0.75")
    assert domain.direction is Direction.BARRIER
    assert (domain.barrier_constructs, domain.neutral_constructs) == (1, 1)
    assert domain.neutral_ratings == 2


def test_it_rounds_a_negative_cfir_tie_away_from_zero() -> None:
    result = score_cfir(_cfir("individuals", "motivation", -1, 0, 0, 0, 0, 0, 0, 0))

    # (-1 + 7 × 0) / 8 = -0.125 -> -0.13
    assert result.construct("individuals", "motivation").mean == Decimal("-0.13")


def test_it_gives_no_cfir_mean_when_everything_is_missing() -> None:
    ratings = [
        *_cfir("individuals", "capability", None, None),
        *_cfir("individuals", "opportunity", None),
    ]

    domain = score_cfir(ratings).domain("individuals")

    assert domain.mean is None
    assert domain.mean_exact is None
    assert domain.direction is None
    assert (domain.n_constructs, domain.n_constructs_missing) == (0, 2)
    assert (domain.n_ratings, domain.n_missing_ratings) == (0, 3)
    assert all(c.mean is None and c.direction is None for c in domain.constructs)
    assert score_cfir([]).domains == ()


def test_it_scores_all_minimum_and_all_maximum_cfir_ratings() -> None:
    ratings = [
        *_cfir("implementation_process", "planning", -2, -2),
        *_cfir("implementation_process", "reflecting_and_evaluating", -2),
        *_cfir("innovation", "relative_advantage", 2, 2),
        *_cfir("innovation", "adaptability", 2),
    ]

    result = score_cfir(ratings)

    # (-2 + -2) / 2 = -2, -2 / 1 = -2 -> domain (-2 + -2) / 2 = -2.00
    assert result.domain("implementation_process").mean == Decimal("-2.00")
    assert result.domain("implementation_process").barrier_ratings == 3
    # (2 + 2) / 2 = 2, 2 / 1 = 2 -> domain (2 + 2) / 2 = 2.00
    assert result.domain("innovation").mean == Decimal("2.00")
    assert result.domain("innovation").facilitator_constructs == 2
    # domains keep the order in which they were given
    assert [d.domain for d in result.domains] == ["implementation_process", "innovation"]


@pytest.mark.parametrize("bad", [3, -3, True, 0.5])
def test_it_rejects_a_cfir_rating_outside_minus_2_to_2_naming_the_construct(bad: object) -> None:
    ratings = [CfirRating("inner_setting", "culture", bad)]  # type: ignore[arg-type]

    with pytest.raises(ValueError, match=r"'culture' in domain 'inner_setting'"):
        score_cfir(ratings)


def test_it_rejects_a_cfir_construct_rated_twice_by_the_same_rater() -> None:
    ratings = [
        CfirRating("inner_setting", "culture", 1, rater="team"),
        CfirRating("inner_setting", "culture", 2, rater="team"),
    ]

    with pytest.raises(ValueError, match="more than once by rater 'team'"):
        score_cfir(ratings)


# --------------------------------------------------------------------------------------------
# 5. SIC stages
# --------------------------------------------------------------------------------------------

AS_OF = date(2026, 12, 1)


def test_it_scores_sic_stage_durations_and_proportions() -> None:
    result = score_sic(
        [
            SicStageInput(
                Stage.EXPLORATION, date(2026, 1, 5), date(2026, 3, 2), steps=[True, True, True]
            ),
            SicStageInput(Stage.INSTALLATION, date(2026, 3, 2), None, steps=[True, False, True]),
            SicStageInput(Stage.INITIAL, None, None, steps=[False, False]),
        ],
        as_of=AS_OF,
    )

    exploration = result.stage(Stage.EXPLORATION)
    # 5 Jan -> 2 Mar 2026: 26 days left of January + 28 of February + 2 = 56 days
    assert exploration.days == 56
    assert exploration.ongoing is False
    # 3 / 3 steps = 1.00
    assert exploration.proportion == Decimal("1.00")

    installation = result.stage(Stage.INSTALLATION)
    # ongoing, 2 Mar -> as_of 1 Dec 2026:
    # 29 (Mar) + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 (Apr-Nov) + 1 = 274 days
    assert installation.days == 274
    assert installation.ongoing is True
    # 2 / 3 steps = 0.666... -> 0.67
    assert (installation.steps_done, installation.steps_total) == (2, 3)
    assert installation.proportion_exact == Fraction(2, 3)
    assert installation.proportion == Decimal("0.67")

    initial = result.stage(Stage.INITIAL)
    # not entered: no duration, but its planned steps still count: 0 / 2 = 0.00
    assert initial.days is None
    assert initial.reached is False
    assert initial.proportion == Decimal("0.00")

    full = result.stage(Stage.FULL)
    # not given at all: not entered, zero steps -> no proportion
    assert (full.days, full.steps_total, full.proportion) == (None, 0, None)

    assert [s.stage for s in result.stages] == list(Stage)
    assert result.furthest_stage is Stage.INSTALLATION


def test_it_takes_the_latest_entered_stage_as_furthest_even_with_gaps() -> None:
    result = score_sic(
        [
            SicStageInput(Stage.FULL, date(2026, 8, 17)),
            SicStageInput(Stage.EXPLORATION, date(2026, 1, 5), date(2026, 8, 17)),
        ],
        as_of=AS_OF,
    )

    assert result.furthest_stage is Stage.FULL
    assert result.stage(Stage.INSTALLATION).reached is False
    # 17 Aug -> 1 Dec 2026: 14 (Aug) + 30 + 31 + 30 + 1 = 106 days, ongoing
    assert result.stage(Stage.FULL).days == 106


def test_it_scores_a_same_day_stage_as_zero_days_and_no_stages_as_nothing_reached() -> None:
    same_day = score_sic(
        [SicStageInput("exploration", date(2026, 2, 1), date(2026, 2, 1))], as_of=AS_OF
    )
    nothing = score_sic([], as_of=AS_OF)

    assert same_day.stage(Stage.EXPLORATION).days == 0
    assert same_day.stage(Stage.EXPLORATION).proportion is None  # zero steps
    assert nothing.furthest_stage is None
    assert all(s.days is None and s.proportion is None for s in nothing.stages)


def test_it_accepts_the_norwegian_stage_keys() -> None:
    result = score_sic(
        [
            SicStageInput("utforskning", date(2026, 1, 5), date(2026, 2, 5)),
            SicStageInput("innledende_implementering", date(2026, 2, 5)),
        ],
        as_of=AS_OF,
    )

    assert Stage("bærekraft") is Stage.SUSTAINMENT
    assert Stage("Full implementering") is Stage.FULL
    # 5 Jan -> 5 Feb = 31 days
    assert result.stage("utforskning").days == 31
    assert result.furthest_stage is Stage.INITIAL
    assert Stage.INITIAL.order == 3


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (
            [SicStageInput(Stage.INSTALLATION, date(2026, 3, 2), date(2026, 3, 1))],
            "'installation': exit date 2026-03-01 is before entry 2026-03-02",
        ),
        (
            [SicStageInput(Stage.FULL, None, date(2026, 3, 1))],
            "'full': exit date 2026-03-01 without an entry date",
        ),
        (
            [SicStageInput(Stage.INITIAL, date(2026, 12, 2))],
            "'initial': entry date 2026-12-02 is after as_of 2026-12-01",
        ),
        (
            [SicStageInput(Stage.INITIAL, date(2026, 1, 2), date(2027, 1, 1))],
            "'initial': exit date 2027-01-01 is after as_of",
        ),
        (
            [SicStageInput(Stage.INITIAL, date(2026, 1, 2), steps=[True, 1])],  # type: ignore[list-item]
            "'initial' step 2: expected True/False",
        ),
        (
            [SicStageInput("piloting", date(2026, 1, 2))],
            "unknown implementation stage 'piloting'",
        ),
        (
            [
                SicStageInput(Stage.EXPLORATION, date(2026, 1, 2)),
                SicStageInput("utforskning", date(2026, 1, 3)),
            ],
            "'exploration' is given more than once",
        ),
    ],
)
def test_it_rejects_invalid_sic_input(stages: list[SicStageInput], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score_sic(stages, as_of=AS_OF)
