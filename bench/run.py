"""``acctwh bench``: every stage of the pipeline on one preset (or a scaling curve over several), with targets.

    acctwh bench --scale large --reps 3          # `make bench`
    acctwh bench --scales tiny,small,demo,large  # scaling curve; --scaling is the same four; xlarge only by name
    acctwh bench --update-readme                 # run, then write the table into README.md's bench block
    acctwh bench --update-readme --results latest   # only rewrite the README from the newest results file

Per repetition, on one generated dataset and one fresh warehouse: generation (in the simulator's process), full
initial ingestion (child process: records/s, API calls, peak RSS), dbt build, GX checks, publish; then
advance(days=1) and the incremental ingestion and dbt build; then another day and ``nightly_refresh_job`` end to end
through Dagster. Also DuckDB loading the same records from local JSONL and Parquet files (the limit reference).
Medians over repetitions (peak RSS: the maximum); JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.proc import ROOT

RESULTS_DIR = ROOT / "bench" / "results"
README = ROOT / "README.md"
SCALING_SCALES = ("tiny", "small", "demo", "large")
SCALED_STAGES = ("generate", "ingest_full", "ingest_incremental", "dbt_full", "dbt_incremental", "checks", "publish",
                 "nightly", "reference_jsonl", "reference_parquet")
DEFAULT_AS_OF = date(2026, 6, 30)  # fixed, so runs on different days compare


class Ui:
    """Progress bars and stage lines on stderr (tqdm; off when not a terminal or with --no-progress)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bar(self, desc: str, unit: str, total: int | None = None) -> Any:
        from tqdm import tqdm

        return tqdm(desc=desc, unit=unit, total=total, file=sys.stderr, disable=not self.enabled, leave=False,
                    dynamic_ncols=True, unit_scale=unit == " rec")

    def say(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)


def _ingest_stage(urls: dict[str, str], working: Path, full: bool, ui: Ui, desc: str) -> dict[str, Any]:
    from bench.ingest import run_ingest

    with ui.bar(desc, " rec") as bar:
        def on_records(n: int, label: str) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update(n)

        out = run_ingest(urls, working, full, on_records)
    rows = out["rows"]
    records = sum(r["records"] for r in rows)
    return {"seconds": out["wall_s"], "records": records, "records_per_s": records / out["wall_s"],
            "api_calls": sum(r["calls"] for r in rows), "peak_rss_mib": out["peak_rss_mib"], "objects": rows,
            "not_success": [f"{r['source']} {r['object']}: {r['status']}" for r in rows if r["status"] != "success"]}


