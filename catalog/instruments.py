"""The instrument file format `sovei-instruments/1` (YAML), documented in
docs/instruments.md: instruments with their scale, items in nb/nn/en, and for CFIR the
domains and constructs. Validated fully (file positions as for catalog files) before
anything is written; importing the same file twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError
from jsonschema import Draft202012Validator

from sovei_platform.audit import audited_write

from .fileformat import CatalogError, Problem, _Document, _duplicates, _explain, load_yaml
from .models import Instrument, InstrumentDomain, InstrumentItem, InstrumentRespondent
from .translation import language_keys

if TYPE_CHECKING:
    from accounts.models import User

FORMAT = "sovei-instruments/1"
SHIPPED = Path(__file__).parent / "data" / "instruments-1.0.yaml"


def _texts(field: str, *, required: bool) -> dict[str, Any]:
    return {
        key: {"type": "string", **({"pattern": r"\S"} if required and key.endswith("_nb") else {})}
        for key in language_keys(field)
    }


_LABEL = {
    "type": "object",
    "required": ["value", "label_nb"],
    "properties": {"value": {"type": "integer"}, **_texts("label", required=True)},
    "additionalProperties": False,
}
_SCALE = {
    "type": "object",
    "required": ["min", "max", "missing_allowed"],
    "properties": {
        "min": {"type": "integer"},
        "max": {"type": "integer"},
        "missing_allowed": {"type": "boolean"},
        "labels": {"type": "array", "items": _LABEL},
        **_texts("missing_label", required=False),
    },
    "additionalProperties": False,
}
_ITEM = {
    "type": "object",
    "required": ["code", "number", "text_nb"],
    "properties": {
        "code": {"type": "string", "pattern": r"^[A-Za-z0-9.]+$"},
        "number": {"type": "integer", "minimum": 1},
        "domain": {"type": "string"},
        "parent": {"type": ["string", "null"]},
        "polarity": {"enum": ["positive", "negative"]},
        "characteristic": {"type": "string"},
        **_texts("name", required=False),
        **_texts("text", required=True),
    },
    "additionalProperties": False,
}
_DOMAIN = {
    "type": "object",
    "required": ["code", "name_nb"],
    "properties": {
        "code": {"type": "string"},
        **_texts("name", required=True),
        **_texts("text", required=False),
    },
    "additionalProperties": False,
}
_GROUP = {
    "type": "object",
    "required": ["code", "domain", "name_nb"],
    "properties": {
        "code": {"type": "string"},
        "domain": {"type": "string"},
        "kind": {"enum": ["construct", "role_group"]},
        "cfir_roles": {"type": "array", "items": {"type": "string"}},
        **_texts("name", required=True),
        **_texts("text", required=False),
    },
    "additionalProperties": False,
}
_INSTRUMENT = {
    "type": "object",
    "required": ["code", "name_nb", "respondent", "scale", "items"],
    "properties": {
        "code": {"type": "string", "pattern": r"^[a-z][a-z0-9_-]*$"},
        **_texts("name", required=True),
        **_texts("description", required=False),
        "respondent": {"enum": list(InstrumentRespondent.values)},
        "scale": _SCALE,
        "source": {"type": "string"},
        "translation_note": {"type": "string"},
        "domains": {"type": "array", "items": _DOMAIN},
        "groups": {"type": "array", "items": _GROUP},
        "characteristics": {"type": "array", "items": _DOMAIN},
        "items": {"type": "array", "items": _ITEM},
    },
    "additionalProperties": False,
}
SCHEMA = {
    "type": "object",
    "required": ["format", "version", "instruments"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)*$"},
        "instruments": {"type": "array", "items": _INSTRUMENT},
    },
    "additionalProperties": False,
}
_VALIDATOR = Draft202012Validator(SCHEMA)


def _semantic_problems(doc: _Document, data: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    instruments = data.get("instruments") or []
    problems += _duplicates(doc, instruments, ["instruments"], "code", "instrument code")
    for i, instrument in enumerate(instruments):
        if not isinstance(instrument, dict):
            continue
        path: list[str | int] = ["instruments", i]
        items = instrument.get("items") or []
        problems += _duplicates(doc, items, [*path, "items"], "code", "item code")
        problems += _duplicates(doc, items, [*path, "items"], "number", "item number")
        scale = instrument.get("scale") or {}
        low, high = scale.get("min"), scale.get("max")
        if isinstance(low, int) and isinstance(high, int) and high <= low:
            problems.append(doc.problem([*path, "scale", "max"], "max must be above min"))
        domains = {d.get("code") for d in instrument.get("domains") or [] if isinstance(d, dict)}
        for j, item in enumerate(items):
            if isinstance(item, dict) and "domain" in item and item["domain"] not in domains:
                problems.append(
                    doc.problem([*path, "items", j, "domain"], f"unknown domain {item['domain']!r}")
                )
    return problems


def parse_instruments(text: str, *, source: str = "<instruments>") -> dict[str, Any]:
    doc, problems, data = load_yaml(text, source)
    if not isinstance(data, dict):
        raise CatalogError(source, [doc.problem([], "an instrument file is a mapping")])
    for error in _VALIDATOR.iter_errors(data):
        problems.extend(_explain(doc, error))
    problems += _semantic_problems(doc, data)
    if problems:
        raise CatalogError(source, set(problems))
    return data


@dataclass(frozen=True)
class InstrumentImport:
    version: str
    created: int
    updated: int


def _pick(data: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {f: data.get(f) or "" for f in fields}


def instruments_import(
    *, text: str | None = None, path: Path | str | None = None, actor: User | None = None
) -> InstrumentImport:
    """Create or update the instruments of the file's version (matched by code)."""
    if text is None:
        if path is None:
            raise ValueError("Give the file's text or its path.")
        text = Path(path).read_text(encoding="utf-8")
    source = str(path) if path is not None else "<instruments>"
    data = parse_instruments(text, source=source)
    version = data["version"]
    created = updated = 0
    try:
        with audited_write(actor):
            for spec in data["instruments"]:
                scale = spec["scale"]
                values = {
                    **_pick(spec, [*language_keys("name"), *language_keys("description")]),
                    "respondent": spec["respondent"],
                    "scale_min": scale["min"],
                    "scale_max": scale["max"],
                    "missing_allowed": scale["missing_allowed"],
                    "scale_labels": scale.get("labels") or [],
                    "source": spec.get("source") or "",
                    "translation_note": spec.get("translation_note") or "",
                }
                instrument, was_created = Instrument.objects.update_or_create(
                    version=version, code=spec["code"], defaults=values
                )
                created += was_created
                updated += not was_created
                _import_parts(instrument, spec)
    except IntegrityError as exc:
        raise CatalogError(
            source, [Problem(1, 1, "", f"an item in use by recorded answers cannot go: {exc}")]
        ) from exc
    return InstrumentImport(version, created, updated)


