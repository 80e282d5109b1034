"""Connector tuning variables: parsing, defaults, errors naming the variable, and the CLI / Dagster paths using them."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import dagster as dg
import pytest

from connectors.hubspot import config as hs_config
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import ConfigError as HubSpotConfigError
from connectors.salesforce import sync as sf_sync
from connectors.salesforce.errors import CleanStop, SessionExpiredError
from connectors.salesforce.errors import ConfigError as SalesforceConfigError
from connectors.salesforce.sync import SyncOptions

SF_DAY_VARS = {"SALESFORCE_RECONCILE_EVERY_DAYS": "reconcile_every",
               "SALESFORCE_FORMULA_SNAPSHOT_EVERY_DAYS": "formula_every"}
SF_REFRESH = "SALESFORCE_SESSION_REFRESH_MINUTES"
SF_CONCURRENT = "SALESFORCE_MAX_CONCURRENT_REQUESTS"
HS_RECONCILE = "HUBSPOT_RECONCILE_EVERY_DAYS"
HS_ASSOC = "HUBSPOT_ASSOCIATION_SNAPSHOT_EVERY_DAYS"
HS_ENV = {"HUBSPOT_ACCESS_TOKEN": "pat-test"}
SF_LOGIN = {"SALESFORCE_USERNAME": "etl@example.com", "SALESFORCE_PASSWORD": "pw", "SALESFORCE_URL": "http://127.0.0.1:9"}
ALL_VARS = [*SF_DAY_VARS, SF_REFRESH, SF_CONCURRENT, HS_RECONCILE, HS_ASSOC]
BAD_DURATIONS = ["abc", "-1", "-0.5", "nan", "inf", "1e20", "7d", "1,5"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """os.environ without any tuning variable (the paths that read os.environ are tested with it)."""
    for var in ALL_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


# -- Salesforce SyncOptions.from_env -------------------------------------------------------------------------------

def test_salesforce_defaults_when_unset_or_blank() -> None:
    defaults = SyncOptions()
    assert SyncOptions.from_env({}) == defaults
    assert SyncOptions.from_env(dict.fromkeys([*SF_DAY_VARS, SF_REFRESH, SF_CONCURRENT], "  ")) == defaults
    assert defaults.reconcile_every == defaults.formula_every == timedelta(days=7)  # the documented defaults
    assert defaults.session_refresh_after == timedelta(minutes=90) and defaults.max_concurrent_requests == 2


@pytest.mark.parametrize("var", SF_DAY_VARS)
@pytest.mark.parametrize(("value", "expected"), [
    ("3", timedelta(days=3)), ("0.5", timedelta(hours=12)), (" 14 ", timedelta(days=14)), ("0", timedelta(0)),
    ("never", None), ("NEVER", None),
])
def test_salesforce_day_variables(var: str, value: str, expected: timedelta | None) -> None:
    options = SyncOptions.from_env({var: value})
    assert getattr(options, SF_DAY_VARS[var]) == expected
    other = next(f for v, f in SF_DAY_VARS.items() if v != var)
    assert getattr(options, other) == timedelta(days=7)  # each variable sets only its own option


@pytest.mark.parametrize(("value", "expected"), [
    ("45", timedelta(minutes=45)), ("0.5", timedelta(seconds=30)), ("never", None),
])
def test_salesforce_session_refresh_minutes(value: str, expected: timedelta | None) -> None:
    assert SyncOptions.from_env({SF_REFRESH: value}).session_refresh_after == expected


@pytest.mark.parametrize("value", ["4", " 1 ", "25"])
def test_salesforce_max_concurrent_requests(value: str) -> None:
    assert SyncOptions.from_env({SF_CONCURRENT: value}).max_concurrent_requests == int(value)


@pytest.mark.parametrize(("var", "value"), [
    *((v, bad) for v in SF_DAY_VARS for bad in BAD_DURATIONS),
    *((SF_REFRESH, bad) for bad in [*BAD_DURATIONS, "0", "0.0", "1e-12"]),  # 0 is ambiguous for a session age
    *((SF_CONCURRENT, bad) for bad in ["abc", "0", "-1", "2.5", "never"]),
])
def test_salesforce_bad_value_names_variable_and_value(var: str, value: str) -> None:
    with pytest.raises(SalesforceConfigError) as raised:
        SyncOptions.from_env({var: value})
    assert f"{var}={value!r}" in str(raised.value)


def test_salesforce_overrides_win_over_env_and_env_defaults_to_os_environ(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(SF_CONCURRENT, "5")
    clean_env.setenv("SALESFORCE_RECONCILE_EVERY_DAYS", "1")
    options = SyncOptions.from_env(reconcile_every=None, full_refresh=True)
    assert (options.max_concurrent_requests, options.reconcile_every, options.full_refresh) == (5, None, True)


def test_connect_kwargs_carry_refresh_and_concurrency() -> None:
    kwargs = SyncOptions.from_env({SF_REFRESH: "30", SF_CONCURRENT: "3"}).connect_kwargs()
    assert kwargs["session_refresh_after"] == 1800.0 and kwargs["max_concurrent"] == 3
    assert SyncOptions.from_env({SF_REFRESH: "never"}).connect_kwargs()["session_refresh_after"] is None


# -- HubSpot HubSpotConfig.from_env ---------------------------------------------------------------------------------

def test_hubspot_defaults_when_unset_or_blank() -> None:
    for env in (HS_ENV, {**HS_ENV, HS_RECONCILE: "", HS_ASSOC: " "}):
        config = HubSpotConfig.from_env(env)
        assert config.reconcile_every == config.association_snapshot_every == timedelta(days=7)


@pytest.mark.parametrize(("var", "field"), [(HS_RECONCILE, "reconcile_every"),
                                           (HS_ASSOC, "association_snapshot_every")])
@pytest.mark.parametrize(("value", "expected"), [
    ("2", timedelta(days=2)), ("0.25", timedelta(hours=6)), ("0", timedelta(0)),
])
def test_hubspot_day_variables(var: str, field: str, value: str, expected: timedelta) -> None:
    assert getattr(HubSpotConfig.from_env({**HS_ENV, var: value}), field) == expected


def test_hubspot_reconcile_never_is_none() -> None:
    assert HubSpotConfig.from_env({**HS_ENV, HS_RECONCILE: "never"}).reconcile_every is None


@pytest.mark.parametrize(("var", "value"), [
    *((v, bad) for v in (HS_RECONCILE, HS_ASSOC) for bad in BAD_DURATIONS),
    (HS_ASSOC, "never"),  # not Optional: the snapshot is how removed associations get flagged
])
def test_hubspot_bad_value_names_variable_and_value(var: str, value: str) -> None:
    with pytest.raises(HubSpotConfigError) as raised:
        HubSpotConfig.from_env({**HS_ENV, var: value})
    assert f"{var}={value!r}" in str(raised.value)


def test_hubspot_overrides_win_over_env() -> None:
    config = HubSpotConfig.from_env({**HS_ENV, HS_RECONCILE: "1"}, reconcile_every=timedelta(hours=3))
    assert config.reconcile_every == timedelta(hours=3)


# -- the run paths: Dagster assets and the CLI --------------------------------------------------------------------

class _Stop(Exception):
    pass


def test_dagster_salesforce_run_connects_with_env_options(clean_env: pytest.MonkeyPatch) -> None:
    from connectors.salesforce import client as sf_client
    from orchestration.defs.ingestion.salesforce import run_salesforce
    from orchestration.defs.resources import SalesforceResource

    seen: dict[str, Any] = {}

    def fake_connect(config: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise CleanStop("stop here")

    clean_env.setattr(sf_client, "connect", fake_connect)
    clean_env.setenv(SF_REFRESH, "20")
    clean_env.setenv(SF_CONCURRENT, "6")
    resource = SalesforceResource(username="etl@example.com", password="pw")
    with pytest.raises(dg.Failure, match="stop here"):
        next(run_salesforce(None, resource, None, ["Account"]))  # type: ignore[arg-type]
    assert seen["session_refresh_after"] == 1200.0 and seen["max_concurrent"] == 6


def test_dagster_salesforce_bad_value_fails_the_step_naming_it(clean_env: pytest.MonkeyPatch) -> None:
    from orchestration.defs.ingestion.salesforce import run_salesforce
    from orchestration.defs.resources import SalesforceResource

    clean_env.setenv("SALESFORCE_FORMULA_SNAPSHOT_EVERY_DAYS", "weekly")
    resource = SalesforceResource(username="etl@example.com", password="pw")
    with pytest.raises(dg.Failure) as raised:
        next(run_salesforce(None, resource, None, ["Account"]))  # type: ignore[arg-type]
    assert "SALESFORCE_FORMULA_SNAPSHOT_EVERY_DAYS='weekly'" in str(raised.value.description)


def test_dagster_hubspot_run_uses_env_cadences(clean_env: pytest.MonkeyPatch) -> None:
    from connectors.hubspot import client as hs_client
    from orchestration.defs.ingestion.hubspot import run_hubspot
    from orchestration.defs.resources import HubSpotResource

    seen: list[HubSpotConfig] = []

    def fake_connect(config: HubSpotConfig, **kwargs: Any) -> Any:
        seen.append(config)
        raise _Stop

    clean_env.setattr(hs_client, "connect", fake_connect)
    clean_env.setenv(HS_RECONCILE, "never")
    clean_env.setenv(HS_ASSOC, "1.5")
    with pytest.raises(_Stop):
        next(run_hubspot(None, HubSpotResource(access_token="pat-test"), None, ["companies"]))  # type: ignore[arg-type]
    assert seen[0].reconcile_every is None and seen[0].association_snapshot_every == timedelta(hours=36)


def test_dagster_hubspot_bad_value_fails_the_step_naming_it(clean_env: pytest.MonkeyPatch) -> None:
    from orchestration.defs.ingestion.hubspot import run_hubspot
    from orchestration.defs.resources import HubSpotResource

    clean_env.setenv(HS_ASSOC, "-1")
    with pytest.raises(dg.Failure) as raised:
        next(run_hubspot(None, HubSpotResource(access_token="pat-test"), None, ["companies"]))  # type: ignore[arg-type]
    assert f"{HS_ASSOC}='-1'" in str(raised.value.description)


def test_cli_ingest_bad_value_is_a_one_line_error(clean_env: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from orchestration.cli import CliError, _ingest

    for var, value in SF_LOGIN.items():
        clean_env.setenv(var, value)
    clean_env.setenv(SF_CONCURRENT, "zero")
    with pytest.raises(CliError, match=f"{SF_CONCURRENT}='zero'"):
        _ingest(argparse.Namespace(source="salesforce", home=tmp_path / "home", full_refresh=False))
    assert not (tmp_path / "home").exists()  # failed before anything ran

    clean_env.delenv(SF_CONCURRENT)
    clean_env.setenv(HS_RECONCILE, "abc")
    clean_env.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test")
    with pytest.raises(CliError, match=f"{HS_RECONCILE}='abc'"):
        _ingest(argparse.Namespace(source="hubspot", home=tmp_path / "home", full_refresh=False))


def test_cli_salesforce_connects_with_env_options(clean_env: pytest.MonkeyPatch) -> None:
    from connectors.salesforce import client as sf_client
    from connectors.salesforce.config import SalesforceConfig
    from orchestration.cli import CliError, _ingest_salesforce

    seen: dict[str, Any] = {}

    def fake_connect(config: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise SessionExpiredError("stop here")

    clean_env.setattr(sf_client, "connect", fake_connect)
    clean_env.setenv(SF_REFRESH, "never")
    clean_env.setenv(SF_CONCURRENT, "3")
    with pytest.raises(CliError, match="stop here"):
        _ingest_salesforce(SalesforceConfig.from_env(SF_LOGIN), None, False)
    assert seen["session_refresh_after"] is None and seen["max_concurrent"] == 3


def test_variable_tables_match_the_documented_names() -> None:
    from pathlib import Path

    assert {s.var for s in sf_sync.ENV_OPTIONS.values()} | {s.var for s in hs_config.ENV_OPTIONS.values()} == set(
        ALL_VARS)
    documented = Path(__file__).resolve().parents[2].joinpath(".env.example").read_text()
    assert all(f"\n{var}=" in documented for var in ALL_VARS)
