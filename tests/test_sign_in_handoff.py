"""Signing in once (issue 10, item 10): a member signed in at the public site opens their
municipality signed in, through a one-time hand-off link (browsers refuse a session cookie
for a bare "localhost" parent domain, so a shared cookie cannot do it in the demo). The
link works once, for a short while, only for the user's own municipalities, and only on
that municipality's host."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.test import Client
from django.utils import timezone

from accounts.models import Membership, SignInHandoff, User
from tenants.models import Municipality

from .conftest import World, client_for, host_of


def handoff_link(user: User, municipality: Municipality) -> str:
    """What the public site's link to the municipality hands the browser: the address on
    the municipality's host, with its one-time token."""
    public = client_for(user, "localhost")
    landing = public.get("/").text
    link = re.search(rf'href="(/accounts/kommune/{municipality.slug}/)"', landing)
    assert link is not None, "the landing page links the municipality through the hand-off"
    response = public.get(link.group(1))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.hostname == host_of(municipality)
    return f"{target.path}?{target.query}"


def test_a_member_signed_in_at_the_public_site_opens_their_municipality_signed_in(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    browser = Client(HTTP_HOST=host_of(trondheim))  # no session on this host yet

    arrived = browser.get(link)
    home = browser.get("/")

    assert arrived.status_code == 302 and arrived["Location"] == "/"
    assert home.status_code == 200
    assert "Ila skole" in home.text


def test_the_link_works_once(trondheim_leader: User, trondheim: Municipality) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    Client(HTTP_HOST=host_of(trondheim)).get(link)
    second = Client(HTTP_HOST=host_of(trondheim))

    response = second.get(link)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert second.get("/").status_code == 302  # not signed in


def test_an_expired_link_signs_no_one_in(trondheim_leader: User, trondheim: Municipality) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    SignInHandoff.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    browser = Client(HTTP_HOST=host_of(trondheim))

    browser.get(link)

    assert browser.get("/").status_code == 302


def test_a_link_opens_only_its_own_municipality(
    trondheim_leader: User, trondheim: Municipality, volda: Municipality
) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    browser = Client(HTTP_HOST=host_of(volda))

    response = browser.get(link)

    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in browser.session


def test_no_link_to_a_municipality_the_user_is_not_a_member_of(
    trondheim_leader: User, volda: Municipality, world: World
) -> None:
    response = client_for(trondheim_leader, "localhost").get("/accounts/kommune/volda/")

    assert response.status_code == 404
    assert not SignInHandoff.objects.exists()


def test_a_visitor_is_asked_to_sign_in_first(trondheim: Municipality) -> None:
    response = Client(HTTP_HOST="localhost").get("/accounts/kommune/trondheim/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_link_made_before_the_membership_ended_signs_no_one_in(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    Membership.objects.filter(user=trondheim_leader).delete()
    browser = Client(HTTP_HOST=host_of(trondheim))

    browser.get(link)

    assert "_auth_user_id" not in browser.session


def test_the_token_is_stored_hashed(trondheim_leader: User, trondheim: Municipality) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    token = link.split("token=")[1].split("&")[0]

    stored = SignInHandoff.objects.get()

    assert token not in stored.token_hash
    assert stored.user == trondheim_leader and stored.municipality == trondheim


def test_it_goes_on_only_to_a_path_of_the_municipality(
    trondheim_leader: User, trondheim: Municipality
) -> None:
    link = handoff_link(trondheim_leader, trondheim)
    browser = Client(HTTP_HOST=host_of(trondheim))

    response = browser.get(link.replace("next=%2F", "next=https%3A%2F%2Fevil.example%2F"))

    assert response["Location"] == "/"
