"""A user switches Bokmål → Nynorsk → English with the language menu and every visible
string of the page changes with it — except data (names of schools, people and the
municipality, the SoVei model's own Norwegian titles, numbers and dates) and, between
Bokmål and Nynorsk, words the two written standards spell the same (the catalogs say so:
their nb and nn translations are identical)."""

from __future__ import annotations

import gettext
import re
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from catalog.models import Component, Instrument, Module
from implementation.models import AssessmentRound

from ..worker_support import REPO
from .conftest import PILOT_SCHOOL, Site, email
from .support import journey, sign_in, visible_strings

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

LANGUAGES = ("nb", "nn", "en")
HTML_LANG = {"nb": "nb", "nn": "nn", "en": "en"}


def catalog(language: str) -> dict[str, str]:
    path = REPO / "locale" / language / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{[^}]*\}\}")
WORD = re.compile(r"[A-Za-zÆØÅæøåÉé]{2,}")


def identical_translations() -> dict[tuple[str, str], set[str]]:
    """For each pair of languages, the texts the catalogs translate identically (Bokmål and
    Nynorsk "Skoler", Nynorsk "open" and English "open"), split at placeholders."""
    nb, nn = catalog("nb"), catalog("nn")
    same: dict[tuple[str, str], set[str]] = {("nb", "nn"): set(), ("nb", "en"): set(),
                                             ("nn", "en"): set()}
    for msgid, text in nb.items():
        if not isinstance(msgid, str) or not isinstance(text, str) or not text:
            continue
        for pair, other in ((("nb", "nn"), nn.get(msgid)), (("nb", "en"), msgid)):
            if other == text:
                same[pair].update(p.strip() for p in PLACEHOLDER.split(text))
        if nn.get(msgid) == msgid:
            same[("nn", "en")].update(p.strip() for p in PLACEHOLDER.split(msgid))
    return same


def nynorsk_words() -> set[str]:
    return {w.lower() for text in catalog("nn").values() if isinstance(text, str)
            for w in WORD.findall(text)}


def data_strings(site: Site) -> set[str]:
    names = set(site.schools) | {"Trondheim", "SoVei", "API"}
    names |= {"Rektor Ila", "Kommunekoordinator", "Sosialfaglig ansatt Ila skole"}
    names |= {f"{m.number}. {m.title}" for m in Module.objects.all()}
    names |= {m.title for m in Module.objects.all()}
    names |= {c.title for c in Component.objects.all()}
    names |= {"Norsk bokmål", "Norsk nynorsk", "English"}
    with tenant_context(site.municipality):  # round names are what the leaders typed
        names |= set(AssessmentRound.objects.values_list("name", flat=True))
    return names


def interface_strings(strings: list[str], data: set[str]) -> dict[str, str]:
    """What the interface says, data left out: visible text → its words that are not data."""
    out = {}
    for text in strings:
        rest = text
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, " ")
        rest = " ".join(WORD.findall(rest))
        if rest:
            out[text] = rest
    return out


def allowed(rest: str, pair: tuple[str, str], same: dict[tuple[str, str], set[str]],
            nn_words: set[str]) -> bool:
    if rest in same[pair] or any(rest == " ".join(WORD.findall(s)) for s in same[pair]):
        return True
    # Bokmål and Nynorsk share many words: fine when every word is Nynorsk too.
    return pair == ("nb", "nn") and all(w.lower() in nn_words for w in rest.split())


def switch(page: Any, language: str) -> None:
    with page.expect_navigation():
        page.locator("#lang").select_option(language)
    assert page.locator("html").get_attribute("lang") == HTML_LANG[language]


def test_switching_language_changes_every_visible_string(site: Site, context: Any) -> None:
    data = data_strings(site)
    same = identical_translations()
    for instrument in Instrument.objects.all():  # names translated in the catalog data
        names = {"nb": instrument.name_nb, "nn": instrument.name_nn or instrument.name_nb,
                 "en": instrument.name_en or instrument.name_nb}
        for first, second in same:
            if names[first] == names[second]:
                same[(first, second)].add(" ".join(WORD.findall(names[first])))
    nn_words = nynorsk_words()
    school = site.schools[PILOT_SCHOOL]
    pages = ["/", f"/skoler/{school}/", f"/skoler/{school}/runder/"]
    with journey(context, "languages: nb → nn → en") as j:
        page = j.page
        sign_in(page, site.tenant_url, email("rektor"), site.password)
        unchanged: list[str] = []
        for path in pages:
            page.goto(f"{site.tenant_url}{path}")
            seen: dict[str, dict[str, str]] = {}
            for language in LANGUAGES:
                if page.locator("html").get_attribute("lang") != language:
                    switch(page, language)
                seen[language] = interface_strings(visible_strings(page), data)
                if path == "/":
                    j.check(f"{path} in {language}",
                            screenshot=None if language == "nb" else f"home-{language}")
                elif path == f"/skoler/{school}/" and language == "nb":
                    j.check("school page", screenshot="recording-school")
            for first, second in (("nb", "nn"), ("nb", "en"), ("nn", "en")):
                unchanged += [
                    f"{path} {first} = {second}: {text!r}"
                    for text in sorted(set(seen[first]) & set(seen[second]))
                    if not allowed(seen[first][text], (first, second), same, nn_words)
                ]
            switch(page, "nb")
        assert not unchanged, "strings that did not change with the language:\n  " + "\n  ".join(
            unchanged
        )
        j.assert_clean()
