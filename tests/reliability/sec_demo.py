"""One ``acctwh demo`` run shared by the secret, PII and erasure tests: ``tiny`` with the initial load only in
``make test``; ``make test-reliability`` sets ``ACCTWH_SEC_DEMO_SCALE=demo`` and ``ACCTWH_SEC_DEMO_DAYS=1``, the run
``make demo`` does (the demo preset, the initial load, then one incremental night).

The demo runs in a subprocess with recognisable fake secrets in its environment, so the real credential path is
used (the demo hands them to the connectors and the simulator accepts only them). The dataset is generated
*outside* the warehouse home: it stands for the CRMs themselves, which an erasure does not touch.

With pytest-xdist the first worker that needs it runs it (file lock in the session's shared temp root); the others
wait and reuse it. Tests must treat ``DemoRun.home`` as read-only and copy it before changing anything.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2025, 6, 30)  # the initial load's day; each further night is one day on
SEED = 42
SCALE = os.environ.get("ACCTWH_SEC_DEMO_SCALE") or "tiny"
DAYS = int(os.environ.get("ACCTWH_SEC_DEMO_DAYS") or 0)
# a test that uses the demo may make it (generation + nights, ~4 min for `demo` on a busy 2-core machine) before its
# own work: the 300 s default guards the tiny run; the make-demo run gets room for both
uses_demo = pytest.mark.timeout(300 if SCALE == "tiny" and not DAYS else 1800)
CANARY = "LEAKCANARY"
# Every value contains CANARY, so one grep also catches a secret that was cut or re-encoded around it.
SECRETS = {
    "SALESFORCE_PASSWORD": "sfpw-LEAKCANARY-1f9e2d",
    "SALESFORCE_SECURITY_TOKEN": "sftok-LEAKCANARY-7c3b5a",
    "SALESFORCE_CONSUMER_SECRET": "sfcs-LEAKCANARY-0a8d4e",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-LEAKCANARY-5e6f7a8b",
    "ACCTWH_PERSON_KEY_SECRET": "pkey-LEAKCANARY-2b4d6f8h0j1k",
    "ACCTWH_ALERT_WEBHOOK_URL": "https://hooks.example.invalid/services/LEAKCANARY-9x8y7z",
}
# Consumer key + secret + username + password selects the OAuth username-password flow: every secret above is sent.
IDENTITIES = {"SALESFORCE_USERNAME": "etl@canary.example", "SALESFORCE_CONSUMER_KEY": "ck-canary-3MVG9"}


@dataclass(frozen=True)
class DemoRun:
    root: Path  # dataset/, home/, stdout.txt, stderr.txt
    returncode: int
    days: int  # incremental nights after the initial load

    @property
    def as_of(self) -> date:
        """The day of the last night: ``dataset`` holds the CRMs as of then (00:00 UTC)."""
        return AS_OF + timedelta(days=self.days)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def dagster_home(self) -> Path:
        return self.home / ".dagster"

    @property
    def stdout(self) -> str:
        return (self.root / "stdout.txt").read_text()

    @property
    def stderr(self) -> str:
        return (self.root / "stderr.txt").read_text()


def demo_env(dagster_home: Path) -> dict[str, str]:
    """The caller's environment without any real CRM/warehouse settings, plus the fake secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_", "ACCTWH_"))}
    return {**env, **SECRETS, **IDENTITIES, "DAGSTER_HOME": str(dagster_home)}


