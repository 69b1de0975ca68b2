"""Importing catalog files (catalog.services.catalog_import and `manage.py import_catalog`)."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from accounts.models import User
from catalog.fileformat import SHIPPED_CATALOG, CatalogError, parse_catalog
from catalog.models import Component, ExampleTask, ModelVersion, Module, Resource
from catalog.services import catalog_import, catalog_import_report
from implementation.models import ComponentAdoption, School
from tenants.models import Municipality

pytestmark = pytest.mark.django_db

SMALL = textwrap.dedent(
    """\
    format: sovei-catalog/1
    version:
      code: '9.0'
      name_nb: Testmodell
    modules:
      - number: 1
        title_nb: Modul en
        components:
          - number: 1
            title_nb: Komponent en
            example_tasks:
              - number: 1
                text_nb: Oppgave en
          - number: 2
            title_nb: Komponent to
    resources:
      - key: veileder
        kind: guide
        title_nb: En veileder
        url: https://example.no/veileder
        components:
          - '1.2'
        example_tasks:
          - 1.1.1
    """
)


def counts() -> dict[str, int]:
    return {
        "versions": ModelVersion.objects.count(),
        "modules": Module.objects.count(),
        "components": Component.objects.count(),
        "tasks": ExampleTask.objects.count(),
        "resources": Resource.objects.count(),
        "resource links": Resource.components.through.objects.count()
        + Resource.example_tasks.through.objects.count(),
    }


def rejected(text: str) -> list[str]:
    with pytest.raises(CatalogError) as info:
        catalog_import(text=text, source="catalog.yaml")
    return info.value.messages


def test_it_imports_the_shipped_catalog() -> None:
    version = catalog_import(path=SHIPPED_CATALOG)

    assert version.code == "1.0"
    assert version.status == "published"
    assert version.fidelity_threshold_percent == 70
    assert list(version.modules.order_by("number").values_list("title_nb", flat=True)) == [
        "Organisatorisk utviklingsarbeid",
        "Veiledningsarbeid",
        "Elevrettet arbeid",
        "Skoleinternt samarbeid",
        "Skoleeksternt samarbeid",
    ]
    components = {
        c.key: c.title_nb
        for c in Component.objects.filter(module__version=version).select_related("module")
    }
    assert components["1.1"] == "Arbeid med skolens elevsyn og verdigrunnlag i møte med elevene"
    assert components["2.1"] == "Veiledning av lærere"
    assert components["2.2"] == "Være en støttespiller for lærerne i deres arbeidshverdag"
    assert components["3.1"] == "Være tilgjengelig og tett på – der elevene er"
    assert components["3.2"] == "Være tilgjengelig for «her og nå-samtaler»"
    assert components["3.3"] == "Bistå i arbeid med bekymring knyttet til særskilte elever"
    assert components["4.1"].startswith("Opprette et system for påkobling")
    assert components["5.1"].startswith("Delta i kommuneomfattende nettverk")
    assert len(components) == 8
    for component in Component.objects.filter(module__version=version):
        assert 2 <= component.example_tasks.count() <= 3
        assert component.title_nn and component.title_en
    sovei = Resource.objects.get(version=version, key="ntnu-rkbu-sovei")
    assert sovei.url == "https://www.ntnu.no/rkbu/sovei"
    skolemiljo = Resource.objects.get(version=version, key="udir-skolemiljo")
    assert sorted(c.key for c in skolemiljo.components.select_related("module")) == [
        "1.1", "3.1", "3.3",
    ]


def test_it_creates_the_rows_of_a_new_version() -> None:
    before = counts()

    report = catalog_import_report(text=SMALL)

    assert report.version.code == "9.0"
    assert report.version.status == "draft"
    assert report.version.fidelity_threshold_percent == 70
    assert report.changes.created == {
        "modelversion": 1, "module": 1, "component": 2, "exampletask": 1, "resource": 1,
    }
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {
        "versions": 1, "modules": 1, "components": 2, "tasks": 1, "resources": 1,
        "resource links": 2,
    }
    resource = Resource.objects.get(version=report.version, key="veileder")
    assert [c.key for c in resource.components.all()] == ["1.2"]
    assert [t.key for t in resource.example_tasks.all()] == ["1.1.1"]


def test_it_changes_nothing_when_the_same_file_is_imported_twice(platform_admin: User) -> None:
    catalog_import(path=SHIPPED_CATALOG, actor=platform_admin)
    catalog_import(text=SMALL, actor=platform_admin)
    before = counts()
    stamps = list(ModelVersion.objects.order_by("id").values_list("updated_at", flat=True)) + list(
        Resource.objects.order_by("id").values_list("updated_at", flat=True)
    )
    log_entries = LogEntry.objects.count()

    shipped = catalog_import_report(path=SHIPPED_CATALOG, actor=platform_admin)
    small = catalog_import_report(text=SMALL, actor=platform_admin)

    assert not shipped.changes
    assert not small.changes
    assert counts() == before
    assert stamps == list(
        ModelVersion.objects.order_by("id").values_list("updated_at", flat=True)
    ) + list(Resource.objects.order_by("id").values_list("updated_at", flat=True))
    assert LogEntry.objects.count() == log_entries


def test_it_records_the_actor_in_the_audit_log(platform_admin: User) -> None:
    version = catalog_import(text=SMALL, actor=platform_admin)

    entry = LogEntry.objects.get_for_object(version).get()
    assert entry.actor == platform_admin
    assert entry.action == LogEntry.Action.CREATE


def test_it_updates_changed_rows_and_deletes_rows_the_file_leaves_out() -> None:
    catalog_import(text=SMALL)
    changed = (
        SMALL.replace("title_nb: Komponent en", "title_nb: Komponent én\n        title_en: One")
        .replace("      - number: 2\n        title_nb: Komponent to\n", "")
        .replace("      - '1.2'", "      - '1.1'")
    )

    report = catalog_import_report(text=changed)

    component = Component.objects.get(module__version__code="9.0", number=1)
    assert (component.title_nb, component.title_en) == ("Komponent én", "One")
    assert not Component.objects.filter(module__version__code="9.0", number=2).exists()
    resource = Resource.objects.get(key="veileder")
    assert [c.number for c in resource.components.all()] == [1]
    assert report.changes.updated == {"component": 1, "resource": 1}
    assert report.changes.deleted == {"component": 1}


def test_it_leaves_other_versions_alone() -> None:
    catalog_import(path=SHIPPED_CATALOG)
    before = counts()

    catalog_import(text=SMALL)
    catalog_import(text=SMALL.replace("  - key: veileder", "  - key: annen-veileder"))

    assert Module.objects.filter(version__code="1.0").count() == 5
    assert Resource.objects.filter(version__code="1.0").count() == before["resources"]
    assert list(Resource.objects.filter(version__code="9.0").values_list("key", flat=True)) == [
        "annen-veileder"
    ]


def test_it_rejects_a_missing_field_with_its_file_position() -> None:
    text = SMALL.replace("        title_nb: Komponent to\n", "")

    before = counts()

    messages = rejected(text)

    # `- number: 2` of the second component is on line 14, its mapping starts in column 9.
    assert messages == [
        "catalog.yaml:14:9 modules[0].components[1]: 'title_nb' is a required property"
    ]
    assert counts() == before
    assert not ModelVersion.objects.filter(code="9.0").exists()


def test_it_rejects_a_duplicate_component_number_with_its_file_position() -> None:
    text = SMALL.replace("      - number: 2\n", "      - number: 1\n")

    before = counts()

    messages = rejected(text)

    assert messages == [
        "catalog.yaml:14:17 modules[0].components[1].number: "
        "duplicate component number 1 (first at line 9)",
        # With component 2 gone, the resource's reference to it fails too.
        "catalog.yaml:22:9 resources[0].components[0]: "
        "unknown component '1.2': the file defines no such component",
    ]
    assert counts() == before
    assert not ModelVersion.objects.filter(code="9.0").exists()


def test_it_rejects_duplicate_module_and_task_numbers() -> None:
    text = SMALL.replace(
        "            text_nb: Oppgave en\n",
        "            text_nb: Oppgave en\n"
        "          - number: 1\n"
        "            text_nb: Oppgave to\n",
    ).replace("resources:", "  - number: 1\n    title_nb: Modul en igjen\nresources:")

    messages = rejected(text)

    assert messages == [
        "catalog.yaml:14:21 modules[0].components[0].example_tasks[1].number: "
        "duplicate example task number 1 (first at line 12)",
        "catalog.yaml:18:13 modules[1].number: duplicate module number 1 (first at line 6)",
    ]


def test_it_rejects_an_unknown_resource_reference() -> None:
    text = SMALL.replace("      - '1.2'", "      - '2.1'").replace("- 1.1.1", "- 1.1.7")
    before = counts()

    messages = rejected(text)

    assert messages == [
        "catalog.yaml:22:9 resources[0].components[0]: "
        "unknown component '2.1': the file defines no such component",
        "catalog.yaml:24:9 resources[0].example_tasks[0]: "
        "unknown example task '1.1.7': the file defines no such example task",
    ]
    assert counts() == before


def test_it_writes_nothing_when_a_file_for_an_existing_version_is_bad() -> None:
    catalog_import(text=SMALL)
    before = counts()
    text = SMALL.replace("title_nb: Modul en", "title_nb: Endret modul").replace(
        "kind: guide", "kind: podcast"
    )

    messages = rejected(text)

    assert messages == [
        "catalog.yaml:18:11 resources[0].kind: "
        "'podcast' is not one of ['guide', 'template', 'video', 'link', 'article']"
    ]
    assert counts() == before
    assert Module.objects.get(version__code="9.0").title_nb == "Modul en"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "title_nb: Modul en", "titel_nb: x\n    title_nb: Modul en",
            "catalog.yaml:7:5 modules[0].titel_nb: unknown field 'titel_nb'",
        ),
        (
            "code: '9.0'", "code: 9.0",
            "catalog.yaml:3:9 version.code: 9.0 is not of type 'string'",
        ),
        (
            "text_nb: Oppgave en", "text_nb: '  '",
            "catalog.yaml:13:22 modules[0].components[0].example_tasks[0].text_nb: "
            "must not be empty",
        ),
        (
            "number: 2", "number: 0",
            "catalog.yaml:14:17 modules[0].components[1].number: 0 is less than the minimum of 1",
        ),
        (
            "format: sovei-catalog/1", "format: sovei-catalog/2",
            "catalog.yaml:1:9 format: unsupported format 'sovei-catalog/2'; "
            "this platform reads 'sovei-catalog/1'",
        ),
        (
            "url: https://example.no/veileder", "url: example.no",
            "catalog.yaml:20:10 resources[0].url: 'example.no' is not a web address",
        ),
        (
            "      - '1.2'", "      - '1.2'\n      - '1.2'",
            "catalog.yaml:22:7 resources[0].components: lists the same reference twice",
        ),
        (
            "name_nb: Testmodell", "name_nb: Testmodell\n  name_nb: Igjen",
            "catalog.yaml:5:3 version.name_nb: duplicate field 'name_nb'",
        ),
    ],
)
def test_it_explains_other_mistakes_with_their_position(
    old: str, new: str, expected: str
) -> None:
    assert old in SMALL
    text = SMALL.replace(old, new, 1)

    assert rejected(text)[0] == expected


def test_it_reports_broken_yaml_with_its_position() -> None:
    text = SMALL.replace("title_nb: Modul en", "title_nb: [Modul en")

    [message] = rejected(text)

    assert message.startswith("catalog.yaml:8:")
    assert "YAML:" in message


def test_it_refuses_to_delete_a_component_a_school_has_adopted(
    trondheim: Municipality, ila: School
) -> None:
    catalog_import(path=SHIPPED_CATALOG)
    component = Component.objects.get(module__version__code="1.0", module__number=2, number=1)
    with tenant_context(trondheim):
        ComponentAdoption.objects.create(
            school=ila, component=component, status_since=datetime.date(2026, 8, 15)
        )
    text = SHIPPED_CATALOG.read_text(encoding="utf-8")
    start = text.index("      - number: 1\n        title_nb: Veiledning av lærere")
    end = text.index("      - number: 2\n        title_nb: Være en støttespiller")
    without = text[:start] + text[end:]  # component 2.1 and the references to it
    without = without.replace("      - '2.1'\n", "").replace("      - 2.1.1\n", "")

    messages = rejected(without)

    assert len(messages) == 1
    assert messages[0].startswith(
        "catalog.yaml:1:1: the file leaves out catalog rows that municipalities' records still "
        "use, so they cannot be deleted; nothing was imported"
    )
    assert Component.objects.filter(pk=component.pk).exists()
    assert Resource.objects.get(key="laringsmiljosenteret").components.count() == 3


def test_it_rejects_an_empty_file() -> None:
    assert rejected("") == ["catalog.yaml:1:1: the file is empty"]


def test_the_shipped_file_is_valid() -> None:
    data = parse_catalog(SHIPPED_CATALOG.read_text(encoding="utf-8"))

    assert data["format"] == "sovei-catalog/1"
    assert [m["number"] for m in data["modules"]] == [1, 2, 3, 4, 5]


def test_the_command_imports_a_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SMALL, encoding="utf-8")

    out = _call("import_catalog", str(path))
    again = _call("import_catalog", str(path))

    assert out.strip() == (
        f"Imported SoVei model version 9.0 from {path}: created 1 model version, 1 module, "
        "2 components, 1 example task, 1 resource."
    )
    assert again.strip() == f"Imported SoVei model version 9.0 from {path}: no changes."
    assert Module.objects.filter(version__code="9.0").count() == 1


def test_the_command_imports_the_shipped_catalog() -> None:
    _call("import_catalog", str(SHIPPED_CATALOG))

    assert Module.objects.filter(version__code="1.0").count() == 5


def test_the_command_checks_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SMALL, encoding="utf-8")

    out = _call("import_catalog", str(path), "--check")

    assert "is a valid catalog of model version 9.0" in out
    assert not ModelVersion.objects.filter(code="9.0").exists()


def test_the_command_names_the_problems_of_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SMALL.replace("        title_nb: Komponent to\n", ""), encoding="utf-8")

    with pytest.raises(CommandError) as info:
        _call("import_catalog", str(path))

    message = str(info.value)
    assert "nothing was imported" in message
    assert f"{path}:14:9 modules[0].components[1]: 'title_nb' is a required property" in message
    assert not ModelVersion.objects.filter(code="9.0").exists()


def test_the_command_says_when_the_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such catalog file"):
        _call("import_catalog", str(tmp_path / "nope.yaml"))


def _call(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
