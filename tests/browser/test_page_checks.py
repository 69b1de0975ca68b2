"""The checks every journey page gets can fail: a page that scrolls sideways, an image
without a text alternative and a chart without its table are reported, with the rule, its
impact and the element."""

from __future__ import annotations

from typing import Any

import pytest

from .support import check_table_alternatives, journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

BAD_PAGE = """<!doctype html><html lang="nb"><head><title>Feil</title></head><body><main>
<h1>Feil med vilje</h1><div id="wide" style="width:900px">bred</div>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<figure class="chart" id="figure-x"><div class="plot"></div></figure>
</main></body></html>"""


def test_the_page_checks_report_sideways_scrolling_axe_violations_and_missing_tables(
    context: Any,
) -> None:
    with journey(context, "self-check") as j:
        j.page.set_content(BAD_PAGE)
        j.check("bad page")
        check_table_alternatives(j)

    text = "\n".join(j.problems)
    assert "scrolls sideways at 390 px" in text and "div#wide" in text
    assert "scrolls sideways at 1366 px" not in text
    assert "axe image-alt (critical)" in text and "img" in text
    assert "chart figure-x has no table alternative" in text
    with pytest.raises(AssertionError, match="problem"):
        j.assert_clean()
