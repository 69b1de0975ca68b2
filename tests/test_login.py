"""Login, logout and password reset on municipality hosts and the public site."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from tenants.models import Municipality

from .conftest import PASSWORD, World, host_of


def test_it_signs_a_leader_in_on_their_municipality(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    client = Client(HTTP_HOST=host_of(trondheim))

    response = client.post(
        "/accounts/login/?next=/",
        {"username": "trondheim_leader@example.no", "password": PASSWORD, "next": "/"},
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert "Ila skole" in response.text


def test_it_shows_the_login_page_in_norwegian_by_default(trondheim: Municipality) -> None:
    response = Client(HTTP_HOST=host_of(trondheim)).get("/accounts/login/")

    assert response.status_code == 200
    assert '<html lang="nb">' in response.text
    assert "Logg inn" in response.text


def test_it_shows_the_login_page_in_nynorsk_and_english(trondheim: Municipality) -> None:
    nn = Client(HTTP_HOST=host_of(trondheim), HTTP_ACCEPT_LANGUAGE="nn").get("/accounts/login/")
    en = Client(HTTP_HOST=host_of(trondheim), HTTP_ACCEPT_LANGUAGE="en").get("/accounts/login/")

    assert "Logg inn" in nn.text and "Gløymt passordet?" in nn.text
    assert "Sign in" in en.text and "Forgot your password?" in en.text


def test_it_explains_a_wrong_password_in_norwegian(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    response = Client(HTTP_HOST=host_of(trondheim)).post(
        "/accounts/login/", {"username": "trondheim_leader@example.no", "password": "wrong"}
    )

    assert response.status_code == 200
    assert "oppgi korrekt e-postadresse og passord" in response.text
    assert "_auth_user_id" not in response.wsgi_request.session


def test_it_signs_a_user_in_but_still_refuses_another_municipality(
    trondheim_leader: User, volda: Municipality
) -> None:
    client = Client(HTTP_HOST=host_of(volda))
    client.post(
        "/accounts/login/", {"username": "trondheim_leader@example.no", "password": PASSWORD}
    )

    assert client.get("/").status_code == 403


def test_it_signs_out_with_a_post(trondheim_leader: User, trondheim: Municipality) -> None:
    client = Client(HTTP_HOST=host_of(trondheim))
    client.force_login(trondheim_leader)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_it_mails_a_password_reset_link_that_works(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    client = Client(HTTP_HOST=host_of(trondheim))

    client.post("/accounts/password-reset/", {"email": "trondheim_leader@example.no"})

    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase-42", "new_password2": "a-new-long-passphrase-42"},
    )
    assert done.status_code == 302
    trondheim_leader.refresh_from_db()
    assert trondheim_leader.check_password("a-new-long-passphrase-42")


def test_it_sends_no_mail_for_an_unknown_address(trondheim: Municipality) -> None:
    response = Client(HTTP_HOST=host_of(trondheim)).post(
        "/accounts/password-reset/", {"email": "nobody@example.no"}
    )

    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.parametrize("persona", ["researcher", "platform_admin"])
def test_it_signs_platform_users_in_on_the_public_site(
    world: World, db: None, persona: str
) -> None:
    client = Client(HTTP_HOST="localhost")

    response = client.post(
        "/accounts/login/",
        {"username": f"{persona}@example.no", "password": PASSWORD},
        follow=True,
    )

    assert response.status_code == 200
    assert response.wsgi_request.user.email == f"{persona}@example.no"


def test_the_landing_page_links_a_member_to_their_municipality(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(trondheim_leader)

    response = client.get("/")

    # through the one-time hand-off that signs the user in there (test_sign_in_handoff.py)
    assert 'href="/accounts/kommune/trondheim/"' in response.text
    assert "volda" not in response.text
