"""Every suite passes on the dbt-built `small` warehouse, also against a published copy of itself."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from expectations import MARTS
from expectations.runner import validate_all


def test_every_suite_passes_on_small(built_small, tmp_path: Path):
    published = tmp_path / "serving.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute(f"attach '{built_small.path}' as working (read_only)")
        for mart in MARTS:
            con.execute(f"create table main.{mart} as select * from working.marts.{mart}")
        con.execute("detach working")

    started = time.perf_counter()
    results = validate_all(built_small.path, published_path=published, reference_time=built_small.dataset.clock)
    elapsed = time.perf_counter() - started

    print(f"validate_all on small: {elapsed:.1f}s")
    assert set(results) == set(MARTS)
    problems = {m: [(o.id, o.unexpected_count, o.sample[:3], o.note) for o in r.failed] for m, r in results.items()}
    assert all(r.success for r in results.values()), problems
    volume = results["dim_accounts"].outcome("active_accounts_volume")
    assert not volume.skipped  # judged against the published copy
    assert not results["fct_opportunities"].outcome("sources_fresh").skipped
    assert elapsed < 60, f"validation took {elapsed:.1f}s"
