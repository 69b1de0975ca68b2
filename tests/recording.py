"""Helpers for recording tests: catalog lookups and a ready-made open round."""

from __future__ import annotations

from datetime import timedelta

from catalog.models import Component, Instrument, ModelVersion, Module
from implementation.models import AssessmentRound, ComponentAdoption, School
from implementation.services import adoption_create, round_create
from implementation.services._common import today


def version() -> ModelVersion:
    return ModelVersion.objects.get(code="1.0")


def module(number: int) -> Module:
    return Module.objects.get(version__code="1.0", number=number)


def component(key: str) -> Component:
    m, c = (int(p) for p in key.split("."))
    return Component.objects.get(module__version__code="1.0", module__number=m, number=c)


def instrument(code: str) -> Instrument:
    return Instrument.objects.get(version="1.0", code=code)


def adopt(school: School, key: str, status: str = "in_progress") -> ComponentAdoption:
    return adoption_create(
        school=school,
        component=component(key),
        status=status,
        status_since=today() - timedelta(days=30),
    )


def open_round(
    schools: list[School],
    codes: tuple[str, ...] = ("fidelity", "cfir", "aim", "iam", "fim", "sus"),
    name: str = "Høst 2026",
) -> AssessmentRound:
    return round_create(
        name=name,
        opens_on=today() - timedelta(days=7),
        closes_on=today() + timedelta(days=30),
        schools=schools,
        instruments=[instrument(c) for c in codes],
        model_version=version(),
    )


def survey_answers(aim: int, sus: int = 3) -> dict[str, dict[str, int]]:
    """One respondent's complete staff survey: every AIM, IAM and FIM item `aim` (1–5), every
    SUS item `sus` (1–5; SUS score 2.5 × (5 × (sus − 1) + 5 × (5 − sus)) = 50)."""
    answers = {code: {f"{code}{n}": aim for n in range(1, 5)} for code in ("aim", "iam", "fim")}
    answers["sus"] = {f"sus{n}": sus for n in range(1, 11)}
    return answers


def answer_by_links(
    assessment_round: AssessmentRound, school: School, aims: list[int]
) -> None:
    """One one-time link per entry of `aims`, each answered with `survey_answers(aim)`."""
    from implementation.services import link_response_submit, survey_links_create

    links = survey_links_create(assessment_round=assessment_round, school=school,
                                count=len(aims))
    for issued, aim in zip(links, aims, strict=True):
        link_response_submit(token=issued.token, answers=survey_answers(aim))
