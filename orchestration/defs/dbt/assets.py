"""``account_dbt_models``: one ``dbt build`` over every model, seed and data test of ``dbt_project/``.

The run writes the working DuckDB that ``WarehouseResource`` names (passed to dbt as ``ACCTWH_DUCKDB_PATH``,
absolute, since dbt runs from ``dbt_project/``), in the ``duckdb`` pool shared with the ingestion assets because
a DuckDB file has one writer. Row counts and column schemas are added after dbt exits (``metadata.py``).
``as_of_date`` pins the date metrics are computed at; unset, dbt uses today (UTC).
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from connectors.warehouse.person_key import PersonKeyError, secret_from_env
from connectors.warehouse.recovery import recover_working_file
from connectors.warehouse.versions import realign_parquet_link
from orchestration.defs.resources import WarehouseResource, working_file_locked

from .metadata import collect, enrich
from .project import account_dbt_project
from .translator import AccountDbtTranslator

DUCKDB_PATH_VAR = "ACCTWH_DUCKDB_PATH"


class DbtBuildConfig(dg.Config):
    as_of_date: str | None = Field(
        default=None, description="YYYY-MM-DD the metrics are computed at (dbt var as_of_date); unset = today (UTC)."
    )


def build_args(config: DbtBuildConfig) -> list[str]:
    """``dbt build`` arguments; ``--vars`` only when a date is pinned, so dbt_project.yml's default applies."""
    if config.as_of_date is None:
        return ["build"]
    try:
        pinned = date.fromisoformat(config.as_of_date)
    except ValueError:
        raise dg.Failure(
            description=f"as_of_date must be YYYY-MM-DD, got {config.as_of_date!r}", allow_retries=False
        ) from None
    return ["build", "--vars", json.dumps({"as_of_date": pinned.isoformat()})]


def require_person_key_secret() -> None:
    """Fail before dbt starts (the plugin would fail too, but deep inside a dbt traceback)."""
    try:
        secret_from_env()
    except PersonKeyError as exc:  # the message names the variable, never its value
        raise dg.Failure(description=str(exc), allow_retries=False) from None


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set variables for the dbt subprocess and dagster-dbt's in-process adapter, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def stop(invocation: Any, timeout: float = 30) -> None:
    """End a dbt process the event stream gave up on, so no orphan keeps writing (and locking) the file."""
    process = invocation.process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=timeout)


@dbt_assets(
    manifest=account_dbt_project.manifest_path,
    project=account_dbt_project,
    dagster_dbt_translator=AccountDbtTranslator(),
    name="account_dbt_models",
    pool="duckdb",
)
def account_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
) -> Iterator[Any]:
    require_person_key_secret()
    args = build_args(config)
    path = warehouse.working_path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # dbt cannot open a file whose WAL does not replay: quarantine it first (recovery.py)
        quarantined = recover_working_file(path)
    except Exception as exc:
        locked = working_file_locked(path, exc)
        if locked is None:
            raise
        raise locked from exc
    if quarantined is not None:
        context.log.warning(quarantined.message())
    realigned = realign_parquet_link(warehouse.home)  # a publish killed between its renames (versions.py)
    if realigned is not None:
        context.log.warning(realigned)
    context.log.info(f"dbt {' '.join(args)} on {path}")
    with environment(**{DUCKDB_PATH_VAR: str(path)}):
        invocation = dbt.cli(args, context=context)
        events, error = collect(invocation.stream())
        if error is not None:
            stop(invocation)
    # After dbt exits, so the read-only connection does not meet its write lock (see metadata.py).
    yield from enrich(events, invocation.manifest, path)
    if error is not None:
        raise error


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[account_dbt_models])
