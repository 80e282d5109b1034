"""One self-contained HTML page per validation run: a summary per mart and the details of every failure.

Everything rendered is escaped; only mart keys and aggregates reach it (the SQL checks never select staging rows).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from expectations.results import ExpectationOutcome, SuiteResult

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:0.3rem 0.6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#17692b;font-weight:600}.fail{color:#b3261e;font-weight:600}
.skip{color:#8a6d00}code{font-size:0.9em}
"""


def write_html_report(
    results: Mapping[str, SuiteResult], path: str | Path, *, title: str, run_id: str | None = None
) -> Path:
    """Write the report to ``path`` (atomically, so a reader never sees half a page) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(results, title=title, run_id=run_id), encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_html(results: Mapping[str, SuiteResult], *, title: str, run_id: str | None = None) -> str:
    ok = all(r.success for r in results.values())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # when the report was written, for humans
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Run <code>{_e(run_id or '-')}</code> · written {_e(generated)} · overall {_verdict(ok)}</p>",
        _summary(results),
    ]
    failing = [r for r in results.values() if not r.success]
    if failing:
        parts.append("<h2>Failures</h2>")
        parts += [_failure_details(r) for r in failing]
    skipped = [(r, o) for r in results.values() for o in r.outcomes if o.skipped]
    if skipped:
        parts.append("<h2>Not judged this run</h2><ul>")
        parts += [f"<li><code>{_e(r.suite)}.{_e(o.id)}</code>: {_e(o.note)}</li>" for r, o in skipped]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary(results: Mapping[str, SuiteResult]) -> str:
    rows = [
        "<table><tr><th>Mart</th><th>Suite</th><th>Result</th><th>Rows</th>"
        "<th>Expectations</th><th>Failed</th><th>Skipped</th><th>Seconds</th></tr>"
    ]
    for r in results.values():
        failed = ", ".join(o.id for o in r.failed) or ("error" if r.error else "")
        rows.append(
            f"<tr><td>{_e(r.mart)}</td><td>{_e(r.suite)}</td><td>{_verdict(r.success)}</td>"
            f"<td>{_e(r.row_count if r.row_count is not None else '-')}</td><td>{len(r.outcomes)}</td>"
            f"<td>{_e(failed)}</td><td>{sum(o.skipped for o in r.outcomes)}</td><td>{r.duration_s:.2f}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _failure_details(result: SuiteResult) -> str:
    parts = [f"<h3>{_e(result.mart)} <small>({_e(result.suite)})</small></h3>"]
    if result.error:
        parts.append(f"<p class='fail'>Could not run: {_e(result.error)}</p>")
    for o in result.failed:
        parts.append(_outcome_details(o))
    return "\n".join(parts)


def _outcome_details(o: ExpectationOutcome) -> str:
    counts = f"{_e(o.unexpected_count if o.unexpected_count is not None else '?')} unexpected"
    if o.element_count is not None:
        counts += f" of {_e(o.element_count)} rows"
    parts = [
        f"<h4><code>{_e(o.id)}</code> <span class='fail'>failed</span></h4>",
        f"<p>{_e(o.description)} — <code>{_e(o.expectation)}</code>; {counts}.</p>",
    ]
    if o.note:
        parts.append(f"<p>Note: {_e(o.note)}</p>")
    if o.sample:
        columns = list(dict.fromkeys(k for row in o.sample for k in row))
        parts.append("<table><tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr>")
        for row in o.sample:
            parts.append("<tr>" + "".join(f"<td>{_e(_text(row.get(c)))}</td>" for c in columns) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts)


def _verdict(ok: bool) -> str:
    return "<span class='pass'>passed</span>" if ok else "<span class='fail'>failed</span>"


def _text(value: Any) -> str:
    if value is None:
        return "null"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)
