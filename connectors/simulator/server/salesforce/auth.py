"""Salesforce logins (SOAP partner login, OAuth 2.0 token endpoint) and the session token registry.

simple-salesforce reads the SOAP response by exact tag name (crm_api_wire §A2.1): ``sessionId`` and
``serverUrl`` must be unprefixed under a default namespace, and failures must carry the literal
``sf:exceptionCode``/``sf:exceptionMessage`` elements. OAuth failures are JSON ``{error,
error_description}``; every 401 on the REST side is the JSON array Salesforce sends, because the
library's re-login logic indexes ``response.json()[0]['errorCode']``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import jwt

from ..http import HttpError, Request, Response
from ..settings import SalesforceSettings

INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."
SESSION_EXPIRED = "Session expired or invalid"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def session_expired() -> HttpError:
    return HttpError(401, "INVALID_SESSION_ID", SESSION_EXPIRED)


def bearer_token(request: Request) -> str | None:
    value = request.header("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


class TokenRegistry:
    """Issued session ids, their use counts and revocations.

    Issued tokens work until revoked. Unknown bearer tokens are accepted (and then tracked like
    issued ones) unless ``require_credentials`` is set, in which case only issued tokens or the
    configured ``session_id`` (if the settings carry one) work. ``ttl_seconds`` (tests set it on the
    instance) also expires a session that many wall-clock seconds after it was issued or first used.
    """

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self._uses: dict[str, int] = {}
        self._revoked: set[str] = set()
        self._born: dict[str, float] = {}
        self.ttl_seconds: float | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def issue(self) -> str:
        with self._lock:
            n = next(self._ids)
            token = f"{self.settings.organization_id}!AQ{n:04d}{secrets.token_urlsafe(24)}"
            self._uses[token] = 0
            self._born[token] = time.monotonic()
            return token

    def revoke(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._revoked.add(token)
                self._uses.pop(token, None)

    def check(self, token: str | None) -> None:
        """Count one authenticated request for ``token``; raise 401 INVALID_SESSION_ID if it is not valid."""
        if not token:
            raise session_expired()
        with self._lock:
            if token in self._revoked:
                raise session_expired()
            if token not in self._uses:
                configured = self.settings.session_id
                if self.settings.require_credentials and token != configured:
                    raise session_expired()
                self._uses[token] = 0
            born = self._born.setdefault(token, time.monotonic())
            if self.ttl_seconds is not None and time.monotonic() - born > self.ttl_seconds:
                self._revoked.add(token)
                del self._uses[token]
                raise session_expired()
            self._uses[token] += 1
            ttl = self.settings.session_ttl_requests
            if ttl is not None and self._uses[token] > ttl:
                self._revoked.add(token)
                del self._uses[token]
                raise session_expired()


class LoginService:
    """Answers the SOAP and OAuth login endpoints."""

    def __init__(self, settings: SalesforceSettings, tokens: TokenRegistry, user_id: str) -> None:
        self.settings = settings
        self.tokens = tokens
        self.user_id = user_id
        self.base_url = "http://127.0.0.1"

    @property
    def instance_url(self) -> str:
        """The instance as clients must see it: https, no trailing slash or path (§A2.2)."""
        return "https://" + self.base_url.split("://", 1)[-1].rstrip("/")

    # -- credential checks --
    def _password_ok(self, username: str | None, password: str | None, *, allow_token: bool = True) -> bool:
        s = self.settings
        if not s.require_credentials:
            return True
        if username != s.username or password is None or s.password is None:
            return False
        accepted = {s.password + (s.security_token or "")} if allow_token else {s.password}
        if allow_token and s.security_token is None:
            accepted.add(s.password)
        return password in accepted

    def _client_ok(self, key: str | None, secret: str | None, *, need_secret: bool = True) -> bool:
        s = self.settings
        if not s.require_credentials:
            return True
        if key != s.consumer_key:
            return False
        return not need_secret or secret == s.consumer_secret

    # -- SOAP --
    def soap_login(self, request: Request, version: str) -> Response:
        try:
            root = ET.fromstring(request.body)
        except ET.ParseError:
            return soap_fault("INVALID_LOGIN", "Unable to parse the login request", faultcode="soapenv:Client")
        values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        username, password = values.get("username"), values.get("password")
        if "login" not in values or username is None:
            return soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
        org_id = values.get("organizationId")
        if org_id is not None:  # LoginScopeHeader: the password without a token, scoped to one org
            ok = self._password_ok(username, password, allow_token=False) and (
                not self.settings.require_credentials or org_id == self.settings.organization_id)
        else:
            ok = self._password_ok(username, password)
        if not ok:
            return soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
        token = self.tokens.issue()
        org = self.settings.organization_id
        host = self.instance_url
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>{host}/services/Soap/m/{version}/{org}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{host}/services/Soap/u/{version}/{org}</serverUrl>"
            f"<sessionId>{escape(token)}</sessionId><userId>{self.user_id}</userId>"
            "<userInfo><currencySymbol>$</currencySymbol><organizationId>"
            f"{org}</organizationId><organizationMultiCurrency>false</organizationMultiCurrency>"
            f"<organizationName>Account Warehouse Simulator</organizationName><userEmail>{escape(username)}</userEmail>"
            f"<userFullName>Simulated User</userFullName><userId>{self.user_id}</userId>"
            f"<userName>{escape(username)}</userName><userTimeZone>UTC</userTimeZone></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response.text(body, content_type="text/xml; charset=utf-8")

    # -- OAuth --
    def oauth_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        if grant == "password":
            if not self._client_ok(form.get("client_id"), form.get("client_secret")):
                return oauth_error("invalid_client_id", "client identifier invalid")
            if not self._password_ok(form.get("username"), form.get("password")):
                return oauth_error("invalid_grant", "authentication failure")
        elif grant == JWT_GRANT:
            claims = _jwt_claims(form.get("assertion"))
            if claims is None:
                return oauth_error("invalid_grant", "invalid assertion")
            s = self.settings
            if not self._client_ok(claims.get("iss"), None, need_secret=False):
                return oauth_error("invalid_client_id", "client identifier invalid")
            if s.require_credentials and claims.get("sub") != s.username:
                return oauth_error("invalid_grant", "user hasn't approved this consumer")
        elif grant == "client_credentials":
            key, secret = _basic_auth(request) or (form.get("client_id"), form.get("client_secret"))
            if not self._client_ok(key, secret):
                return oauth_error("invalid_client", "invalid client credentials")
        else:
            return oauth_error("unsupported_grant_type", "grant type not supported")
        token = self.tokens.issue()
        issued_at = str(int(time.time() * 1000))
        signature = base64.b64encode(hashlib.sha256((token + issued_at).encode()).digest()).decode()
        return Response.json({
            "access_token": token,
            "instance_url": self.instance_url,
            "id": f"https://login.salesforce.com/id/{self.settings.organization_id}/{self.user_id}",
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
        })


def soap_fault(code: str, message: str, status: int = 500, faultcode: str | None = None) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{faultcode or 'sf:' + code}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring><detail>"
        '<sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response.text(body, status=status, content_type="text/xml; charset=utf-8")


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status=status)


def _jwt_claims(assertion: str | None) -> dict[str, Any] | None:
    """The JWT's claims, read without verifying the signature or ``exp`` (the simulator trusts any key)."""
    if not assertion:
        return None
    try:
        return jwt.decode(assertion, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None


def _basic_auth(request: Request) -> tuple[str, str] | None:
    value = request.header("authorization") or ""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return key, secret
