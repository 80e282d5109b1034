"""The Dagster code location: everything under ``orchestration/defs`` is loaded as one Definitions, with the
nightly freshness policy applied to the raw tables, the marts and the serving file."""

from pathlib import Path

import dagster as dg

from orchestration.defs.operations.freshness import with_nightly_freshness


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs")
    return loaded.permissive_map_resolved_asset_specs(func=with_nightly_freshness, selection=None)
