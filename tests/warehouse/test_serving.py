"""Publishing checked marts to the serving folder: whole versions, atomic swaps, history, rollback, failure safety."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from connectors.warehouse import serving
from connectors.warehouse.serving import PublishError, RollbackError, ServingBusyError, publish, rollback
from connectors.warehouse.versions import ServingLayout, serving_lock

MARTS = ("dim_accounts", "fct_account_arr_monthly", "mart_account_360")


def sizes(gen: int) -> dict[str, int]:
    """Rows per mart in generation ``gen``: each version has its own counts, so a mix is detectable."""
    return {"dim_accounts": 10 + gen, "fct_account_arr_monthly": 3 * (10 + gen), "mart_account_360": gen + 1}


def make_candidate(path: Path, gen: int) -> None:
    """(Re)build the candidate marts; every row carries ``gen`` so a reader can tell versions apart."""
    n = sizes(gen)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(f"""
            CREATE OR REPLACE TABLE marts.dim_accounts AS
            SELECT 'acct_' || lpad(i::VARCHAR, 4, '0') AS account_id, {gen} AS gen,
                   (i * 100.25)::DECIMAL(18, 2) AS arr, DATE '2025-01-01' + i::INTEGER AS first_closed_date,
                   ['a', 'b'][1 + i % 2] AS tier
            FROM range({n['dim_accounts']}) t(i);
            CREATE OR REPLACE TABLE marts.fct_account_arr_monthly AS
            SELECT 'acct_' || lpad((i % 7)::VARCHAR, 4, '0') AS account_id, {gen} AS gen,
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_days(i::INTEGER) AS month_start, i::DOUBLE / 3 AS nrr
            FROM range({n['fct_account_arr_monthly']}) t(i);
            CREATE OR REPLACE TABLE marts.mart_account_360 AS
            SELECT i AS k, {gen} AS gen, i::HUGEINT * 1000000000000 AS big FROM range({n['mart_account_360']}) t(i);
            CREATE OR REPLACE VIEW marts.v_not_a_mart AS SELECT 1 AS x;
        """)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(home: Path) -> dict[str, str]:
    """Hashes of everything BI reads: the serving file and each Parquet file behind the link."""
    layout = ServingLayout.for_home(home)
    out = {"marts.duckdb": sha256(layout.serving_db), "parquet ->": os.readlink(layout.parquet_link)}
    for p in sorted(layout.parquet_link.iterdir()):
        out[p.name] = sha256(p)
    return out


def query(sql: str) -> list[tuple]:
    """On a private connection: a half-read result on duckdb's module-level connection would break other tests."""
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def strays(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "serving").iterdir() if p.name.startswith((".staging-", ".tmp-")))


def read_gen(con: duckdb.DuckDBPyConnection, prefix: str = "") -> tuple[str, dict[str, int], set[int]]:
    version, counts = con.execute(f"SELECT version, row_counts FROM {prefix}_publication").fetchone()
    gens: set[int] = set()
    for mart in MARTS:
        n, lo, hi = con.execute(f"SELECT count(*), min(gen), max(gen) FROM {prefix}{mart}").fetchone()
        assert n == counts[mart]
        gens |= {lo, hi}
    return version, dict(counts), gens


@pytest.fixture
def working(tmp_path: Path) -> Path:
    path = tmp_path / "working.duckdb"
    make_candidate(path, 1)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wh"


