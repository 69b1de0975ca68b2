"""Turn stored responses into the inputs of the pure scoring functions
(implementation.scoring) and their results into JSON-ready dicts. No queries of its own:
the views prefetch the answers with their items and adopted components."""

from __future__ import annotations

from typing import Any

from implementation.models import Answer, Response
from implementation.scoring import (
    DEFAULT_FIDELITY_MIN_RATED_PERCENT,
    DEFAULT_FIDELITY_THRESHOLD,
    CfirRating,
    FidelityRating,
    FidelityScore,
    UnratedReason,
    score_cfir,
    score_fidelity,
    score_sus,
    score_weiner_scale,
)

FIDELITY, CFIR = "fidelity", "cfir"
WEINER = {"aim": "AIM", "iam": "IAM", "fim": "FIM"}
SUS = "sus"

# Prefetches the functions below rely on (pass to .prefetch_related / .select_related).
RESPONSE_PREFETCH = (
    "answers__item__domain",
    "answers__adoption__component__module",
    "answers__adoption__local_component__module",
)
RESPONSE_SELECT = ("round__model_version", "school", "instrument")


def _answers(response: Response) -> list[Answer]:
    return sorted(
        response.answers.all(),
        key=lambda a: (a.item.number if a.item else 0, a.adoption_id or 0),
    )


def answers_of(response: Response) -> dict[str, int | None]:
    """{item code, or adoption id for fidelity: value}."""
    return {
        (a.item.code if a.item is not None else str(a.adoption_id)): a.value
        for a in _answers(response)
    }


def unrated_reasons_of(response: Response) -> dict[str, str]:
    """{adoption id: reason} for the fidelity components left unrated with a reason."""
    return {
        str(a.adoption_id): a.unrated_reason
        for a in _answers(response)
        if a.adoption_id is not None and a.unrated_reason
    }


def fidelity_rating(answer: Answer, module_number: int, key: str) -> FidelityRating:
    reason = UnratedReason(answer.unrated_reason) if answer.unrated_reason else None
    return FidelityRating(module_number, key, answer.value, reason)


def _fidelity_dict(score: FidelityScore) -> dict[str, Any]:
    return {
        "points": score.points,
        "max_points": score.max_points,
        "rated_count": score.rated_count,
        "unrated_count": score.unrated_count,
        "not_started_count": score.not_started_count,
        "percent": score.percent,
        "rated_share_percent": score.rated_share_percent,
        "measured": score.measured,
        "meets_threshold": score.meets_threshold,
    }


def fidelity_scores(response: Response) -> dict[str, Any]:
    """Fidelity to the shared model: the catalog components only. A school's local
    components are rated too but reported apart (as the dashboards do), since they are
    not part of the model the threshold belongs to."""
    version = response.round.model_version
    threshold = getattr(version, "fidelity_threshold_percent", None) or DEFAULT_FIDELITY_THRESHOLD
    min_rated = (getattr(version, "fidelity_min_rated_percent", None)
                 or DEFAULT_FIDELITY_MIN_RATED_PERCENT)
    model_ratings: list[FidelityRating] = []
    local_ratings: list[FidelityRating] = []
    for answer in _answers(response):
        adoption = answer.adoption
        if adoption is None:
            continue
        if adoption.local_component is not None:
            module = adoption.local_component.module
            local_ratings.append(fidelity_rating(answer, module.number, str(adoption.pk)))
        elif adoption.component is not None:
            module = adoption.component.module
            model_ratings.append(fidelity_rating(answer, module.number, str(adoption.pk)))
    result = score_fidelity(model_ratings, threshold=threshold, min_rated_percent=min_rated)
    local = score_fidelity(local_ratings, threshold=threshold, min_rated_percent=min_rated).overall
    return {
        "threshold": result.threshold,
        "min_rated_percent": result.min_rated_percent,
        "overall": _fidelity_dict(result.overall),
        "modules": [
            {"module_number": m.module_number, **_fidelity_dict(m.score)} for m in result.modules
        ],
        "local": {
            "points": local.points,
            "rated_count": local.rated_count,
            "unrated_count": local.unrated_count,
        },
    }


def cfir_scores(response: Response) -> dict[str, Any]:
    """Per construct and domain. Where a construct is rated through its subconstructs
    (II.G.1, II.G.2, …; docs/instruments.md), the subconstruct ratings are the construct's
    ratings: its mean is the mean of its subconstructs, as the dashboards compute it."""
    result = score_cfir(
        CfirRating(
            domain=a.item.domain.code if a.item.domain is not None else "",
            construct=a.item.parent_code or a.item.code,
            rating=a.value,
        )
        for a in _answers(response)
        if a.item is not None
    )
    return {
        "domains": [
            {
                "domain": d.domain,
                "n_constructs": d.n_constructs,
                "n_constructs_missing": d.n_constructs_missing,
                "mean": d.mean,
                "direction": d.direction,
                "constructs": [
                    {
                        "construct": c.construct,
                        "n": c.n,
                        "n_missing": c.n_missing,
                        "mean": c.mean,
                        "direction": c.direction,
                    }
                    for c in d.constructs
                ],
            }
            for d in result.domains
        ]
    }


def team_scores(response: Response) -> dict[str, Any]:
    code = response.instrument.code
    return {
        "fidelity": fidelity_scores(response) if code == FIDELITY else None,
        "cfir": cfir_scores(response) if code == CFIR else None,
    }


def individual_score(response: Response) -> dict[str, Any] | None:
    """A respondent's AIM/IAM/FIM mean or SUS score; None for other instruments."""
    code = response.instrument.code
    values = [a.value for a in _answers(response) if a.item is not None]
    try:
        if code in WEINER:
            result: Any = score_weiner_scale(WEINER[code], values)
        elif code == SUS:
            result = score_sus(values)
        else:
            return None
    except ValueError:  # the catalog's item count differs from the published scale
        return None
    return {"score": result.score, "missing_items": list(result.missing_items)}
