"""The token's text: made, hashed and read from the Authorization header."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sovei_"
SCHEMES = ("bearer", "token")  # Authorization: Bearer <key> (or DRF's "Token <key>")
SHOWN_PREFIX = 14  # "sovei_" and 8 characters: enough to tell a person's tokens apart


def key_new() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def key_hash(key: str) -> str:
    """SHA-256: the key is random and long, so a slow password hash would add nothing but
    a cost on every request."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_from_header(header: str) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` (or ``Token <key>``) header; "" for
    such a header without a usable key; None when the header is absent or another scheme."""
    scheme, _sep, rest = header.strip().partition(" ")
    if scheme.lower() not in SCHEMES:
        return None
    key = rest.strip()
    if not key or " " in key or len(key) > 200:
        return ""
    return key