def run_cli(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def demo_on(dataset: Path, home: Path, as_of: date = AS_OF, days: int = 0,
            timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """``acctwh demo --dataset`` (the night of ``as_of``, then ``days`` more) on ``home``, with the fake secrets."""
    return run_cli("demo", "--dataset", str(dataset), "--as-of", as_of.isoformat(), "--days", str(days),
                   "--home", str(home), env=demo_env(home / ".dagster"), timeout=timeout)


def _run(root: Path) -> DemoRun:
    env = demo_env(root / "home" / ".dagster")
    start = root / ("crm-day0" if DAYS else "dataset")
    gen = run_cli("simulator", "generate", "--scale", SCALE, "--seed", str(SEED), "--as-of", AS_OF.isoformat(),
                  "--out", str(start), "--force", env=env)
    assert gen.returncode == 0, gen.stderr[-3000:]
    result = demo_on(start, root / "home", days=DAYS)
    if DAYS:
        _save_advanced(start, root / "dataset", DAYS)
    (root / "stdout.txt").write_text(result.stdout)
    (root / "stderr.txt").write_text(result.stderr)
    (root / "result.json").write_text(json.dumps({"returncode": result.returncode, "days": DAYS}))
    return DemoRun(root, result.returncode, DAYS)


def _save_advanced(start: Path, dest: Path, days: int) -> None:
    """The CRMs as the demo's last night saw them: the simulator's days are seeded by the dataset and its clock,
    so advancing the same folder from the same clock replays the demo's changes."""
    from datetime import UTC, datetime

    from connectors.simulator.dataset.advance import advance
    from connectors.simulator.dataset.folder import load, save

    dataset = load(start)
    dataset.clock = datetime.combine(AS_OF, datetime.min.time(), UTC)  # as `acctwh demo --as-of` sets it
    advance(dataset, days=days)
    save(dataset, dest, overwrite=True)


def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The session's demo run, made once across xdist workers (they share basetemp's parent)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "acctwh-sec-demo"
    with open(shared / "acctwh-sec-demo.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        done = root / "result.json"
        if done.exists():
            meta = json.loads(done.read_text())
            run = DemoRun(root, meta["returncode"], meta["days"])
        else:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            run = _run(root)
    if run.returncode != 0:
        pytest.fail(f"the shared demo run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return run


def copy_home(run: DemoRun, dest: Path) -> Path:
    """A private copy of the demo's warehouse home (symlinks kept: ``serving/parquet`` is relative)."""
    shutil.copytree(run.home, dest, symlinks=True)
    return dest


@dataclass(frozen=True)
class Person:
    email: str
    first: str
    last: str
    phone: str
    sf_id: str

    @property
    def needles(self) -> list[bytes]:
        """What must not be found: the address, the full name, the phone (lower-cased for a case-free grep)."""
        return [self.email.lower().encode(), f"{self.first} {self.last}".lower().encode(), self.phone.encode()]


def people(dataset: Path) -> list[Person]:
    """Salesforce contacts of the dataset with an email and a phone."""
    rows = [json.loads(line) for line in (dataset / "salesforce" / "Contact.jsonl").read_text().splitlines() if line]
    return [Person(r["Email"], r["FirstName"], r["LastName"], r["Phone"], r["Id"])
            for r in rows if r.get("Email") and r.get("Phone") and r.get("FirstName") and r.get("LastName")]


def unique_person(dataset: Path, home: Path) -> Person:
    """A contact whose name, email and phone are unique in the dataset and who is in the landed raw layer."""
    everyone = people(dataset)
    text = b"\n".join(p.read_bytes().lower() for p in dataset.rglob("*.jsonl"))
    with duckdb.connect(str(home / "working.duckdb"), read_only=True) as con:
        landed = {r[0] for r in con.execute('select "Id" from raw_salesforce.contact').fetchall()}
    for person in everyone:
        name, phone = f"{person.first} {person.last}".lower().encode(), person.phone.encode()
        # the phone must not be a prefix of another one ("+1 555 0001" vs "+1 555 00012")
        alone = sum(1 for p in everyone if p.phone == person.phone or p.email.lower() == person.email.lower()) == 1
        if person.sf_id in landed and alone and text.count(name) == 1 and text.count(phone + b'"') == text.count(phone):
            return person
    raise AssertionError("no contact with a unique name, email and phone in the dataset")


def files_under(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def byte_hits(root: Path, needles: list[bytes]) -> dict[str, list[str]]:
    """Files under ``root`` whose bytes (lower-cased) contain a needle: relative path -> needles found."""
    hits: dict[str, list[str]] = {}
    for path in files_under(root):
        data = path.read_bytes().lower()
        found = [n.decode() for n in needles if n.lower() in data]
        if found:
            hits[str(path.relative_to(root))] = found
    return hits


def checkpoint_all(home: Path) -> None:
    """Fold any WAL into its DuckDB file, so the byte scan sees what a restart would see."""
    for path in home.rglob("*.duckdb"):
        if path.with_name(path.name + ".wal").exists():
            with duckdb.connect(str(path)) as con:
                con.execute("CHECKPOINT")
