"""Resources shared by every asset: where the warehouse lives and how to reach the two CRMs.

Every value comes from the environment through ``dg.EnvVar`` (the UI shows the variable name, never its value).
Only variables that are set when the code location loads are wired; a missing credential therefore surfaces
when an asset runs, as a failure naming the variable (the connectors' ``ConfigError``). The simulator is chosen
only by configuration: a loopback ``http://`` ``SALESFORCE_URL`` / ``HUBSPOT_URL``; there is no fallback to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from connectors.hubspot.config import HubSpotConfig
from connectors.salesforce.config import SalesforceConfig

DEFAULT_HOME = "warehouse"
WORKING_DB = "working.duckdb"
# Every job that writes the working file carries this tag; dagster.yaml's run queue admits one such run at a time,
# so a manual run started during the scheduled one waits in the queue instead of interleaving with it step by step
# (the "duckdb" pool alone serializes steps, not runs: another run's dbt could slip between our checks and publish).
WRITER_TAG = {"acctwh/working_file": "writer"}

# SalesforceResource field -> environment variable (connectors/salesforce/config.py documents the flows).
SALESFORCE_VARS: dict[str, str] = {
    "url": "SALESFORCE_URL",
    "domain": "SALESFORCE_DOMAIN",
    "username": "SALESFORCE_USERNAME",
    "password": "SALESFORCE_PASSWORD",
    "security_token": "SALESFORCE_SECURITY_TOKEN",
    "consumer_key": "SALESFORCE_CONSUMER_KEY",
    "consumer_secret": "SALESFORCE_CONSUMER_SECRET",
    "private_key_file": "SALESFORCE_PRIVATE_KEY_FILE",
    "private_key": "SALESFORCE_PRIVATE_KEY",
    "session_id": "SALESFORCE_SESSION_ID",
    "api_version": "SALESFORCE_API_VERSION",
    "objects": "SALESFORCE_OBJECTS",
}
HUBSPOT_VARS: dict[str, str] = {"access_token": "HUBSPOT_ACCESS_TOKEN", "url": "HUBSPOT_URL"}


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse folder (``ACCTWH_HOME``, default ``./warehouse``); working DuckDB at ``<home>/working.duckdb``."""

    home: str = DEFAULT_HOME

    @property
    def working_path(self) -> Path:
        return Path(self.home) / WORKING_DB

    def open(self, *, read_only: bool = False) -> Any:
        """A :class:`connectors.warehouse.raw.RawWarehouse` on the working file (close it, or use ``with``)."""
        from connectors.warehouse.raw import RawWarehouse

        if not read_only:
            self.working_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return RawWarehouse(self.working_path, read_only=read_only)
        except Exception as exc:
            locked = working_file_locked(self.working_path, exc)
            if locked is None:
                raise
            raise locked from exc


def working_file_locked(path: Path, exc: BaseException) -> dg.Failure | None:
    """A clear, non-retried failure when another process (a SQL GUI, another run) holds the working file's lock.

    Retrying cannot help while that program keeps the file open, so the run fails now, naming the file.
    """
    text = str(exc)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    return dg.Failure(
        description=f"the working warehouse {path.resolve()} is locked by another process; close the program "
        f"holding it (DuckDB: {text.strip().splitlines()[0]}) and rerun",
        allow_retries=False,
    )


class SalesforceResource(dg.ConfigurableResource):
    """Salesforce connection settings; ``config()`` builds a :class:`SalesforceConfig` (secrets stay out of repr)."""

    url: str | None = None
    domain: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    private_key_file: str | None = None
    private_key: str | None = None
    session_id: str | None = None
    api_version: str | None = None
    objects: str | None = None  # SALESFORCE_OBJECTS: extra objects for the CLI (assets are declared statically)

    def config(self) -> SalesforceConfig:
        """Raises ``connectors.salesforce.errors.ConfigError`` naming the missing variable(s)."""
        env = {var: getattr(self, name) for name, var in SALESFORCE_VARS.items() if getattr(self, name)}
        return SalesforceConfig.from_env(env)


class HubSpotResource(dg.ConfigurableResource):
    """HubSpot private-app token and host; pacing knobs default to HubSpot's published limits."""

    access_token: str | None = None
    url: str | None = None
    general_per_10s: int = 100
    search_per_second: int = 4

    def config(self) -> HubSpotConfig:
        """Raises ``connectors.hubspot.errors.ConfigError`` naming ``HUBSPOT_ACCESS_TOKEN`` when it is missing."""
        env = {var: getattr(self, name) for name, var in HUBSPOT_VARS.items() if getattr(self, name)}
        return HubSpotConfig.from_env(env, general_per_10s=self.general_per_10s,
                                      search_per_second=self.search_per_second)


def _env_fields(mapping: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, Any]:
    """``dg.EnvVar`` for each variable that is set (unset ones stay None so the connector names them)."""
    return {name: dg.EnvVar(var) for name, var in mapping.items() if environ.get(var)}


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, dg.ConfigurableResource]:
    environ = os.environ if environ is None else environ
    home: Any = dg.EnvVar("ACCTWH_HOME") if environ.get("ACCTWH_HOME") else DEFAULT_HOME
    return {
        "warehouse": WarehouseResource(home=home),
        "salesforce": SalesforceResource(**_env_fields(SALESFORCE_VARS, environ)),
        "hubspot": HubSpotResource(**_env_fields(HUBSPOT_VARS, environ)),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
