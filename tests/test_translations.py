"""Translations complete (issue 10, build item 5): every message of the code and templates
is translated, not fuzzy, in Bokmål and Nynorsk; models and their choices have translated
names (the admin, the audit trail and the forms show them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils.functional import Promise

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("nb", "nn")
OUR_APPS = ("accounts", "catalog", "implementation", "dashboards", "research", "tenants", "worker")
# What the copy for makemessages leaves out: not shipped to users.
NOT_SOURCE = (".venv", "var", "staticfiles", "tests", "docs", "benchmarks", "deploy", ".git",
              "node_modules", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache")


def _po(language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def _key(entry: polib.POEntry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_has_no_untranslated_or_fuzzy_messages(language: str) -> None:
    po = _po(language)

    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    plural_gaps = [e.msgid for e in po if e.msgid_plural and not all(e.msgstr_plural.values())]

    assert untranslated == []
    assert fuzzy == []
    assert plural_gaps == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_compiled_the_catalog_it_ships(language: str) -> None:
    """The .mo is the .po compiled: a message translated in the .po but not compiled would
    still show in English."""
    po = _po(language)
    mo = polib.mofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.mo"))
    compiled = {_key(e): e.msgstr or e.msgstr_plural.get(0, "") for e in mo}

    stale = [
        e.msgid for e in po.translated_entries()
        if compiled.get(_key(e)) != (e.msgstr or e.msgstr_plural.get(0, ""))
    ]

    assert stale == []


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, polib.POFile]:
    """makemessages run over a copy of the source tree: its catalogue merged with ours
    shows every msgid the code and templates use that our .po files lack."""
    copy = tmp_path_factory.mktemp("makemessages") / "src"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    script = (
        "import django, sys\n"
        "from pathlib import Path\n"
        "django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.management import call_command\n"
        "here = Path.cwd().resolve()\n"
        # never write into the real locale directory
        "assert all(Path(p).resolve().is_relative_to(here) for p in settings.LOCALE_PATHS)\n"
        "call_command('makemessages', locale=['nb', 'nn'], no_obsolete=True, verbosity=0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(copy), "DJANGO_SETTINGS_MODULE":
           "sovei_platform.settings.test"}
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], cwd=copy, env=env, check=True, timeout=300
    )
    return {
        language: polib.pofile(str(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
        for language in LANGUAGES
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_in_code_and_templates_is_in_the_catalog(
    language: str, extracted: dict[str, polib.POFile]
) -> None:
    po = extracted[language]

    missing = sorted(e.msgid for e in po.untranslated_entries())
    guessed = sorted(e.msgid for e in po.fuzzy_entries())

    assert missing == []
    assert guessed == []  # msgmerge matched a new message to a similar old one


def _models_users_see() -> list[type]:
    """Models whose names, fields and choices people read: the platform administration
    and the audit trail (which names every registered model and field)."""
    from auditlog.registry import auditlog
    from django.contrib import admin

    seen = {m for m in admin.site._registry if m._meta.app_label in OUR_APPS}
    seen |= set(auditlog.get_models())
    return sorted(seen, key=lambda m: m._meta.label)


def test_every_model_users_see_has_a_translatable_name() -> None:
    """Without one, the audit trail and the admin show Django's English default
    ("survey link")."""
    unnamed = [
        m._meta.label
        for m in _models_users_see()
        if not isinstance(m._meta.original_attrs.get("verbose_name"), Promise)
        or not isinstance(m._meta.original_attrs.get("verbose_name_plural"), Promise)
    ]

    assert unnamed == []


# Names that are the same in every language: Norway's counties are proper nouns.
PROPER_NOUN_CHOICES = frozenset({"tenants.Municipality.county"})


def _from_a_library(model: type, field: object) -> bool:
    """Fields django-tenants' mixins define (schema name, domain): not ours to label."""
    owner = getattr(field, "model", model)
    declared_here = any(
        f.name == field.name  # type: ignore[attr-defined]
        for f in owner._meta.local_fields  # type: ignore[attr-defined]
    )
    from django_tenants.models import DomainMixin, TenantMixin

    mixin_fields = {f.name for m in (TenantMixin, DomainMixin) for f in m._meta.local_fields}
    return declared_here and field.name in mixin_fields  # type: ignore[attr-defined]


def test_every_field_and_choice_users_see_has_a_translatable_label() -> None:
    """Fields shown in the admin or the audit trail, and every choice label."""
    bare = []
    for model in _models_users_see():
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False) or field.auto_created:
                continue
            if _from_a_library(model, field):
                continue
            if f"{model._meta.label}.{field.name}" in PROPER_NOUN_CHOICES:
                continue
            if not isinstance(field._verbose_name, Promise):  # type: ignore[union-attr]
                bare.append(f"{model._meta.label}.{field.name}")
            for value, label in getattr(field, "flatchoices", None) or []:
                if not isinstance(label, Promise) and str(label) != str(value):
                    bare.append(f"{model._meta.label}.{field.name}={value}")

    assert bare == []
