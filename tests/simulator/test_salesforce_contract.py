"""Contract tests: the REAL simple-salesforce client against the simulated Salesforce org.

Every test goes through ``connectors.clients.salesforce_client`` (the https->http loopback adapter),
so login hosts, REST, query paging and Bulk 2.0 are exercised exactly as the pipeline uses them.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.clients import salesforce_client
from connectors.simulator.server.faults import FaultPlan
from connectors.simulator.server.http import ApiServer
from connectors.simulator.server.salesforce.api import SalesforceApi
from connectors.simulator.server.settings import SalesforceSettings

from .sf_fixtures import CLOCK, N_ACCOUNTS, build_dataset

BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}
CREDS = {"username": "ann@example.com", "password": "pw", "security_token": "TOK"}


@pytest.fixture(scope="module")
def dataset():
    return build_dataset()


@contextmanager
def serve(dataset, settings: SalesforceSettings | None = None) -> Iterator[ApiServer]:
    faults = FaultPlan()
    plugin = SalesforceApi(dataset, settings or SalesforceSettings(), faults)
    server = ApiServer(plugin, faults)
    plugin.base_url = server.base_url  # type: ignore[attr-defined]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(dataset):
    with serve(dataset) as srv:
        yield srv


@pytest.fixture
def sf(server):
    server.faults.clear()
    return salesforce_client(server.base_url, **CREDS)


def live_account_ids(dataset, include_deleted: bool = False) -> list[str]:
    cutoff = CLOCK.replace(tzinfo=None) - timedelta(days=15)
    if include_deleted:  # all but the rows past the recycle bin
        return [r["Id"] for r in dataset.sf_records("Account", 'NOT ("IsDeleted" AND "SystemModstamp" < ?)', [cutoff])]
    return [r["Id"] for r in dataset.sf_records("Account", 'NOT "IsDeleted"')]


def error_code(exc_info) -> str:
    return exc_info.value.content[0]["errorCode"]


# ---- authentication --------------------------------------------------------------------------

def test_soap_login_with_security_token(server, sf):
    assert sf.sf_instance == f"127.0.0.1:{server.port}"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3


def test_soap_login_with_organization_id(server):
    sf = salesforce_client(server.base_url, username="ann", password="pw", organizationId="00D5g000000SimAAA")
    assert sf.auth_type == "ipfilter"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_oauth_password_flow(server):
    sf = salesforce_client(server.base_url, username="ann", password="pw", consumer_key="ck", consumer_secret="cs")
    assert sf.auth_type == "password" and sf.sf_instance == f"127.0.0.1:{server.port}"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_jwt_bearer_flow(server):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    sf = salesforce_client(server.base_url, username="ann", consumer_key="ck", privatekey=pem)
    assert sf.auth_type == "jwt-bearer"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_client_credentials_flow(server):
    sf = salesforce_client(server.base_url, consumer_key="ck", consumer_secret="cs", domain="acme.my")
    assert sf.auth_type == "client-credentials"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_direct_session(server):
    sf = salesforce_client(server.base_url, session_id="any-token-works")
    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_required_credentials(dataset):
    settings = SalesforceSettings(require_credentials=True, username="ann", password="pw", security_token="TOK",
                                  consumer_key="ck", consumer_secret="cs")
    with serve(dataset, settings) as srv:
        good = salesforce_client(srv.base_url, username="ann", password="pw", security_token="TOK")
        assert good.query("SELECT Id FROM User")["totalSize"] == 3
        with pytest.raises(SalesforceAuthenticationFailed) as soap:
            salesforce_client(srv.base_url, username="ann", password="wrong", security_token="TOK")
        assert soap.value.code == "INVALID_LOGIN"
        assert "Invalid username, password, security token" in soap.value.auth_message
        with pytest.raises(SalesforceAuthenticationFailed) as oauth:
            salesforce_client(srv.base_url, username="ann", password="nope", consumer_key="ck", consumer_secret="cs")
        assert oauth.value.code == "invalid_grant"
        with pytest.raises(SalesforceExpiredSession):
            salesforce_client(srv.base_url, session_id="not-issued").query("SELECT Id FROM User")


# ---- query, paging, deleted rows -------------------------------------------------------------

def test_query_all_iter_pages_every_row_once_in_order(server, sf, dataset):
    server.reset_counters()
    records = list(sf.query_all_iter("SELECT Id, Name FROM Account ORDER BY Id", headers=BATCH_200))
    assert [r["Id"] for r in records] == live_account_ids(dataset)
    assert len(records) > 400
    assert server.counters["sf.query"] == 1 and server.counters["sf.query_more"] == 2


def test_first_page_shape(sf):
    page = sf.query("SELECT Id FROM Account", headers=BATCH_200)
    assert list(page) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert page["done"] is False and len(page["records"]) == 200
    assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert page["nextRecordsUrl"].endswith("-200")
    more = sf.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1], headers={"Sforce-Query-Options": "batchSize=5"})
    assert len(more["records"]) == 200  # batchSize is clamped to 200..2000
    same = sf.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1], include_deleted=True)  # /queryAll/{locator}
    assert same["records"][:200] == more["records"] and same["totalSize"] == page["totalSize"]
    last = sf.query("SELECT Id FROM Account LIMIT 3")
    assert last["done"] is True and "nextRecordsUrl" not in last and last["totalSize"] == 3


def test_query_all_shows_deleted_rows_and_query_hides_them(sf, dataset):
    live = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Account", headers=BATCH_200))
    every = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Account", include_deleted=True, headers=BATCH_200))
    assert not any(r["IsDeleted"] for r in live)
    assert sorted(r["Id"] for r in every) == sorted(live_account_ids(dataset, include_deleted=True))
    deleted = [r for r in every if r["IsDeleted"]]
    assert len(deleted) == len(every) - len(live) == 15  # the 16th is past the recycle bin: hard-deleted
    assert len(every) < N_ACCOUNTS


def test_archived_tasks_only_through_query_all(sf):
    visible = {r["Subject"] for r in sf.query_all("SELECT Subject FROM Task")["records"]}
    everything = {r["Subject"] for r in sf.query_all("SELECT Subject FROM Task", include_deleted=True)["records"]}
    assert everything - visible == {"Call 3", "Call 4", "Call 5"}


def test_record_json_shapes(sf):
    recs = sf.query("SELECT Id, Name, AnnualRevenue, NumberOfEmployees, CustomerSince__c, SystemModstamp, "
                    "IsDeleted, Owner.Name, Parent.Owner.Name, BillingAddress FROM Account ORDER BY Id LIMIT 14")
    first, second = recs["records"][0], recs["records"][1]
    assert first["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{first['Id']}"}
    assert list(first)[1:] == ["Id", "Name", "AnnualRevenue", "NumberOfEmployees", "CustomerSince__c",
                               "SystemModstamp", "IsDeleted", "Owner", "Parent", "BillingAddress"]
    assert first["SystemModstamp"] == "2024-06-05T12:00:00.123+0000"
    assert first["CustomerSince__c"] == "2020-01-01"
    assert first["AnnualRevenue"] is None and first["Owner"] is None and first["BillingAddress"] is None
    assert second["AnnualRevenue"] == 1000.5 and second["NumberOfEmployees"] == 3 and second["IsDeleted"] is False
    assert second["Owner"]["attributes"]["type"] == "User" and second["Owner"]["Name"] == "Bob Seller"
    assert second["Parent"]["Owner"] is None  # Parent is account 0, which has no owner
    assert second["BillingAddress"] == {"city": "City 1", "country": "US"}
    polymorphic = sf.query("SELECT Subject, What.Name, What.Type FROM Task WHERE Subject IN ('Call 0', 'Call 1', "
                           "'Call 2') ORDER BY Subject")["records"]
    assert [p["What"] and p["What"]["attributes"]["type"] for p in polymorphic] == ["Account", "Opportunity", None]


def test_systemmodstamp_tie_break_paging(sf, dataset):
    """Incremental sync with ``> X OR (= X AND Id > last)`` visits every row once despite shared stamps."""
    seen: list[str] = []
    where = ""
    while True:
        page = sf.query(f"SELECT Id, SystemModstamp FROM Account {where} ORDER BY SystemModstamp, Id LIMIT 50")
        if not page["records"]:
            break
        seen += [r["Id"] for r in page["records"]]
        last = page["records"][-1]
        stamp = last["SystemModstamp"].replace("+0000", "Z")
        where = f"WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > '{last['Id']}')"
    assert sorted(seen) == sorted(live_account_ids(dataset)) and len(seen) == len(set(seen))


@pytest.mark.parametrize("literal", ["2024-06-05T12:05:00Z", "2024-06-05T12:05:00.000Z",
                                     "2024-06-05T14:05:00+02:00", "2024-06-05T07:05:00-05:00",
                                     "2024-06-05T12:05:00.000+0000"])
def test_datetime_literal_forms(sf, literal):
    # stamps are grouped 7 per minute from 12:00:00.123; ">= 12:05:00" skips the first 5 minutes (35 rows)
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    assert sf.query(f"SELECT COUNT() FROM Account WHERE SystemModstamp >= {literal}")["totalSize"] == total - 35 + 1


def test_quoted_datetime_is_invalid_field(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'")
    assert error_code(info) == "INVALID_FIELD"
    assert "should not be enclosed in quotes" in info.value.content[0]["message"]


# ---- errors map to the library's exceptions --------------------------------------------------

@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id, Bogus__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Bogus__c", "INVALID_TYPE"),
    ("SELECT Type, COUNT(Id) FROM Account GROUP BY Type", "MALFORMED_QUERY"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY"),
    ("SELECT FIELDS(ALL) FROM Account LIMIT 200", "MALFORMED_QUERY"),
    ("SELECT TYPEOF What WHEN Account THEN Name END FROM Task", "MALFORMED_QUERY"),
])
def test_bad_soql_is_a_400_with_the_error_code(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    assert info.value.status == 400 and error_code(info) == code


def test_invalid_and_expired_query_locators(dataset):
    with serve(dataset, SalesforceSettings(query_locator_ttl_seconds=0.3)) as srv:
        sf = salesforce_client(srv.base_url, **CREDS)
        with pytest.raises(SalesforceMalformedRequest) as bogus:
            sf.query_more("01gBOGUS-200")
        assert error_code(bogus) == "INVALID_QUERY_LOCATOR"
        page = sf.query("SELECT Id FROM Account", headers=BATCH_200)
        time.sleep(0.5)
        with pytest.raises(SalesforceMalformedRequest) as expired:
            sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        assert error_code(expired) == "INVALID_QUERY_LOCATOR"
        assert len(srv.plugin.cursors) == 0  # expired snapshots are dropped


def test_injected_faults_raise_the_matching_exceptions(server, sf):
    server.faults.add("request_limit", "sf.query")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM User")
    assert error_code(refused) == "REQUEST_LIMIT_EXCEEDED"
    for status, code in ((500, "UNKNOWN_EXCEPTION"), (503, "SERVER_UNAVAILABLE")):
        server.faults.add("status", "sf.query", status=status)
        with pytest.raises(SalesforceGeneralError) as general:
            sf.query("SELECT Id FROM User")
        assert general.value.status == status and error_code(general) == code
    server.faults.add("invalid_query_locator", "sf.query_more")
    with pytest.raises(SalesforceMalformedRequest) as locator:
        list(sf.query_all_iter("SELECT Id FROM Account", headers=BATCH_200))
    assert error_code(locator) == "INVALID_QUERY_LOCATOR"
    server.faults.add("drop_next", "sf.query")
    with pytest.raises(KeyError):  # done:false without nextRecordsUrl (trap 2)
        list(sf.query_all_iter("SELECT Id FROM User"))


def test_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("001000000000000AAA")
    with pytest.raises(SalesforceResourceNotFound):
        sf.Bogus.describe()


def test_daily_api_limit(dataset):
    with serve(dataset, SalesforceSettings(daily_api_max=3)) as srv:
        sf = salesforce_client(srv.base_url, **CREDS)
        for _ in range(3):
            sf.query("SELECT Id FROM User")
        assert sf.api_usage["api-usage"].used == 3 and sf.api_usage["api-usage"].total == 3
        with pytest.raises(SalesforceRefusedRequest) as info:
            sf.query("SELECT Id FROM User")
        assert error_code(info) == "REQUEST_LIMIT_EXCEEDED"
        assert info.value.content[0]["message"] == "TotalRequests Limit exceeded."


def test_sforce_limit_info_is_parsed(sf):
    sf.query("SELECT Id FROM User")
    first = sf.api_usage["api-usage"].used
    sf.query("SELECT Id FROM User")
    assert sf.api_usage["api-usage"].used == first + 1 and sf.api_usage["api-usage"].total == 15_000


def test_expired_session_on_a_direct_session(server):
    sf = salesforce_client(server.base_url, session_id="direct-token")
    server.faults.add("session_expired", "sf.query")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceExpiredSession):  # the token was revoked: only a new login recovers
        sf.query("SELECT Id FROM User")


def test_login_client_recovers_from_session_expiry(dataset):
    with serve(dataset, SalesforceSettings(session_ttl_requests=2)) as srv:
        sf = salesforce_client(srv.base_url, **CREDS)
        records = list(sf.query_all_iter("SELECT Id FROM Account ORDER BY Id", headers=BATCH_200))
        assert [r["Id"] for r in records] == live_account_ids(dataset)
        assert srv.counters["sf.login.soap"] == 2
        srv.faults.add("session_expired", "sf.query")
        assert sf.query("SELECT Id FROM User")["totalSize"] == 3


# ---- describe, records, limits, replication ---------------------------------------------------

def test_describe(sf):
    glob = sf.describe()
    assert glob["encoding"] == "UTF-8" and glob["maxBatchSize"] == 200
    account = next(o for o in glob["sobjects"] if o["name"] == "Account")
    assert account["keyPrefix"] == "001" and account["queryable"] and account["replicateable"]
    assert account["urls"]["describe"] == "/services/data/v59.0/sobjects/Account/describe"
    desc = sf.Account.describe()
    fields = {f["name"]: f for f in desc["fields"]}
    assert fields["OwnerId"]["relationshipName"] == "Owner" and fields["OwnerId"]["referenceTo"] == ["User"]
    assert fields["CustomerSince__c"]["custom"] is True and fields["BillingAddress"]["type"] == "address"
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"


def test_get_record_and_deleted_record(sf, dataset):
    ids = live_account_ids(dataset)
    rec = sf.Account.get(ids[1])
    assert rec["Id"] == ids[1] and rec["BillingAddress"] == {"city": "City 1", "country": "US"}
    deleted = dataset.sf_records("Account", '"IsDeleted"')[0]["Id"]
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Account.get(deleted)
    assert error_code(info) == "ENTITY_IS_DELETED"


def test_updated_and_deleted(sf):
    end = CLOCK
    start = CLOCK - timedelta(days=3)
    updated = sf.Contact.updated(start, end)
    assert len(updated["ids"]) == 59 and updated["latestDateCovered"] == "2024-06-15T12:00:00.000+0000"
    gone = sf.Account.deleted(CLOCK - timedelta(days=20), end)
    assert len(gone["deletedRecords"]) == 15 and set(gone["deletedRecords"][0]) == {"id", "deletedDate"}
    assert gone["earliestDateAvailable"] == "2024-05-31T12:00:00.000+0000"


def test_limits(sf):
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15_000
    for key in ("DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB", "DataStorageMB"):
        assert set(limits[key]) == {"Max", "Remaining"}


# ---- Bulk API 2.0 --------------------------------------------------------------------------------

def parse_pages(pages: list[str], delimiter: str = ",") -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for page in pages:
        rows += list(csv.DictReader(io.StringIO(page, newline=""), delimiter=delimiter))
    return rows


def test_bulk2_query_matches_rest(server, sf):
    soql = "SELECT Id, Name, Owner.Name, AnnualRevenue, SystemModstamp, IsDeleted FROM Account ORDER BY Id"
    server.reset_counters()
    pages = list(sf.bulk2.Account.query(soql, max_records=200, wait=0.1))
    assert len(pages) == 3 and all(p.startswith('"Id","Name","Owner.Name",') for p in pages)
    assert server.counters["sf.bulk2.results"] == 3
    rows = parse_pages(pages)
    rest = sf.query_all(soql)["records"]
    assert len(rows) == len(rest)
    for row, rec in zip(rows, rest, strict=True):
        assert row["Id"] == rec["Id"] and row["Name"] == rec["Name"]
        assert row["Owner.Name"] == ((rec["Owner"] or {}).get("Name") or "")
        assert row["AnnualRevenue"] == ("" if rec["AnnualRevenue"] is None else str(rec["AnnualRevenue"]))
        assert row["SystemModstamp"] == rec["SystemModstamp"].replace("+0000", "Z")
        assert row["IsDeleted"] == "false"
    assert ',,' in pages[0]  # nulls are empty, unquoted cells


def test_bulk2_query_all_delimiters_and_line_endings(sf):
    pages = list(sf.bulk2.Task.query_all("SELECT Id, Subject FROM Task", column_delimiter="PIPE",
                                         line_ending="CRLF", wait=0.1))
    assert len(pages) == 1 and pages[0].startswith('"Id"|"Subject"\r\n')
    assert len(parse_pages(pages, "|")) == 30


@pytest.mark.parametrize("soql", ["SELECT Id, BillingAddress FROM Account", "SELECT Id FROM Account OFFSET 5",
                                  "SELECT COUNT() FROM Account"])
def test_bulk2_refusals_fail_the_job(sf, soql):
    with pytest.raises(SalesforceOperationError, match="not supported"):
        list(sf.bulk2.Account.query(soql, wait=0.1))


def test_bulk2_invalid_soql_is_rejected_at_creation(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        list(sf.bulk2.Account.query("SELECT Nope FROM Account", wait=0.1))
    assert error_code(info) == "INVALID_FIELD"


def test_bulk2_job_lifecycle(sf):
    url = sf.bulk2_url + "query"
    job = sf.session.post(url, json={"operation": "query", "query": "SELECT Id FROM User"}, headers=sf.headers).json()
    assert job["object"] == "User" and job["state"] == "UploadComplete"
    early = sf.session.get(f"{url}/{job['id']}/results", headers=sf.headers)
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    states = [sf.session.get(f"{url}/{job['id']}", headers=sf.headers).json()["state"] for _ in range(2)]
    assert states == ["InProgress", "JobComplete"]
    done = sf.session.get(f"{url}/{job['id']}/results", headers=sf.headers)
    assert done.headers["Sforce-NumberOfRecords"] == "3" and done.headers["Sforce-Locator"] == "null"
    assert sf.session.delete(f"{url}/{job['id']}", headers=sf.headers).status_code == 204
    assert sf.session.get(f"{url}/{job['id']}", headers=sf.headers).status_code == 404
    other = sf.session.post(url, json={"operation": "queryAll", "query": "SELECT Id FROM User"},
                            headers=sf.headers).json()
    aborted = sf.session.patch(f"{url}/{other['id']}", json={"state": "Aborted"}, headers=sf.headers)
    assert aborted.json()["state"] == "Aborted"
    assert sf.session.get(f"{url}/{other['id']}", headers=sf.headers).json()["state"] == "Aborted"


# ---- a generated dataset, when the generator exists ------------------------------------------

def test_generated_tiny_dataset_serves_every_object():
    """query_all_iter (REST queryAll) and Bulk 2.0 queryAll return every served row of every object."""
    generate = pytest.importorskip("connectors.simulator.dataset.generate").generate
    ds = generate(scale="tiny", seed=42, as_of=CLOCK.date())
    cutoff = ds.clock.replace(tzinfo=None) - timedelta(days=SalesforceSettings().recycle_bin_days)
    with serve(ds) as srv:
        sf = salesforce_client(srv.base_url, **CREDS)
        for obj in ds.sf_objects():
            describe = sf.restful(f"sobjects/{obj}/describe")
            fields = {f["name"]: f for f in describe["fields"]}
            names = [n for n, f in fields.items() if f["type"] not in ("address", "location")]
            expected = ds.sf_records(obj, '"IsDeleted" IS NOT TRUE OR "SystemModstamp" >= ?', [cutoff]) \
                if "IsDeleted" in fields else ds.sf_records(obj)
            soql = f"SELECT {', '.join(names)} FROM {obj} ORDER BY Id"
            records = list(sf.query_all_iter(soql, include_deleted=True, headers=BATCH_200))
            assert [r["Id"] for r in records] == [r["Id"] for r in expected], obj
            assert [{k: v for k, v in r.items() if k != "attributes"} for r in records] == expected, obj
            pages = list(getattr(sf.bulk2, obj).query_all(soql, wait=0.05))
            assert len(parse_pages(pages)) == len(expected), obj
