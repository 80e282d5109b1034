"""Ask both simulated CRMs what they hold, through the official clients, and compare with the dataset.

Used by the demo (and anyone checking a replayed export) to prove the simulator answers
simple-salesforce and hubspot-api-client exactly as the dataset says it should.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clients import hubspot_client, salesforce_client
from .dataset.store import Dataset

SEARCH_REQUESTS_PER_SECOND = 4


@dataclass
class ProbeRow:
    system: str
    obj: str
    expected: int
    served: int

    @property
    def ok(self) -> bool:
        return self.expected == self.served


def _soql_datetime(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def probe_salesforce(dataset: Dataset, url: str, since: datetime | None = None) -> list[ProbeRow]:
    """Rows per object through queryAll (deleted rows included), optionally only those changed since."""
    sf = salesforce_client(url, username="demo@example.com", password="demo", security_token="demo")
    rows = []
    for obj in dataset.sf_objects():
        where, params = "", []
        soql = f"SELECT COUNT() FROM {obj}"
        fields = {f["name"] for f in dataset.sf_describe[obj]["fields"]}
        if since is not None:
            if "SystemModstamp" not in fields:
                continue
            soql += f" WHERE SystemModstamp > {_soql_datetime(since)}"
            where, params = '"SystemModstamp" > ?', [since.replace(tzinfo=None)]
        served = sf.query(soql, include_deleted=True)["totalSize"]  # COUNT() answers in totalSize
        expected = dataset.count(dataset.sf_table(obj)) if not where else _count_where(dataset, obj, where, params)
        rows.append(ProbeRow("salesforce", obj, expected, served))
    return rows


def _count_where(dataset: Dataset, obj: str, where: str, params: list[Any]) -> int:
    with dataset.reading() as cur:
        return cur.execute(f"SELECT count(*) FROM {dataset.sf_table(obj)} WHERE {where}", params).fetchall()[0][0]


def probe_hubspot(dataset: Dataset, url: str, since: datetime | None = None) -> list[ProbeRow]:
    """Live (non-archived) records per object type, or those changed since, counted by search."""
    client = hubspot_client(url, access_token="pat-demo")
    rows = []
    for object_type in dataset.hs_object_types():
        with dataset.reading() as cur:
            sql = f"SELECT count(*) FROM {dataset.hs_table(object_type)} WHERE NOT archived"
            params: list[Any] = []
            if since is not None:
                sql += ' AND "updatedAt" >= ?'
                params = [since.replace(tzinfo=None)]
            expected = cur.execute(sql, params).fetchall()[0][0]
        prop = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        filters = [] if since is None else [{"filters": [{"propertyName": prop, "operator": "GTE",
                                                          "value": str(int(since.timestamp() * 1000))}]}]
        body = {"filterGroups": filters, "limit": 1, "properties": ["hs_object_id"]}
        time.sleep(1 / SEARCH_REQUESTS_PER_SECOND)  # search has its own per-second limit
        served = client.crm.objects.search_api.do_search(object_type, body).total
        rows.append(ProbeRow("hubspot", object_type, expected, served))
    return rows
