"""Dataset folders: a save/load round trip is exact, and a bad file is named with its line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from connectors.simulator.dataset.folder import DatasetError, load, save
from connectors.simulator.dataset.store import Dataset

CLOCK = datetime(2025, 6, 30, tzinfo=UTC)
ACCOUNT_DESCRIBE = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Name", "type": "string"},
        {"name": "IsDeleted", "type": "boolean"},
        {"name": "AnnualRevenue", "type": "currency"},
        {"name": "NumberOfEmployees", "type": "int"},
        {"name": "SystemModstamp", "type": "datetime"},
        {"name": "LastActivityDate", "type": "date"},
        {"name": "BillingAddress", "type": "address"},
        {"name": "Tier__c", "type": "string", "custom": True},
    ],
}


def small_dataset() -> Dataset:
    ds = Dataset.empty(CLOCK, meta={"seed": 1, "scale": "hand"})
    ds.put_sf("Account", ACCOUNT_DESCRIBE, pd.DataFrame({
        "Id": ["001000000000001AAA", "001000000000002AAA"],
        "Name": ["Acme, \"Inc\"", "Ünïcode KK"],
        "IsDeleted": [False, True],
        "AnnualRevenue": [1500.5, None],
        "NumberOfEmployees": [12, None],
        "SystemModstamp": pd.to_datetime(["2025-01-02 03:04:05.678", "2025-06-29 23:59:59.999"]),
        "LastActivityDate": [pd.Timestamp("2025-01-02").date(), None],
        "Tier__c": ["A", None],
    }))
    ds.put_hs("companies", pd.DataFrame({
        "id": ["101", "9"],
        "createdAt": pd.to_datetime(["2024-01-01 00:00:00", "2024-02-01 00:00:00"]),
        "updatedAt": pd.to_datetime(["2025-01-01 00:00:00.500", "2025-02-01 00:00:00.000"]),
        "archived": [False, True],
        "archivedAt": pd.to_datetime([None, "2025-02-01 00:00:00"]),
        "name": ["Acme", "Beta"],
        "domain": ["acme.com", None],
    }), properties=["salesforceaccountid"])
    ds.hs_properties["companies"] = [{"name": n, "type": "string"} for n in ("name", "domain", "salesforceaccountid")]
    ds.put_associations(pd.DataFrame({
        "from_type": ["companies"], "to_type": ["contacts"], "from_id": ["101"], "to_id": ["7"],
        "category": ["HUBSPOT_DEFINED"], "type_id": [280], "label": [None],
    }))
    ds.hs_owners = [{"id": "41", "email": "ann@example.com", "firstName": "Ann", "archived": False}]
    ds.hs_pipelines = {"deals": [{"id": "default", "label": "Sales Pipeline", "stages": []}]}
    ds.ground_truth = {"t": pd.DataFrame({"k": ["a", ""], "x": [0.1 + 0.2, float("nan")], "n": [1, 2],
                                          "b": [True, False]})}
    return ds


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.sf_objects() == b.sf_objects()
    for obj in a.sf_objects():
        assert a.sf_records(obj) == b.sf_records(obj)
    assert a.hs_object_types() == b.hs_object_types()
    for object_type in a.hs_object_types():
        assert a.hs_records(object_type) == b.hs_records(object_type)
    with a.reading() as ca, b.reading() as cb:
        q = "SELECT * FROM hs.associations ORDER BY ALL"
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
    assert a.hs_owners == b.hs_owners
    assert a.hs_pipelines == b.hs_pipelines
    assert a.clock == b.clock
    assert a.ground_truth.keys() == b.ground_truth.keys()
    for name in a.ground_truth:
        pd.testing.assert_frame_equal(a.ground_truth[name], b.ground_truth[name], check_exact=True)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    original = small_dataset()
    out = save(original, tmp_path / "ds")
    line = json.loads((out / "salesforce" / "Account.jsonl").read_text().splitlines()[0])
    assert line["SystemModstamp"] == "2025-01-02T03:04:05.678+0000"
    assert "BillingAddress" not in line and "attributes" not in line
    company = json.loads((out / "hubspot" / "companies.jsonl").read_text().splitlines()[0])
    assert company["id"] == "9" and company["archived"] is True and company["updatedAt"].endswith("Z")
    assert_same(original, load(out))


def test_save_refuses_to_overwrite_without_permission(tmp_path: Path) -> None:
    save(small_dataset(), tmp_path / "ds")
    with pytest.raises(FileExistsError):
        save(small_dataset(), tmp_path / "ds")
    save(small_dataset(), tmp_path / "ds", overwrite=True)


def _corrupt(tmp_path: Path, rel: str, line_no: int, text: str) -> Path:
    out = save(small_dataset(), tmp_path / "ds")
    path = out / rel
    lines = path.read_text().splitlines()
    lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return out


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    out = _corrupt(tmp_path, "salesforce/Account.jsonl", 2, '{"Id": "001000000000002AAA", "Name": ')
    with pytest.raises(DatasetError) as err:
        load(out)
    assert err.value.path.endswith("salesforce/Account.jsonl")
    assert err.value.line == 2
    assert "Account.jsonl, line 2" in str(err.value)


def test_bad_value_names_line_and_field(tmp_path: Path) -> None:
    out = _corrupt(tmp_path, "salesforce/Account.jsonl", 2,
                   '{"Id": "001000000000002AAA", "SystemModstamp": "yesterday-ish"}')
    with pytest.raises(DatasetError) as err:
        load(out)
    assert (err.value.line, err.value.field) == (2, "SystemModstamp")


def test_unknown_field_is_rejected_with_its_line(tmp_path: Path) -> None:
    out = _corrupt(tmp_path, "salesforce/Account.jsonl", 2, '{"Id": "001000000000002AAA", "Nmae": "typo"}')
    with pytest.raises(DatasetError) as err:
        load(out)
    assert (err.value.line, err.value.field) == (2, "Nmae")


def test_hubspot_bad_archived_flag_is_named(tmp_path: Path) -> None:
    out = _corrupt(tmp_path, "hubspot/companies.jsonl", 1,
                   '{"id": "9", "properties": {}, "createdAt": "2024-01-01T00:00:00Z", "archived": "yes"}')
    with pytest.raises(DatasetError) as err:
        load(out)
    assert (err.value.line, err.value.field) == (1, "archived")


def test_association_without_type_id_is_named(tmp_path: Path) -> None:
    out = _corrupt(tmp_path, "hubspot/associations/companies__contacts.jsonl", 1,
                   '{"from_id": "101", "to_id": "7", "category": "HUBSPOT_DEFINED", "type_id": "x"}')
    with pytest.raises(DatasetError) as err:
        load(out)
    assert (err.value.line, err.value.field) == (1, "type_id")


def test_missing_files_mean_empty_objects(tmp_path: Path) -> None:
    (tmp_path / "ds" / "salesforce").mkdir(parents=True)
    ds = load(tmp_path / "ds")
    assert ds.sf_objects() == [] and ds.hs_object_types() == []


def test_generated_dataset_round_trips_unchanged(tmp_path: Path) -> None:
    from datetime import date

    from connectors.simulator.dataset.generate import generate

    original = generate("tiny", seed=11, as_of=date(2025, 6, 30))
    assert_same(original, load(save(original, tmp_path / "tiny")))
    # describes survive too, so a reloaded dataset serves the same fields
    reloaded = load(tmp_path / "tiny")
    assert reloaded.sf_describe == original.sf_describe
    assert reloaded.hs_properties == original.hs_properties
    assert reloaded.meta == original.meta
