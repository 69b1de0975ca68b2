"""Exporting catalog files (catalog.services.catalog_export and `manage.py export_catalog`)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from catalog.fileformat import SHIPPED_CATALOG, parse_catalog
from catalog.models import Component, ExampleTask, ModelVersion, Module, Resource
from catalog.services import catalog_export, catalog_import, catalog_import_report

pytestmark = pytest.mark.django_db


def test_it_reproduces_the_shipped_file_byte_for_byte() -> None:
    shipped = SHIPPED_CATALOG.read_bytes()
    version = catalog_import(path=SHIPPED_CATALOG)

    exported = catalog_export(version=version)

    assert exported.encode("utf-8") == shipped


def test_it_accepts_a_version_code() -> None:
    catalog_import(path=SHIPPED_CATALOG)

    assert catalog_export(version="1.0") == SHIPPED_CATALOG.read_text(encoding="utf-8")


def hand_made_version() -> ModelVersion:
    """A version built as an administrator would in the admin, with awkward texts."""
    version = ModelVersion.objects.create(code="7.1", name_nb="Håndlaget", status="draft")
    module = Module.objects.create(
        version=version, number=2, title_nb="yes", title_en="1.0",
        description_nb="Første linje\nandre linje: med kolon\n\n  innrykk # ikke kommentar\n",
    )
    # Created out of order: the export sorts by number.
    second = Component.objects.create(module=module, number=10, title_nb="Ti: «sitat»")
    first = Component.objects.create(
        module=module, number=9, title_nb="'enkle' og \"doble\" anførselstegn",
        description_en="- not a list item",
    )
    task = ExampleTask.objects.create(component=first, number=1, text_nb="@ og % og *stjerne*")
    ExampleTask.objects.create(component=first, number=2, text_nb="tabulator\ther", text_nn="null")
    resource = Resource.objects.create(
        version=version, key="b-video", kind="video", title_nb="Video",
        url="https://example.no/v?a=1&b=2", language="en",
    )
    resource.components.set([second, first])
    resource.example_tasks.set([task])
    Resource.objects.create(
        version=version, key="a-mal", kind="template", title_nb="Mal", url="http://example.no/mal",
    )
    return version


def test_it_round_trips_a_version_made_by_hand() -> None:
    version = hand_made_version()

    exported = catalog_export(version=version)
    report = catalog_import_report(text=exported)
    again = catalog_export(version=version)

    assert not report.changes  # the file describes exactly what is in the database
    assert again == exported
    data = parse_catalog(exported)
    module = data["modules"][0]
    assert module["description_nb"] == (
        "Første linje\nandre linje: med kolon\n\n  innrykk # ikke kommentar\n"
    )
    assert [c["number"] for c in module["components"]] == [9, 10]
    assert module["title_nb"] == "yes"
    assert module["title_en"] == "1.0"
    assert module["components"][0]["example_tasks"][1]["text_nn"] == "null"
    assert [r["key"] for r in data["resources"]] == ["a-mal", "b-video"]
    assert data["resources"][1]["components"] == ["2.9", "2.10"]
    assert data["resources"][1]["example_tasks"] == ["2.9.1"]


def test_it_writes_the_fields_in_order_and_leaves_out_empty_ones() -> None:
    version = hand_made_version()

    data = yaml.safe_load(catalog_export(version=version))

    assert list(data) == ["format", "version", "modules", "resources"]
    assert data["format"] == "sovei-catalog/1"
    assert data["version"] == {
        "code": "7.1", "name_nb": "Håndlaget", "status": "draft",
        "fidelity_threshold_percent": 70, "fidelity_min_rated_percent": 80,
    }
    assert list(data["modules"][0]) == [
        "number", "title_nb", "title_en", "description_nb", "components",
    ]
    assert data["modules"][0]["components"][1] == {"number": 10, "title_nb": "Ti: «sitat»"}
    assert data["resources"][0] == {
        "key": "a-mal", "kind": "template", "title_nb": "Mal", "url": "http://example.no/mal",
    }


def test_it_writes_readable_yaml() -> None:
    text = catalog_export(version=hand_made_version())

    assert text.startswith("# SoVei catalog file.")
    assert "  - number: 2\n" in text  # list items indented under their key
    assert "description_nb: |" in text  # multi-line texts as blocks
    assert "Første linje" in text  # not escaped
    assert "\n\nmodules:\n  - number: 2" in text


def test_the_command_writes_to_standard_output() -> None:
    catalog_import(path=SHIPPED_CATALOG)
    out = StringIO()

    call_command("export_catalog", "1.0", stdout=out)

    assert out.getvalue() == SHIPPED_CATALOG.read_text(encoding="utf-8")


def test_the_command_writes_a_file(tmp_path: Path) -> None:
    catalog_import(path=SHIPPED_CATALOG)
    output = tmp_path / "out.yaml"
    out = StringIO()

    call_command("export_catalog", "1.0", "--output", str(output), stdout=out)

    assert output.read_bytes() == SHIPPED_CATALOG.read_bytes()
    assert f"Wrote model version 1.0 to {output}" in out.getvalue()


def test_the_command_names_an_unknown_version() -> None:
    catalog_import(path=SHIPPED_CATALOG)

    with pytest.raises(CommandError, match=r"No model version '3\.0' \(known versions: .*1\.0"):
        call_command("export_catalog", "3.0", stdout=StringIO())


def test_the_command_refuses_a_missing_directory(tmp_path: Path) -> None:
    catalog_import(path=SHIPPED_CATALOG)

    with pytest.raises(CommandError, match="No such directory"):
        call_command(
            "export_catalog", "1.0", "--output", str(tmp_path / "no" / "out.yaml"),
            stdout=StringIO(),
        )
