"""Matrix row 30: no secret leaks. The shared demo ran with recognisable fake secrets (sec_demo.SECRETS) on the real
credential path; none may appear in its output, any file under the warehouse home (logs, DuckDB, Parquet, reports,
Dagster storage), the Dagster event log and run records, or the dbt logs and target files of those runs."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
import requests

from orchestration.defs.operations.alerts import send_alerts
from tests.reliability.ledger import fault_case
from tests.reliability.sec_demo import (
    CANARY,
    ROOT,
    SECRETS,
    DemoRun,
    byte_hits,
    files_under,
    shared_demo,
    uses_demo,
)

NEEDLES = [CANARY.encode(), *(v.encode() for v in SECRETS.values())]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return shared_demo(tmp_path_factory)


def dagster_text(dagster_home: Path) -> tuple[list[str], str]:
    """Run ids and everything the instance stores about them: runs, config, tags, every event with metadata."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        parts = []
        for run in runs:
            parts.append(repr(run))
            parts.append(json.dumps(run.run_config, default=str))
            parts += [repr(entry) for entry in instance.all_logs(run.run_id)]
        return [r.run_id for r in runs], "\n".join(parts)


@uses_demo
def test_no_secret_in_output_files_dagster_or_dbt(demo: DemoRun) -> None:
    with fault_case(30, "fake Salesforce/HubSpot/person-key/webhook secrets through the demo") as case:
        assert CANARY not in demo.stdout + demo.stderr
        files = list(files_under(demo.home))
        assert any(p.suffix == ".log" for p in files) and (demo.dagster_home / "history").is_dir()
        assert byte_hits(demo.home, NEEDLES) == {}

        run_ids, events = dagster_text(demo.dagster_home)
        assert run_ids and "STEP_SUCCESS" in events and "dagster/row_count" in events  # we read the real log
        assert CANARY not in events

        # dagster-dbt writes one target folder per run: <step>-<run id prefix>-<hash>
        targets = [d for d in (ROOT / "dbt_project" / "target").iterdir()
                   if d.is_dir() and any(f"-{run_id[:7]}-" in d.name for run_id in run_ids)]
        assert targets and all((d / "dbt.log").exists() for d in targets)
        for folder in [*targets, ROOT / "dbt_project" / "logs"]:
            if folder.is_dir():
                assert byte_hits(folder, NEEDLES) == {}, folder
        case.rows_compared = len(files) + len(targets)


def test_alert_delivery_errors_do_not_echo_the_webhook_url() -> None:
    """The webhook URL is a credential: a failed POST reports the error type only."""
    url = SECRETS["ACCTWH_ALERT_WEBHOOK_URL"]

    def refused(target: str, **_: object) -> None:
        raise requests.ConnectionError(f"HTTPSConnectionPool: Max retries exceeded with url: {target}")

    with fault_case(30, "alert webhook unreachable (URL in the exception text)") as case:
        outcome = send_alerts("run failed", "nightly_refresh_job", "0" * 36,
                              env={"ACCTWH_ALERT_WEBHOOK_URL": url}, post=refused)
        assert outcome == {"webhook": "ConnectionError"}
        assert CANARY not in json.dumps(outcome)
        case.rows_compared = 1
