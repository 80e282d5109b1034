"""Operations settings read from the environment when the code location loads (names in .env.example)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIMEZONE_VAR = "ACCTWH_SCHEDULE_TIMEZONE"
CRON_VAR = "ACCTWH_SCHEDULE_CRON"
DEFAULT_CRON = "0 2 * * *"  # 02:00 every day in the configured timezone
ALERT_VARS = {
    "slack": "ACCTWH_ALERT_SLACK_WEBHOOK_URL",
    "teams": "ACCTWH_ALERT_TEAMS_WEBHOOK_URL",
    "webhook": "ACCTWH_ALERT_WEBHOOK_URL",
}
UI_URL_VAR = "ACCTWH_DAGSTER_URL"  # e.g. http://127.0.0.1:3000, for links in alerts


class OperationsConfigError(ValueError):
    """A setting is invalid; the message names the variable."""


@dataclass(frozen=True)
class ScheduleSettings:
    cron: str
    timezone: str


def schedule_settings(env: Mapping[str, str] | None = None) -> ScheduleSettings:
    env = os.environ if env is None else env
    timezone = (env.get(TIMEZONE_VAR) or "UTC").strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise OperationsConfigError(
            f"{TIMEZONE_VAR}={timezone!r} is not an IANA timezone (e.g. UTC, Asia/Tokyo, Europe/Berlin)"
        ) from None
    cron = (env.get(CRON_VAR) or DEFAULT_CRON).strip()
    if len(cron.split()) != 5:
        raise OperationsConfigError(f"{CRON_VAR}={cron!r} is not a five-field cron expression")
    return ScheduleSettings(cron=cron, timezone=timezone)


def alert_targets(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Configured alert channels -> webhook URL (secrets: never log or return them in metadata)."""
    env = os.environ if env is None else env
    return {kind: env[var].strip() for kind, var in ALERT_VARS.items() if (env.get(var) or "").strip()}
