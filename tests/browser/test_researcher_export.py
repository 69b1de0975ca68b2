"""An NTNU researcher, on the public site, filters the anonymised store and downloads an
export with its codebook."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest

from research.models import ExportLog

from .conftest import Site, email
from .support import journey, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_a_researcher_filters_and_downloads_an_export(site: Site, context: Any) -> None:
    with journey(context, "researcher: filter and export") as j:
        page = j.page
        sign_in(page, site.public_url, email("forsker"), site.password)
        j.check("public home")
        page.get_by_role("link", name="Forskerområde (anonymiserte data)").click()
        page.wait_for_url("**/forsker/")
        j.check("research overview", screenshot="research-overview")

        page.get_by_role("link", name="Troskap", exact=True).click()
        page.wait_for_url("**/forsker/troskap/**")
        counties = page.locator("select[name=county] option")
        names = [counties.nth(i).inner_text() for i in range(counties.count())]
        assert "Finnmark" in names, names  # the journeys' municipality (kommunenummer 56xx)
        page.locator("select[name=county]").select_option(label="Finnmark")
        page.get_by_role("button", name="Vis", exact=True).click()
        page.wait_for_url("**/forsker/troskap/?*county=*")
        j.check("research fidelity, filtered", screenshot="research-fidelity")

        page.get_by_role("link", name="Eksport", exact=True).click()
        page.wait_for_url("**/forsker/eksport/**")
        page.locator("select[name=county]").select_option(label="Finnmark")
        page.get_by_role("button", name="Vis", exact=True).click()
        page.wait_for_url("**/forsker/eksport/?*county=*")
        j.check("export")
        page.locator("select[name=dataset]").select_option("fidelity")
        page.locator("select[name=file_format]").select_option("csv")
        before = ExportLog.objects.count()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Last ned").click()
        download = download_info.value
        content = download.path().read_bytes()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert {"data.csv", "codebook.csv"} <= set(archive.namelist())
            rows = list(csv.DictReader(io.StringIO(archive.read("data.csv").decode("utf-8"))))
        assert rows, "the export has rows"
        assert ExportLog.objects.count() == before + 1, "every export is logged"
        j.assert_clean()
