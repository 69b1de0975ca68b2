"""Exports: CSV (zip with data.csv + codebook.csv), Excel (sheets data + codebook) and
Parquet (zip with data.parquet + codebook.csv); every export logged."""

from __future__ import annotations

import csv
import io
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
from .test_research_world import ResearchWorld, research_world

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


def test_it_exports_csv_as_a_zip_with_data_and_codebook(
    research_world: ResearchWorld, researcher: User
) -> None:
    content = download(researcher, dataset="outcomes", file_format="csv")

    archive = zipfile.ZipFile(io.BytesIO(content))
    data = csv_rows(archive.read("data.csv").decode())
    codebook = csv_rows(archive.read("codebook.csv").decode())

    assert sorted(archive.namelist()) == ["codebook.csv", "data.csv"]
    assert len(data) == OutcomeCell.objects.filter(model_version="1.0").count()
    assert [row["variable"] for row in codebook] == DATASETS["outcomes"].fields
    assert tuple(codebook[0]) == CODEBOOK_HEADER
    suppressed = [row for row in data if row["suppressed"] == "true"]
    assert suppressed and all(row["n"] == row["mean"] == row["sd"] == "" for row in suppressed)
    marker = {row["variable"]: row["suppression_marker"] for row in codebook}
    assert "suppressed = true" in marker["mean"]


def test_it_exports_excel_with_a_codebook_sheet(
    research_world: ResearchWorld, researcher: User
) -> None:
    content = download(researcher, dataset="fidelity", file_format="xlsx", county="15")

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    data = list(workbook["data"].iter_rows(values_only=True))
    codebook = list(workbook["codebook"].iter_rows(values_only=True))

    assert workbook.sheetnames == ["data", "codebook"]
    assert list(data[0]) == DATASETS["fidelity"].fields
    county = data[0].index("county")
    assert len(data) > 1 and {row[county] for row in data[1:]} == {"15"}
    assert codebook[0] == CODEBOOK_HEADER
    assert {row[0] for row in codebook[1:]} == set(DATASETS["fidelity"].fields)


def test_it_exports_parquet_with_labels_and_a_codebook(
    research_world: ResearchWorld, researcher: User
) -> None:
    content = download(researcher, dataset="stages", file_format="parquet")

    archive = zipfile.ZipFile(io.BytesIO(content))
    table = pq.read_table(io.BytesIO(archive.read("data.parquet")))
    codebook = csv_rows(archive.read("codebook.csv").decode())

    assert table.column_names == DATASETS["stages"].fields
    assert table.num_rows > 0
    assert table.schema.field("days").metadata[b"label"]
    assert b"sovei" in table.schema.metadata
    assert [row["variable"] for row in codebook] == DATASETS["stages"].fields


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_it_logs_every_export_with_who_what_filters_and_rows(
    research_world: ResearchWorld, researcher: User, dataset: str
) -> None:
    w = research_world

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
