"""`acctwh bench`: one tiny run has every stage with positive timings and the machine; the exponent fit is right."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.fit import loglog_slope
from bench.report import README_END, README_START, render, update_readme
from bench.run import median_figures
from orchestration.cli import main as acctwh

STAGES = ("generate", "dataset_save", "ingest_full", "ingest_incremental", "dbt_full", "dbt_incremental", "checks",
          "publish", "nightly", "reference_jsonl", "reference_parquet")
MACHINE_KEYS = ("cores", "memory_gib", "cpu_model", "python", "duckdb")


def test_exponent_fit_on_synthetic_curves() -> None:
    xs = [1_000, 10_000, 100_000, 1_000_000]
    assert loglog_slope(xs, [3 * x for x in xs]) == pytest.approx(1.0)
    assert loglog_slope(xs, [x**2 for x in xs]) == pytest.approx(2.0)
    assert loglog_slope(xs, [5.0 * math.sqrt(x) for x in xs]) == pytest.approx(0.5)
    assert loglog_slope([10, 10], [1.0, 2.0]) is None  # one distinct size: no slope


def test_medians_and_peak_rss_maximum() -> None:
    reps = [{"dbt_full": {"seconds": s, "peak_rss_mib": m, "nodes": 3}} for s, m in ((3.0, 10), (1.0, 30), (2.0, 20))]
    figures = median_figures(reps)["dbt_full"]
    assert figures == {"seconds": 2.0, "peak_rss_mib": 30, "nodes": 3}


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    code = acctwh(["bench", "--scale", "tiny", "--reps", "1", "--no-progress", "--workdir", str(tmp),
                   "--results-dir", str(tmp / "results")])
    assert code == 0
    (path,) = (tmp / "results").glob("*-tiny.json")
    return json.loads(path.read_text()), path


@pytest.mark.slow  # three dbt builds and a Dagster nightly: 100-240 s; `make test-slow`
@pytest.mark.timeout(600)
def test_tiny_run_has_every_stage_and_the_machine(tiny_result: tuple[dict, Path]) -> None:
    result, path = tiny_result
    median = result["scales"]["tiny"]["median"]
    for stage in STAGES:
        assert median[stage]["seconds"] > 0, stage
    assert median["ingest_full"]["records_per_s"] > 0
    assert median["ingest_full"]["api_calls"] > 0
    assert 0 < median["ingest_full"]["peak_rss_mib"] < 4096
    assert median["ingest_incremental"]["records"] > 0
    assert 0 < median["ingest_incremental"]["changed_pct"] < 10
    assert median["nightly"]["success"] is True
    assert median["checks"]["failed"] == 0
    for key in MACHINE_KEYS:
        assert result["machine"][key], key
    assert len(result["load_average"]["start"]) == len(result["load_average"]["end"]) == 3
    assert {t["stage"] for t in result["scales"]["tiny"]["targets"]} == {"ingest_full", "nightly", "dbt_full"}
    assert path.name.endswith("-tiny.json")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_block_is_rewritten_between_the_markers(tiny_result: tuple[dict, Path], tmp_path: Path) -> None:
    result, path = tiny_result
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n## Benchmarks\n\n{README_START}\nold\n{README_END}\n\n## After\n")
    update_readme(readme, result, path)
    text = readme.read_text()
    assert "old" not in text and text.endswith("\n\n## After\n")
    assert render(result) in text and result["machine"]["cpu_model"] in text


def test_a_failed_stage_meets_no_target() -> None:
    from bench.targets import stage_verdicts

    (fast_but_failed,) = stage_verdicts({"nightly": {"seconds": 50.0, "success": False}})
    (fast_and_ok,) = stage_verdicts({"nightly": {"seconds": 50.0, "success": True}})
    (slow_and_ok,) = stage_verdicts({"nightly": {"seconds": 75.0, "success": True}})
    assert (fast_but_failed["met"], fast_and_ok["met"], slow_and_ok["met"]) == (False, True, False)
