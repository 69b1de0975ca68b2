"""Sign-in with Feide (OpenID Connect), on the public site.

mozilla-django-oidc runs the authorization code flow: the start view sends the browser to
Feide with a random `state`, a `nonce` and a PKCE challenge (S256), all kept in the
session; the callback takes each `state` once, exchanges the code with the verifier and
our client secret, and asks Feide's userinfo. On top of the library:

* the ID token is checked here in full: its RS256 signature against the provider's keys
  (JWKS), its issuer, its audience (our client id), its expiry and issue time, and the
  nonce of this sign-in (the library would check neither audience nor issuer, and lets an
  expired token through as an error page of Django's);
* the person comes from the verified claims: Feide's user id and username
  (eduPersonPrincipalName) and e-mail (accounts.services.feide_sign_in: an account, or an
  invitation to claim; nobody else gets in);
* every refusal — a replayed or foreign state, a token for another service, an expired or
  tampered token, no invitation — is a page in the person's language, never a 500.

The callback is the one URL registered with Feide; a municipality's sign-in page sends the
person here with `next` set to the sign-in hand-off to that municipality
(accounts.views.sign_in_handoff), so one sign-in serves every municipality.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    get_next_url,
)

from .models import User
from .services import FeideIdentity, NoInvitation, SignInRefused, feide_sign_in

logger = logging.getLogger(__name__)

# What the refusal page says, by reason (accounts.services.SignInRefused).
REFUSALS = {
    "state": _(
        "This sign-in was already used, or it began in another browser or tab. Please start "
        "the sign-in again."
    ),
    "token": _(
        "The answer from Feide could not be verified: its signature or content is not "
        "valid. You are not signed in."
    ),
    "audience": _(
        "The answer from Feide was meant for another service. You are not signed in."
    ),
    "expired": _("The answer from Feide has expired. Please sign in again."),
    "nonce": _(
        "The answer from Feide does not belong to this sign-in. Please sign in again."
    ),
    "provider": _(
        "Feide could not be reached, or it refused the sign-in. Please try again in a while."
    ),
    "cancelled": _("The sign-in at Feide was cancelled or refused."),
    "no_email": _(
        "Feide did not tell us your e-mail address or Feide username, so we cannot find "
        "your account or invitation."
    ),
    "linked": _(
        "This e-mail address belongs to an account that signs in with another Feide user. "
        "Ask the platform administrator."
    ),
    "inactive": _("Your account is deactivated. Ask the platform administrator."),
}


def identity_from_claims(claims: dict[str, Any]) -> FeideIdentity:
    def text(name: str) -> str:
        value = claims.get(name)
        return value.strip() if isinstance(value, str) else ""

    return FeideIdentity(
        user_id=text(settings.OIDC_FEIDE_USER_ID_CLAIM),
        email=text("email").lower(),
        eppn=text(settings.OIDC_FEIDE_EPPN_CLAIM).lower(),
        name=text("name"),
    )


class FeideBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with the ID token checked in full and our accounts."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not settings.FEIDE_SIGN_IN_ENABLED or "nonce" not in kwargs:
            return None  # a password sign-in, or Feide is not configured
        return super().authenticate(request, **kwargs)  # type: ignore[no-any-return]

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().get_token(payload)  # type: ignore[no-any-return]
        except (requests.RequestException, ValueError) as error:
            logger.warning("Feide sign-in: the token request failed: %s", error)
            raise SignInRefused("provider") from error

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        """The provider's signing key for `token`, from its JWKS: the key the token's `kid`
        names, or, for a token without one, the provider's only signing key."""
        try:
            response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            logger.warning("Feide sign-in: the provider's keys could not be read: %s", error)
            raise SignInRefused("provider") from error
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            signing = [
                k
                for k in keys
                if isinstance(k, dict)
                and k.get("use", "sig") == "sig"
                and k.get("alg", self.OIDC_RP_SIGN_ALGO) == self.OIDC_RP_SIGN_ALGO
            ]
            matching = [k for k in signing if k.get("kid") == kid] if kid else signing
            if len(matching) != 1:
                raise SignInRefused("token")
            return jwt.PyJWK(matching[0], algorithm=self.OIDC_RP_SIGN_ALGO)
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
            raise SignInRefused("token") from error

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token's claims, if its signature is the provider's (JWKS), it names our
        issuer and our client id, has not expired, and carries this sign-in's nonce."""
        if not isinstance(token, str) or not token:
            raise SignInRefused("token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise SignInRefused("token") from error
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SignInRefused("token")  # never "none", never a secret-keyed HS256
        key = self.retrieve_matching_jwk(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=settings.OIDC_CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise SignInRefused("expired") from error
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as error:
            raise SignInRefused("audience") from error
        except jwt.PyJWTError as error:
            raise SignInRefused("token") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused("audience")
        if "nonce" in kwargs and (not kwargs["nonce"] or claims.get("nonce") != kwargs["nonce"]):
            raise SignInRefused("nonce")
        return claims

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Userinfo's claims under the ID token's (which are signed); both of one person."""
        try:
            info = super().get_userinfo(access_token, id_token, payload)
        except (requests.RequestException, ValueError) as error:
            logger.warning("Feide sign-in: the userinfo request failed: %s", error)
            raise SignInRefused("provider") from error
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise SignInRefused("token")
        return {**info, **payload}

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        return feide_sign_in(identity=identity_from_claims(claims))


class FeideSignInView(OIDCAuthenticationRequestView):
    """/accounts/feide/?next=<path>: off to Feide (404 while Feide is not configured)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.FEIDE_SIGN_IN_ENABLED:
            raise Http404
        if request.user.is_authenticated:
            # signed in here already (e.g. coming from a municipality's sign-in page)
            return redirect(get_next_url(request, "next") or "/")
        return super().get(request)  # type: ignore[no-any-return]


class FeideCallbackView(OIDCAuthenticationCallbackView):
    """/accounts/feide/callback/: Feide's answer; signed in, or a page that says why not."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.FEIDE_SIGN_IN_ENABLED:
            raise Http404
        try:
            return super().get(request)  # type: ignore[no-any-return]
        except NoInvitation as refusal:
            logger.info("Feide sign-in without an account or invitation")
            return render(
                request,
                "accounts/feide_no_invitation.html",
                {"identity": refusal.identity},
                status=403,
            )
        except SignInRefused as refusal:
            return self.refused(refusal.reason)
        except SuspiciousOperation:
            # mozilla-django-oidc: a state this browser's session does not hold (used
            # already, or begun in another browser)
            return self.refused("state")

    def login_failure(self) -> HttpResponse:
        if self.request.GET.get("error"):
            return self.refused("cancelled")
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            return self.refused("inactive")
        return self.refused("state")

    def refused(self, reason: str) -> HttpResponse:
        logger.warning("Feide sign-in refused: %s", reason)
        return render(
            self.request,
            "accounts/feide_refused.html",
            {
                "reason": reason,
                "message": REFUSALS.get(reason, REFUSALS["token"]),
                "retry_url": reverse("feide_sign_in"),
            },
            status=400,
        )