def test_publish_copies_every_mart_into_a_new_serving_file_and_parquet(working: Path, home: Path) -> None:
    before = sha256(working)
    result = publish(working, home, metadata={"dbt_run_id": "r-1", "as_of": "2025-06-30"})

    assert result.serving_path == home / "serving" / "marts.duckdb" and result.serving_path.is_file()
    assert result.row_counts == sizes(1)  # default: every table in schema marts; the view is not a mart
    assert result.previous_version is None and result.duckdb_bytes > 0 and result.parquet_bytes > 0
    assert sha256(working) == before  # the candidate is read, never written
    with duckdb.connect(str(working), read_only=True) as cand, \
            duckdb.connect(str(result.serving_path), read_only=True) as pub:
        assert {r[0] for r in pub.execute("SHOW TABLES").fetchall()} == {*MARTS, "_publication"}
        for mart in MARTS:
            assert pub.execute(f"DESCRIBE {mart}").fetchall() == cand.execute(f"DESCRIBE marts.{mart}").fetchall()
            ordered = f"SELECT * FROM {{}}{mart} ORDER BY ALL"
            assert pub.execute(ordered.format("")).fetchall() == cand.execute(ordered.format("marts.")).fetchall()
        version, seq, counts, meta = pub.execute(
            "SELECT version, seq, row_counts, metadata FROM _publication").fetchone()
    assert (version, seq, counts) == (result.version, 1, sizes(1))
    assert json.loads(meta) == {"dbt_run_id": "r-1", "as_of": "2025-06-30"}
    for mart, path in result.parquet_files.items():
        assert path == home / "serving" / "parquet" / f"{mart}.parquet"
        assert query(f"SELECT count(*) FROM read_parquet('{path}')")[0][0] == sizes(1)[mart]
    arr = query(f"SELECT sum(arr) FROM read_parquet('{result.parquet_files['dim_accounts']}')")[0][0]
    assert float(arr) == sum(i * 100.25 for i in range(11))
    assert serving.current_version(home) == serving.parquet_version(home) == result.version
    assert json.loads((home / "serving" / "parquet" / "_publication.json").read_text())["version"] == result.version
    assert strays(home) == []


def test_publish_while_the_caller_holds_the_candidate(working: Path, home: Path) -> None:
    with duckdb.connect(str(working), read_only=True):  # e.g. the gating checks' read-only connection
        assert publish(working, home, ["dim_accounts"]).row_counts == {"dim_accounts": 11}
    with duckdb.connect(str(working)) as rw:  # held read-write: hand over the connection, types survive Arrow
        rw.execute("CREATE TYPE mood AS ENUM ('up', 'down'); CREATE TABLE marts.typed AS "
                   "SELECT 'up'::mood AS m, uuid() AS u, 1::HUGEINT AS h, [1, 2] AS l, {'a': 1} AS s")
        result = publish(rw, home, ["typed", "mart_account_360"])
        expected = rw.execute("DESCRIBE marts.typed").fetchall()
    with duckdb.connect(str(result.serving_path), read_only=True) as pub:
        assert pub.execute("DESCRIBE typed").fetchall() == expected
        assert pub.execute("SELECT count(*) FROM mart_account_360").fetchone()[0] == 2


def test_history_is_kept_and_pruned_beyond_keep(working: Path, home: Path) -> None:
    published = []
    for gen in range(1, 5):
        make_candidate(working, gen)
        published.append(publish(working, home, keep=2))
    versions = serving.list_versions(home)
    assert [v.version for v in versions] == [published[3].version, published[2].version]  # newest first
    assert versions[0].serving and versions[0].parquet and not versions[1].serving
    assert versions[1].row_counts == sizes(3)
    assert published[2].pruned == [published[0].version] and published[3].pruned == [published[1].version]
    assert published[3].previous_version == published[2].version
    assert sorted(p.name for p in (home / "serving" / "versions").iterdir()) == sorted(v.version for v in versions)


def test_rollback_restores_the_previous_version_byte_identical(working: Path, home: Path) -> None:
    with pytest.raises(RollbackError, match="no published versions") as err:
        rollback(home)
    assert err.value.folder == home / "serving" / "versions"
    first = publish(working, home)
    with pytest.raises(RollbackError, match="oldest version kept"):
        rollback(home)
    old = snapshot(home)
    make_candidate(working, 2)
    second = publish(working, home)
    new = snapshot(home)
    assert new != old

    assert rollback(home) == first.version
    assert snapshot(home) == old
    assert serving.current_version(home) == serving.parquet_version(home) == first.version
    with duckdb.connect(str(home / "serving" / "marts.duckdb"), read_only=True) as con:
        assert read_gen(con)[2] == {1}
    with pytest.raises(RollbackError, match="is not kept"):
        rollback(home, "v9999")
    with pytest.raises(RollbackError, match="already being served"):
        rollback(home, first.version)
    assert rollback(home, to_version=second.version) == second.version
    assert snapshot(home) == new
    # the next publish after a rollback still counts on from the newest version
    make_candidate(working, 3)
    assert publish(working, home).seq == 3


