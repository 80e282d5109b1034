"""Read and write a dataset folder, so a CRM export or a hand-written case can be served.

Layout (a missing file means an empty object)::

    dataset.json                                   seed, scale, as-of, clock (optional)
    salesforce/<Object>.jsonl                      one record per line, REST keys, no ``attributes``
    salesforce/_describe/<Object>.json             optional; else standard fields + inferred ``__c`` fields
    hubspot/<objectType>.jsonl                     {"id","properties","createdAt","updatedAt","archived"}
    hubspot/_properties/<objectType>.json          optional property definitions
    hubspot/associations/<from>__<to>.jsonl        {"from_id","to_id","category","type_id","label"}
    hubspot/owners.jsonl
    hubspot/pipelines/deals.json
    ground_truth/<table>.csv (+ _schema.json)      when known

DuckDB's JSON reader does the heavy lifting (about 4x Python's ``json``). When it rejects a file,
the file is re-scanned in Python to name the exact line and field, because a user replaying an
export needs to know where to look, not which byte DuckDB choked on.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .store import (
    ASSOCIATION_COLUMNS,
    HS_BASE_COLUMNS,
    Dataset,
    duck_type,
    quote_ident,
    sf_python_value,
    stored_fields,
)

SF_DIR, HS_DIR, GT_DIR = "salesforce", "hubspot", "ground_truth"
DESCRIBE_DIR, PROPERTIES_DIR, ASSOC_DIR = "_describe", "_properties", "associations"


class DatasetError(ValueError):
    """A dataset folder that cannot be served, naming the file (and line and field when known)."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = f"{path}" + (f", line {line}" if line is not None else "") + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")


def _iter_progress(items: list[Any], desc: str, progress: bool) -> Iterable[Any]:
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file")


# ---- writing ----------------------------------------------------------------------------------

