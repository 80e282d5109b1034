"""Great Expectations suites kept as code, one per mart; they gate what BI tools may read.

Public API (GX itself is imported lazily, by the runner):
- ``expectations.registry``: ``MARTS``, ``REGISTRY``, ``suite_for(mart, config)``
- ``expectations.config.GateConfig``: thresholds (volume drop, source age, NRR bound, sample size)
- ``expectations.runner``: ``validate_mart(...)``, ``validate_all(...)`` -> ``SuiteResult``
- ``expectations.report``: ``write_html_report(results, path, title=..., run_id=...)``
"""

from expectations.config import GateConfig
from expectations.registry import MARTS, REGISTRY, suite_for
from expectations.results import ExpectationOutcome, SuiteResult

__all__ = ["MARTS", "REGISTRY", "ExpectationOutcome", "GateConfig", "SuiteResult", "suite_for"]
