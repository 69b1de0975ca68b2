"""Export of one municipality's data on request (tenants.export, municipality_export): every
table of its schema and its public rows, and nothing of any other municipality."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import School
from tenants.export import ExportError, municipality_export
from tenants.models import Municipality
from tenants.selectors import schema_tables, table_row_counts

from .conftest import World

# Strings that only Volda's records hold: none may reach Trondheim's export.
VOLDA_ONLY = ("Bratteberg", "volda_leader@example.no", "volda.localhost")


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def exported_files(path: Path) -> dict[str, bytes]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.fixture
def trondheim(world: World, db: None) -> Municipality:
    with tenant_context(world.trondheim):
        School.objects.filter(pk=world.ila_id).update(name="Ila skole, «gamle» bygg,\nfløy A")
    return world.trondheim


def test_it_exports_every_table_of_the_schema_with_every_row(
    trondheim: Municipality, tmp_path: Path
) -> None:
    result = municipality_export(municipality=trondheim, path=tmp_path / "trondheim")

    files = exported_files(tmp_path / "trondheim")
    counts = table_row_counts(trondheim.schema_name)
    assert {f"schema/{t}.csv" for t in schema_tables(trondheim.schema_name)} == {
        name for name in files if name.startswith("schema/")
    }
    for table, rows in counts.items():
        assert len(read_csv(files[f"schema/{table}.csv"])) == rows + 1  # and the header
        assert result.files[f"schema/{table}.csv"] == rows


def test_it_keeps_every_column_and_awkward_values(
    trondheim: Municipality, tmp_path: Path
) -> None:
    municipality_export(municipality=trondheim, path=tmp_path / "out")

    header, *rows = read_csv((tmp_path / "out" / "schema" / "implementation_school.csv")
                             .read_bytes())
    assert header[:2] == ["id", "name"]
    assert [row[1] for row in rows] == ["Ila skole, «gamle» bygg,\nfløy A", "Lade skole"]


def test_it_exports_the_public_rows_of_the_municipality_only(
    trondheim: Municipality, tmp_path: Path
) -> None:
    municipality_export(municipality=trondheim, path=tmp_path / "out")
    files = exported_files(tmp_path / "out")

    own = json.loads(files["municipality.json"])
    assert (own["name"], own["kommunenummer"], own["slug"]) == ("Trondheim", "5001", "trondheim")
    assert [row[1] for row in read_csv(files["public/domains.csv"])[1:]] == [
        "trondheim.localhost"
    ]
    members = read_csv(files["public/memberships.csv"])
    assert members[0] == ["id", "user_id", "email", "full_name", "role", "school_ids",
                          "created_at"]
    assert sorted(row[2] for row in members[1:]) == [
        "lade_leader@example.no",
        "trondheim_coordinator@example.no",
        "trondheim_leader@example.no",
        "trondheim_staff@example.no",
    ]


def test_nothing_of_another_municipality_is_in_the_export(
    trondheim: Municipality, tmp_path: Path
) -> None:
    municipality_export(municipality=trondheim, path=tmp_path / "out.zip")

    for name, data in exported_files(tmp_path / "out.zip").items():
        text = data.decode("utf-8")
        for marker in VOLDA_ONLY:
            assert marker not in text, f"{marker} in {name}"


def test_a_zip_holds_the_same_files_as_a_directory(
    trondheim: Municipality, tmp_path: Path
) -> None:
    municipality_export(municipality=trondheim, path=tmp_path / "dir")
    municipality_export(municipality=trondheim, path=tmp_path / "out.zip")

    in_dir, in_zip = exported_files(tmp_path / "dir"), exported_files(tmp_path / "out.zip")
    assert set(in_dir) == set(in_zip)
    assert in_dir["schema/implementation_school.csv"] == in_zip["schema/implementation_school.csv"]
    assert {"README.txt", "manifest.json", "municipality.json"} <= set(in_zip)


def test_the_export_is_readable_by_its_owner_only(
    trondheim: Municipality, tmp_path: Path
) -> None:
    municipality_export(municipality=trondheim, path=tmp_path / "out.zip")
    municipality_export(municipality=trondheim, path=tmp_path / "dir")

    assert stat.S_IMODE((tmp_path / "out.zip").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "dir").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "dir" / "manifest.json").stat().st_mode) == 0o600


def test_the_manifest_counts_every_file(trondheim: Municipality, tmp_path: Path) -> None:
    result = municipality_export(municipality=trondheim, path=tmp_path / "out")

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["municipality"]["kommunenummer"] == "5001"
    assert manifest["files"] == result.files
    assert manifest["files"]["public/memberships.csv"] == 4


def test_it_never_overwrites(trondheim: Municipality, tmp_path: Path) -> None:
    (tmp_path / "taken.zip").write_bytes(b"keep")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")

    with pytest.raises(ExportError, match="never overwrites"):
        municipality_export(municipality=trondheim, path=tmp_path / "taken.zip")
    with pytest.raises(ExportError, match="not an empty directory"):
        municipality_export(municipality=trondheim, path=tmp_path / "full")

    assert (tmp_path / "taken.zip").read_bytes() == b"keep"
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["mine.txt"]


def test_a_failed_export_leaves_nothing_behind(
    trondheim: Municipality, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("tenants.export._copy_table", fail)

    for target in (tmp_path / "out", tmp_path / "out.zip"):
        with pytest.raises(RuntimeError, match="disk full"):
            municipality_export(municipality=trondheim, path=target)
    assert list(tmp_path.iterdir()) == []


def test_the_export_is_audited(
    trondheim: Municipality, tmp_path: Path, platform_admin: User
) -> None:
    municipality_export(municipality=trondheim, path=tmp_path / "out.zip", actor=platform_admin)

    entry = LogEntry.objects.get_for_object(trondheim).filter(
        action=LogEntry.Action.ACCESS).latest()
    assert entry.actor == platform_admin
    assert entry.additional_data["operation"] == "export"
    assert entry.additional_data["file"] == "out.zip"


def test_the_command_exports(
    trondheim: Municipality, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("municipality_export", "trondheim", str(tmp_path / "out.zip"))

    assert "Exported Trondheim (trondheim)" in capsys.readouterr().out
    assert "schema/implementation_school.csv" in exported_files(tmp_path / "out.zip")
    with pytest.raises(CommandError, match="never overwrites"):
        call_command("municipality_export", "trondheim", str(tmp_path / "out.zip"))
    with pytest.raises(CommandError, match="No municipality has the address"):
        call_command("municipality_export", "nowhere", str(tmp_path / "x.zip"))
