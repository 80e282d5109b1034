"""The nightly schedule, the run-failure alerts and the operations settings."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import requests

from orchestration.defs.operations.alerts import failure_text, send_alerts
from orchestration.defs.operations.settings import OperationsConfigError, alert_targets, schedule_settings


def next_tick(cron: str, timezone: str, after: datetime) -> datetime:
    """The tick Dagster's scheduler daemon would place next (its own cron iterator; there is no public one)."""
    from dagster._utils.schedules import cron_string_iterator

    return next(cron_string_iterator(after.timestamp(), cron, timezone))


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_next_tick_is_0200_in_the_configured_timezone(timezone: str):
    settings = schedule_settings({"ACCTWH_SCHEDULE_TIMEZONE": timezone})
    assert settings.timezone == timezone
    from orchestration.defs.operations.schedules import nightly_refresh_schedule

    assert nightly_refresh_schedule.cron_schedule == settings.cron
    now = datetime(2026, 11, 23, 15, 30, tzinfo=ZoneInfo(timezone))
    tick = next_tick(settings.cron, settings.timezone, now)
    local = tick.astimezone(ZoneInfo(timezone))
    assert (local.hour, local.minute) == (2, 0)
    assert local.date().isoformat() == "2026-11-24"


def test_schedule_loads_through_the_workspace_definitions():
    from orchestration.definitions import defs

    loaded = defs()
    schedule = loaded.resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "nightly_refresh_job"
    sensor = loaded.resolve_sensor_def("run_failure_alert_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_bad_timezone_is_named():
    with pytest.raises(OperationsConfigError, match="ACCTWH_SCHEDULE_TIMEZONE='Mars/Olympus'"):
        schedule_settings({"ACCTWH_SCHEDULE_TIMEZONE": "Mars/Olympus"})


class FakeResponse:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def test_alerts_go_to_each_configured_channel_and_hide_urls():
    env = {"ACCTWH_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.example/T000/secret-path",
           "ACCTWH_ALERT_WEBHOOK_URL": "https://alerts.example/hook?token=s3cr3t"}
    sent = []

    def post(url, data, headers, timeout):
        sent.append((url, json.loads(data)))
        if "alerts.example" in url:
            raise requests.ConnectionError(f"cannot reach {url}")
        return FakeResponse(200)

    text = failure_text("nightly_refresh_job", "abcdef1234567890", "check fct_account_arr_monthly failed", None)
    outcome = send_alerts(text, "nightly_refresh_job", "abcdef1234567890", env=env, post=post)
    assert outcome == {"slack": "sent", "webhook": "ConnectionError"}
    assert [u for u, _ in sent] == [env["ACCTWH_ALERT_SLACK_WEBHOOK_URL"], env["ACCTWH_ALERT_WEBHOOK_URL"]]
    assert sent[0][1] == {"text": text}
    assert sent[1][1]["event"] == "run_failure" and sent[1][1]["run_id"] == "abcdef1234567890"
    assert "s3cr3t" not in json.dumps(outcome) and "secret-path" not in json.dumps(outcome)


def test_no_channel_means_no_post():
    assert alert_targets({}) == {}
    assert send_alerts("x", "job", "run", env={}, post=lambda *a, **k: pytest.fail("posted")) == {}


def test_raw_marts_and_serving_assets_have_the_nightly_freshness_policy():
    from orchestration.definitions import defs
    from orchestration.defs.operations.freshness import NIGHTLY

    specs = {spec.key: spec for spec in defs().resolve_all_asset_specs()}
    for key in (dg.AssetKey(["salesforce", "opportunity"]), dg.AssetKey(["hubspot", "deals"]),
                dg.AssetKey(["marts", "fct_account_arr_monthly"]), dg.AssetKey("published_marts")):
        assert specs[key].freshness_policy == NIGHTLY, key
    assert specs[dg.AssetKey(["staging", "stg_salesforce__accounts"])].freshness_policy is None


def test_nightly_job_runs_the_gate_before_publishing():
    from orchestration.definitions import defs

    job = defs().resolve_job_def("nightly_refresh_job")
    check_keys = job.asset_layer.asset_graph.asset_check_keys
    gx = {k for k in check_keys if k.name == "gx_suite"}
    assert {k.asset_key.path[-1] for k in gx} >= {"fct_account_arr_monthly", "dim_accounts", "mart_account_360"}
    assert dg.AssetKey("published_marts") in job.asset_layer.selected_asset_keys
