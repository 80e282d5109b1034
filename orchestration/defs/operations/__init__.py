"""Nightly operations: the schedule, run-failure alerts and freshness policies."""
