"""``nightly_refresh_schedule``: the nightly refresh at 02:00 (ACCTWH_SCHEDULE_CRON) in ACCTWH_SCHEDULE_TIMEZONE.

Running by default, so a deployed code location refreshes the marts every night without a click in the UI.
"""

from __future__ import annotations

import dagster as dg

from .jobs import nightly_refresh_job
from .settings import schedule_settings

SETTINGS = schedule_settings()

nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=nightly_refresh_job,
    cron_schedule=SETTINGS.cron,
    execution_timezone=SETTINGS.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Ingest, build, check and publish the marts at '{SETTINGS.cron}' ({SETTINGS.timezone}).",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=[nightly_refresh_schedule])