def _import_parts(instrument: Instrument, spec: dict[str, Any]) -> None:
    domains: dict[str, InstrumentDomain] = {}
    for position, d in enumerate(spec.get("domains") or []):
        domains[d["code"]], _ = InstrumentDomain.objects.update_or_create(
            instrument=instrument,
            code=d["code"],
            defaults={
                "position": position,
                **_pick(d, [*language_keys("name"), *language_keys("text")]),
            },
        )
    InstrumentDomain.objects.filter(instrument=instrument).exclude(code__in=domains).delete()
    groups = {g["code"]: g for g in spec.get("groups") or []}
    codes = [item["code"] for item in spec["items"]]
    # Free the numbers first, so renumbering items cannot collide with the unique constraint.
    InstrumentItem.objects.filter(instrument=instrument).exclude(code__in=codes).delete()
    for item in spec["items"]:
        parent = groups.get(item.get("parent") or "", {})
        InstrumentItem.objects.update_or_create(
            instrument=instrument,
            code=item["code"],
            defaults={
                "number": item["number"] + 10_000,
                "domain": domains.get(item.get("domain") or ""),
                "parent_code": item.get("parent") or "",
                **{f"parent_{k}": parent.get(k, "") for k in language_keys("name")},
                "polarity": item.get("polarity") or "",
                **_pick(item, [*language_keys("name"), *language_keys("text")]),
            },
        )
    for item in spec["items"]:
        InstrumentItem.objects.filter(instrument=instrument, code=item["code"]).update(
            number=item["number"]
        )
