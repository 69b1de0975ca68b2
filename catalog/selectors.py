"""Reads of the catalog. The catalog is public (shared by every municipality and shown to
every signed-in user), so these need no tenant scope."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch

from .models import Component, ExampleTask, ModelVersion, Module, Resource, VersionStatus


def model_version_get(*, code: str) -> ModelVersion:
    """The version with this code; raises ModelVersion.DoesNotExist."""
    return ModelVersion.objects.get(code=code)


def model_versions_published() -> list[ModelVersion]:
    """Published versions, newest ("2.0" before "1.10" before "1.9") first."""
    versions = ModelVersion.objects.filter(status=VersionStatus.PUBLISHED)
    return sorted(versions, key=lambda v: v.sort_key, reverse=True)


def model_version_current() -> ModelVersion | None:
    """The newest published version, the one schools work with by default."""
    versions = model_versions_published()
    return versions[0] if versions else None


@dataclass(frozen=True)
class CatalogTree:
    version: ModelVersion
    modules: list[Module]  # .components (ordered) → .example_tasks (ordered) prefetched
    resources: list[Resource]  # ordered by key; .components and .example_tasks prefetched


def catalog_tree(*, version: ModelVersion) -> CatalogTree:
    """The whole version in a fixed handful of queries, in catalog order."""
    tasks = ExampleTask.objects.order_by("number")
    components = Component.objects.order_by("number").prefetch_related(
        Prefetch("example_tasks", queryset=tasks)
    )
    modules = (
        Module.objects.filter(version=version)
        .order_by("number")
        .prefetch_related(Prefetch("components", queryset=components))
    )
    resources = (
        Resource.objects.filter(version=version)
        .order_by("key")
        .prefetch_related(
            Prefetch(
                "components",
                queryset=Component.objects.select_related("module").order_by(
                    "module__number", "number"
                ),
            ),
            Prefetch(
                "example_tasks",
                queryset=ExampleTask.objects.select_related("component__module").order_by(
                    "component__module__number", "component__number", "number"
                ),
            ),
        )
    )
    return CatalogTree(version=version, modules=list(modules), resources=list(resources))


@dataclass
class TaskEntry:
    task: ExampleTask
    resources: list[Resource] = field(default_factory=list)


@dataclass
class ComponentEntry:
    component: Component
    resources: list[Resource] = field(default_factory=list)
    tasks: list[TaskEntry] = field(default_factory=list)


@dataclass
class ModuleEntry:
    module: Module
    components: list[ComponentEntry] = field(default_factory=list)


@dataclass
class ResourceBank:
    version: ModelVersion
    modules: list[ModuleEntry]
    general_resources: list[Resource]  # linked to no component or example task
    resource_count: int  # distinct resources shown


def resource_bank(
    *,
    version: ModelVersion,
    module_number: int | None = None,
    kind: str = "",
    query: str = "",
) -> ResourceBank:
    """The resource bank of a version: modules → components → example tasks, each with
    its resources, narrowed by module, resource kind and a search.

    The search looks, in every language, at the titles of modules, components and
    resources and at example-task texts. A module or component that matches is shown
    whole; otherwise only the resources (and the tasks) that match. With a kind, only
    resources of that kind are shown, and only the parts that have such resources."""
    needle = query.strip().casefold()

    def matches(obj: object, field_name: str) -> bool:
        if not needle:
            return True
        return any(
            needle in (getattr(obj, f"{field_name}_{code}", "") or "").casefold()
            for code in ("nb", "nn", "en")
        )

    def kind_ok(resource: Resource) -> bool:
        return not kind or resource.kind == kind

    tree = catalog_tree(version=version)
    by_component: dict[int, list[Resource]] = defaultdict(list)
    by_task: dict[int, list[Resource]] = defaultdict(list)
    general: list[Resource] = []
    for resource in sorted(tree.resources, key=lambda r: r.title.casefold()):
        component_ids = [c.pk for c in resource.components.all()]
        task_ids = [t.pk for t in resource.example_tasks.all()]
        for pk in component_ids:
            by_component[pk].append(resource)
        for pk in task_ids:
            by_task[pk].append(resource)
        if not component_ids and not task_ids:
            general.append(resource)

    filtering = bool(needle or kind)
    shown: set[int] = set()
    modules: list[ModuleEntry] = []
    for module in tree.modules:
        if module_number is not None and module.number != module_number:
            continue
        module_match = bool(needle) and matches(module, "title")
        module_entry = ModuleEntry(module=module)
        for component in module.components.all():
            component_match = module_match or (bool(needle) and matches(component, "title"))
            entry = ComponentEntry(
                component=component,
                resources=[
                    r for r in by_component[component.pk]
                    if kind_ok(r) and (component_match or matches(r, "title"))
                ],
            )
            for task in component.example_tasks.all():
                task_match = component_match or (bool(needle) and matches(task, "text"))
                task_entry = TaskEntry(
                    task=task,
                    resources=[
                        r for r in by_task[task.pk]
                        if kind_ok(r) and (task_match or matches(r, "title"))
                    ],
                )
                if not filtering or task_entry.resources or (task_match and not kind):
                    entry.tasks.append(task_entry)
            if (
                not filtering
                or entry.resources
                or entry.tasks
                or (component_match and not kind)
            ):
                module_entry.components.append(entry)
                shown.update(r.pk for r in entry.resources)
                shown.update(r.pk for t in entry.tasks for r in t.resources)
        if not filtering or module_entry.components or (module_match and not kind):
            modules.append(module_entry)

    general_shown = (
        []
        if module_number is not None
        else [r for r in general if kind_ok(r) and matches(r, "title")]
    )
    shown.update(r.pk for r in general_shown)
    return ResourceBank(
        version=version,
        modules=modules,
        general_resources=general_shown,
        resource_count=len(shown),
    )
