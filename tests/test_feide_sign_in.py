"""Sign-in with Feide (issue 12, items 1-2), against a real OpenID Connect provider that the
tests start on 127.0.0.1 (tests/feide_provider.py): the code flow with PKCE, state and
nonce on the public site, the ID token checked against the provider's keys, and the
sign-in carried to the municipality's host by the hand-off. What an attacker or a broken
provider sends — a token for another service, an expired or tampered token, a replayed
state — is refused with a page in the person's language, and nobody is signed in.

Personas: Ila's leader (an account made by the platform, now signing in with Feide), an
invited newcomer, and a stranger whom nobody invited."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import LazySettings
from django.test import Client
from django.utils import translation

from accounts.models import Membership, Role, User
from accounts.oidc import REFUSALS
from accounts.services import invitation_create
from tenants.models import Municipality

from .conftest import PASSWORD, World, client_for, host_of
from .feide_provider import Provider, running_provider

PUBLIC = "localhost"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def feide(provider: Provider, settings: LazySettings) -> Provider:
    """The platform configured for the provider, as production is for Feide."""
    provider.fault = ""
    settings.FEIDE_SIGN_IN_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_OP_ISSUER = provider.config["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = provider.config["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = provider.config["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = provider.config["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = provider.config["jwks_uri"]
    return provider


def feide_callback(feide: Provider, browser: Client, sub: str, start: str) -> str:
    """The browser follows `start` (the public site's Feide link) to Feide, where the person
    signs in as `sub`; returns the callback address Feide sends the browser back to."""
    to_feide = browser.get(start)
    assert to_feide.status_code == 302
    back = urlsplit(feide.authorize(to_feide["Location"], sub))
    assert (back.hostname, back.path) == (PUBLIC, "/accounts/feide/callback/")
    return f"{back.path}?{back.query}"


def test_it_signs_a_member_in_with_feide_and_carries_the_sign_in_to_the_municipality(
    feide: Provider, trondheim_leader: User, trondheim: Municipality
) -> None:
    feide.add_user("feide-ila-leader", email=trondheim_leader.email, name="Ila Leder")
    at_home = Client(HTTP_HOST=host_of(trondheim))
    sign_in_page = at_home.get("/accounts/login/?next=/skoler/").text
    button = sign_in_page.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    assert button.startswith(f"http://{PUBLIC}/accounts/feide/?next=")
    public = Client(HTTP_HOST=PUBLIC)

    signed_in = public.get(feide_callback(feide, public, "feide-ila-leader",
                                          button.removeprefix(f"http://{PUBLIC}")))
    handoff = public.get(signed_in["Location"])
    arrived = at_home.get(handoff["Location"].removeprefix(f"http://{host_of(trondheim)}"))

    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/accounts/kommune/trondheim/?next=%2Fskoler%2F"
    assert arrived.status_code == 302 and arrived["Location"] == "/skoler/"
    assert at_home.get("/").status_code == 200
    trondheim_leader.refresh_from_db()
    assert trondheim_leader.feide_user_id == "feide-ila-leader"  # linked by its e-mail


def test_it_uses_pkce_state_and_nonce_and_checks_the_token_against_the_providers_keys(
    feide: Provider, trondheim_staff: User
) -> None:
    feide.add_user("feide-ila-staff", email=trondheim_staff.email)
    public = Client(HTTP_HOST=PUBLIC)

    response = public.get(feide_callback(feide, public, "feide-ila-staff", "/accounts/feide/"))

    code = parse_qs(urlsplit(response.wsgi_request.get_full_path()).query)["code"][0]
    asked = feide.authorizations[code]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    assert asked["redirect_uri"] == "http://localhost/accounts/feide/callback/"
    assert feide.token_requests[-1]["code_verifier"]  # the provider checked it (else 400)
    assert response.status_code == 302
    assert public.session["_auth_user_id"] == str(trondheim_staff.pk)


def test_it_refuses_when_the_pkce_verifier_does_not_answer_the_challenge(
    feide: Provider, trondheim_staff: User
) -> None:
    feide.add_user("feide-ila-staff", email=trondheim_staff.email)
    public = Client(HTTP_HOST=PUBLIC)
    callback = feide_callback(feide, public, "feide-ila-staff", "/accounts/feide/")
    session = public.session
    for state in session["oidc_states"].values():
        state["code_verifier"] = "x" * 64  # not the one the challenge was made from
    session.save()

    response = public.get(callback)

    assert response.status_code == 400
    assert str(REFUSALS["provider"]) in response.text
    assert "_auth_user_id" not in public.session


@pytest.mark.parametrize(
    ("fault", "reason", "language"),
    [
        ("audience", "audience", "nn"),
        ("expired", "expired", "nb"),
        ("tampered", "token", "en"),
        ("foreign_key", "token", "nn"),
    ],
)
def test_it_refuses_a_bad_id_token_with_a_page_in_the_persons_language(
    feide: Provider, trondheim_staff: User, fault: str, reason: str, language: str
) -> None:
    feide.add_user("feide-ila-staff", email=trondheim_staff.email)
    public = Client(HTTP_HOST=PUBLIC)
    public.cookies["django_language"] = language
    callback = feide_callback(feide, public, "feide-ila-staff", "/accounts/feide/")
    feide.fault = fault

    response = public.get(callback)

    with translation.override(language):
        expected = str(REFUSALS[reason])
    assert response.status_code == 400
    assert expected in response.text
    assert f'lang="{language}"' in response.text
    if language != "en":
        with translation.override("en"):
            assert str(REFUSALS[reason]) not in response.text
    assert "_auth_user_id" not in public.session


def test_it_refuses_a_replayed_state(feide: Provider, trondheim_staff: User) -> None:
    feide.add_user("feide-ila-staff", email=trondheim_staff.email)
    public = Client(HTTP_HOST=PUBLIC)
    callback = feide_callback(feide, public, "feide-ila-staff", "/accounts/feide/")
    assert public.get(callback).status_code == 302  # signed in
    attacker = Client(HTTP_HOST=PUBLIC)

    again = public.get(callback)
    elsewhere = attacker.get(callback)

    for response in (again, elsewhere):
        assert response.status_code == 400
        assert str(REFUSALS["state"]) in response.text
    assert "_auth_user_id" not in attacker.session


def test_an_invited_newcomer_gets_an_account_and_the_role_at_the_first_sign_in(
    feide: Provider, world: World, trondheim_coordinator: User, db: None
) -> None:
    invitation_create(
        municipality=world.trondheim, email="kari.nordmann@trondheim.kommune.no",
        role=Role.STAFF, school_ids=[world.ila_id], actor=trondheim_coordinator,
    )
    feide.add_user("feide-kari", email="Kari.Nordmann@trondheim.kommune.no", name="Kari Nordmann")
    public = Client(HTTP_HOST=PUBLIC)

    response = public.get(feide_callback(feide, public, "feide-kari", "/accounts/feide/"))
    landing = public.get("/").text

    kari = User.objects.get(feide_user_id="feide-kari")
    assert response.status_code == 302
    assert (kari.email, kari.full_name, kari.has_usable_password()) == (
        "kari.nordmann@trondheim.kommune.no", "Kari Nordmann", False)
    assert Membership.objects.filter(user=kari, municipality=world.trondheim,
                                     role=Role.STAFF, school_ids=[world.ila_id]).exists()
    assert 'href="/accounts/kommune/trondheim/"' in landing


def test_a_stranger_without_invitation_is_told_whom_to_ask_and_gets_nothing(
    feide: Provider, world: World, db: None
) -> None:
    feide.add_user("feide-stranger", email="stranger@uninvited.no")
    public = Client(HTTP_HOST=PUBLIC)

    response = public.get(feide_callback(feide, public, "feide-stranger", "/accounts/feide/"))

    assert response.status_code == 403
    assert "stranger@uninvited.no" in response.text
    assert "kommunekoordinator" in response.text
    assert not User.objects.filter(email="stranger@uninvited.no").exists()
    assert "_auth_user_id" not in public.session


def test_passwords_can_be_turned_off(
    feide: Provider, settings: LazySettings, trondheim_leader: User, trondheim: Municipality,
    platform_admin: User,
) -> None:
    settings.PASSWORD_SIGN_IN_ENABLED = False
    browser = Client(HTTP_HOST=host_of(trondheim))

    page = browser.get("/accounts/login/")
    attempt = browser.post("/accounts/login/", {"username": trondheim_leader.email,
                                                 "password": PASSWORD})
    admin_browser = Client(HTTP_HOST=PUBLIC)
    admin = admin_browser.post("/admin/login/", {
        "username": platform_admin.email, "password": PASSWORD})

    assert 'name="password"' not in page.text
    assert "/accounts/feide/" in page.text
    assert browser.get("/accounts/password-reset/").status_code == 404
    assert attempt.status_code == 200 and "_auth_user_id" not in browser.session
    assert admin.status_code == 200  # the admin's sign-in form refuses it too
    assert "_auth_user_id" not in admin_browser.session


def test_a_person_signed_in_at_the_public_site_goes_straight_on(
    feide: Provider, trondheim_leader: User
) -> None:
    public = client_for(trondheim_leader, PUBLIC)

    response = public.get("/accounts/feide/?next=/accounts/kommune/trondheim/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/kommune/trondheim/"  # not to Feide


def test_an_inactive_account_is_refused(feide: Provider, trondheim_staff: User) -> None:
    User.objects.filter(pk=trondheim_staff.pk).update(is_active=False)
    feide.add_user("feide-ila-staff", email=trondheim_staff.email)
    public = Client(HTTP_HOST=PUBLIC)

    response = public.get(feide_callback(feide, public, "feide-ila-staff", "/accounts/feide/"))

    assert response.status_code == 400
    assert str(REFUSALS["inactive"]) in response.text
    assert "_auth_user_id" not in public.session


def test_feide_is_off_until_a_client_id_is_set(world: World, db: None) -> None:
    public = Client(HTTP_HOST=PUBLIC)

    assert "/accounts/feide/" not in public.get("/accounts/login/").text
    assert public.get("/accounts/feide/").status_code == 404
    assert public.get("/accounts/feide/callback/?code=x&state=y").status_code == 404
