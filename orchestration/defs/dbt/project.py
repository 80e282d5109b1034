"""The dbt project, the dbt executable and the manifest.

``@dbt_assets`` reads ``target/manifest.json`` when the code location is imported, and ``target/`` is not in git,
so a fresh clone (CI, a new laptop) has no manifest. dagster-dbt's ``prepare_if_dev`` parses only under
``dagster dev``; :func:`ensure_manifest` instead runs ``dbt parse`` in any process whenever the manifest is
missing or the project files changed since it was parsed (a fingerprint of paths, sizes and mtimes is kept
next to it, so deletions and restored old mtimes count too). Unchanged, that costs a directory walk; changed,
a few seconds. ``dbt parse`` opens no database connection and needs no secret.
"""

import hashlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from filelock import FileLock

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
# The dbt installed with this interpreter (the one with dbt-duckdb and our plugin), found even when the venv is
# not on PATH (`.venv/bin/python -m pytest`); else whatever PATH offers.
_VENV_DBT = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else shutil.which("dbt") or "dbt"
# Everything dbt reads when parsing; a change to any of these can change the manifest.
SOURCE_DIRS = ("models", "macros", "seeds", "snapshots", "tests", "analyses")
SOURCE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "selectors.yml")
PARSE_LOCK_TIMEOUT_S = 300


def _project_files(project_dir: Path) -> Iterator[Path]:
    for name in SOURCE_FILES:
        path = project_dir / name
        if path.is_file():
            yield path
    for folder in SOURCE_DIRS:
        root = project_dir / folder
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.is_file())


def fingerprint(project_dir: Path) -> str:
    """Hash of every project file's path, size and mtime: changes on any edit, addition, deletion or rename."""
    digest = hashlib.sha256()
    for path in _project_files(project_dir):
        stat = path.stat()
        digest.update(f"{path.relative_to(project_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def fingerprint_path(project: DbtProject) -> Path:
    return project.manifest_path.with_name("manifest.fingerprint")


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or was not parsed from the project files as they are now."""
    recorded = fingerprint_path(project)
    if not project.manifest_path.exists() or not recorded.exists():
        return True
    return recorded.read_text() != fingerprint(project.project_dir)


def ensure_manifest(project: DbtProject) -> DbtProject:
    """``dbt parse`` if the manifest is missing or stale; one process parses while the others wait for it."""
    if not manifest_is_stale(project):
        return project
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(project.manifest_path.with_suffix(".lock")), timeout=PARSE_LOCK_TIMEOUT_S):
        if manifest_is_stale(project):  # re-check: another process may have parsed while this one waited
            before = fingerprint(project.project_dir)  # taken first, so an edit during the parse is seen next time
            dbt = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
            dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
            fingerprint_path(project).write_text(before)
    return project


account_dbt_project = ensure_manifest(DbtProject(project_dir=DBT_PROJECT_DIR))
