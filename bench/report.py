"""The benchmark's output: Markdown tables (aligned, so they read in a terminal too), the JSON file, the README
block between ``<!-- bench:start -->`` and ``<!-- bench:end -->``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.machine import describe
from bench.targets import MAX_EXPONENT, TARGETS, exponent_met, verdict_text

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
STAGE_LABELS = {
    "generate": "dataset generation",
    "ingest_full": "initial ingestion (SF + HubSpot)",
    "ingest_incremental": "incremental ingestion (1 day)",
    "dbt_full": "dbt build, full",
    "dbt_incremental": "dbt build, after the 1-day ingest",
    "checks": "GX checks",
    "publish": "publish",
    "nightly": "nightly refresh end to end",
    "reference_jsonl": "limit: DuckDB loads the JSONL",
    "reference_parquet": "limit: DuckDB loads the Parquet",
}


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> list[str]:
    cells = [[str(c) for c in header], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(row, widths, strict=True))) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in numeric else ("-" * (w + 2))
                          for i, w in enumerate(widths)) + "|"
    return [line(cells[0]), rule, *(line(r) for r in cells[1:])]


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "" if value is None else format(value, fmt)


def _targets_for(stage: str, figures: dict[str, Any]) -> tuple[str, str]:
    labels, verdicts = [], []
    for t in TARGETS:
        if t.stage == stage:
            labels.append(t.label)
            verdicts.append(verdict_text(t.met(figures.get(t.metric))))
    return ", ".join(labels), ", ".join(verdicts)


def stage_table(scale_result: dict[str, Any]) -> list[str]:
    median = scale_result["median"]
    rows = []
    for stage, label in STAGE_LABELS.items():
        figures = median.get(stage)
        if figures is None:
            continue
        if stage == "ingest_incremental" and "changed_pct" in figures:
            label += f", {figures['changed_pct']:.1f}% changed"
        if stage == "nightly" and figures.get("failed"):
            label += " (FAILED)"
        if stage == "checks" and figures.get("failed"):
            label += f" ({figures['failed']} suites failed)"
        target, verdict = _targets_for(stage, figures)
        rows.append((label, _num(figures.get("seconds"), ",.2f"), _num(figures.get("records")),
                     _num(figures.get("records_per_s")), _num(figures.get("api_calls")),
                     _num(figures.get("peak_rss_mib")), target, verdict))
    header = ("stage", "median s", "records", "records/s", "API calls", "peak RSS MiB", "target", "result")
    lines = table(header, rows, {1, 2, 3, 4, 5})
    notes = []
    fraction = scale_result.get("ingest_vs_limit")
    if fraction:
        notes.append(f"Initial ingestion runs at {fraction['jsonl']:.1%} of DuckDB's local JSONL load rate and "
                     f"{fraction['parquet']:.1%} of its Parquet rate on this machine.")
    nightly = median.get("nightly", {})
    hubspot_calls = (nightly.get("api_calls_by_source") or {}).get("hubspot")
    if hubspot_calls:  # the simulator does not rate-limit; a real portal does
        notes.append(f"The nightly refresh made {hubspot_calls:,.0f} HubSpot calls: at HubSpot's published 100 "
                     f"requests per 10 s a real portal needs at least {hubspot_calls / 10:,.0f} s for them; the bench "
                     f"lifts the client's pacing because the simulator enforces no limit.")
    if "load_defs_s" in nightly:
        notes.append(f"Loading the Dagster definitions before the nightly run took {nightly['load_defs_s']:.1f} s "
                     f"more (not in the figure).")
    return lines + (["", *notes] if notes else [])


def objects_table(scale_result: dict[str, Any]) -> list[str]:
    rows = []
    incremental = {(r["source"], r["object"]): r for r in scale_result.get("objects_incremental", [])}
    for r in scale_result.get("objects_full", []):
        inc = incremental.get((r["source"], r["object"]), {})
        rate = r["records"] / r["seconds"] if r["seconds"] else None
        rows.append((r["source"], r["object"], _num(r["records"]), _num(r["seconds"], ".2f"), _num(rate),
                     _num(r["calls"]), r.get("path") or "", _num(inc.get("records")), _num(inc.get("calls"))))
    header = ("source", "object", "records", "s", "records/s", "calls", "path", "1-day records", "1-day calls")
    return table(header, rows, {2, 3, 4, 5, 7, 8})


def scaling_table(scaling: dict[str, Any]) -> list[str]:
    scales = scaling["scales"]
    rows = [("records", *(_num(x) for x in scaling["records"]), "", "", "")]
    for stage, fit in scaling["stages"].items():
        rows.append((STAGE_LABELS.get(stage, stage), *(_num(s, ",.2f") for s in fit["seconds"]),
                     _num(fit["exponent"], ".2f"), f"<= {MAX_EXPONENT}", verdict_text(exponent_met(fit["exponent"]))))
    header = ("stage (median s)", *scales, "exponent", "target", "result")
    return table(header, rows, set(range(1, len(scales) + 2)))


def render(result: dict[str, Any]) -> str:
    out = [f"Machine: {describe(result['machine'])}; load average {result['load_average']['start'][0]:.2f} at "
           f"start, {result['load_average']['end'][0]:.2f} at end. {result['reps']} rep(s), medians."]
    for scale, scale_result in result["scales"].items():
        out += ["", f"### `{scale}` ({scale_result['median']['ingest_full']['records']:,.0f} records)", ""]
        out += stage_table(scale_result)
        out += ["", "Per object (initial ingestion of the median rep, and the 1-day incremental):", ""]
        out += objects_table(scale_result)
    if result.get("scaling"):
        out += ["", "### Scaling (time vs records, log-log least-squares exponent)", ""]
        out += scaling_table(result["scaling"])
    return "\n".join(out)


def write_json(result: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(result["started_at"]).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{'-'.join(result['scales'])}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def latest_json(folder: Path) -> Path:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no benchmark results in {folder}")
    return files[-1]


def update_readme(readme: Path, result: dict[str, Any], source: Path) -> None:
    """Replace what is between the markers with this result's tables, dated, naming the machine."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block")
    block = (f"{README_START}\n_Measured {result['started_at'][:16].replace('T', ' ')} with "
             f"`acctwh bench {' '.join(result['argv'])}`, results in `{source.as_posix()}`._\n\n"
             f"{render(result)}\n{README_END}")
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    readme.write_text(pattern.sub(lambda _: block, text, count=1))
