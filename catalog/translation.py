"""Texts in three languages: `<field>_nb` (required), `<field>_nn` and `<field>_en`
(optional, falling back to Bokmål). Models declare `title = Translated()` next to the
`title_nb/_nn/_en` fields and read `obj.title` in the active language."""

from __future__ import annotations

from typing import Any, overload

from django.utils.translation import get_language

LANGUAGES: tuple[str, ...] = ("nb", "nn", "en")
FALLBACK_LANGUAGE = "nb"


def active_language() -> str:
    """The active language as one of LANGUAGES ("nb-NO" → "nb", "no" → "nb", "de" → "nb")."""
    code = (get_language() or FALLBACK_LANGUAGE).lower().replace("_", "-")
    base = code.split("-")[0]
    if base == "no":
        return FALLBACK_LANGUAGE
    return base if base in LANGUAGES else FALLBACK_LANGUAGE


def language_keys(field: str) -> list[str]:
    """["title_nb", "title_nn", "title_en"] for "title"."""
    return [f"{field}_{code}" for code in LANGUAGES]


def pick_text(obj: object, field: str, language: str | None = None) -> str:
    """The text of `field` in `language` (default: the active one), else the Bokmål text."""
    code = language or active_language()
    text: str = getattr(obj, f"{field}_{code}", "") or ""
    return text or getattr(obj, f"{field}_{FALLBACK_LANGUAGE}", "") or ""


class Translated:
    """Descriptor: `title = Translated()` reads `title_<active language>` with the
    Bokmål fallback. Read-only; write the explicit `_nb/_nn/_en` fields."""

    field: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.field = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Translated: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> str: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> str | Translated:
        if obj is None:
            return self
        return pick_text(obj, self.field)

    def __set__(self, obj: object, value: Any) -> None:
        raise AttributeError(
            f"{self.field} is read-only; set {', '.join(language_keys(self.field))} instead."
        )


class TranslatedMixin:
    """For models with `<field>_nb/_nn/_en`: `obj.translated("title", "en")`."""

    def translated(self, field: str, language: str | None = None) -> str:
        return pick_text(self, field, language)
