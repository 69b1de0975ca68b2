"""Views, API views and tasks read tenant rows only through selectors and write only
through services (DESIGN.md §7), so the school scope cannot be forgotten."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIN_LAYERS = [
    "implementation/views",
    "implementation/api",
    "dashboards/views.py",
    "dashboards/api.py",
    "worker/tasks.py",
    "implementation/tasks.py",
    "research/views.py",
    "research/tenant_views.py",
    "research/tasks.py",
    "research/api.py",
    "apitokens/views.py",
    "apitokens/middleware.py",
    "sovei_platform/views.py",
]


def _modules() -> list[Path]:
    found: list[Path] = []
    for layer in THIN_LAYERS:
        path = ROOT / layer
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(path.rglob("*.py")))
    return found


def _manager_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager"}
    ]


def test_there_are_thin_layers_to_check() -> None:
    assert _modules(), "no view, API or task modules found: the paths above are stale"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_it_keeps_model_managers_out_of_views_api_and_tasks(path: Path) -> None:
    assert _manager_uses(path) == []


def test_it_notices_a_manager_use() -> None:
    sample = ROOT / "tests" / "_architecture_sample.py"
    sample.write_text("from x import School\nSchool.objects.all()\n", encoding="utf-8")
    try:
        assert _manager_uses(sample) == ["tests/_architecture_sample.py:2"]
    finally:
        sample.unlink()