def test_reader_holding_the_file_keeps_old_data_across_swap_and_prune(working: Path, home: Path) -> None:
    first = publish(working, home, keep=1)
    held = duckdb.connect(str(first.serving_path), read_only=True)  # BI connected before the publish
    try:
        assert read_gen(held)[2] == {1}
        make_candidate(working, 2)
        second = publish(working, home, keep=1)  # no lock needed on the served file; prunes version 1
        assert second.pruned == [first.version] and not first.version_dir.exists()
        assert read_gen(held)[:1] == (first.version,) and read_gen(held)[2] == {1}
        # a new connection sees the new version (a fresh instance: in-process connect() would reuse `held`)
        with duckdb.connect() as fresh:
            fresh.execute(f"ATTACH '{second.serving_path}' AS s (READ_ONLY)")
            assert read_gen(fresh, "s.")[0] == second.version and read_gen(fresh, "s.")[2] == {2}
        code = (f"import duckdb; c = duckdb.connect({str(second.serving_path)!r}, read_only=True); "
                "print(c.execute('SELECT version FROM _publication').fetchone()[0])")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == second.version
        assert read_gen(held)[2] == {1}  # still the old data after everything
    finally:
        held.close()


READER = textwrap.dedent("""
    import json, os, sys, duckdb
    serving, stop, marts = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    sizes = lambda g: {"dim_accounts": 10 + g, "fct_account_arr_monthly": 3 * (10 + g), "mart_account_360": g + 1}
    seen, errors, reads = set(), [], 0
    mem = duckdb.connect()
    def check_duckdb():
        with duckdb.connect(os.path.join(serving, "marts.duckdb"), read_only=True) as con:
            version, counts, meta = con.execute("SELECT version, row_counts, metadata FROM _publication").fetchone()
            gen = json.loads(meta)["gen"]
            assert dict(counts) == sizes(gen), (version, counts)
            for m in marts:
                n, lo, hi = con.execute(f"SELECT count(*), min(gen), max(gen) FROM {m}").fetchone()
                assert (n, lo, hi) == (sizes(gen)[m], gen, gen), (version, m, n, lo, hi)
            return version
    def check_parquet():
        folder = os.path.realpath(os.path.join(serving, "parquet"))  # pin one version for all marts
        pub = json.load(open(os.path.join(folder, "_publication.json")))
        for m in marts:
            n, lo, hi = mem.execute(f"SELECT count(*), min(gen), max(gen) FROM '{folder}/{m}.parquet'").fetchone()
            assert n == pub["row_counts"][m] and lo == hi == pub["metadata"]["gen"], (pub["version"], m, n, lo)
        for m in marts:  # by the stable path, one file at a time: each file is one whole version
            n, lo, hi = mem.execute(f"SELECT count(*), min(gen), max(gen) FROM '{serving}/parquet/{m}.parquet'"
                                    ).fetchone()
            assert lo == hi and n == sizes(lo)[m], (m, n, lo, hi)
        return pub["version"]
    print("ready", flush=True)
    while not os.path.exists(stop):
        for check in (check_duckdb, check_parquet):
            try:
                seen.add(check()); reads += 1
            except Exception as exc:
                errors.append(f"{check.__name__}: {type(exc).__name__}: {exc}")
    print(json.dumps({"seen": sorted(seen), "errors": errors[:20], "n_errors": len(errors), "reads": reads}))
""")


def test_concurrent_readers_only_ever_see_a_whole_version(working: Path, home: Path, tmp_path: Path) -> None:
    published = [publish(working, home, metadata={"gen": 1}).version]
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(home / "serving"), str(stop), ",".join(MARTS)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for r in readers:
            assert r.stdout is not None and r.stdout.readline().strip() == "ready"
        for gen in range(2, 7):
            make_candidate(working, gen)
            time.sleep(0.15)
            published.append(publish(working, home, keep=3, metadata={"gen": gen}).version)
        time.sleep(0.15)
    finally:
        stop.touch()
    for r in readers:
        out, err = r.communicate(timeout=60)
        assert r.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["n_errors"] == 0, summary["errors"]
        assert summary["reads"] > 10
        assert set(summary["seen"]) <= set(published) and len(summary["seen"]) >= 2, summary


def test_failed_publish_leaves_serving_byte_identical(working: Path, home: Path) -> None:
    good = publish(working, home)
    before = snapshot(home)
    held = duckdb.connect(str(good.serving_path), read_only=True)
    try:
        make_candidate(working, 2)
        with pytest.raises(PublishError, match="mart 'fct_churn' not found in schema 'marts'") as err:
            publish(working, home, [*MARTS, "fct_churn"])
        assert err.value.mart == "fct_churn"
        assert snapshot(home) == before and strays(home) == []
        assert [v.version for v in serving.list_versions(home)] == [good.version]
        assert read_gen(held)[2] == {1}
    finally:
        held.close()


