"""Pseudonymous person keys: HMAC-SHA256 of a normalised email under a secret from the environment.

Marts identify people only by this key (APPI / GDPR: no emails or names leave the staging layer). The
secret never reaches SQL text, compiled dbt files or logs: dbt calls the ``acctwh_person_key`` function that
:mod:`connectors.warehouse.dbt_plugin` registers on each DuckDB connection.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

SECRET_VAR = "ACCTWH_PERSON_KEY_SECRET"


class PersonKeyError(RuntimeError):
    """The secret is missing or too short."""


def secret_from_env(env: Mapping[str, str] | None = None) -> bytes:
    value = (os.environ if env is None else env).get(SECRET_VAR, "")
    if len(value) < 16:
        raise PersonKeyError(
            f"{SECRET_VAR} is {'not set' if not value else 'shorter than 16 characters'}: set it to a long random "
            "string (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) and keep it stable, "
            "because person keys in the marts are derived from it"
        )
    return value.encode()


def normalise_email(email: str | None) -> str | None:
    if email is None:
        return None
    cleaned = email.strip().lower()
    return cleaned or None


def person_key(email: str | None, secret: bytes) -> str | None:
    """Hex HMAC-SHA256 of the normalised email, or None for a blank email."""
    cleaned = normalise_email(email)
    if cleaned is None:
        return None
    return hmac.new(secret, cleaned.encode(), hashlib.sha256).hexdigest()