def _dbt_stage(working: Path, as_of: date, target: Path, ui: Ui, desc: str) -> dict[str, Any]:
    from bench.dbt import dbt_build

    with ui.bar(desc, " node") as bar:
        def on_node(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        out = dbt_build(working, as_of, target, on_node)
    return {"seconds": out["wall_s"], **{k: v for k, v in out.items() if k != "wall_s"}}


def _worker_stage(payload: dict[str, Any], ui: Ui | None = None, desc: str = "") -> dict[str, Any]:
    from bench.proc import run_child

    if ui is None:
        return run_child("bench.worker", payload)
    with ui.bar(desc, " step") as bar:
        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "step":
                bar.set_postfix_str(f"{event['step']} {event['status']}", refresh=False)
                bar.update(1 if event["status"] != "started" else 0)

        return run_child("bench.worker", payload, on_event)


def run_rep(scale: str, rep: int, opts: argparse.Namespace, workdir: Path, ui: Ui,
            save_dir: Path | None) -> dict[str, Any]:
    """One repetition of every stage on a fresh dataset and warehouse; returns figures per stage."""
    from bench.reference import reference_loads
    from bench.simulator import Simulator

    tag = f"[{scale} {rep + 1}/{opts.reps}]"
    home = workdir / f"{scale}-rep{rep}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    working = home / "working.duckdb"
    stages: dict[str, dict[str, Any]] = {}

    def done(stage: str, figures: dict[str, Any], extra: str = "") -> None:
        stages[stage] = figures
        ui.say(f"{tag} {stage}: {figures['seconds']:.2f} s{extra}")

    ui.say(f"{tag} generating the dataset (simulator process)")
    sim = Simulator(scale, seed=opts.seed, as_of=opts.as_of, progress=ui.enabled)
    try:
        dataset_records = sum(sim.ready["records"].values())
        done("generate", {"seconds": sim.ready["generate_s"], "records": dataset_records})
        if save_dir is not None and not save_dir.exists():
            done("dataset_save", {"seconds": sim.command(f"save {save_dir}")["seconds"]})
        clock = datetime.fromisoformat(sim.ready["clock"])
        full = _ingest_stage(sim.urls, working, True, ui, f"{tag} initial ingestion")
        done("ingest_full", full, f", {full['records']:,} records, {full['records_per_s']:,.0f} rec/s, "
             f"{full['peak_rss_mib']:,.0f} MiB")
        done("dbt_full", _dbt_stage(working, clock.date(), home / "target", ui, f"{tag} dbt build"))
        published = home / "serving" / "marts.duckdb"
        checks = _worker_stage({"kind": "checks", "db": str(working), "published": str(published),
                                "reference_time": clock.isoformat()})
        done("checks", {**checks, "failed": len(checks["failed"]), "failures": checks["failed"]},
             f", {checks['expectations']} expectations, {len(checks['failed'])} suites failed")
        done("publish", _worker_stage({"kind": "publish", "db": str(working), "home": str(home)}))

        day = sim.command("advance 1")
        changed_pct = 100 * day["changes"] / dataset_records if dataset_records else 0.0
        done("advance", {"seconds": day["seconds"], "changes": day["changes"], "changed_pct": changed_pct},
             f", {day['changes']:,} changes ({changed_pct:.2f}%)")
        inc = _ingest_stage(sim.urls, working, False, ui, f"{tag} incremental ingestion")
        done("ingest_incremental", {**inc, "changed_pct": changed_pct}, f", {inc['records']:,} records")
        as_of = datetime.fromisoformat(day["clock"]).date()
        done("dbt_incremental", _dbt_stage(working, as_of, home / "target", ui, f"{tag} dbt build (1 day)"))

        night = sim.command("advance 1")
        nightly = _worker_stage({"kind": "nightly", "home": str(home), "urls": sim.urls,
                                 "as_of": datetime.fromisoformat(night["clock"]).date().isoformat(),
                                 "reference_time": night["clock"]}, ui, f"{tag} nightly refresh")
        nightly["failed"] = not nightly["success"]
        nightly["api_calls_by_source"] = nightly.pop("api_calls")
        nightly["api_calls"] = sum(nightly["api_calls_by_source"].values())
        done("nightly", nightly, f" ({'succeeded' if nightly['success'] else 'FAILED'}; "
             f"loading the definitions {nightly['load_defs_s']:.1f} s more)")
    finally:
        simulator_rss = sim.close()
    stages["simulator"] = {"peak_rss_mib": simulator_rss}
    if save_dir is not None:
        ref = reference_loads(save_dir, workdir)
        for fmt in ("jsonl", "parquet"):
            done(f"reference_{fmt}", ref[fmt], f", {ref[fmt]['records_per_s']:,.0f} rec/s")
    if not opts.keep:
        shutil.rmtree(home, ignore_errors=True)
    return stages


def median_figures(reps: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per stage: medians of numeric figures across reps, peak RSS as the maximum, other values from rep 1."""
    out: dict[str, dict[str, Any]] = {}
    for stage in reps[0]:
        runs = [r[stage] for r in reps if stage in r]
        figures: dict[str, Any] = {}
        for key, first in runs[0].items():
            values = [run[key] for run in runs if key in run]
            if key in ("not_success", "failures"):  # problems of any rep
                figures[key] = sorted({item for value in values for item in value})
            elif isinstance(first, bool) or not isinstance(first, int | float):
                figures[key] = first if key != "failed" else any(values)
            elif key == "peak_rss_mib":
                figures[key] = max(values)
            else:
                figures[key] = statistics.median(values)
        if stage == "nightly":
            figures["success"] = all(run["success"] for run in runs)
        out[stage] = {k: v for k, v in figures.items() if k not in ("objects",)}
    return out


def run_scale(scale: str, opts: argparse.Namespace, workdir: Path, ui: Ui) -> dict[str, Any]:
    save_dir = workdir / f"dataset-{scale}"
    reps = [run_rep(scale, rep, opts, workdir, ui, save_dir) for rep in range(opts.reps)]
    median = median_figures(reps)
    walls = [r["ingest_full"]["seconds"] for r in reps]
    median_rep = reps[walls.index(sorted(walls)[len(walls) // 2])]
    result: dict[str, Any] = {"median": median, "reps": reps,
                              "objects_full": median_rep["ingest_full"]["objects"],
                              "objects_incremental": median_rep["ingest_incremental"]["objects"]}
    rate = median["ingest_full"]["records_per_s"]
    result["ingest_vs_limit"] = {fmt: rate / median[f"reference_{fmt}"]["records_per_s"]
                                 for fmt in ("jsonl", "parquet") if median[f"reference_{fmt}"]["records_per_s"]}
    from bench.targets import stage_verdicts

    result["targets"] = stage_verdicts(median)
    if not opts.keep:
        shutil.rmtree(save_dir, ignore_errors=True)
    return result


def scaling(scales: Sequence[str], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from bench.fit import loglog_slope
    from bench.targets import exponent_met

    records = [results[s]["median"]["ingest_full"]["records"] for s in scales]
    stages = {}
    for stage in SCALED_STAGES:
        seconds = [results[s]["median"].get(stage, {}).get("seconds") for s in scales]
        if None in seconds:
            continue
        exponent = loglog_slope(records, seconds)
        stages[stage] = {"seconds": seconds, "exponent": exponent, "met": exponent_met(exponent)}
    return {"scales": list(scales), "records": records, "stages": stages}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", default="large", help="preset to measure (default large)")
    parser.add_argument("--scales", help="comma-separated presets for a scaling curve, e.g. tiny,small,demo,large"
                        " (xlarge only when named)")
    parser.add_argument("--scaling", action="store_true", help=f"the scaling curve over {','.join(SCALING_SCALES)}")
    parser.add_argument("--reps", type=int, default=1, help="repetitions per preset; medians are reported")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="dataset as-of date")
    parser.add_argument("--workdir", type=Path, help="where datasets and warehouses go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses and dataset folders")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md's bench block")
    parser.add_argument("--results", help="with --update-readme: render this results file (or 'latest'), no run")


def selected_scales(opts: argparse.Namespace) -> list[str]:
    from connectors.simulator.dataset.presets import PRESETS

    if opts.scales:
        scales = [s.strip() for s in opts.scales.split(",") if s.strip()]
    elif opts.scaling:
        scales = list(SCALING_SCALES)
    else:
        scales = [opts.scale]
    unknown = [s for s in scales if s not in PRESETS]
    if unknown:
        raise ValueError(f"unknown scale(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    return scales


def run(opts: argparse.Namespace, argv: Sequence[str] | None = None,
        on_result: Callable[[dict[str, Any], Path], None] | None = None) -> int:
    """The command; returns 1 if a stage failed (a target missed is reported, not an error)."""
    import json

    from bench.machine import load_average, machine_info
    from bench.report import latest_json, render, update_readme, write_json

    if opts.update_readme and opts.results:
        source = latest_json(opts.results_dir) if opts.results == "latest" else Path(opts.results)
        update_readme(README, json.loads(source.read_text()), _relative(source))
        print(f"README.md benchmark block rewritten from {source}")
        return 0
    if opts.reps < 1:
        raise ValueError("--reps must be at least 1")
    scales = selected_scales(opts)
    ui = Ui(enabled=not opts.no_progress and sys.stderr.isatty())
    result: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "argv": list(argv if argv is not None else sys.argv[2:]), "reps": opts.reps,
                              "seed": opts.seed, "as_of": opts.as_of.isoformat(), "machine": machine_info(),
                              "load_average": {"start": load_average()}, "scales": {}}
    with _workdir(opts) as workdir:
        kept = workdir
        for scale in scales:
            result["scales"][scale] = run_scale(scale, opts, workdir, ui)
    result["load_average"]["end"] = load_average()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if len(scales) > 1:
        result["scaling"] = scaling(scales, result["scales"])
    path = write_json(result, opts.results_dir)
    print(render(result))
    print(f"\nresults: {path}")
    if opts.keep:
        print(f"kept: {kept}")
    if opts.update_readme:
        update_readme(README, result, _relative(path))
        print("README.md benchmark block updated")
    if on_result is not None:
        on_result(result, path)
    failed = [s for s, r in result["scales"].items()
              if r["median"]["nightly"]["failed"] or r["median"]["ingest_full"]["not_success"]]
    return 1 if failed else 0


@contextmanager
def _workdir(opts: argparse.Namespace) -> Iterator[Path]:
    """A temp folder, removed at the end unless --keep."""
    if opts.workdir:
        opts.workdir.mkdir(parents=True, exist_ok=True)
    if opts.keep:
        yield Path(tempfile.mkdtemp(prefix="acctwh-bench-", dir=opts.workdir))
        return
    with tempfile.TemporaryDirectory(prefix="acctwh-bench-", dir=opts.workdir) as tmp:
        yield Path(tmp)


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acctwh bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
