"""The instrument catalog file (catalog/data/instruments-1.0.yaml) is complete and consistent.

Pure data checks: PyYAML only, no database, no Django. The CFIR 2.0 reference table below is
the published structure (Damschroder et al. 2022, Implementation Science 17:75: five
domains, 48 constructs, 19 subconstructs); the file must cover every published construct.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA_FILE = Path(__file__).resolve().parents[1] / "catalog" / "data" / "instruments-1.0.yaml"
LANGUAGES = ("nb", "nn", "en")
INSTRUMENT_CODES = ["fidelity", "aim", "iam", "fim", "sus", "cfir"]
INSTRUMENT_KEYS_FIRST = [
    "code",
    "name_nb",
    "name_nn",
    "name_en",
    "description_nb",
    "description_nn",
    "description_en",
    "respondent",
    "scale",
    "source",
    "translation_note",
]
CFIR_RATED_ITEMS = 63
CFIR_ITEMS_PER_DOMAIN = {"I": 8, "II": 9, "III": 18, "IV": 16, "V": 12}

# Published CFIR 2.0 structure for the domains rated construct by construct:
# domain -> [(letter, construct name, [subconstruct names])].
CFIR_PUBLISHED: dict[str, list[tuple[str, str, list[str]]]] = {
    "I": [
        ("A", "Innovation Source", []),
        ("B", "Innovation Evidence-Base", []),
        ("C", "Innovation Relative Advantage", []),
        ("D", "Innovation Adaptability", []),
        ("E", "Innovation Trialability", []),
        ("F", "Innovation Complexity", []),
        ("G", "Innovation Design", []),
        ("H", "Innovation Cost", []),
    ],
    "II": [
        ("A", "Critical Incidents", []),
        ("B", "Local Attitudes", []),
        ("C", "Local Conditions", []),
        ("D", "Partnerships & Connections", []),
        ("E", "Policies & Laws", []),
        ("F", "Financing", []),
        (
            "G",
            "External Pressure",
            ["Societal Pressure", "Market Pressure", "Performance-Measurement Pressure"],
        ),
    ],
    "III": [
        (
            "A",
            "Structural Characteristics",
            ["Physical Infrastructure", "IT Infrastructure", "Work Infrastructure"],
        ),
        ("B", "Relational Connections", []),
        ("C", "Communications", []),
        (
            "D",
            "Culture",
            [
                "Human Equality-Centeredness",
                "Recipient-Centeredness",
                "Deliverer-Centeredness",
                "Learning-Centeredness",
            ],
        ),
        ("E", "Tension for Change", []),
        ("F", "Compatibility", []),
        ("G", "Relative Priority", []),
        ("H", "Incentive Systems", []),
        ("I", "Mission Alignment", []),
        ("J", "Available Resources", ["Funding", "Space", "Materials & Equipment"]),
        ("K", "Access to Knowledge & Information", []),
    ],
    "V": [
        ("A", "Teaming", []),
        ("B", "Assessing Needs", ["Innovation Deliverers", "Innovation Recipients"]),
        ("C", "Assessing Context", []),
        ("D", "Planning", []),
        ("E", "Tailoring Strategies", []),
        ("F", "Engaging", ["Innovation Deliverers", "Innovation Recipients"]),
        ("G", "Doing", []),
        ("H", "Reflecting & Evaluating", ["Implementation", "Innovation"]),
        ("I", "Adapting", []),
    ],
}
CFIR_PUBLISHED_ROLES = {
    "A": "High-level Leaders",
    "B": "Mid-level Leaders",
    "C": "Opinion Leaders",
    "D": "Implementation Facilitators",
    "E": "Implementation Leads",
    "F": "Implementation Team Members",
    "G": "Other Implementation Support",
    "H": "Innovation Deliverers",
    "I": "Innovation Recipients",
}
CFIR_PUBLISHED_CHARACTERISTICS = {
    "A": "Need",
    "B": "Capability",
    "C": "Opportunity",
    "D": "Motivation",
}
SCHOOL_ROLE_GROUPS = {"IV.L": {"A", "B"}, "IV.S": {"E", "F", "H"}, "IV.T": {"H"}, "IV.P": {"I"}}


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    with DATA_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def instruments(catalog: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {instrument["code"]: instrument for instrument in catalog["instruments"]}


def _assert_three_languages(entry: dict[str, Any], prefix: str, where: str) -> None:
    for language in LANGUAGES:
        value = entry.get(f"{prefix}_{language}")
        assert isinstance(value, str), f"{where}: {prefix}_{language} missing"
        assert value.strip() == value and value, f"{where}: {prefix}_{language} empty/padded"
        assert "[" not in value, f"{where}: placeholder left in {prefix}_{language}"


def test_it_is_plain_utf8_yaml_with_two_space_indentation() -> None:
    text = DATA_FILE.read_text(encoding="utf-8")

    assert "\t" not in text
    indents = {len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.strip()}
    assert all(indent % 2 == 0 for indent in indents)


def test_it_has_the_format_header(catalog: dict[str, Any]) -> None:
    assert list(catalog) == ["format", "version", "instruments"]
    assert catalog["format"] == "sovei-instruments/1"
    assert catalog["version"] == "1.0"


def test_it_lists_the_six_instruments_in_order(catalog: dict[str, Any]) -> None:
    assert [instrument["code"] for instrument in catalog["instruments"]] == INSTRUMENT_CODES


@pytest.mark.parametrize("code", INSTRUMENT_CODES)
def test_it_describes_every_instrument_in_three_languages(
    instruments: dict[str, dict[str, Any]], code: str
) -> None:
    instrument = instruments[code]

    assert list(instrument)[: len(INSTRUMENT_KEYS_FIRST)] == INSTRUMENT_KEYS_FIRST
    assert list(instrument)[-1] == "items"
    _assert_three_languages(instrument, "name", code)
    _assert_three_languages(instrument, "description", code)
    assert instrument["source"].strip()
    assert instrument["translation_note"].strip()


@pytest.mark.parametrize(
    ("code", "respondent"),
    [
        ("fidelity", "team"),
        ("aim", "individual"),
        ("iam", "individual"),
        ("fim", "individual"),
        ("sus", "individual"),
        ("cfir", "team"),
    ],
)
def test_it_says_who_answers(
    instruments: dict[str, dict[str, Any]], code: str, respondent: str
) -> None:
    assert instruments[code]["respondent"] == respondent


@pytest.mark.parametrize(
    ("code", "low", "high", "missing_allowed"),
    [
        ("fidelity", 0, 2, True),
        ("aim", 1, 5, False),
        ("iam", 1, 5, False),
        ("fim", 1, 5, False),
        ("sus", 1, 5, False),
        ("cfir", -2, 2, True),
    ],
)
def test_it_labels_every_scale_value_in_three_languages(
    instruments: dict[str, dict[str, Any]],
    code: str,
    low: int,
    high: int,
    missing_allowed: bool,
) -> None:
    scale = instruments[code]["scale"]

    assert (scale["min"], scale["max"]) == (low, high)
    assert scale["missing_allowed"] is missing_allowed
    assert [label["value"] for label in scale["labels"]] == list(range(low, high + 1))
    for label in scale["labels"]:
        _assert_three_languages(label, "label", f"{code} scale {label['value']}")
    if missing_allowed:
        _assert_three_languages(scale, "missing_label", f"{code} scale")


def test_it_uses_the_agreed_anchor_labels(instruments: dict[str, dict[str, Any]]) -> None:
    def labels_nb(code: str) -> list[str]:
        return [label["label_nb"] for label in instruments[code]["scale"]["labels"]]

    assert labels_nb("fidelity") == ["ikke på plass", "delvis på plass", "på plass"]
    for code in ("aim", "iam", "fim", "sus"):
        assert labels_nb(code)[0] == "helt uenig"
        assert labels_nb(code)[-1] == "helt enig"
    assert labels_nb("cfir")[0] == "sterk barriere"
    assert labels_nb("cfir")[2] == "nøytral/blandet"
    assert labels_nb("cfir")[-1] == "sterk fremmer"


@pytest.mark.parametrize("code", INSTRUMENT_CODES)
def test_it_gives_every_item_a_unique_code_a_number_and_three_texts(
    instruments: dict[str, dict[str, Any]], code: str
) -> None:
    items = instruments[code]["items"]

    codes = [item["code"] for item in items]
    assert len(codes) == len(set(codes))
    assert [item["number"] for item in items] == list(range(1, len(items) + 1))
    for item in items:
        assert list(item)[:2] == ["code", "number"]
        _assert_three_languages(item, "text", f"{code} {item['code']}")


def test_it_leaves_fidelity_items_to_the_schools_adopted_components(
    instruments: dict[str, dict[str, Any]],
) -> None:
    fidelity = instruments["fidelity"]

    assert fidelity["items"] == []
    assert "adopted components" in fidelity["description_en"]


@pytest.mark.parametrize("code", ["aim", "iam", "fim"])
def test_it_has_the_four_weiner_items(instruments: dict[str, dict[str, Any]], code: str) -> None:
    items = instruments[code]["items"]

    assert [item["code"] for item in items] == [f"{code}{n}" for n in range(1, 5)]
    for item in items:
        assert "SoVei" in item["text_nb"]
        assert "SoVei" in item["text_nn"]
        assert "the sovei model" in item["text_en"].lower()
    assert "Weiner" in instruments[code]["source"]


def test_it_has_ten_sus_items_with_alternating_polarity(
    instruments: dict[str, dict[str, Any]],
) -> None:
    items = instruments["sus"]["items"]

    assert [item["code"] for item in items] == [f"sus{n}" for n in range(1, 11)]
    assert [item["polarity"] for item in items] == ["positive", "negative"] * 5
    for item in items:
        assert "SoVei-verktøyet" in item["text_nb"]
        assert "SoVei-verktøyet" in item["text_nn"]
        assert "the SoVei tool" in item["text_en"]


def test_it_has_the_five_cfir_domains(instruments: dict[str, dict[str, Any]]) -> None:
    domains = instruments["cfir"]["domains"]

    assert [domain["code"] for domain in domains] == ["I", "II", "III", "IV", "V"]
    assert [domain["name_en"] for domain in domains] == [
        "Innovation",
        "Outer Setting",
        "Inner Setting",
        "Individuals",
        "Implementation Process",
    ]
    for domain in domains:
        _assert_three_languages(domain, "name", f"domain {domain['code']}")
        _assert_three_languages(domain, "text", f"domain {domain['code']}")


def test_it_has_63_rated_cfir_items(instruments: dict[str, dict[str, Any]]) -> None:
    items = instruments["cfir"]["items"]

    assert len(items) == CFIR_RATED_ITEMS
    per_domain: dict[str, int] = {}
    for item in items:
        per_domain[item["domain"]] = per_domain.get(item["domain"], 0) + 1
    assert per_domain == CFIR_ITEMS_PER_DOMAIN


def test_it_links_every_cfir_item_to_its_domain_and_parent(
    instruments: dict[str, dict[str, Any]],
) -> None:
    cfir = instruments["cfir"]
    groups = {group["code"]: group for group in cfir["groups"]}
    item_codes = {item["code"] for item in cfir["items"]}

    assert not item_codes & set(groups), "a group is never rated itself"
    for item in cfir["items"]:
        _assert_three_languages(item, "name", item["code"])
        assert re.fullmatch(r"(I|II|III|IV|V)\.[A-Z](\.[1-9A-D])?", item["code"])
        assert item["code"].split(".")[0] == item["domain"]
        if item["parent"] is None:
            assert item["code"].count(".") == 1
        else:
            assert item["parent"] in groups
            assert groups[item["parent"]]["domain"] == item["domain"]
            assert item["code"].startswith(item["parent"] + ".")
    for code, group in groups.items():
        _assert_three_languages(group, "name", code)
        _assert_three_languages(group, "text", code)
        assert sum(1 for item in cfir["items"] if item["parent"] == code) >= 2


def test_the_reference_table_has_the_published_totals() -> None:
    constructs = sum(len(entries) for entries in CFIR_PUBLISHED.values())
    constructs += len(CFIR_PUBLISHED_ROLES) + len(CFIR_PUBLISHED_CHARACTERISTICS)
    subconstructs = sum(len(subs) for entries in CFIR_PUBLISHED.values() for _, _, subs in entries)

    assert (constructs, subconstructs) == (48, 19)


@pytest.mark.parametrize("domain", ["I", "II", "III", "V"])
def test_it_covers_every_published_cfir_construct(
    instruments: dict[str, dict[str, Any]], domain: str
) -> None:
    cfir = instruments["cfir"]
    items = {item["code"]: item for item in cfir["items"] if item["domain"] == domain}
    groups = {group["code"]: group for group in cfir["groups"] if group["domain"] == domain}
    expected_codes: set[str] = set()

    for letter, name, subconstructs in CFIR_PUBLISHED[domain]:
        code = f"{domain}.{letter}"
        if not subconstructs:
            assert items[code]["name_en"] == name
            expected_codes.add(code)
            continue
        assert groups[code]["name_en"] == name
        assert groups[code]["kind"] == "construct"
        for number, sub_name in enumerate(subconstructs, start=1):
            assert items[f"{code}.{number}"]["name_en"] == sub_name
            assert items[f"{code}.{number}"]["parent"] == code
            expected_codes.add(f"{code}.{number}")

    assert set(items) == expected_codes
    assert set(groups) == {
        f"{domain}.{letter}" for letter, _, subs in CFIR_PUBLISHED[domain] if subs
    }


def test_it_rates_four_characteristics_for_four_school_role_groups(
    instruments: dict[str, dict[str, Any]],
) -> None:
    cfir = instruments["cfir"]
    characteristics = {entry["code"]: entry for entry in cfir["characteristics"]}
    role_groups = {group["code"]: group for group in cfir["groups"] if group["domain"] == "IV"}
    items = [item for item in cfir["items"] if item["domain"] == "IV"]

    assert {code: entry["name_en"] for code, entry in characteristics.items()} == (
        CFIR_PUBLISHED_CHARACTERISTICS
    )
    for entry in characteristics.values():
        _assert_three_languages(entry, "name", f"characteristic {entry['code']}")
        _assert_three_languages(entry, "text", f"characteristic {entry['code']}")
    assert {code: set(group["cfir_roles"]) for code, group in role_groups.items()} == (
        SCHOOL_ROLE_GROUPS
    )
    for group in role_groups.values():
        assert group["kind"] == "role_group"
        assert set(group["cfir_roles"]) <= set(CFIR_PUBLISHED_ROLES)
    assert sorted((item["parent"], item["characteristic"]) for item in items) == sorted(
        (group, letter) for group in SCHOOL_ROLE_GROUPS for letter in "ABCD"
    )
    for item in items:
        assert item["code"] == f"{item['parent']}.{item['characteristic']}"


def test_item_codes_are_unique_across_the_catalog(catalog: dict[str, Any]) -> None:
    codes = [item["code"] for instrument in catalog["instruments"] for item in instrument["items"]]

    assert len(codes) == len(set(codes))
