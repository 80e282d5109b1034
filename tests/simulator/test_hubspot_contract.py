"""Contract tests: the REAL hubspot-api-client 12.0.0 against the HubSpot half of the simulator.

Tests share one server over one dataset, reset before each test (faults, counters, quotas, revoked
tokens); tests that need other settings start their own.
Rate limits are off unless a test is about them, so bursts of calls never trip the 5/s search limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
import requests
import urllib3
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest

from connectors.clients import hubspot_client
from connectors.simulator.server.faults import FaultPlan
from connectors.simulator.server.http import ApiServer
from connectors.simulator.server.hubspot.api import HubSpotApi
from connectors.simulator.server.hubspot.ratelimit import RateLimiter
from connectors.simulator.server.settings import HubSpotSettings
from tests.simulator import hs_fixtures as fx

TOKEN = "pat-test"


@pytest.fixture(scope="module")
def dataset():
    ds = fx.build_dataset()
    yield ds
    ds.con.close()


@contextmanager
def serve(dataset, **settings: Any) -> Iterator[ApiServer]:
    settings.setdefault("enforce_rate_limits", False)
    faults = FaultPlan()
    plugin = HubSpotApi(dataset, HubSpotSettings(**settings), faults)
    server = ApiServer(plugin, faults)
    plugin.base_url = server.base_url
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(dataset) -> Iterator[ApiServer]:
    with serve(dataset) as srv:
        yield srv


@pytest.fixture
def server(shared_server: ApiServer) -> ApiServer:
    """The module's server with a clean slate: no faults, counters, spent quota or revoked tokens
    (starting a server per test would cost half a second of shutdown polling each)."""
    plugin = shared_server.plugin
    assert isinstance(plugin, HubSpotApi)
    shared_server.faults.clear()
    shared_server.reset_counters()
    plugin.revoked.clear()
    plugin.limiter = RateLimiter(plugin.settings)
    return shared_server


@pytest.fixture
def client(server):
    return hubspot_client(server.base_url, TOKEN)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """The fixture tables as plain pandas, the oracle for search results."""
    return {"companies": fx.companies(), "contacts": fx.contacts(), "deals": fx.deals()}


def api_error(call: Callable[[], Any]) -> Any:
    """The exception a client call raises (each sub-package has its own ApiException classes)."""
    with pytest.raises(Exception) as info:  # the classes differ per sub-package
        call()
    assert hasattr(info.value, "status"), info.value
    return info.value


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def live(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["archived"]]


# -- list / get ---------------------------------------------------------------------------------

def test_companies_pages_to_the_end_with_paging_omitted(client) -> None:
    seen: list[str] = []
    after, pages = None, 0
    while True:
        page = client.crm.companies.basic_api.get_page(limit=100, after=after, properties=["name", "annualrevenue"])
        pages += 1
        seen.extend(r.id for r in page.results)
        for r in page.results:
            assert r.archived is False
            assert set(r.properties) >= {"name", "annualrevenue", "hs_object_id", "createdate", "hs_lastmodifieddate"}
            assert all(v is None or isinstance(v, str) for v in r.properties.values())
        if page.paging is None:
            break
        after = page.paging.next.after
    expected = live(fx.companies())["id"].tolist()
    assert pages == 3
    assert seen == expected  # numeric id order, each record exactly once


def test_engagement_type_pages_through_the_generic_objects_api(client) -> None:
    page = client.crm.objects.basic_api.get_page("calls", limit=100, properties=["hs_call_title"])
    assert page.paging is None
    assert [r.id for r in page.results] == live(fx.calls())["id"].tolist()
    assert page.results[0].properties["hs_call_title"] == "Discovery call 1"
    assert set(page.results[0].properties) == {"hs_call_title", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    calls = client.crm.objects.calls.basic_api.get_page(limit=5)
    assert len(calls.results) == 5 and calls.paging.next.after


def test_archived_true_returns_only_archived_records(client) -> None:
    page = client.crm.companies.basic_api.get_page(limit=100, archived=True)
    expected = fx.companies().query("archived")["id"].tolist()
    assert [r.id for r in page.results] == expected
    assert all(r.archived and r.archived_at is not None for r in page.results)
    assert page.paging is None


def test_get_all_helpers_stop_on_the_last_page(client) -> None:
    assert len(client.crm.companies.get_all()) == len(live(fx.companies()))
    # crm.objects.get_all only checks `paging is None`; paging: {} would be an AttributeError
    assert len(client.crm.objects.get_all("calls")) == len(live(fx.calls()))


def test_raw_wire_comma_lists_lowercase_booleans_defaults_and_unknown_properties(server) -> None:
    url = f"{server.base_url}/crm/v3/objects/companies"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = requests.get(url, headers=auth, params={"properties": "name,nope,domain", "archived": "false",
                                                   "limit": "2"}).json()
    assert set(body["results"][0]["properties"]) == {"name", "domain", "hs_object_id", "createdate",
                                                     "hs_lastmodifieddate"}
    default = requests.get(url, headers=auth, params={"limit": "1"}).json()["results"][0]["properties"]
    assert set(default) == {"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"}
    assert requests.get(url, headers=auth, params={"limit": "101"}).status_code == 400
    unknown = requests.get(f"{server.base_url}/crm/v3/objects/widgets", headers=auth)
    assert unknown.status_code == 400 and unknown.json()["category"] == "VALIDATION_ERROR"
    # the object type id and the singular name resolve to the same type
    assert requests.get(f"{server.base_url}/crm/v3/objects/0-2", headers=auth).json()["results"][0]["id"] == "1"


def test_get_single_object_batch_read_and_not_found(client) -> None:
    company = client.crm.companies.basic_api.get_by_id("7", properties=["name"], associations=["contacts"])
    assert company.properties["name"] == "Company 7"
    assert len(company.associations["contacts"].results) > 1000
    err = api_error(lambda: client.crm.companies.basic_api.get_by_id("999999"))
    assert type(err).__name__ == "NotFoundException" and err.status == 404
    body = {"inputs": [{"id": "1"}, {"id": "2"}, {"id": "999999"}], "properties": ["name"]}
    result = client.crm.companies.batch_api.read(body)
    assert sorted(r.id for r in result.results) == ["1", "2"]
    assert result.num_errors == 1 and result.errors[0].context == {"ids": ["999999"]}


# -- search ---------------------------------------------------------------------------------------

def _search_all(api: Any, body: dict[str, Any]) -> tuple[list[str], int]:
    ids: list[str] = []
    body = {**body, "limit": 200}
    while True:
        page = api.do_search(body)
        ids.extend(r.id for r in page.results)
        if page.paging is None:
            return ids, page.total
        body["after"] = page.paging.next.after


def _expected(df: pd.DataFrame, prop: str, since_ms: int) -> list[str]:
    stamps = df[prop].map(ms)
    hit = live(df)[stamps[~df["archived"]] >= since_ms]
    # ascending by the property, ties broken by numeric id
    return hit.assign(_ms=hit[prop].map(ms), _id=hit["id"].astype(int)).sort_values(["_ms", "_id"])["id"].tolist()


@pytest.mark.parametrize("as_iso", [False, True])
def test_search_gte_last_modified_matches_a_python_filter(client, frames, as_iso) -> None:
    since = "2024-01-08T00:00:00.000Z"
    value = since if as_iso else str(ms(since))
    body = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE",
                                           "value": value}]}],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["name", "hs_lastmodifieddate"]}
    ids, total = _search_all(client.crm.companies.search_api, body)
    expected = _expected(frames["companies"], "hs_lastmodifieddate", ms(since))
    assert 0 < len(expected) < len(live(frames["companies"]))
    assert ids == expected and total == len(expected)


@pytest.mark.parametrize("as_iso", [False, True])
def test_contacts_search_uses_lastmodifieddate(client, frames, as_iso) -> None:
    since = "2024-03-01T00:02:00.123Z"  # inside the 300 one-second-apart contacts
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                           "value": since if as_iso else str(ms(since))}]}],
            "sorts": ["lastmodifieddate"], "properties": ["email"]}
    ids, total = _search_all(client.crm.contacts.search_api, body)
    expected = _expected(frames["contacts"], "lastmodifieddate", ms(since))
    assert len(expected) == 300 - 120
    assert ids == expected and total == len(expected)


def test_search_caps_at_ten_thousand_results(client) -> None:
    body: dict[str, Any] = {
        "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200, "after": "9800",
    }
    page = client.crm.contacts.search_api.do_search(body)
    assert page.total == fx.N_CONTACTS and len(page.results) == 200
    assert page.paging.next.after == "10000"  # offered, although following it fails
    body["after"] = page.paging.next.after
    err = api_error(lambda: client.crm.contacts.search_api.do_search(body))
    assert err.status == 400 and type(err).__name__ == "ApiException"
    assert json.loads(err.body)["category"] == "VALIDATION_ERROR"


def _search_ids(server: ApiServer, object_type: str, body: dict[str, Any]) -> list[str]:
    resp = requests.post(f"{server.base_url}/crm/v3/objects/{object_type}/search", json={"limit": 200, **body},
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert "paging" not in data and all("associations" not in r for r in data["results"])
    return [r["id"] for r in data["results"]]


def _where(df: pd.DataFrame, mask: pd.Series) -> list[str]:
    return df[mask & ~df["archived"]]["id"].tolist()


def test_search_operators_against_pandas(server, frames) -> None:
    deals, companies = frames["deals"], frames["companies"]
    amount = deals["amount"].astype(float)

    def f(prop: str, op: str, **kw: Any) -> dict[str, Any]:
        return {"filterGroups": [{"filters": [{"propertyName": prop, "operator": op, **kw}]}]}

    cases = [
        ("deals", f("amount", "GT", value="6000"), _where(deals, amount > 6000)),  # numeric, not lexical
        ("deals", f("amount", "BETWEEN", value="3000", highValue="9000"), _where(deals, amount.between(3000, 9000))),
        ("deals", f("dealstage", "IN", values=["closedwon"]), _where(deals, deals["dealstage"] == "closedwon")),
        ("deals", f("dealtype", "NEQ", value="newbusiness"), _where(deals, deals["dealtype"] != "newbusiness")),
        ("deals", f("hs_object_id", "LT", value="10"), _where(deals, deals["id"].astype(int) < 10)),
        ("deals", f("closedate", "LT", value="2024-02-05"),
         _where(deals, deals["closedate"] < "2024-02-05")),
        ("companies", f("domain", "NOT_HAS_PROPERTY"), _where(companies, companies["domain"].isna())),
        ("companies", f("name", "CONTAINS_TOKEN", value="17"), _where(companies, companies["name"] == "Company 17")),
        ("companies", f("domain", "CONTAINS_TOKEN", value="*12.example.com"),
         _where(companies, companies["domain"].fillna("").str.endswith("12.example.com"))),
        ("companies", f("name", "EQ", value="company 3"), _where(companies, companies["name"] == "Company 3")),
        ("companies", {"filterGroups": [  # groups are ORed, filters ANDed
            {"filters": [{"propertyName": "numberofemployees", "operator": "LTE", "value": "11"},
                         {"propertyName": "industry", "operator": "EQ", "value": "COMPUTER_SOFTWARE"}]},
            {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": "2"}]}]},
         _where(companies, ((companies["numberofemployees"].astype(int) <= 11)
                            & (companies["industry"] == "COMPUTER_SOFTWARE")) | (companies["id"] == "2"))),
    ]
    for object_type, body, expected in cases:
        got = _search_ids(server, object_type, {**body, "sorts": ["hs_object_id"]})
        assert got == expected, body
        assert expected, body  # every case must select something to prove anything


def test_search_multi_checkbox_and_descending_string_sort(server, frames) -> None:
    contacts = frames["contacts"]
    body = {"filterGroups": [{"filters": [
        {"propertyName": "hs_buying_role", "operator": "EQ", "value": "DECISION_MAKER"},
        {"propertyName": "hs_object_id", "operator": "LTE", "value": "40"}]}], "sorts": ["-hs_object_id"]}
    expected = contacts[(contacts["hs_buying_role"] == "CHAMPION;DECISION_MAKER")
                        & (contacts["id"].astype(int) <= 40)]["id"].tolist()[::-1]
    assert _search_ids(server, "contacts", body) == expected


def test_search_never_returns_archived_and_validates(server) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{server.base_url}/crm/v3/objects/companies/search"
    ids = _search_ids(server, "companies", {"sorts": ["hs_object_id"], "limit": 200, "after": "200"})
    assert "250" not in ids and "249" in ids
    bad = requests.post(url, headers=auth, json={"filterGroups": [{"filters": [
        {"propertyName": "no_such_prop", "operator": "EQ", "value": "x"}]}]})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    assert "no_such_prop" in bad.json()["message"]
    too_many_groups = {"filterGroups": [{"filters": [{"propertyName": "name", "operator": "HAS_PROPERTY"}]}] * 6}
    assert requests.post(url, headers=auth, json=too_many_groups).status_code == 400
    too_many_filters = {"filterGroups": [{"filters": [{"propertyName": "name", "operator": "HAS_PROPERTY"}] * 7}]}
    assert requests.post(url, headers=auth, json=too_many_filters).status_code == 400
    assert requests.post(url, headers=auth, json={"limit": 201}).status_code == 400
    resp = requests.post(url, headers=auth, json={})
    assert resp.status_code == 200 and len(resp.json()["results"]) == 10  # default page size
    assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in resp.headers)


def test_search_lag_hides_recent_changes(server) -> None:
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}]}
    url = f"{server.base_url}/crm/v3/objects/contacts/search"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # the clock is 2024-06-01: a 95-day lag hides the 300 contacts changed on 2024-03-01, not the older ones
    server.faults.add("search_lag", "hs.search", delay=95 * 86400, times=None)
    assert requests.post(url, headers=auth, json=body).json()["total"] == fx.SHARED_CONTACT_STAMPS
    server.faults.clear()
    assert requests.post(url, headers=auth, json=body).json()["total"] == fx.N_CONTACTS


# -- associations ---------------------------------------------------------------------------------

def test_associations_v4_batch_read_with_labels_and_per_record_paging(client, server) -> None:
    api = client.crm.associations.v4.batch_api
    req = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": "1"}, {"id": "999"}, {"id": "7"}])
    result = api.get_page("companies", "contacts", req)
    assert result.status == "COMPLETE"
    by_from = {r._from.id: r for r in result.results}
    assert set(by_from) == {"1", "7"}  # inputs without associations are omitted (200)
    one = {t.to_object_id: t.association_types for t in by_from["1"].to}
    assert all(isinstance(k, str) for k in one)
    labelled = {(a.category, a.type_id, a.label) for a in one["10"]}
    assert labelled == {("HUBSPOT_DEFINED", 280, None), ("HUBSPOT_DEFINED", 2, "Primary"),
                        ("USER_DEFINED", fx.DECISION_MAKER_TYPE, "Decision maker")}
    assert by_from["1"].paging is None
    # company 7 has 1,200 contacts: pages of 500 per from-record
    seen = [t.to_object_id for t in by_from["7"].to]
    after = by_from["7"].paging.next.after
    while after:
        page = api.get_page("companies", "contacts",
                            BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": "7", "after": after}]))
        seen.extend(t.to_object_id for t in page.results[0].to)
        after = page.results[0].paging.next.after if page.results[0].paging else None
    assert seen == [str(i) for i in range(1, 1201)]
    raw = requests.post(f"{server.base_url}/crm/v4/associations/deals/contacts/batch/read",
                        json={"inputs": [{"id": "2"}]}, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert raw["results"][0]["to"][0]["toObjectId"] == 2  # a number on the wire


def test_associations_207_for_missing_when_configured(dataset) -> None:
    with serve(dataset, associations_207_for_missing=True) as srv:
        api = hubspot_client(srv.base_url, TOKEN).crm.associations.v4.batch_api
        result, status, _ = api.get_page_with_http_info(
            "deals", "companies", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": "1"}, {"id": "999"}]))
        assert status == 207 and result.num_errors == 1
        assert [r._from.id for r in result.results] == ["1"]
        too_many = {"inputs": [{"id": str(i)} for i in range(1001)]}
        assert api.api_client.configuration.host == srv.base_url
        err = api_error(lambda: api.get_page("deals", "companies", too_many))
        assert err.status == 400


# -- owners, pipelines, properties ------------------------------------------------------------------

def test_owners_pages_and_get_all(client) -> None:
    owners = client.crm.owners.owners_api
    first = owners.get_page(limit=2)
    assert [o.id for o in first.results] == ["101", "102"] and first.paging.next.after
    last = owners.get_page(limit=2, after=first.paging.next.after)
    assert [o.id for o in last.results] == ["103"] and last.paging is None
    assert [o.email for o in client.crm.owners.get_all()] == [f"owner{k}@example.com" for k in (1, 2, 3)]
    assert [o.id for o in owners.get_page(archived=True).results] == ["104"]
    assert [o.id for o in owners.get_page(email="owner2@example.com").results] == ["102"]
    assert owners.get_by_id(9003, id_property="userId").id == "103"


def test_pipelines_and_properties(client) -> None:
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals")
    stages = {s.id: s.metadata for s in pipelines.results[0].stages}
    assert stages["appointmentscheduled"] == {"isClosed": "false", "probability": "0.2"}
    assert stages["closedwon"] == {"isClosed": "true", "probability": "1.0"}
    assert client.crm.pipelines.pipeline_stages_api.get_all("deals", "default").results[0].id == "appointmentscheduled"
    props = client.crm.properties.core_api.get_all("deals")
    assert {p.name for p in props.results} >= {"amount", "dealstage", "dealtype"}
    dealtype = next(p for p in props.results if p.name == "dealtype")
    assert [o.value for o in dealtype.options] == ["newbusiness", "existingbusiness"]
    archived = client.crm.properties.core_api.get_all("companies", archived=True)
    assert [p.name for p in archived.results] == ["legacy_score"]


# -- errors, quotas, retries ------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "message"), [
    ("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."),
    ("DAILY", "You have reached your daily limit."),
])
def test_rate_limit_fault_is_a_plain_api_exception_without_retry_after(client, server, policy, message) -> None:
    server.faults.add("rate_limit", "hs.objects.list", policy=policy)
    err = api_error(lambda: client.crm.companies.basic_api.get_page(limit=1))
    assert err.status == 429 and type(err).__name__ == "ApiException"
    body = json.loads(err.body)
    assert body["policyName"] == policy and body["message"] == message and body["errorType"] == "RATE_LIMIT"
    assert "Retry-After" not in err.headers
    assert server.counters["hs.objects.list"] == 1  # no silent retry


def test_retry_after_makes_urllib3_retry_gets_but_not_posts(client, server) -> None:
    server.faults.add("rate_limit", "hs.objects.list", times=2, retry_after=0)
    assert client.crm.companies.basic_api.get_page(limit=1).results
    assert server.counters["hs.objects.list"] == 3
    server.faults.add("rate_limit", "hs.search", times=2, retry_after=0)
    err = api_error(lambda: client.crm.companies.search_api.do_search({"limit": 1}))
    assert err.status == 429 and err.headers["Retry-After"] == "0"
    assert server.counters["hs.search"] == 1


def test_custom_retry_policy_retries_posts(dataset) -> None:
    retry = urllib3.util.Retry(total=3, status_forcelist=[429], allowed_methods=None, backoff_factor=0,
                               raise_on_status=False)
    with serve(dataset) as srv:
        srv.faults.add("rate_limit", "hs.search", times=2)
        page = hubspot_client(srv.base_url, TOKEN, retry=retry).crm.companies.search_api.do_search({"limit": 1})
        assert page.total == len(live(fx.companies())) and srv.counters["hs.search"] == 3


def test_enforced_quotas_and_rate_limit_headers(dataset) -> None:
    with serve(dataset, enforce_rate_limits=True, ten_secondly_max=3, search_per_second=2) as srv:
        client = hubspot_client(srv.base_url, TOKEN)
        _, _, headers = client.crm.companies.basic_api.get_page_with_http_info(limit=1)
        assert headers["X-HubSpot-RateLimit-Max"] == "3" and headers["X-HubSpot-RateLimit-Remaining"] == "2"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert "X-HubSpot-RateLimit-Daily-Remaining" in headers
        client.crm.companies.basic_api.get_page(limit=1)
        client.crm.companies.basic_api.get_page(limit=1)
        err = api_error(lambda: client.crm.companies.basic_api.get_page(limit=1))
        assert err.status == 429 and json.loads(err.body)["policyName"] == "TEN_SECONDLY_ROLLING"
        # search has its own per-second window, untouched by the burst above
        client.crm.companies.search_api.do_search({"limit": 1})
        client.crm.companies.search_api.do_search({"limit": 1})
        err = api_error(lambda: client.crm.companies.search_api.do_search({"limit": 1}))
        body = json.loads(err.body)
        assert err.status == 429 and body["policyName"] == "SECONDLY"
        assert body["message"] == "You have reached your secondly limit."
    with serve(dataset, enforce_rate_limits=True, daily_max=1) as srv:
        client = hubspot_client(srv.base_url, TOKEN)
        client.crm.owners.owners_api.get_page()
        err = api_error(lambda: client.crm.owners.owners_api.get_page())
        assert err.status == 429 and json.loads(err.body)["policyName"] == "DAILY"


def test_authentication_errors(dataset) -> None:
    with serve(dataset, require_credentials=True, access_token="pat-good") as srv:
        assert hubspot_client(srv.base_url, "pat-good").crm.companies.basic_api.get_page(limit=1).results
        err = api_error(lambda: hubspot_client(srv.base_url, "pat-bad").crm.companies.basic_api.get_page())
        assert type(err).__name__ == "UnauthorizedException" and err.status == 401
        assert json.loads(err.body)["category"] == "INVALID_AUTHENTICATION"
        missing = requests.get(f"{srv.base_url}/crm/v3/objects/companies")
        body = missing.json()
        assert missing.status_code == 401 and body["message"].startswith("Authentication credentials not found.")
        assert set(body) == {"status", "message", "correlationId", "category"}


def test_session_expired_fault_revokes_the_token(client, server) -> None:
    server.faults.add("session_expired", "hs.objects.list")
    err = api_error(lambda: client.crm.companies.basic_api.get_page())
    assert err.status == 401 and json.loads(err.body)["category"] == "EXPIRED_AUTHENTICATION"
    err = api_error(lambda: client.crm.owners.owners_api.get_page())
    assert err.status == 401
    assert hubspot_client(server.base_url, "pat-other").crm.owners.owners_api.get_page().results


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_surface_as_service_exception(client, server, status) -> None:
    server.faults.add("status", "hs.objects.*", status=status)
    err = api_error(lambda: client.crm.objects.basic_api.get_page("calls"))
    assert type(err).__name__ == "ServiceException" and err.status == status
    assert json.loads(err.body)["status"] == "error"


def test_generated_dataset_pages_every_object_type() -> None:
    generate = pytest.importorskip("connectors.simulator.dataset.generate").generate
    ds = generate(scale="tiny", seed=42, as_of=datetime(2024, 6, 1, tzinfo=UTC).date())
    with serve(ds) as srv:
        client = hubspot_client(srv.base_url, TOKEN)
        for object_type in ds.hs_object_types():
            props = [p["name"] for p in ds.hs_properties.get(object_type, [])]
            ids, after = [], None
            while True:
                page = client.crm.objects.basic_api.get_page(object_type, limit=100, after=after, properties=props)
                ids.extend(r.id for r in page.results)
                if page.paging is None:
                    break
                after = page.paging.next.after
            expected = [r["id"] for r in ds.hs_records(object_type) if not r["archived"]]
            assert ids == expected, object_type
