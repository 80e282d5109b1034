"""Run-failure alerts to Slack, Microsoft Teams or a generic webhook; logged only when none is configured.

Webhook URLs carry their own credentials, so they are read from the environment at send time and never logged,
stored in run metadata or echoed in errors (only the channel kind is named).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
import requests

from .settings import UI_URL_VAR, alert_targets

TIMEOUT_S = 10


def failure_text(job_name: str, run_id: str, message: str, ui_url: str | None) -> str:
    link = f"\n{ui_url.rstrip('/')}/runs/{run_id}" if ui_url else ""
    return f"Account Warehouse: run of {job_name} failed ({run_id[:8]}).\n{message}{link}"


def payload(kind: str, text: str, job_name: str, run_id: str) -> dict[str, Any]:
    if kind == "webhook":
        return {"event": "run_failure", "job": job_name, "run_id": run_id, "text": text}
    return {"text": text}  # Slack incoming webhooks and Teams workflow/connector webhooks both take "text"


def send_alerts(text: str, job_name: str, run_id: str, env: Mapping[str, str] | None = None,
                post: Any = requests.post) -> dict[str, str]:
    """POST the alert to every configured channel; returns channel kind -> 'sent' or a short error."""
    outcome = {}
    for kind, url in alert_targets(env).items():
        try:
            response = post(url, data=json.dumps(payload(kind, text, job_name, run_id)),
                            headers={"Content-Type": "application/json"}, timeout=TIMEOUT_S)
            outcome[kind] = "sent" if response.status_code < 300 else f"HTTP {response.status_code}"
        except requests.RequestException as exc:  # the URL is in the exception text: report the type only
            outcome[kind] = type(exc).__name__
    return outcome


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts Slack / Teams / a webhook (ACCTWH_ALERT_*_WEBHOOK_URL) when any run fails; logs otherwise.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    message = context.failure_event.message or "no message"
    text = failure_text(run.job_name, run.run_id, message, os.environ.get(UI_URL_VAR))
    outcome = send_alerts(text, run.job_name, run.run_id)
    if not outcome:
        context.log.warning(f"no alert channel configured; {text}")
    else:
        context.log.info(f"alert for run {run.run_id}: " + ", ".join(f"{k}: {v}" for k, v in outcome.items()))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[run_failure_alert_sensor])
