"""The catalog file format `sovei-catalog/1` (YAML), documented in docs/catalog-format.md.

`parse_catalog` reads and validates a file completely before anything is written:
structure by JSON Schema, then what a schema cannot say (duplicate numbers and keys,
references to components and example tasks that the file does not define, web
addresses). Every problem names its file position — line and column from PyYAML's
composed nodes — and its path in the document, e.g.

    catalog.yaml:14:9 modules[1].components[2]: 'title_nb' is a required property

Paths count list items from 0. `dump_catalog` writes the canonical form: the exporter's
output, which the importer reads back to the same rows and the exporter then writes
again byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from .models import MAX_NUMBER, VERSION_CODE_PATTERN, ResourceKind, ResourceLanguage, VersionStatus
from .translation import LANGUAGES, language_keys

FORMAT = "sovei-catalog/1"
SHIPPED_CATALOG = Path(__file__).resolve().parent / "data" / "sovei-model-1.0.yaml"
HEADER = "# SoVei catalog file. The format is described in docs/catalog-format.md.\n"

NON_BLANK = r"\S"
COMPONENT_REF = r"^[1-9][0-9]*\.[1-9][0-9]*$"
TASK_REF = r"^[1-9][0-9]*\.[1-9][0-9]*\.[1-9][0-9]*$"
RESOURCE_KEY = r"^[a-z0-9][a-z0-9_-]*$"

PATTERN_MESSAGES = {
    NON_BLANK: "must not be empty",
    COMPONENT_REF: 'is not a component reference like "2.1" (module.component)',
    TASK_REF: 'is not an example task reference like "2.1.3" (module.component.task)',
    RESOURCE_KEY: "is not a key of lower-case letters, digits, '-' and '_', e.g. udir-skolemiljo",
    VERSION_CODE_PATTERN: 'is not a version code of numbers and dots, e.g. "1.0" (in quotes)',
}

# Field order within each mapping; the exporter writes fields in this order.
VERSION_FIELDS = [
    "code", *language_keys("name"), "status", "fidelity_threshold_percent",
    "fidelity_min_rated_percent",
]
MODULE_FIELDS = ["number", *language_keys("title"), *language_keys("description"), "components"]
COMPONENT_FIELDS = [
    "number", *language_keys("title"), *language_keys("description"), "example_tasks"
]
TASK_FIELDS = ["number", *language_keys("text")]
RESOURCE_FIELDS = [
    "key", "kind", *language_keys("title"), *language_keys("description"), "url", "language",
    "components", "example_tasks",
]


def _texts(field: str, max_length: int | None = None, required: bool = True) -> dict[str, Any]:
    """Schemas for `<field>_nb` (non-blank when required) and optional `_nn`, `_en`."""
    props: dict[str, Any] = {}
    for code in LANGUAGES:
        schema: dict[str, Any] = {"type": "string"}
        if code == "nb" and required:
            schema["pattern"] = NON_BLANK
        if max_length:
            schema["maxLength"] = max_length
        props[f"{field}_{code}"] = schema
    return props


def _number() -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": MAX_NUMBER}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object", "required": required, "properties": properties,
        "additionalProperties": False,
    }


TASK_SCHEMA = _object(["number", "text_nb"], {"number": _number(), **_texts("text")})
COMPONENT_SCHEMA = _object(
    ["number", "title_nb"],
    {
        "number": _number(),
        **_texts("title", 255),
        **_texts("description", required=False),
        "example_tasks": {"type": "array", "items": TASK_SCHEMA},
    },
)
MODULE_SCHEMA = _object(
    ["number", "title_nb"],
    {
        "number": _number(),
        **_texts("title", 255),
        **_texts("description", required=False),
        "components": {"type": "array", "items": COMPONENT_SCHEMA},
    },
)
RESOURCE_SCHEMA = _object(
    ["key", "kind", "title_nb", "url"],
    {
        "key": {"type": "string", "pattern": RESOURCE_KEY, "maxLength": 80},
        "kind": {"enum": list(ResourceKind.values)},
        **_texts("title", 255),
        **_texts("description", required=False),
        "url": {"type": "string", "pattern": NON_BLANK, "maxLength": 500},
        "language": {"enum": ["", *ResourceLanguage.values]},
        "components": {
            "type": "array", "uniqueItems": True,
            "items": {"type": "string", "pattern": COMPONENT_REF},
        },
        "example_tasks": {
            "type": "array", "uniqueItems": True,
            "items": {"type": "string", "pattern": TASK_REF},
        },
    },
)
VERSION_SCHEMA = _object(
    ["code", "name_nb"],
    {
        "code": {"type": "string", "pattern": VERSION_CODE_PATTERN, "maxLength": 20},
        **_texts("name", 200),
        "status": {"enum": list(VersionStatus.values)},
        "fidelity_threshold_percent": {"type": "integer", "minimum": 1, "maximum": 100},
        "fidelity_min_rated_percent": {"type": "integer", "minimum": 1, "maximum": 100},
    },
)
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "SoVei catalog file, format sovei-catalog/1",
    **_object(
        ["format", "version", "modules"],
        {
            "format": {"const": FORMAT},
            "version": VERSION_SCHEMA,
            "modules": {"type": "array", "items": MODULE_SCHEMA},
            "resources": {"type": "array", "items": RESOURCE_SCHEMA},
        },
    ),
}
_VALIDATOR = Draft202012Validator(SCHEMA)

DocPath = Sequence[str | int]  # keys and list indexes from the document root


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a catalog file; line and column count from 1."""

    line: int
    column: int
    path: str
    message: str

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}:{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class CatalogError(Exception):
    """The file is not a valid catalog; nothing was imported."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems)
        super().__init__("\n".join(p.format(source) for p in self.problems))

    @property
    def messages(self) -> list[str]:
        return [p.format(self.source) for p in self.problems]


def format_path(path: DocPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Document:
    """The composed YAML node tree, to find where a path of the data was written."""

    def __init__(self, root: yaml.Node) -> None:
        self.root = root

    def node_at(self, path: DocPath) -> yaml.Node:
        """The node at `path`, or the deepest ancestor that exists."""
        node = self.root
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:  # the last duplicate wins, as in the data
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        child = value
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                child = node.value[part]
            if child is None:
                break
            node = child
        return node

    def key_node(self, path: DocPath, key: str) -> yaml.Node:
        mapping = self.node_at(path)
        if isinstance(mapping, yaml.MappingNode):
            for key_node, _value in mapping.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    return key_node  # type: ignore[no-any-return]
        return mapping

    def problem(self, path: DocPath, message: str, node: yaml.Node | None = None) -> Problem:
        mark = (node or self.node_at(path)).start_mark
        return Problem(mark.line + 1, mark.column + 1, format_path(path), message)

    def duplicate_keys(self) -> list[Problem]:
        problems: list[Problem] = []

        def walk(node: yaml.Node, path: list[str | int]) -> None:
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, value in node.value:
                    name = str(key.value)
                    if name in seen:
                        problems.append(
                            self.problem([*path, name], f"duplicate field '{name}'", key)
                        )
                    seen.add(name)
                    walk(value, [*path, name])
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    walk(item, [*path, index])

        walk(self.root, [])
        return problems


def _schema_problems(doc: _Document, data: Any) -> list[Problem]:
    problems: list[Problem] = []
    for error in _VALIDATOR.iter_errors(data):
        problems.extend(_explain(doc, error))
    return problems


def _explain(doc: _Document, error: SchemaError) -> list[Problem]:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [
            doc.problem([*path, str(key)], f"unknown field '{key}'", doc.key_node(path, str(key)))
            for key in error.instance
            if key not in allowed
        ]
    message = error.message
    if error.validator == "pattern" and error.validator_value == NON_BLANK:
        message = PATTERN_MESSAGES[NON_BLANK]
    elif error.validator == "pattern" and error.validator_value in PATTERN_MESSAGES:
        message = f"{error.instance!r} {PATTERN_MESSAGES[str(error.validator_value)]}"
    elif error.validator == "uniqueItems":
        message = "lists the same reference twice"
    return [doc.problem(path, message)]


def _duplicates(
    doc: _Document, items: Any, path: list[str | int], field: str, what: str
) -> list[Problem]:
    """Problems for items of the list at `path` whose `field` repeats an earlier item's."""
    problems: list[Problem] = []
    first_line: dict[Any, int] = {}
    if not isinstance(items, list):
        return problems
    for index, item in enumerate(items):
        if not isinstance(item, dict) or field not in item:
            continue
        value = item[field]
        where = doc.problem([*path, index, field], "")
        if value in first_line:
            problems.append(
                doc.problem(
                    [*path, index, field],
                    f"duplicate {what} {value} (first at line {first_line[value]})",
                )
            )
        else:
            first_line[value] = where.line
    return problems


def _semantic_problems(doc: _Document, data: dict[str, Any]) -> list[Problem]:
    """Uniqueness and references; tolerant of data that failed the schema."""
    problems: list[Problem] = []
    modules = data.get("modules")
    problems += _duplicates(doc, modules, ["modules"], "number", "module number")
    component_keys: set[str] = set()
    task_keys: set[str] = set()
    for m_index, module in enumerate(modules if isinstance(modules, list) else []):
        if not isinstance(module, dict):
            continue
        components = module.get("components")
        c_path: list[str | int] = ["modules", m_index, "components"]
        problems += _duplicates(doc, components, c_path, "number", "component number")
        for c_index, component in enumerate(components if isinstance(components, list) else []):
            if not isinstance(component, dict):
                continue
            component_key = f"{module.get('number')}.{component.get('number')}"
            component_keys.add(component_key)
            tasks = component.get("example_tasks")
            t_path: list[str | int] = [*c_path, c_index, "example_tasks"]
            problems += _duplicates(doc, tasks, t_path, "number", "example task number")
            for task in tasks if isinstance(tasks, list) else []:
                if isinstance(task, dict):
                    task_keys.add(f"{component_key}.{task.get('number')}")

    resources = data.get("resources")
    problems += _duplicates(doc, resources, ["resources"], "key", "resource key")
    check_url = URLValidator(schemes=["http", "https"])
    for r_index, resource in enumerate(resources if isinstance(resources, list) else []):
        if not isinstance(resource, dict):
            continue
        url = resource.get("url")
        if isinstance(url, str) and url.strip():
            try:
                check_url(url)
            except ValidationError:
                problems.append(
                    doc.problem(["resources", r_index, "url"], f"{url!r} is not a web address")
                )
        for field, known, what in (
            ("components", component_keys, "component"),
            ("example_tasks", task_keys, "example task"),
        ):
            refs = resource.get(field)
            for ref_index, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in known and _looks_like(ref, what):
                    problems.append(
                        doc.problem(
                            ["resources", r_index, field, ref_index],
                            f"unknown {what} '{ref}': the file defines no such {what}",
                        )
                    )
    return problems


def _looks_like(ref: str, what: str) -> bool:
    return re.match(COMPONENT_REF if what == "component" else TASK_REF, ref) is not None


# Limits on what a file may make the parser do (issue 9, item 4): a 362-byte "billion
# laughs" of aliases took 116 s and 5 GB, deep nesting ended in a RecursionError.
MAX_FILE_BYTES = 2_000_000  # the shipped catalog is ~60 kB
MAX_DEPTH = 24  # the format nests 6 levels
MAX_NODES = 200_000


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (the format needs none, and they are what makes
    an "alias bomb"), with bounded nesting and node count."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._nodes = 0

    def _refuse(self, problem: str) -> NoReturn:
        raise yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._refuse("aliases (*name) are not allowed in this file; write the value out")
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH:
            self._refuse(f"nested deeper than {MAX_DEPTH} levels")
        if self._nodes > MAX_NODES:
            self._refuse(f"more than {MAX_NODES} values")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def load_yaml(text: str, source: str) -> tuple[_Document, list[Problem], Any]:
    """Compose and construct one YAML document within the limits above; every failure is a
    CatalogError with its line and column (never a traceback)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise CatalogError(source, [Problem(1, 1, "", (
            f"the file is {size:,} bytes; at most {MAX_FILE_BYTES:,} are accepted"))])
    loader = None
    try:
        loader = _LimitedLoader(text)
        root = loader.get_single_node()
        if root is None:
            raise CatalogError(source, [Problem(1, 1, "", "the file is empty")])
        doc = _Document(root)
        problems = doc.duplicate_keys()
        data = loader.construct_document(root)
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a byte"
        raise CatalogError(source, [Problem(line, column, "", (
            f"YAML: the character {what} is not allowed (control characters and unpaired "
            "surrogates cannot appear in a catalog file)"))]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
        raise CatalogError(source, [Problem(line, column, "", f"YAML: {problem}")]) from exc
    except yaml.YAMLError as exc:
        raise CatalogError(source, [Problem(1, 1, "", f"YAML: {exc}")]) from exc
    except RecursionError as exc:  # a guard: MAX_DEPTH stops nesting long before
        raise CatalogError(source, [Problem(1, 1, "", "YAML: nested too deeply")]) from exc
    finally:
        if loader is not None:
            loader.dispose()
    return doc, problems, data


def parse_catalog(text: str, *, source: str = "<catalog>") -> dict[str, Any]:
    """The catalog document in `text`, fully validated; raises CatalogError otherwise."""
    doc, problems, data = load_yaml(text, source)

    if not isinstance(data, dict):
        message = "a catalog file is a mapping with format, version and modules"
        raise CatalogError(source, [doc.problem([], message)])
    fmt = data.get("format")
    if fmt != FORMAT:
        message = (
            f"'format' is a required property; start the file with 'format: {FORMAT}'"
            if fmt is None
            else f"unsupported format {fmt!r}; this platform reads '{FORMAT}'"
        )
        raise CatalogError(source, [doc.problem(["format"] if fmt is not None else [], message)])
    problems += _schema_problems(doc, data)
    problems += _semantic_problems(doc, data)
    if problems:
        raise CatalogError(source, set(problems))
    return data


class _Dumper(yaml.SafeDumper):
    """Block style, list items indented under their key, multi-line texts as `|` blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)

# For reading: a blank line before `version:`, `modules:`, `resources:` and between the
# items of the top-level lists (the only lines that start with exactly two spaces and "- ").
_SPACED = re.compile(
    r"^(?:version:|modules:|resources:)|(?<!modules:\n)(?<!resources:\n)^  - ", re.MULTILINE
)


def dump_catalog(document: dict[str, Any]) -> str:
    """The canonical text of a catalog document (fields already in canonical order)."""
    text = yaml.dump(
        document, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
        default_flow_style=False, width=1_000_000, indent=2,
    )
    return HEADER + _SPACED.sub(lambda m: "\n" + m.group(0), text)
