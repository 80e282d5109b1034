"""Freshness policies: raw tables and marts are expected to be refreshed by the nightly run.

A 26-hour fail window leaves the 02:00 run two hours of slack before the asset shows as stale (warn at 25 h).
Applied in ``orchestration/definitions.py`` to the raw, mart and serving assets (Dagster's FreshnessDaemon
evaluates them).
"""

from datetime import timedelta

import dagster as dg

NIGHTLY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))
FRESH_GROUPS = ("salesforce", "hubspot", "marts", "serving")


def with_nightly_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.group_name in FRESH_GROUPS and spec.freshness_policy is None:
        return spec.replace_attributes(freshness_policy=NIGHTLY)
    return spec
