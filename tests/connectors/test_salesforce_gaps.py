"""Step 2's last Salesforce gaps: an in-flight Bulk 2.0 job is resumed, sessions are refreshed before they expire.

(getDeleted for hard deletes is covered by the row 14 scenario in test_salesforce_reliability_fast.py.)
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from connectors.salesforce import soql
from connectors.salesforce.client import connect
from connectors.salesforce.extract_rest import iter_rest_pages
from connectors.salesforce.sync import sync_object
from tests.reliability.sf_helpers import (
    SF_FAST_RETRY,
    SfEnv,
    sf_assert_matches,
    sf_env,
    sf_options,
    sf_rel_folder,
)

__all__ = ["sf_rel_folder"]
# 1,000 rows or more in a window go to Bulk: the first Task load (1,200) does, the follow-up window does not
BULK_OPTS = {"bulk_threshold": 1000, "bulk_page_rows": 300, "batch_rows": 300, "prefetch_pages": 0}


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so no handler of the connector runs."""


@pytest.fixture
def env(sf_rel_folder, tmp_path):
    with sf_env(sf_rel_folder, tmp_path) as e:
        yield e


def _resume_and_check(env: SfEnv, job_id: str) -> None:
    creates = env.sim.counters().get("sf.bulk2.create", 0)
    assert job_id in env.plugin.bulk.jobs, "the job must survive the failed run"
    res = env.sync(sf_options(**BULK_OPTS))
    assert res.status == "success", res.message
    assert res.resumed_job == job_id
    assert env.sim.counters().get("sf.bulk2.create", 0) == creates, "a new job was created instead of resuming"
    assert "bulk_job" not in env.wh.get_state("salesforce", "task").extra
    assert job_id not in env.plugin.bulk.jobs, "the resumed job is deleted once merged"
    sf_assert_matches(env.ds, env.wh, "Task")


def test_bulk_job_of_a_failed_run_is_resumed(env: SfEnv):
    env.sim.faults.add("status", "sf.bulk2.results", status=500, times=None)
    res = env.sync(sf_options(**BULK_OPTS))
    assert res.status == "failed" and res.api_path == "bulk"
    job = env.wh.get_state("salesforce", "task").extra["bulk_job"]
    assert env.wh.table_rows("salesforce", "task") == 0 and env.wh.get_state("salesforce", "task").cursor is None
    env.sim.faults.clear()
    _resume_and_check(env, job["id"])


def test_bulk_job_of_a_killed_run_is_resumed(env: SfEnv):
    def die(_obj: str, loaded: int) -> None:
        raise Killed  # after the first 300 rows are merged: the job is half read

    client = connect(env.cfg, retry=SF_FAST_RETRY)
    with pytest.raises(Killed):
        sync_object(client, env.wh, "Task", sf_options(**BULK_OPTS), progress=die)
    state = env.wh.get_state("salesforce", "task")
    assert env.wh.table_rows("salesforce", "task") == 300 and state.cursor is None  # Bulk: cursor moves at the end
    _resume_and_check(env, state.extra["bulk_job"]["id"])


def test_changed_fields_start_over_instead_of_resuming(env: SfEnv):
    from connectors.simulator.dataset.schema_salesforce import custom_text_field

    env.sim.faults.add("status", "sf.bulk2.results", status=500, times=None)
    assert env.sync(sf_options(**BULK_OPTS)).status == "failed"
    job_id = env.wh.get_state("salesforce", "task").extra["bulk_job"]["id"]
    env.sim.faults.clear()
    env.execute('ALTER TABLE sf."Task" ADD COLUMN "Region__c" VARCHAR')
    env.ds.sf_describe["Task"]["fields"].append(custom_text_field("Region__c"))
    res = env.sync(sf_options(**BULK_OPTS))
    assert res.status == "success" and res.resumed_job is None and "fields changed" in res.message
    assert job_id not in env.plugin.bulk.jobs
    sf_assert_matches(env.ds, env.wh, "Task")


def _read_task(client) -> pa.Table:
    d = client.describe("Task")
    fields = [(f["name"], f["type"]) for f in d["fields"]]
    q = soql.window_query("Task", [n for n, _ in fields], None, client.server_now())
    return pa.concat_tables(list(iter_rest_pages(client, "Task", q, fields, 200)))


@pytest.mark.parametrize("proactive", [True, False])
def test_session_is_refreshed_before_it_expires(env: SfEnv, proactive: bool):
    env.plugin.tokens.ttl_seconds = 1.5  # sessions die 1.5 s after login
    clean = _read_task(connect(env.cfg, retry=SF_FAST_RETRY))
    # the delay is served after the session check: the 5th query_more arrives ~2.4 s after login, well past the TTL
    env.sim.faults.add("slow", "sf.query_more", delay=0.6, times=None)
    client = connect(env.cfg, retry=SF_FAST_RETRY, session_refresh_after=0.5 if proactive else None)
    env.sim.reset_counters()
    got = _read_task(client)
    assert got.equals(clean)
    expired = sum(n for (_, status), n in env.sim.salesforce.status_counters.items() if status == 401)
    if proactive:
        assert client.proactive_refreshes >= 2 and expired == 0 and client.relogins == 0
    else:  # the control: without it the 401 path has to recover
        assert client.proactive_refreshes == 0 and expired >= 1 and client.relogins >= 1


def test_get_deleted_beyond_the_delete_log_falls_back_to_reconciliation(env: SfEnv):
    """A run after a long pause: getDeleted's earliestDateAvailable is after the start, so Ids are reconciled."""
    from dataclasses import replace
    from datetime import timedelta

    assert env.sync(sf_options()).status == "success"
    state = env.wh.get_state("salesforce", "task")
    stale = (env.ds.clock - timedelta(days=20)).isoformat()
    env.wh.put_state(replace(state, extra={**state.extra, "deletes_covered_until": stale}))
    with env.ds.reading() as cur:
        gone = cur.execute('SELECT min("Id") FROM sf."Task" WHERE NOT "IsDeleted"').fetchall()[0][0]
    env.execute('DELETE FROM sf."Task" WHERE "Id" = ?', [gone])  # purged long ago: in no delete log
    res = env.sync(sf_options(reconcile_every=None))
    assert res.status == "success" and "earliestDateAvailable" in res.message and res.rows_deleted == 1
    sf_assert_matches(env.ds, env.wh, "Task")
