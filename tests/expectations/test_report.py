"""The HTML report is one self-contained page, lists failures with their keys, and escapes every value."""

from __future__ import annotations

from pathlib import Path

from expectations.report import write_html_report
from expectations.results import ExpectationOutcome, SuiteResult
from expectations.runner import validate_all
from tests.expectations.warehouse import REFERENCE_TIME


def _result(sample_value: str) -> dict[str, SuiteResult]:
    bad = ExpectationOutcome(
        id="tier_accepted_values",
        expectation="expect_column_values_to_be_in_set",
        description="tier in A, B, C",
        success=False,
        unexpected_count=1,
        element_count=6,
        sample=({"tier": sample_value, "account_id": "a3"},),
    )
    good = ExpectationOutcome("grain_unique", "expect_column_values_to_be_unique", "one row", True, 0, 6)
    return {"dim_accounts": SuiteResult("dim_accounts", "gx_dim_accounts", False, 6, (good, bad), 0.1)}


def test_report_escapes_values(tmp_path: Path):
    payload = "<script>alert('x')</script>"
    path = write_html_report(_result(payload), tmp_path / "r" / "report.html", title="Gate <b>run</b>", run_id="<r1>")
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Gate &lt;b&gt;run&lt;/b&gt;" in html and "&lt;r1&gt;" in html
    assert "tier_accepted_values" in html and "a3" in html


def test_report_is_self_contained(tmp_path: Path):
    html = write_html_report(_result("D"), tmp_path / "report.html", title="t").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for external in ("<link", "src=", "http://", "https://", "@import"):
        assert external not in html


def test_report_of_a_real_run(clean_db: Path, corrupt, tmp_path: Path):
    corrupt("update marts.dim_accounts set tier = 'D' where account_id = 'a3'")
    results = validate_all(clean_db, reference_time=REFERENCE_TIME)
    html = write_html_report(results, tmp_path / "report.html", title="Nightly", run_id="run-1").read_text()
    for mart in results:
        assert mart in html
    assert "Failures" in html and "tier_accepted_values" in html
    assert "Not judged this run" in html  # volume: no published version yet
