"""Writes of the catalog: import from and export to catalog files (docs/catalog-format.md).

An import validates the whole file first (catalog.fileformat.parse_catalog) and then
writes one model version in one audited transaction: rows are matched by their natural
keys (version code; module number; component number within its module; task number
within its component; resource key within the version), changed only where the file
differs, and rows of that version that the file no longer has are deleted. Importing the
same file twice therefore changes nothing, and writes no audit entries the second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import IntegrityError, connection, models
from django.db.models import ProtectedError, RestrictedError

from sovei_platform.audit import audited_write

from .fileformat import (
    COMPONENT_FIELDS,
    FORMAT,
    MODULE_FIELDS,
    RESOURCE_FIELDS,
    TASK_FIELDS,
    VERSION_FIELDS,
    CatalogError,
    Problem,
    dump_catalog,
    parse_catalog,
)
from .models import Component, ExampleTask, ModelVersion, Module, Resource, VersionStatus
from .selectors import catalog_tree, model_version_get

if TYPE_CHECKING:
    from accounts.models import User

M = TypeVar("M", bound=models.Model)

# Optional fields and their value when the file leaves them out.
DEFAULTS: dict[str, Any] = {
    "status": VersionStatus.DRAFT,
    "fidelity_threshold_percent": 70,
    "fidelity_min_rated_percent": 80,
    "language": "",
}


@dataclass
class Changes:
    """Rows written per kind ("module", "resource", …); nothing when the file matched."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


@dataclass
class ImportReport:
    version: ModelVersion
    changes: Changes


