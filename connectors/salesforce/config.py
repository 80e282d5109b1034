"""Salesforce connection settings from environment variables, with secrets kept out of repr/str/logs.

Auth flow is chosen from which variables are set (first match wins):

1. ``SALESFORCE_SESSION_ID`` (+ ``SALESFORCE_URL``, the instance URL) -> direct session (no re-login possible)
2. ``SALESFORCE_PRIVATE_KEY_FILE`` or ``SALESFORCE_PRIVATE_KEY`` (+ ``SALESFORCE_USERNAME``,
   ``SALESFORCE_CONSUMER_KEY``) -> OAuth JWT bearer
3. ``SALESFORCE_USERNAME`` + ``SALESFORCE_PASSWORD`` + ``SALESFORCE_CONSUMER_KEY`` + ``SALESFORCE_CONSUMER_SECRET``
   -> OAuth username-password (the security token, if any, is appended to the password as Salesforce expects)
4. ``SALESFORCE_USERNAME`` + ``SALESFORCE_PASSWORD`` (+ optional ``SALESFORCE_SECURITY_TOKEN``) -> SOAP login
5. ``SALESFORCE_CONSUMER_KEY`` + ``SALESFORCE_CONSUMER_SECRET`` + ``SALESFORCE_DOMAIN`` (a My Domain, not
   ``login``/``test``) -> OAuth client credentials

``SALESFORCE_URL`` empty means the real login host for ``SALESFORCE_DOMAIN`` (default ``login``); a loopback
``http://`` URL points every call at the bundled simulator. ``SALESFORCE_API_VERSION`` defaults to 59.0.
``SALESFORCE_OBJECTS`` (comma-separated, optional) adds objects to the default set, custom ``__c`` included.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

DEFAULT_API_VERSION = "59.0"
SECRET_FIELDS = ("password", "security_token", "consumer_secret", "private_key", "session_id")


@dataclass(frozen=True)
class SalesforceConfig:
    flow: str  # direct | jwt | oauth_password | soap | client_credentials
    url: str | None = None
    domain: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    private_key_file: str | None = None
    private_key: str | None = field(default=None, repr=False)
    session_id: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    extra_objects: tuple[str, ...] = ()

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SalesforceConfig:
        """Read ``SALESFORCE_*`` variables; raise :class:`ConfigError` naming what is missing."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"SALESFORCE_{name}")
            return value.strip() if value and value.strip() else None

        url, domain = get("URL"), get("DOMAIN")
        username, password, token = get("USERNAME"), get("PASSWORD"), get("SECURITY_TOKEN")
        key, secret = get("CONSUMER_KEY"), get("CONSUMER_SECRET")
        key_file, key_text, session_id = get("PRIVATE_KEY_FILE"), get("PRIVATE_KEY"), get("SESSION_ID")
        version = (get("API_VERSION") or DEFAULT_API_VERSION).removeprefix("v")
        extra = tuple(o.strip() for o in (get("OBJECTS") or "").split(",") if o.strip())
        common: dict[str, Any] = {"url": url, "domain": domain, "api_version": version, "extra_objects": extra}

        if session_id:
            if not url:
                raise ConfigError("SALESFORCE_URL is not set: a direct session (SALESFORCE_SESSION_ID) needs the "
                                  "instance URL, e.g. https://acme.my.salesforce.com")
            return cls("direct", session_id=session_id, **common)
        if key_file or key_text:
            _require({"SALESFORCE_USERNAME": username, "SALESFORCE_CONSUMER_KEY": key}, "the JWT bearer flow")
            if key_file and not os.path.isfile(key_file):
                raise ConfigError("SALESFORCE_PRIVATE_KEY_FILE does not name a readable file")
            return cls("jwt", username=username, consumer_key=key, private_key_file=key_file,
                       private_key=None if key_file else key_text, **common)
        if username and (key or secret):
            _require({"SALESFORCE_PASSWORD": password, "SALESFORCE_CONSUMER_KEY": key,
                      "SALESFORCE_CONSUMER_SECRET": secret}, "the OAuth username-password flow")
            return cls("oauth_password", username=username, password=password, security_token=token,
                       consumer_key=key, consumer_secret=secret, **common)
        if username:
            _require({"SALESFORCE_PASSWORD": password}, "the SOAP login (SALESFORCE_USERNAME is set)")
            return cls("soap", username=username, password=password, security_token=token, **common)
        if key or secret:
            _require({"SALESFORCE_CONSUMER_KEY": key, "SALESFORCE_CONSUMER_SECRET": secret,
                      "SALESFORCE_DOMAIN": domain}, "the OAuth client-credentials flow")
            if domain in ("login", "test"):
                raise ConfigError("SALESFORCE_DOMAIN must be your My Domain (e.g. acme.my) for the client-credentials "
                                  "flow, not 'login' or 'test'")
            return cls("client_credentials", consumer_key=key, consumer_secret=secret, **common)
        raise ConfigError(
            "No Salesforce credentials: set SALESFORCE_SESSION_ID (+ SALESFORCE_URL), or SALESFORCE_USERNAME + "
            "SALESFORCE_PASSWORD (+ SALESFORCE_SECURITY_TOKEN, or + SALESFORCE_CONSUMER_KEY/SECRET), or "
            "SALESFORCE_USERNAME + SALESFORCE_CONSUMER_KEY + SALESFORCE_PRIVATE_KEY_FILE/SALESFORCE_PRIVATE_KEY, or "
            "SALESFORCE_CONSUMER_KEY + SALESFORCE_CONSUMER_SECRET + SALESFORCE_DOMAIN"
        )

    # -- use -------------------------------------------------------------------------------------
    def auth_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``simple_salesforce.Salesforce`` (via ``connectors.clients.salesforce_client``)."""
        out: dict[str, Any] = {"version": self.api_version}
        if self.domain and self.flow != "direct":
            out["domain"] = self.domain
        if self.flow == "direct":
            out["session_id"] = self.session_id
        elif self.flow == "jwt":
            out.update(username=self.username, consumer_key=self.consumer_key)
            if self.private_key_file:
                out["privatekey_file"] = self.private_key_file
            else:
                out["privatekey"] = self.private_key
        elif self.flow == "oauth_password":
            out.update(username=self.username, password=(self.password or "") + (self.security_token or ""),
                       consumer_key=self.consumer_key, consumer_secret=self.consumer_secret)
        elif self.flow == "soap":
            out.update(username=self.username, password=self.password, security_token=self.security_token or "")
        elif self.flow == "client_credentials":
            out.update(consumer_key=self.consumer_key, consumer_secret=self.consumer_secret)
        return out

    def secrets(self) -> list[str]:
        """Secret values, for scrubbing them out of any message (see :func:`errors.redact`)."""
        return [v for v in (getattr(self, f) for f in SECRET_FIELDS) if v]

    def __str__(self) -> str:
        return repr(self)


def _require(values: dict[str, str | None], purpose: str) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: needed for {purpose}")