def save(dataset: Dataset, out_dir: str | Path, *, overwrite: bool = False, progress: bool = False) -> Path:
    """Write ``dataset`` to ``out_dir`` atomically (a temp folder renamed into place)."""
    out = Path(out_dir).resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=True (or --force) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_all(dataset, tmp, progress)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_all(dataset: Dataset, root: Path, progress: bool) -> None:
    meta = {**dataset.meta, "clock": dataset.clock.astimezone(UTC).isoformat()}
    (root / "dataset.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (root / SF_DIR / DESCRIBE_DIR).mkdir(parents=True)
    (root / HS_DIR / ASSOC_DIR).mkdir(parents=True)
    (root / HS_DIR / PROPERTIES_DIR).mkdir(parents=True)
    (root / HS_DIR / "pipelines").mkdir(parents=True)
    with dataset.reading() as cur:
        for obj in _iter_progress(dataset.sf_objects(), "salesforce", progress):
            describe = dataset.sf_describe[obj]
            (root / SF_DIR / DESCRIBE_DIR / f"{obj}.json").write_text(json.dumps(describe, indent=1))
            _copy_jsonl(cur, _sf_select(dataset, obj), root / SF_DIR / f"{obj}.jsonl")
        for object_type in _iter_progress(dataset.hs_object_types(), "hubspot", progress):
            _copy_jsonl(cur, _hs_select(dataset, object_type), root / HS_DIR / f"{object_type}.jsonl")
        for object_type, definitions in dataset.hs_properties.items():
            (root / HS_DIR / PROPERTIES_DIR / f"{object_type}.json").write_text(json.dumps(definitions, indent=1))
        pairs = cur.execute("SELECT DISTINCT from_type, to_type FROM hs.associations ORDER BY 1, 2").fetchall()
        for from_type, to_type in pairs:
            sql = (
                "SELECT from_id, to_id, category, type_id, label FROM hs.associations "
                f"WHERE from_type = '{_sql_str(from_type)}' AND to_type = '{_sql_str(to_type)}' "
                "ORDER BY TRY_CAST(from_id AS BIGINT), from_id, TRY_CAST(to_id AS BIGINT), to_id, type_id"
            )
            _copy_jsonl(cur, sql, root / HS_DIR / ASSOC_DIR / f"{from_type}__{to_type}.jsonl")
    with (root / HS_DIR / "owners.jsonl").open("w") as fh:
        for owner in dataset.hs_owners:
            fh.write(json.dumps(owner, separators=(",", ":")) + "\n")
    for object_type, pipelines in dataset.hs_pipelines.items():
        (root / HS_DIR / "pipelines" / f"{object_type}.json").write_text(json.dumps(pipelines, indent=1))
    if dataset.ground_truth:
        gt = root / GT_DIR
        gt.mkdir()
        schema: dict[str, dict[str, str]] = {}
        for name, frame in dataset.ground_truth.items():
            frame.to_csv(gt / f"{name}.csv", index=False)
            schema[name] = {str(c): str(t) for c, t in frame.dtypes.items()}
        (gt / "_schema.json").write_text(json.dumps(schema, indent=1, sort_keys=True))


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _sf_select(dataset: Dataset, obj: str) -> str:
    cols = []
    for f in stored_fields(dataset.sf_describe[obj]):
        q = quote_ident(f["name"])
        if f["type"] == "datetime":
            cols.append(f"strftime({q}, '%Y-%m-%dT%H:%M:%S.%g+0000') AS {q}")
        elif f["type"] == "date":
            cols.append(f"CAST({q} AS VARCHAR) AS {q}")
        else:
            cols.append(q)
    return f'SELECT {", ".join(cols)} FROM {dataset.sf_table(obj)} ORDER BY "Id"'


def _hs_select(dataset: Dataset, object_type: str) -> str:
    props = dataset.hs_property_names(object_type)
    struct = ", ".join(f"'{_sql_str(p)}': {quote_ident(p)}" for p in props) if props else "'_': NULL"
    fmt = "'%Y-%m-%dT%H:%M:%S.%gZ'"
    return (
        f"SELECT id, {{{struct}}} AS properties, strftime(\"createdAt\", {fmt}) AS \"createdAt\", "
        f"strftime(\"updatedAt\", {fmt}) AS \"updatedAt\", archived, strftime(\"archivedAt\", {fmt}) AS \"archivedAt\" "
        f"FROM {dataset.hs_table(object_type)} ORDER BY TRY_CAST(id AS BIGINT), id"
    )


def _copy_jsonl(cur: duckdb.DuckDBPyConnection, select_sql: str, path: Path) -> None:
    cur.execute(f"COPY ({select_sql}) TO '{_sql_str(str(path))}' (FORMAT JSON)").fetchall()


# ---- reading ----------------------------------------------------------------------------------

def load(folder: str | Path, *, progress: bool = False) -> Dataset:
    """Load a dataset folder, validating every file; raises :class:`DatasetError` naming file and line."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(root, "dataset folder does not exist")
    meta = _read_json_file(root / "dataset.json") if (root / "dataset.json").exists() else {}
    clock = _clock_from(meta, root)
    dataset = Dataset.empty(clock=clock, meta={k: v for k, v in meta.items() if k != "clock"})
    with dataset.lock:
        cur = dataset.cursor()
        cur.execute("SET TimeZone='UTC'")
        sf_files = sorted((root / SF_DIR).glob("*.jsonl")) if (root / SF_DIR).is_dir() else []
        for path in _iter_progress(sf_files, "salesforce", progress):
            _load_sf_object(dataset, cur, root, path)
        hs_files = sorted((root / HS_DIR).glob("*.jsonl")) if (root / HS_DIR).is_dir() else []
        for path in _iter_progress([p for p in hs_files if p.name != "owners.jsonl"], "hubspot", progress):
            _load_hs_object(dataset, cur, root, path)
        for path in sorted((root / HS_DIR / ASSOC_DIR).glob("*.jsonl")) if (root / HS_DIR / ASSOC_DIR).is_dir() else []:
            _load_associations(dataset, cur, path)
        cur.close()
    owners = root / HS_DIR / "owners.jsonl"
    if owners.exists():
        dataset.hs_owners = _read_jsonl_python(owners)
    for path in sorted((root / HS_DIR / "pipelines").glob("*.json")) if (root / HS_DIR / "pipelines").is_dir() else []:
        pipelines = _read_json_file(path)
        if not isinstance(pipelines, list):
            raise DatasetError(path, "expected a JSON list of pipelines")
        dataset.hs_pipelines[path.stem] = pipelines
    if (root / GT_DIR).is_dir():
        dataset.ground_truth = _load_ground_truth(root / GT_DIR)
    return dataset


def _clock_from(meta: dict[str, Any], root: Path) -> datetime:
    if "clock" in meta:
        try:
            clock = datetime.fromisoformat(meta["clock"])
        except (TypeError, ValueError) as exc:
            raise DatasetError(root / "dataset.json", f"bad clock {meta['clock']!r}: {exc}", field="clock") from exc
        return clock if clock.tzinfo else clock.replace(tzinfo=UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DatasetError(path, f"not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from exc


def _read_jsonl_python(path: Path) -> list[dict[str, Any]]:
    records = []
    for line_no, record in _scan_jsonl(path):
        records.append(record)
        del line_no
    return records


def _scan_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) for each non-blank line; raise naming the first bad line."""
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except UnicodeDecodeError as exc:
                raise DatasetError(path, f"not UTF-8 text: {exc}", line=line_no) from exc
            except json.JSONDecodeError as exc:
                raise DatasetError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=line_no) from exc
            if not isinstance(record, dict):
                raise DatasetError(path, f"expected a JSON object, got {type(record).__name__}", line=line_no)
            yield line_no, record


