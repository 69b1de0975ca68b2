"""Hostile catalog and instrument files (issue 9, item 4): an alias bomb, deep nesting, a
NUL byte, a lone surrogate and an oversized file each end in a clear error with its
position — never a traceback, a hang or gigabytes of memory — and nothing is imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.fileformat import MAX_DEPTH, MAX_FILE_BYTES, CatalogError, parse_catalog
from catalog.instruments import parse_instruments
from catalog.models import ModelVersion

# The classic "billion laughs": 362 bytes that expand to 10^9 strings.
ALIAS_BOMB = "\n".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    *(f"{chr(98 + n)}: &{chr(98 + n)} [{','.join([f'*{chr(97 + n)}'] * 9)}]"
      for n in range(8)),
    "format: sovei-catalog/1",
]) + "\n"

CASES = {
    "alias bomb": (ALIAS_BOMB, (2, 8), "aliases (*name) are not allowed"),
    # The root mapping is level 1, so the 24th "[" (column 8 + 24) is one level too deep.
    "deep nesting": ("format: " + "[" * 10_000 + "]" * 10_000 + "\n", (1, 8 + MAX_DEPTH),
                     f"nested deeper than {MAX_DEPTH} levels"),
    "NUL byte": ("format: sovei-catalog/1\nversion:\n  code: '1.\x000'\n", (3, 12),
                 "the character U+0000 is not allowed"),
    "lone surrogate": ("format: sovei-catalog/1\n# \ud83d\n", (2, 3),
                       "the character U+D83D is not allowed"),
    "oversized": ("#" + "x" * MAX_FILE_BYTES + "\n", (1, 1), "at most 2,000,000"),
}


@pytest.mark.parametrize("parse", [parse_catalog, parse_instruments],
                         ids=["catalog", "instruments"])
@pytest.mark.parametrize("case", list(CASES))
def test_it_refuses_a_hostile_file_with_its_position(case: str, parse: object) -> None:
    text, (line, column), message = CASES[case]

    with pytest.raises(CatalogError) as caught:
        parse(text, source="hostile.yaml")  # type: ignore[operator]

    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (line, column), problem
    assert message in problem.message


def test_the_alias_bomb_is_the_362_byte_one() -> None:
    assert len(ALIAS_BOMB.encode()) < 400 and ALIAS_BOMB.count("*") == 72


def test_the_import_command_reports_the_problem_and_imports_nothing(
    tmp_path: Path, db: None
) -> None:
    before = ModelVersion.objects.count()
    for case, (text, _, message) in CASES.items():
        path = tmp_path / "hostile.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")

        with pytest.raises(CommandError, match="nothing was imported") as caught:
            call_command("import_catalog", str(path))

        assert message.split(" (")[0] in str(caught.value) or "UTF-8" in str(caught.value), case
    assert ModelVersion.objects.count() == before
