"""Fixtures shared across test packages: one dbt-built `small` warehouse per session (and per xdist worker)."""

pytest_plugins = ["tests.dbt.warehouse_fixtures"]