def _json_keys(cur: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        rows = cur.execute(
            "SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects(?, format='newline_delimited')",
            [str(path)],
        ).fetchall()
    except duckdb.Error:
        _raise_first_bad_line(path)
        raise
    return [r[0] for r in rows]


def _raise_first_bad_line(path: Path) -> None:
    for _ in _scan_jsonl(path):
        pass


def _read_varchar(cur: duckdb.DuckDBPyConnection, path: Path, columns: list[str], json_cols: Iterable[str] = ()):
    spec = {c: ("JSON" if c in set(json_cols) else "VARCHAR") for c in columns}
    try:
        return cur.read_json(str(path), format="newline_delimited", columns=spec)
    except duckdb.Error:
        _raise_first_bad_line(path)
        raise


def _describe_for(root: Path, obj: str, keys: list[str], path: Path) -> dict[str, Any]:
    describe_path = root / SF_DIR / DESCRIBE_DIR / f"{obj}.json"
    if describe_path.exists():
        describe = _read_json_file(describe_path)
        if not isinstance(describe, dict) or not isinstance(describe.get("fields"), list):
            raise DatasetError(describe_path, "a describe document needs a 'fields' list")
        return describe
    from .schema_salesforce import standard_describe

    custom = [k for k in keys if k.endswith("__c")]
    try:
        return standard_describe(obj, custom)
    except KeyError as exc:
        raise DatasetError(path, f"{obj} is not a standard object; add salesforce/_describe/{obj}.json") from exc


def _load_sf_object(dataset: Dataset, cur: duckdb.DuckDBPyConnection, root: Path, path: Path) -> None:
    obj = path.stem
    keys = [k for k in _json_keys(cur, path) if k != "attributes"]
    describe = _describe_for(root, obj, keys, path)
    fields = stored_fields(describe)
    by_name = {f["name"]: f for f in fields}
    unknown = [k for k in keys if k not in by_name]
    if unknown:
        line = _first_line_with_key(path, unknown[0])
        raise DatasetError(path, f"{unknown[0]!r} is not a field of {obj} (not in its describe)", line=line,
                           field=unknown[0])
    if keys and "Id" not in keys:
        raise DatasetError(path, f"{obj} records need an 'Id'", field="Id")
    column_defs = ", ".join(f"{quote_ident(f['name'])} {duck_type(f)}" for f in fields)
    cur.execute(f"CREATE OR REPLACE TABLE {dataset.sf_table(obj)} ({column_defs})")
    dataset.sf_describe[obj] = describe
    if not keys:
        return
    rel = _read_varchar(cur, path, keys)
    cur.register("raw_src", rel)
    casts = [_sf_cast(quote_ident(k), by_name[k]) for k in keys]
    failures = " OR ".join(
        f"({quote_ident(k)} IS NOT NULL AND {c} IS NULL)" for k, c in zip(keys, casts, strict=True)
    )
    bad = cur.execute(f"SELECT * FROM raw_src WHERE {failures} OR \"Id\" IS NULL LIMIT 1").fetchall()
    if bad:
        cur.unregister("raw_src")
        _raise_sf_value_error(path, describe)
    cur.execute(
        f"INSERT INTO {dataset.sf_table(obj)} ({', '.join(quote_ident(k) for k in keys)}) "
        f"SELECT {', '.join(casts)} FROM raw_src"
    )
    cur.unregister("raw_src")


def _sf_cast(col: str, field: dict[str, Any]) -> str:
    t = field["type"]
    if t == "datetime":
        return f"CAST(TRY_CAST({col} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if t == "boolean":
        return f"(CASE WHEN {col} = 'true' THEN TRUE WHEN {col} = 'false' THEN FALSE END)"
    if duck_type(field) == "VARCHAR":
        return f"(CASE WHEN NOT starts_with({col}, '{{') AND NOT starts_with({col}, '[') THEN {col} END)"
    return f"TRY_CAST({col} AS {duck_type(field)})"


def _raise_sf_value_error(path: Path, describe: dict[str, Any]) -> None:
    types = {f["name"]: f["type"] for f in stored_fields(describe)}
    for line_no, record in _scan_jsonl(path):
        if record.get("Id") in (None, ""):
            raise DatasetError(path, "record has no Id", line=line_no, field="Id")
        for key, value in record.items():
            if key == "attributes":
                continue
            try:
                sf_python_value(value, types[key])
            except (ValueError, TypeError) as exc:
                raise DatasetError(path, f"bad {types[key]} value {value!r}: {exc}", line=line_no, field=key) from exc
    raise DatasetError(path, "a value could not be converted to its field type")


def _first_line_with_key(path: Path, key: str) -> int | None:
    for line_no, record in _scan_jsonl(path):
        if key in record:
            return line_no
    return None


def _load_hs_object(dataset: Dataset, cur: duckdb.DuckDBPyConnection, root: Path, path: Path) -> None:
    object_type = path.stem
    keys = _json_keys(cur, path)
    allowed = {"id", "properties", "createdAt", "updatedAt", "archived", "archivedAt", "associations"}
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        raise DatasetError(path, f"unexpected key {unknown[0]!r}; HubSpot records have {sorted(allowed)}",
                           line=_first_line_with_key(path, unknown[0]), field=unknown[0])
    columns = [c for c in ("id", "properties", "createdAt", "updatedAt", "archived", "archivedAt") if c in keys]
    definitions_path = root / HS_DIR / PROPERTIES_DIR / f"{object_type}.json"
    definitions = _read_json_file(definitions_path) if definitions_path.exists() else None
    if not keys:
        dataset.put_hs(object_type, pd.DataFrame({c: [] for c in HS_BASE_COLUMNS}),
                       [d["name"] for d in definitions or []])
        dataset.hs_properties[object_type] = definitions or []
        return
    rel = _read_varchar(cur, path, columns, json_cols=("properties",))
    cur.register("raw_src", rel)
    props: list[str] = []
    if "properties" in columns:
        props = [r[0] for r in cur.execute(
            "SELECT DISTINCT unnest(json_keys(properties)) AS k FROM raw_src ORDER BY k").fetchall()]
    ts = {c: f"CAST(TRY_CAST({quote_ident(c)} AS TIMESTAMPTZ) AS TIMESTAMP)" for c in ("createdAt", "updatedAt",
                                                                                         "archivedAt")}
    select = [
        "id",
        *(f"{ts[c]} AS {quote_ident(c)}" if c in columns else f"CAST(NULL AS TIMESTAMP) AS {quote_ident(c)}"
          for c in ("createdAt", "updatedAt", "archivedAt")),
        "COALESCE(archived = 'true', FALSE) AS archived" if "archived" in columns else "FALSE AS archived",
        *(f"properties->>'{_sql_str(p)}' AS {quote_ident(p)}" for p in props),
    ]
    checks = ["id IS NULL", "(archived IS NOT NULL AND archived NOT IN ('true', 'false'))" if "archived" in columns
              else "FALSE"]
    checks += [f"({quote_ident(c)} IS NOT NULL AND {ts[c]} IS NULL)" for c in ("createdAt", "updatedAt", "archivedAt")
               if c in columns]
    if "properties" in columns:
        checks.append("(properties IS NOT NULL AND json_type(properties) <> 'OBJECT')")
    if cur.execute(f"SELECT 1 FROM raw_src WHERE {' OR '.join(checks)} LIMIT 1").fetchall():
        cur.unregister("raw_src")
        _raise_hs_value_error(path)
    frame = cur.sql(f"SELECT {', '.join(select)} FROM raw_src").to_arrow_table()
    cur.unregister("raw_src")
    extra = [d["name"] for d in definitions or [] if d["name"] not in props]
    dataset.put_hs(object_type, frame, extra)
    dataset.hs_properties[object_type] = definitions or [_inferred_property(p) for p in props]


def _raise_hs_value_error(path: Path) -> None:
    for line_no, record in _scan_jsonl(path):
        if record.get("id") in (None, ""):
            raise DatasetError(path, "record has no id", line=line_no, field="id")
        if "properties" in record and not isinstance(record["properties"], dict):
            raise DatasetError(path, "properties must be a JSON object", line=line_no, field="properties")
        if "archived" in record and not isinstance(record["archived"], bool):
            raise DatasetError(path, f"archived must be true/false, got {record['archived']!r}", line=line_no,
                               field="archived")
        for key in ("createdAt", "updatedAt", "archivedAt"):
            value = record.get(key)
            if value is None:
                continue
            try:
                datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError as exc:
                raise DatasetError(path, f"bad timestamp {value!r}", line=line_no, field=key) from exc
    raise DatasetError(path, "a record could not be read")


def _inferred_property(name: str) -> dict[str, Any]:
    return {"name": name, "label": name, "type": "string", "fieldType": "text", "groupName": "inferred",
            "description": "", "options": [], "displayOrder": -1, "calculated": False, "externalOptions": False,
            "hasUniqueValue": False, "hidden": False, "hubspotDefined": False, "formField": False,
            "archived": False}


def _load_associations(dataset: Dataset, cur: duckdb.DuckDBPyConnection, path: Path) -> None:
    if "__" not in path.stem:
        raise DatasetError(path, "association files are named <from>__<to>.jsonl")
    from_type, to_type = path.stem.split("__", 1)
    keys = _json_keys(cur, path)
    if not keys:
        return
    required = ["from_id", "to_id", "category", "type_id"]
    missing = [k for k in required if k not in keys]
    if missing:
        raise DatasetError(path, f"association records need {required}; missing {missing}", field=missing[0])
    columns = [*required, *(["label"] if "label" in keys else [])]
    rel = _read_varchar(cur, path, columns)
    cur.register("raw_src", rel)
    bad = cur.execute(
        "SELECT 1 FROM raw_src WHERE from_id IS NULL OR to_id IS NULL OR category IS NULL "
        "OR TRY_CAST(type_id AS INTEGER) IS NULL LIMIT 1"
    ).fetchall()
    if bad:
        cur.unregister("raw_src")
        for line_no, record in _scan_jsonl(path):
            for key in required:
                if record.get(key) in (None, ""):
                    raise DatasetError(path, f"missing {key}", line=line_no, field=key)
            if not isinstance(record["type_id"], int):
                raise DatasetError(path, f"type_id must be an integer, got {record['type_id']!r}", line=line_no,
                                   field="type_id")
        raise DatasetError(path, "an association could not be read")
    label = "label" if "label" in keys else "NULL"
    cur.execute(
        f"INSERT INTO hs.associations ({', '.join(ASSOCIATION_COLUMNS)}) SELECT '{_sql_str(from_type)}', "
        f"'{_sql_str(to_type)}', from_id, to_id, category, CAST(type_id AS INTEGER), {label} FROM raw_src"
    )
    cur.unregister("raw_src")


def _load_ground_truth(folder: Path) -> dict[str, pd.DataFrame]:
    schema_path = folder / "_schema.json"
    schema = _read_json_file(schema_path) if schema_path.exists() else {}
    out: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.glob("*.csv")):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"malformed CSV: {exc}") from exc
        for column, dtype in schema.get(path.stem, {}).items():
            if column not in frame.columns:
                raise DatasetError(path, "column listed in _schema.json is missing", field=column)
            try:
                if dtype.startswith("float"):
                    frame[column] = pd.to_numeric(frame[column].mask(frame[column] == "")).astype(dtype)
                elif dtype.startswith("int"):
                    frame[column] = frame[column].astype(dtype)
                elif dtype == "bool":
                    frame[column] = frame[column].map({"True": True, "False": False}).astype(bool)
            except (ValueError, TypeError) as exc:
                raise DatasetError(path, f"values are not {dtype}: {exc}", field=column) from exc
        out[path.stem] = frame
    return out
