"""Exports: CSV (zip with data.csv, codebook.csv, metadata.csv), Excel (sheets data, codebook,
metadata) and Parquet (zip with data.parquet, codebook.csv, metadata.csv); complete and
identical codebooks; every export logged."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from openpyxl import load_workbook

from accounts.models import User
from research import exports
from research.exports import CODEBOOK_HEADER, DATASETS
from research.models import ExportLog, OutcomeCell, ResearchRefresh

from .conftest import client_for
from .test_research_world import ResearchWorld, log_time_at_lade, publish, research_world

__all__ = ["research_world"]

URL = "/forsker/eksport/last-ned/"


def download(user: User, **data: str) -> bytes:
    client = client_for(user, "testserver")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the codebook's language
    response = client.post(URL, data)
    assert response.status_code == 200, response.content[:200]
    assert "attachment;" in response["Content-Disposition"]
    return response.content


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_it_exports_csv_as_a_zip_with_data_codebook_and_metadata(
    research_world: ResearchWorld, researcher: User
) -> None:
    content = download(researcher, dataset="outcomes", file_format="csv")

    archive = zipfile.ZipFile(io.BytesIO(content))
    data = csv_rows(archive.read("data.csv").decode())
    codebook = csv_rows(archive.read("codebook.csv").decode())
    about = dict(csv.reader(io.StringIO(archive.read("metadata.csv").decode())))

    assert sorted(archive.namelist()) == ["codebook.csv", "data.csv", "metadata.csv"]
    assert len(data) == OutcomeCell.objects.filter(model_version="1.0").count()
    assert all(int(row["n"]) >= 5 for row in data)
    assert [row["variable"] for row in codebook] == DATASETS["outcomes"].fields
    assert tuple(codebook[0]) == CODEBOOK_HEADER
    formula = {row["variable"]: row["formula"] for row in codebook}
    assert "√((Σ score² − (Σ score)² / n) / (n − 1))" in formula["sd"]
    assert "2.5 × (Σ(odd item − 1) + Σ(5 − even item))" in formula["instrument"]
    assert (about["k"], about["k_staff"]) == ("5", "5")
    assert about["through_semester"] == research_world.semester.code
    assert "respondent-weighted" in about["pooling"]
    assert "rounds of one semester are pooled" in about["pooling"]


def test_it_exports_excel_with_codebook_and_metadata_sheets(
    research_world: ResearchWorld, researcher: User
) -> None:
    content = download(researcher, dataset="fidelity", file_format="xlsx", county="15")

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    data = list(workbook["data"].iter_rows(values_only=True))
    codebook = list(workbook["codebook"].iter_rows(values_only=True))
    about = dict(list(workbook["metadata"].iter_rows(values_only=True))[1:])

    assert workbook.sheetnames == ["data", "codebook", "metadata"]
    assert list(data[0]) == DATASETS["fidelity"].fields
    county = data[0].index("county")
    assert len(data) > 1 and {row[county] for row in data[1:]} == {"15"}
    assert codebook[0] == CODEBOOK_HEADER
    assert {row[0] for row in codebook[1:]} == set(DATASETS["fidelity"].fields)
    assert about["k"] == "5" and about["filters"] == "county = 15; model_version = 1.0"


def test_it_exports_parquet_with_the_codebook_in_every_field(
    research_world: ResearchWorld, researcher: User
) -> None:
    content = download(researcher, dataset="stages", file_format="parquet")

    archive = zipfile.ZipFile(io.BytesIO(content))
    table = pq.read_table(io.BytesIO(archive.read("data.parquet")))
    codebook = csv_rows(archive.read("codebook.csv").decode())

    assert table.column_names == DATASETS["stages"].fields
    assert table.num_rows > 0
    semesters = table.schema.field("semesters").metadata
    assert semesters[b"unit"] == b"semesters" and b"semester_index" in semesters[b"formula"]
    assert json.loads(table.schema.metadata[b"sovei"])["k"] == "5"
    assert [row["variable"] for row in codebook] == DATASETS["stages"].fields
    assert sorted(archive.namelist()) == ["codebook.csv", "data.parquet", "metadata.csv"]


CODES = {"module_number", "stage_order", "position"}


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_it_describes_every_column_completely(dataset: str) -> None:
    for variable in DATASETS[dataset].variables:
        entry = dict(zip(CODEBOOK_HEADER, codebook_row(dataset, variable.name), strict=True))
        for part in ("label", "type", "values", "empty_means"):
            assert entry[part], f"{dataset}.{variable.name}: no {part}"
        if variable.kind == "decimal":
            assert entry["formula"] and entry["unit"], f"{dataset}.{variable.name}"
        if variable.kind == "integer" and variable.name not in CODES:
            assert entry["unit"], f"{dataset}.{variable.name}: no unit"
    assert str(DATASETS[dataset].pooling)


def codebook_row(dataset: str, name: str) -> tuple[str, ...]:
    return next(row for row in exports.codebook_rows(DATASETS[dataset]) if row[0] == name)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_it_gives_the_same_codebook_and_metadata_in_every_format(
    research_world: ResearchWorld, researcher: User, dataset: str
) -> None:
    as_csv = zipfile.ZipFile(io.BytesIO(download(researcher, dataset=dataset, file_format="csv")))
    as_parquet = zipfile.ZipFile(
        io.BytesIO(download(researcher, dataset=dataset, file_format="parquet"))
    )
    workbook = load_workbook(
        io.BytesIO(download(researcher, dataset=dataset, file_format="xlsx")), read_only=True
    )

    def sheet(name: str) -> list[list[str]]:
        return [["" if v is None else str(v) for v in row]
                for row in workbook[name].iter_rows(values_only=True)]

    for name in ("codebook", "metadata"):
        text = as_csv.read(f"{name}.csv").decode()
        assert text == as_parquet.read(f"{name}.csv").decode()
        assert list(csv.reader(io.StringIO(text))) == sheet(name)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_it_logs_every_export_with_who_what_filters_and_rows(
    research_world: ResearchWorld, researcher: User, dataset: str
) -> None:
    w = research_world
    log_time_at_lade(w)  # the world has no time use of its own
    publish()
    ExportLog.objects.all().delete()

    content = download(
        researcher, dataset=dataset, file_format="csv", semester=w.semester.code, county="50"
    )

    log = ExportLog.objects.get()
    rows = csv_rows(zipfile.ZipFile(io.BytesIO(content)).read("data.csv").decode())
    assert (log.user, log.user_email, log.dataset, log.file_format) == (
        researcher,
        "researcher@example.no",
        dataset,
        "csv",
    )
    assert log.filters == {"semester": w.semester.code, "model_version": "1.0", "county": "50"}
    assert log.row_count == len(rows) > 0
    assert log.refresh == ResearchRefresh.objects.latest()
    assert all(row["county"] == "50" for row in rows)


def test_it_refuses_an_unknown_dataset_or_format(
    research_world: ResearchWorld, researcher: User
) -> None:
    client = client_for(researcher, "testserver")

    assert client.post(URL, {"dataset": "schools", "file_format": "csv"}).status_code == 400
    assert client.post(URL, {"dataset": "fidelity", "file_format": "sav"}).status_code == 400
    assert client.get(URL, {"dataset": "fidelity", "file_format": "csv"}).status_code == 405
    assert ExportLog.objects.count() == 0


def test_it_refuses_an_excel_export_with_more_rows_than_a_worksheet_holds(
    research_world: ResearchWorld, researcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 3)
    client = client_for(researcher, "testserver")

    refused = client.post(URL, {"dataset": "fidelity", "file_format": "xlsx"})
    csv_export = client.post(URL, {"dataset": "fidelity", "file_format": "csv"})

    assert refused.status_code == 400
    assert csv_export.status_code == 200
    assert list(ExportLog.objects.values_list("file_format", flat=True)) == ["csv"]
