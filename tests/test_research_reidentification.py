"""Re-identification: the tenants' data is full of distinctive strings (school and
municipality names, people's names, e-mail addresses, free text in adaptations, strategy
steps, notes, plans and round names). Every research page and every export, in every
format and decoded, is searched for them; none may appear. Exports carry no dates."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from itertools import product

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from accounts.models import User
from research.exports import DATASETS

from .conftest import client_for
from .test_research_world import DISTINCTIVE, ResearchWorld, research_world

__all__ = ["research_world"]

PAGES = [
    "/forsker/",
    "/forsker/troskap/",
    "/forsker/utfall/",
    "/forsker/faser/",
    "/forsker/fremmere-og-hemmere/",
    "/forsker/eksport/",
]
ISO_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")


def filter_sets(w: ResearchWorld) -> list[dict[str, str]]:
    return [
        {},
        {"county": "15"},
        {"size_band": "<1000"},
        {"county": "50", "size_band": "1000-4999"},
        {"semester": w.earlier.code},
        {"semester": w.semester.code, "county": "50"},
    ]


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in DISTINCTIVE if s.lower() in lowered]


def decode(file_format: str, content: bytes) -> dict[str, str]:
    """Every text inside an export: file name → its full text."""
    if file_format == "xlsx":
        workbook = load_workbook(io.BytesIO(content), read_only=True)
        return {
            sheet.title: "\n".join(
                "\t".join("" if v is None else str(v) for v in row)
                for row in sheet.iter_rows(values_only=True)
            )
            for sheet in workbook.worksheets
        }
    texts: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            if name.endswith(".parquet"):
                table = pq.read_table(io.BytesIO(raw))
                metadata = {
                    k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()
                }
                texts[name] = json.dumps(
                    {
                        "rows": table.to_pylist(),
                        "meta": metadata,
                        "fields": [str(f) for f in table.schema],
                    },
                    ensure_ascii=False,
                    default=str,
                )
            else:
                texts[name] = raw.decode("utf-8")
    return texts


def test_it_shows_no_tenant_names_or_free_text_on_any_research_page(
    research_world: ResearchWorld, researcher: User
) -> None:
    client = client_for(researcher, "testserver")
    checked = 0
    for path, filters in product(PAGES, filter_sets(research_world)):
        response = client.get(path, filters)
        assert response.status_code == 200, (path, filters)
        html = response.content.decode()
        assert leaks(html) == [], (path, filters)
        checked += 1
    assert checked == len(PAGES) * 6
    # The pages do show the data: pseudonyms of schools are on the fidelity page.
    html = client.get("/forsker/troskap/").content.decode()
    assert research_world.school(research_world.zyxqvik) in html


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "parquet"])
def test_it_exports_no_tenant_names_free_text_or_dates_in_any_dataset(
    research_world: ResearchWorld, researcher: User, file_format: str
) -> None:
    client = client_for(researcher, "testserver")
    for dataset, filters in product(DATASETS, filter_sets(research_world)):
        response = client.post(
            "/forsker/eksport/last-ned/",
            {"dataset": dataset, "file_format": file_format, **filters},
        )
        assert response.status_code == 200, (dataset, filters)
        texts = decode(file_format, response.content)
        assert set(texts) == (
            {"data", "codebook", "metadata"}
            if file_format == "xlsx"
            else {
                "data.csv" if file_format == "csv" else "data.parquet",
                "codebook.csv",
                "metadata.csv",
            }
        )
        for name, text in texts.items():
            assert leaks(text) == [], (dataset, filters, name)
            assert not ISO_DATE.search(text), (dataset, filters, name, ISO_DATE.search(text))


def test_it_would_notice_a_leak(research_world: ResearchWorld) -> None:
    assert leaks("<td>Zyxqvik skole</td>") == ["Zyxqvik skole"]
    assert leaks("gunnhild.QUORPENSEN@zyx-skole.no") != []
    assert ISO_DATE.search("entered 2025-01-06")


def test_it_exports_the_data_itself(research_world: ResearchWorld, researcher: User) -> None:
    w = research_world
    response = client_for(researcher, "testserver").post(
        "/forsker/eksport/last-ned/", {"dataset": "fidelity", "file_format": "csv"}
    )

    rows = list(csv.DictReader(io.StringIO(decode("csv", response.content)["data.csv"])))

    assert {row["school"] for row in rows} == {
        w.school(w.ila),
        w.school(w.lade),
        w.school(w.zyxqvik),
        w.school(w.bratteberg),
    }
