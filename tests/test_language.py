"""The user's language (issue 10, item 9): a switch is remembered on the user and applied
at the next sign-in, on any host and in a fresh browser; English dates are not US dates."""

from __future__ import annotations

from datetime import date, datetime

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import formats, translation

from accounts.models import User
from tenants.models import Municipality

from .conftest import PASSWORD, client_for, host_of


def test_it_remembers_a_language_switch_on_the_user(
    volda_leader: User, volda: Municipality
) -> None:
    client = client_for(volda_leader, host_of(volda))

    response = client.post("/i18n/setlang/", {"language": "nn", "next": "/"})

    assert response.status_code == 302
    volda_leader.refresh_from_db()
    assert volda_leader.preferred_language == "nn"
    entry = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(volda_leader.pk)
    ).latest("timestamp")
    assert entry.changes_dict["preferred_language"][1] == "nn"


def test_it_speaks_the_remembered_language_after_signing_in_in_a_fresh_browser(
    volda_leader: User, volda: Municipality
) -> None:
    client_for(volda_leader, "localhost").post("/i18n/setlang/", {"language": "nn", "next": "/"})
    fresh = Client(HTTP_HOST=host_of(volda))  # no language cookie, another host

    response = fresh.post(
        "/accounts/login/", {"username": volda_leader.email, "password": PASSWORD}, follow=True
    )

    assert response.status_code == 200
    assert '<html lang="nn">' in response.text
    assert fresh.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nn"


def test_the_remembered_language_wins_over_the_browsers(
    volda_leader: User, volda: Municipality
) -> None:
    volda_leader.preferred_language = "nn"
    volda_leader.save(update_fields=["preferred_language"])
    client = client_for(volda_leader, host_of(volda))

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="nn">' in page.text


def test_a_user_who_never_chose_gets_the_browsers_language(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    page = client_for(trondheim_leader, host_of(trondheim)).get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert trondheim_leader.preferred_language == ""
    assert '<html lang="en">' in page.text


def test_it_refuses_a_language_it_does_not_speak(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    client = client_for(trondheim_leader, host_of(trondheim))

    client.post("/i18n/setlang/", {"language": "sv", "next": "/"})

    trondheim_leader.refresh_from_db()
    assert trondheim_leader.preferred_language == ""


def test_an_anonymous_switch_still_works_by_cookie(trondheim: Municipality) -> None:
    client = Client(HTTP_HOST=host_of(trondheim))

    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})

    assert "Sign in" in client.get("/accounts/login/").text


def test_english_dates_are_british_and_iso_not_us() -> None:
    with translation.override("en"):
        short = formats.date_format(date(2026, 3, 1), "SHORT_DATE_FORMAT")
        long = formats.date_format(date(2026, 3, 1), "DATE_FORMAT")
        stamp = formats.date_format(datetime(2026, 3, 1, 14, 5), "SHORT_DATETIME_FORMAT")

    assert short == "2026-03-01"
    assert long == "1 March 2026"
    assert stamp == "2026-03-01 14:05"


def test_norwegian_dates_stay_norwegian() -> None:
    with translation.override("nb"):
        assert formats.date_format(date(2026, 3, 1), "SHORT_DATE_FORMAT") == "01.03.2026"


def test_a_language_chosen_on_the_sign_in_page_is_remembered(
    volda_leader: User, volda: Municipality
) -> None:
    client = Client(HTTP_HOST=host_of(volda))
    client.post("/i18n/setlang/", {"language": "nn", "next": "/accounts/login/"})

    client.post("/accounts/login/", {"username": volda_leader.email, "password": PASSWORD})

    volda_leader.refresh_from_db()
    assert volda_leader.preferred_language == "nn"
