"""Great Expectations 1.x in an ephemeral context over pandas frames: builds suites from the specs and runs them.

GX is imported here only (it takes seconds to import), so the registry and Dagster definitions load without it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from expectations.spec import ColumnCheck, MartSuite


@dataclass(frozen=True)
class GxVerdict:
    success: bool
    expectation: str
    result: dict[str, Any]
    exception: str | None


def gx_suite(suite: MartSuite) -> Any:
    """The suite's column expectations as a ``gx.ExpectationSuite`` (the SQL checks are evaluated by the runner)."""
    import great_expectations as gx

    return gx.ExpectationSuite(name=suite.name, expectations=[_expectation(c) for c in suite.column_checks])


def _expectation(check: ColumnCheck) -> Any:
    import great_expectations.expectations as gxe

    return getattr(gxe, check.expectation)(**check.kwargs, meta={"check": check.id})


class GxEngine:
    """One ephemeral context with one pandas data source; frames are passed per validation, never stored."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        asset = self._context.data_sources.add_pandas("marts").add_dataframe_asset("frame")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self._names = itertools.count()

    def validate(
        self, frame: pd.DataFrame, checks: Sequence[ColumnCheck], key_columns: Sequence[str], sample_size: int
    ) -> dict[str, GxVerdict]:
        """Run ``checks`` on ``frame``; failing rows are identified by ``key_columns``."""
        suite = self._gx.ExpectationSuite(
            name=f"run_{next(self._names)}", expectations=[_expectation(c) for c in checks]
        )
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": sample_size}
        if key_columns:
            result_format["unexpected_index_column_names"] = list(key_columns)
        validation = batch.validate(suite, result_format=result_format)
        verdicts = {}
        for r in validation.results:
            info = r.exception_info or {}
            verdicts[r.expectation_config.meta["check"]] = GxVerdict(
                success=bool(r.success),
                expectation=r.expectation_config.type,
                result=dict(r.result or {}),
                exception=info.get("exception_message") if info.get("raised_exception") else None,
            )
        return verdicts

    def expect_no_rows(self, check_id: str, unexpected: pd.DataFrame) -> GxVerdict:
        """GX's verdict on an "unexpected rows" result: the frame must be empty."""
        check = ColumnCheck(check_id, "ExpectTableRowCountToEqual", {"value": 0}, "no unexpected rows")
        return self.validate(unexpected, [check], (), 1)[check_id]
