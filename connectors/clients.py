"""Client factories for the two official CRM libraries, pointed at real CRMs or the local simulator.

simple-salesforce builds every URL with a hard-coded ``https://`` (crm_api_wire.md §0), so when the
configured Salesforce URL is a loopback ``http://`` URL, the session gets a transport adapter that
rewrites each ``https://<any host>/path`` to ``http://127.0.0.1:<port>/path``. It is never mounted
for any other URL, so real orgs always speak TLS.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

LOOPBACK_HOSTS = {"localhost"}


class LoopbackRewriteAdapter(HTTPAdapter):
    """Sends every request to one plain-http loopback host:port, keeping path and query."""

    def __init__(self, hostport: str, **kwargs: Any) -> None:
        self.hostport = hostport
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", self.hostport, parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)


def is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def salesforce_session(url: str | None) -> requests.Session:
    """A requests session for simple-salesforce; rewrites https to ``url`` only for loopback http."""
    session = requests.Session()
    if url and is_loopback_http(url):
        parts = urlsplit(url)
        session.mount("https://", LoopbackRewriteAdapter(parts.netloc))
        session.trust_env = False  # proxies/CA bundles from the environment must not touch loopback
    return session


def salesforce_client(url: str, **auth: Any) -> Salesforce:
    """A simple-salesforce client for ``url`` with any auth flow the library supports.

    ``auth`` takes simple-salesforce's own keyword arguments (``session_id``, ``username``,
    ``password``, ``security_token``, ``consumer_key``, ``consumer_secret``, ``privatekey``,
    ``domain``, ``version``...). With ``session_id`` the client talks to ``url`` directly; login flows
    post to the login host, which the loopback adapter also redirects to the simulator.
    """
    session = salesforce_session(url)
    kwargs = dict(auth)
    if "session_id" in kwargs:
        parts = urlsplit(url)
        kwargs.setdefault("instance_url", f"https://{parts.netloc}")
    return Salesforce(session=session, **kwargs)


def hubspot_client(url: str | None, access_token: str, retry: Any = None) -> Any:
    """A hubspot-api-client ``HubSpot`` for ``url`` (None = api.hubapi.com)."""
    from hubspot import HubSpot

    kwargs: dict[str, Any] = {"access_token": access_token, "retry": retry}
    if url:
        kwargs["host"] = url.rstrip("/")
    return HubSpot(**kwargs)