def _values(item: dict[str, Any], fields: list[str], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Model field values for a file item: missing optional fields become their default."""
    return {
        name: item.get(name, DEFAULTS.get(name, ""))
        for name in fields
        if name not in skip
    }


def _upsert(
    changes: Changes,
    model: type[M],
    existing: dict[Any, M],
    natural_key: Any,
    values: dict[str, Any],
    parent: dict[str, Any],
) -> M:
    """The row with this natural key, created or updated to `values` (saved only if changed)."""
    label = model._meta.model_name or model.__name__
    obj = existing.get(natural_key)
    if obj is None:
        obj = model(**parent, **values)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        changes.created[label] += 1
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        changes.updated[label] += 1
    return obj


def _delete_missing(changes: Changes, rows: dict[Any, M], keep: set[Any]) -> None:
    for key, obj in rows.items():
        if key not in keep:
            _deleted, per_model = obj.delete()
            for label, count in per_model.items():
                if count and "_" not in label.rsplit(".", 1)[-1]:  # not the M2M link rows
                    changes.deleted[label.rsplit(".", 1)[-1].lower()] += count


def catalog_import_report(
    *,
    text: str | None = None,
    path: str | Path | None = None,
    source: str | None = None,
    actor: User | None = None,
) -> ImportReport:
    """Import a catalog file (give `text` or `path`); see catalog_import."""
    if (text is None) == (path is None):
        raise TypeError("Give exactly one of text= and path=.")
    if path is not None:
        source = source or str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogError(source, [Problem(1, 1, "", "the file is not UTF-8 text")]) from exc
    assert text is not None
    source = source or "<catalog>"
    data = parse_catalog(text, source=source)

    version_data = data["version"]
    changes = Changes()
    try:
        with audited_write(actor):
            existing = ModelVersion.objects.select_for_update().filter(code=version_data["code"])
            version = _upsert(
                changes, ModelVersion, {v.code: v for v in existing},
                version_data["code"], _values(version_data, VERSION_FIELDS), {},
            )
            _import_structure(changes, version, data)
            # Municipalities' records point at catalog rows through deferred foreign keys;
            # check them now, so that removing a row in use fails here, not at commit.
            connection.check_constraints()
    except (ProtectedError, RestrictedError) as exc:
        objs = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        raise _in_use(source, ", ".join(sorted({str(o) for o in objs})[:5])) from exc
    except IntegrityError as exc:
        raise _in_use(source, "database: " + str(exc).strip().splitlines()[0]) from exc
    return ImportReport(version=version, changes=changes)


def _in_use(source: str, detail: str) -> CatalogError:
    return CatalogError(
        source,
        [Problem(1, 1, "", "the file leaves out catalog rows that municipalities' records "
                 f"still use, so they cannot be deleted; nothing was imported ({detail})")],
    )


def _import_structure(changes: Changes, version: ModelVersion, data: dict[str, Any]) -> None:
    modules = {m.number: m for m in version.modules.all()}
    file_modules = data["modules"]
    _delete_missing(changes, modules, {m["number"] for m in file_modules})
    components: dict[str, Component] = {}
    tasks: dict[str, ExampleTask] = {}
    for module_data in file_modules:
        module = _upsert(
            changes, Module, modules, module_data["number"],
            _values(module_data, MODULE_FIELDS, skip=("number", "components")),
            {"version": version, "number": module_data["number"]},
        )
        existing_components = {c.number: c for c in module.components.all()}
        file_components = module_data.get("components", [])
        _delete_missing(changes, existing_components, {c["number"] for c in file_components})
        for component_data in file_components:
            component = _upsert(
                changes, Component, existing_components, component_data["number"],
                _values(component_data, COMPONENT_FIELDS, skip=("number", "example_tasks")),
                {"module": module, "number": component_data["number"]},
            )
            components[f"{module.number}.{component.number}"] = component
            existing_tasks = {t.number: t for t in component.example_tasks.all()}
            file_tasks = component_data.get("example_tasks", [])
            _delete_missing(changes, existing_tasks, {t["number"] for t in file_tasks})
            for task_data in file_tasks:
                task = _upsert(
                    changes, ExampleTask, existing_tasks, task_data["number"],
                    _values(task_data, TASK_FIELDS, skip=("number",)),
                    {"component": component, "number": task_data["number"]},
                )
                tasks[f"{module.number}.{component.number}.{task.number}"] = task

    resources = {
        r.key: r for r in version.resources.prefetch_related("components", "example_tasks")
    }
    file_resources = data.get("resources", [])
    _delete_missing(changes, resources, {r["key"] for r in file_resources})
    for resource_data in file_resources:
        written = changes.created["resource"] + changes.updated["resource"]
        resource = _upsert(
            changes, Resource, resources, resource_data["key"],
            _values(resource_data, RESOURCE_FIELDS, skip=("key", "components", "example_tasks")),
            {"version": version, "key": resource_data["key"]},
        )
        links_changed = False
        for relation, targets in (
            (resource.components, [components[k] for k in resource_data.get("components", [])]),
            (resource.example_tasks, [tasks[k] for k in resource_data.get("example_tasks", [])]),
        ):
            wanted = {obj.pk for obj in targets}
            if {obj.pk for obj in relation.all()} != wanted:
                relation.set(wanted)  # type: ignore[attr-defined]
                links_changed = True
        if links_changed and changes.created["resource"] + changes.updated["resource"] == written:
            changes.updated["resource"] += 1


def catalog_import(
    *,
    text: str | None = None,
    path: str | Path | None = None,
    source: str | None = None,
    actor: User | None = None,
) -> ModelVersion:
    """Import a catalog file into its model version and return the version.

    Give the file as `text` or `path`; `source` names it in error messages (default: the
    path). Raises catalog.fileformat.CatalogError, naming file positions, when the file is
    not valid; then nothing is written."""
    return catalog_import_report(text=text, path=path, source=source, actor=actor).version


def _item(obj: models.Model, fields: list[str], children: dict[str, Any]) -> dict[str, Any]:
    """A file item: the fields in canonical order, leaving out empty optional values."""
    item: dict[str, Any] = {}
    for name in fields:
        value = children[name] if name in children else getattr(obj, name)
        if value in ("", [], None):
            continue
        item[name] = str(value) if isinstance(value, str) else value  # no str subclasses
    return item


def catalog_export(*, version: ModelVersion | str) -> str:
    """The model version as a catalog file in canonical form."""
    if isinstance(version, str):
        version = model_version_get(code=version)
    tree = catalog_tree(version=version)
    modules = []
    for module in tree.modules:
        components = []
        for component in module.components.all():
            tasks = [_item(t, TASK_FIELDS, {}) for t in component.example_tasks.all()]
            components.append(_item(component, COMPONENT_FIELDS, {"example_tasks": tasks}))
        modules.append(_item(module, MODULE_FIELDS, {"components": components}))
    resources = []
    for resource in tree.resources:
        links = {
            "components": [c.key for c in resource.components.all()],
            "example_tasks": [t.key for t in resource.example_tasks.all()],
        }
        resources.append(_item(resource, RESOURCE_FIELDS, links))
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": _item(version, VERSION_FIELDS, {}),
        "modules": modules,
    }
    if resources:
        document["resources"] = resources
    return dump_catalog(document)
