"""The digital resource bank page, /ressursbank/, on the public site and municipality hosts."""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from accounts.models import User
from catalog.fileformat import SHIPPED_CATALOG
from catalog.models import Component, ModelVersion, VersionStatus
from catalog.services import catalog_import
from tenants.models import Municipality

from .conftest import client_for, host_of

URL = "/ressursbank/"


@pytest.fixture
def model(db: None) -> ModelVersion:
    return catalog_import(path=SHIPPED_CATALOG)


def page(response: HttpResponse) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def get(
    user: User,
    params: dict[str, str] | None = None,
    *,
    host: str = "localhost",
    language: str | None = None,
) -> str:
    client = client_for(user, host)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return page(client.get(URL, params or {}))


def results(text: str) -> str:
    """The page below the filter form (whose module menu names every module)."""
    return text[text.index('class="result-count"'):]


@pytest.mark.parametrize("host", ["localhost", "testserver", "trondheim.localhost"])
def test_it_sends_anonymous_users_to_the_login_page(trondheim: Municipality, host: str) -> None:
    response = Client(HTTP_HOST=host).get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/ressursbank/"


def test_it_shows_the_model_to_a_signed_in_user_on_the_public_site(
    outsider: User, model: ModelVersion
) -> None:
    text = get(outsider)

    assert "SoVei arbeidsmodell 1.0" in text
    for title in (
        "Organisatorisk utviklingsarbeid",
        "Veiledningsarbeid",
        "Elevrettet arbeid",
        "Skoleinternt samarbeid",
        "Skoleeksternt samarbeid",
        "Være tilgjengelig for «her og nå-samtaler»",
        "Kartlegge steder og tidspunkter der elever opplever utrygghet",  # an example task
        "Skolemiljø – Utdanningsdirektoratet",  # a resource
        'href="https://www.ntnu.no/rkbu/sovei"',  # linked to no component: shown on its own
    ):
        assert title in text
    assert text.index("Organisatorisk utviklingsarbeid") < text.index("Skoleeksternt samarbeid")


def test_it_shows_the_model_to_a_member_on_the_municipality_host(
    trondheim_leader: User, trondheim: Municipality, model: ModelVersion
) -> None:
    text = get(trondheim_leader, host=host_of(trondheim))

    assert "Veiledning av lærere" in text
    assert "Trondheim" in text  # inside the municipality's site


def test_it_is_closed_to_users_of_another_municipality(
    volda_leader: User, trondheim: Municipality, model: ModelVersion
) -> None:
    response = client_for(volda_leader, host_of(trondheim)).get(URL)

    assert response.status_code == 403


def test_it_filters_by_module(outsider: User, model: ModelVersion) -> None:
    text = get(outsider, {"module": "3"})

    assert "Være tilgjengelig for «her og nå-samtaler»" in text
    assert "Bistå i arbeid med bekymring knyttet til særskilte elever" in text
    assert "Veiledning av lærere" not in results(text)
    # General resources belong to no module.
    assert 'href="https://www.ntnu.no/rkbu/sovei"' not in results(text)
    assert '<option value="3" selected>' in text


def test_it_filters_by_kind_of_resource(outsider: User, model: ModelVersion) -> None:
    text = get(outsider, {"kind": "article"})

    assert "Trygge overganger" in text
    assert "Opprette et system for påkobling" in text  # the component it belongs to
    assert "Skolemiljø – Utdanningsdirektoratet" not in results(text)  # a guide
    assert "Veiledning av lærere" not in results(text)  # has no article
    assert "1 ressurs" in text  # nb is the default language


def test_it_searches_in_titles(outsider: User, model: ModelVersion) -> None:
    text = get(outsider, {"q": "BARNEVERN"})

    assert "Samarbeid mellom skole og barnevern i bekymringssituasjoner" in text
    assert "Veiledning av lærere" not in results(text)
    # Linked to a component that is shown for a matching task, but not itself a match:
    assert "Læringsmiljøsenteret" not in results(text)


def test_it_searches_in_every_language(outsider: User, model: ModelVersion) -> None:
    text = get(outsider, {"q": "guidance of teachers"})

    assert "Veiledning av lærere" in text
    assert "Elevrettet arbeid" not in results(text)


def test_it_combines_filters_and_says_when_nothing_matches(
    outsider: User, model: ModelVersion
) -> None:
    text = get(outsider, {"module": "1", "kind": "video"}, language="en")

    assert "Nothing matches these filters." in text
    assert "0 resources" in text
    assert "Organisatorisk utviklingsarbeid</h2>" not in results(text)


def test_it_ignores_filter_values_it_does_not_know(outsider: User, model: ModelVersion) -> None:
    text = get(outsider, {"module": "99", "kind": "podcast", "q": "veiledning"})

    assert "Veiledning av lærere" in text  # the search still applies
    assert "Elevrettet arbeid" not in results(text)


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        ("nb", "Være tilgjengelig og tett på – der elevene er", "Vere tilgjengeleg og tett på"),
        ("nn", "Vere tilgjengeleg og tett på – der elevane er", "Være tilgjengelig og tett på"),
        ("en", "Being available and close by – where the pupils are", "Være tilgjengelig og"),
    ],
)
def test_it_shows_the_texts_in_the_active_language(
    outsider: User, model: ModelVersion, language: str, expected: str, absent: str
) -> None:
    text = get(outsider, language=language)

    assert f'<html lang="{language}">' in text
    assert expected in text
    assert absent not in text


def test_it_falls_back_to_bokmal_where_a_translation_is_missing(
    outsider: User, model: ModelVersion
) -> None:
    Component.objects.filter(module__version=model, module__number=2, number=1).update(
        title_nn=""
    )

    text = get(outsider, language="nn")

    assert "Veiledning av lærere" in text  # no Nynorsk title: the Bokmål one
    assert "Rettleiingsarbeid" in text  # the module has its Nynorsk title


def test_it_says_when_no_version_is_published(outsider: User, model: ModelVersion) -> None:
    ModelVersion.objects.update(status=VersionStatus.DRAFT)

    text = get(outsider)

    assert "Ingen versjon av SoVei-modellen er publisert ennå." in text
    assert "Veiledningsarbeid" not in text


def test_it_shows_the_newest_published_version_unless_asked(
    outsider: User, model: ModelVersion
) -> None:
    newer = ModelVersion.objects.create(
        code="1.10", name_nb="Arbeidsmodell 1.10", status=VersionStatus.PUBLISHED
    )
    newer.modules.create(number=1, title_nb="Ledermodul")

    newest = get(outsider)
    older = get(outsider, {"version": "1.0"})

    assert "Ledermodul" in results(newest)
    assert "Veiledningsarbeid" not in results(newest)
    assert "Veiledningsarbeid" in results(older)
    assert "Ledermodul" not in results(older)
