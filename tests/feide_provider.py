"""A real OpenID Connect provider for the Feide sign-in tests: oidc-provider-mock (authlib's
server in Flask) served by werkzeug on 127.0.0.1 in a thread of the test process, with
what Feide does on top:

* our client is registered (dynamic client registration) with its one callback URL, and
  the token endpoint checks the client's secret;
* PKCE is enforced: the token endpoint refuses a code whose S256 challenge the request's
  `code_verifier` does not answer (the mock alone would not check it);
* a nonce is required in every authorization request.

`Provider.fault` makes the token endpoint misbehave the way an attacker or a broken
provider would: an ID token for another audience or already expired (each signed with
the provider's own key, so only the claim is wrong), one whose claims were changed after
signing, or one signed by a key that is not the provider's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from authlib.jose import JsonWebKey, jwt

CALLBACK = "http://localhost/accounts/feide/callback/"
EPPN_CLAIM = "https://n.feide.no/claims/eduPersonPrincipalName"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Provider:
    url: str
    client_id: str
    client_secret: str
    config: dict[str, Any]
    fault: str = ""  # "", "audience", "expired", "tampered", "foreign_key"
    # what the last authorization request asked for (its query), per issued code
    authorizations: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def add_user(self, sub: str, *, email: str, eppn: str = "", name: str = "") -> None:
        """A person at Feide: `sub` is the Feide user id."""
        claims: dict[str, object] = {"email": email, "name": name or email}
        if eppn:
            claims[EPPN_CLAIM] = eppn
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, location: str, sub: str) -> str:
        """The person at Feide signs in as `sub`; returns where Feide sends the browser."""
        assert location.startswith(self.config["authorization_endpoint"])
        answer = requests.post(location, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return str(answer.headers["Location"])


def _fault(provider: Provider, id_token: str) -> str:
    header, payload, signature = id_token.split(".")
    claims = json.loads(_b64url_decode(payload))
    key = flask.g.oidc_provider_mock_storage.jwk  # the provider's own signing key
    now = int(time.time())
    if provider.fault == "audience":
        claims["aud"] = ["another-service"]
    elif provider.fault == "expired":
        claims["iat"], claims["exp"] = now - 7200, now - 3600
    elif provider.fault == "tampered":
        claims["sub"] = "someone-else"
        tampered = _b64url(json.dumps(claims).encode())
        return f"{header}.{tampered}.{signature}"
    elif provider.fault == "foreign_key":
        key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    # the header the provider wrote (RS256; the provider's tokens name no key id)
    signed = jwt.encode(json.loads(_b64url_decode(header)), claims, key)
    return signed.decode() if isinstance(signed, bytes) else str(signed)


def _app(provider_ref: list[Provider]) -> flask.Flask:
    app = oidc_provider_mock.app(require_client_registration=True, require_nonce=True)

    @app.after_request
    def remember_authorization(response: flask.Response) -> flask.Response:
        if not provider_ref:
            return response
        if flask.request.path == "/oauth2/authorize" and response.status_code == 302:
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            if "code" in query:
                provider_ref[0].authorizations[query["code"][0]] = dict(flask.request.args)
        return response

    @app.before_request
    def enforce_pkce() -> tuple[flask.Response, int] | None:
        if flask.request.path != "/oauth2/token" or not provider_ref:
            return None
        form = dict(flask.request.form)
        provider_ref[0].token_requests.append(form)
        asked = provider_ref[0].authorizations.get(form.get("code", ""), {})
        verifier = form.get("code_verifier", "")
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        if asked.get("code_challenge_method") != "S256" or challenge != asked.get(
            "code_challenge"
        ):
            return flask.jsonify(error="invalid_grant", error_description="PKCE failed"), 400
        return None

    @app.after_request
    def misbehave(response: flask.Response) -> flask.Response:
        if not provider_ref:
            return response
        provider = provider_ref[0]
        if flask.request.path == "/oauth2/token" and response.status_code == 200 and provider.fault:
            body = response.get_json()
            body["id_token"] = _fault(provider, body["id_token"])
            response.set_data(json.dumps(body))
        return response

    return app


@contextmanager
def running_provider() -> Iterator[Provider]:
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # http on 127.0.0.1
    provider_ref: list[Provider] = []
    server = werkzeug.serving.make_server("127.0.0.1", 0, _app(provider_ref), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        config = requests.get(f"{url}/.well-known/openid-configuration", timeout=5).json()
        registered = requests.post(
            config["registration_endpoint"],
            json={"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_post"},
            timeout=5,
        )
        registered.raise_for_status()
        client = registered.json()
        provider_ref.append(
            Provider(url, client["client_id"], client["client_secret"], config)
        )
        yield provider_ref[0]
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
