"""dbt-duckdb plugin: registers ``acctwh_person_key(email VARCHAR) -> VARCHAR`` on every connection.

Enabled in ``dbt_project/profiles.yml`` (``plugins: [{module: connectors.warehouse.dbt_plugin}]``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin

from connectors.warehouse.person_key import person_key, secret_from_env

FUNCTION_NAME = "acctwh_person_key"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._secret = secret_from_env()  # fails fast, naming the variable, before any model runs

    def configure_connection(self, conn: Any) -> None:
        secret = self._secret

        def keys(emails: pa.Array) -> pa.Array:
            return pa.array([person_key(e, secret) for e in emails.to_pylist()], type=pa.string())

        conn.create_function(FUNCTION_NAME, keys, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