def test_disk_error_midway_names_the_file_and_cleans_up(working: Path, home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    good = publish(working, home)
    before = snapshot(home)
    real = serving._write_parquet

    def full_disk(con: duckdb.DuckDBPyConnection, mart: str, path: Path) -> None:
        if mart == "fct_account_arr_monthly":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(con, mart, path)

    monkeypatch.setattr(serving, "_write_parquet", full_disk)
    with pytest.raises(PublishError, match=r"fct_account_arr_monthly\.parquet.*No space left") as err:
        publish(working, home)
    assert err.value.mart == "fct_account_arr_monthly"
    assert snapshot(home) == before and strays(home) == []
    assert serving.current_version(home) == good.version


def test_unreadable_candidate_is_named(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "garbage.duckdb"
    bad.write_bytes(b"not a duckdb file" * 1000)
    with pytest.raises(PublishError, match=r"garbage\.duckdb") as err:
        publish(bad, home)
    assert err.value.path == bad and strays(home) == []
    with pytest.raises(PublishError, match="does not exist"):
        publish(tmp_path / "missing.duckdb", home)
    assert not (home / "serving" / "marts.duckdb").exists()


def test_crash_leftovers_are_cleaned_by_the_next_publish(working: Path, home: Path) -> None:
    good = publish(working, home)
    root = home / "serving"
    (root / ".staging-v0002-crashed" / "parquet").mkdir(parents=True)
    (root / ".staging-v0002-crashed" / "marts.duckdb").write_bytes(b"half")
    (root / ".tmp-v0002.duckdb").write_bytes(b"half")
    (root / "versions" / "v0003-no-manifest").mkdir()
    second = publish(working, home)
    assert strays(home) == [] and not (root / "versions" / "v0003-no-manifest").exists()
    assert {v.version for v in serving.list_versions(home)} == {good.version, second.version}


def test_one_publisher_at_a_time_and_input_checks(working: Path, home: Path) -> None:
    with serving_lock(ServingLayout.for_home(home)), pytest.raises(ServingBusyError, match="another publish"):
        publish(working, home)
    with pytest.raises(PublishError, match="refusing key"):
        publish(working, home, metadata={"hubspot_token": "pat-na1-x"})
    with pytest.raises(PublishError, match="reserved"):
        publish(working, home, ["_publication"])
    with pytest.raises(PublishError, match=r"not a plain identifier"):
        publish(working, home, ["../etc"])
    with pytest.raises(PublishError, match="keep"):
        publish(working, home, keep=0)
    first = publish(working, home, version="nightly-2025-06-30")
    with pytest.raises(PublishError, match="already exists"):
        publish(working, home, version=first.version)
    assert not (home / "serving" / "versions" / ".staging").exists() and strays(home) == []


def test_a_publish_killed_between_its_renames_is_realigned(working: Path, home: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash falls after marts.duckdb moved to v2 and before the parquet link did: BI would read DuckDB v2 and
    Parquet v1 until a later publish. realign_parquet_link (called before every dbt build) re-points the link."""
    from connectors.warehouse import versions

    first = publish(working, home)
    make_candidate(working, 2)
    real_replace, calls = os.replace, []

    def dies_on_the_link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(dst)
        if len(calls) == 2:  # install: DuckDB file first, then the parquet link
            raise SystemExit("killed")
        real_replace(src, dst)

    monkeypatch.setattr(versions.os, "replace", dies_on_the_link)
    with pytest.raises(SystemExit):
        publish(working, home)
    monkeypatch.setattr(versions.os, "replace", real_replace)
    second = next(v.version for v in versions.list_versions(home) if v.version != first.version)
    assert versions.current_version(home) == second and versions.parquet_version(home) == first.version

    with serving_lock(ServingLayout.for_home(home)):  # a publish in flight: leave it alone
        assert versions.realign_parquet_link(home) is None
    assert versions.parquet_version(home) == first.version

    message = versions.realign_parquet_link(home)
    assert message is not None and first.version in message and second in message
    assert versions.parquet_version(home) == second and strays(home) == []
    gens = query(f"SELECT DISTINCT gen FROM read_parquet('{home}/serving/parquet/*.parquet')")
    assert gens == [(2,)]  # every Parquet file BI reads is now the served version's
    assert versions.realign_parquet_link(home) is None  # aligned: nothing to do
