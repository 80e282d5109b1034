"""The HubSpot CRM API plugin: routes, bearer auth, quotas, HubSpot's error bodies and headers.

Wire reference: crm_api_wire.md PART B. The real hubspot-api-client 12.0.0 must work unchanged, so
status codes are exact (trap 20), ``paging`` is omitted on last pages (trap 13), every property value
is a string (trap 14) and 429s carry no ``Retry-After`` unless a fault asks for one (trap 17).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from ...dataset.store import Dataset, hs_format_datetime
from ..faults import Fault, FaultPlan
from ..http import ApiPlugin, HttpError, Request, Response, Route
from ..settings import HubSpotSettings
from . import associations
from .assoc_index import AssociationIndex
from .metadata import Metadata
from .objects import STANDARD_TYPES, TYPE_ALIASES, ObjectStore, parse_bool, parse_limit, singular
from .ratelimit import MESSAGES, RateLimiter
from .search import SearchLimits, search

OBJECTS = r"/crm/v3/objects/(?P<type>[^/]+)"
SEARCH_ROUTE = "hs.search"
BATCH_READ_MAX_INPUTS = 100
NO_CREDENTIALS = ("Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                  "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
_ERROR_EXTRAS = ("errors", "context", "links", "subCategory")
_STATUS_CATEGORIES = {500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


def _bearer(request: Request) -> str:
    header = request.header("authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _retry_after(seconds: float | None) -> dict[str, str]:
    # urllib3 only honours whole seconds (or an HTTP date), so round up
    return {} if seconds is None else {"Retry-After": str(max(0, math.ceil(seconds)))}


class HubSpotApi(ApiPlugin):
    name = "hubspot"

    def __init__(self, dataset: Dataset, settings: HubSpotSettings, faults: FaultPlan) -> None:
        self.dataset = dataset
        self.settings = settings
        self.faults = faults
        self.base_url = "http://127.0.0.1"  # replaced by the server's URL once it is bound
        self.store = ObjectStore(dataset)
        self.association_index = AssociationIndex()
        self.metadata = Metadata(dataset)
        self.limiter = RateLimiter(settings)
        self.revoked: set[str] = set()

    def routes(self) -> list[Route]:
        return [
            Route("GET", OBJECTS, "hs.objects.list", self.list_objects),
            Route("POST", OBJECTS + r"/search", SEARCH_ROUTE, self.search),
            Route("POST", OBJECTS + r"/batch/read", "hs.objects.batch_read", self.batch_read),
            Route("GET", OBJECTS + r"/(?P<id>[^/]+)", "hs.objects.get", self.get_object),
            Route("POST", r"/crm/v4/associations/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/read",
                  "hs.associations.batch_read", self.associations_batch_read),
            Route("GET", r"/crm/v3/owners/?", "hs.owners", self.owners),
            Route("GET", r"/crm/v3/owners/(?P<id>[^/]+)", "hs.owners.get", self.owner),
            Route("GET", r"/crm/v3/pipelines/(?P<type>[^/]+)", "hs.pipelines", self.pipelines),
            Route("GET", r"/crm/v3/pipelines/(?P<type>[^/]+)/(?P<id>[^/]+)", "hs.pipelines.get", self.pipeline),
            Route("GET", r"/crm/v3/pipelines/(?P<type>[^/]+)/(?P<id>[^/]+)/stages", "hs.pipelines.stages",
                  self.stages),
            Route("GET", r"/crm/v3/properties/(?P<type>[^/]+)", "hs.properties", self.properties),
            Route("GET", r"/crm/v3/properties/(?P<type>[^/]+)/(?P<name>[^/]+)", "hs.properties.get",
                  self.property),
        ]

    # -- errors, auth, quotas, faults ----------------------------------------------------------
    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        if code == "RATE_LIMIT":
            body = {"status": "error", "message": message, "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()), "policyName": extra.get("policyName"),
                    "requestId": str(uuid.uuid4())}
        else:
            body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": code}
            body.update({k: extra[k] for k in _ERROR_EXTRAS if k in extra})
        return Response.json(body, status, _retry_after(extra.get("retry_after")))

    def authenticate(self, request: Request, route: Route) -> None:
        line = len(request.method) + len(request.path) + len(urlencode(request.query, doseq=True)) + 11
        if self.settings.max_request_line and line > self.settings.max_request_line:
            raise HttpError(414, "URI_TOO_LONG", f"Request-URI Too Long: the request line has about {line} characters "
                                                 f"(limit {self.settings.max_request_line})")
        token = _bearer(request)
        if not token:
            raise HttpError(401, "INVALID_AUTHENTICATION", NO_CREDENTIALS)
        if token in self.revoked:
            raise HttpError(401, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired.")
        if self.settings.require_credentials and token != self.settings.access_token:
            raise HttpError(401, "INVALID_AUTHENTICATION", "The access token used to make this call is not valid.")
        policy = self.limiter.admit(token, route.name == SEARCH_ROUTE, self.settings.enforce_rate_limits)
        if policy is not None:
            raise HttpError(429, "RATE_LIMIT", MESSAGES[policy], policyName=policy)

    def fault_response(self, fault: Fault, request: Request, route: Route) -> Response:
        if fault.kind == "status":
            status = fault.status or 500
            category = _STATUS_CATEGORIES.get(status, "INTERNAL_ERROR")
            return self.error(status, category, f"Injected HTTP {status}", retry_after=fault.retry_after)
        if fault.kind == "rate_limit":
            policy = fault.policy if fault.policy in MESSAGES else "TEN_SECONDLY_ROLLING"
            return self.error(429, "RATE_LIMIT", MESSAGES[policy], policyName=policy, retry_after=fault.retry_after)
        if fault.kind == "session_expired":
            token = _bearer(request)
            if token:
                self.revoked.add(token)
            return self.error(401, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired.")
        return super().fault_response(fault, request, route)

    def decorate(self, request: Request, route: Route, response: Response) -> None:
        token = _bearer(request)
        if route.name == SEARCH_ROUTE or not token:  # search responses carry no rate-limit headers
            return
        remaining, daily_remaining = self.limiter.remaining(token)
        response.headers.update({
            "X-HubSpot-RateLimit-Max": str(self.settings.ten_secondly_max),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": str(self.settings.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        })

    def search_lag(self) -> float:
        fault = self.faults.active("search_lag", SEARCH_ROUTE)
        return max(self.settings.search_lag_seconds, fault.delay if fault is not None else 0.0)

    # -- objects -------------------------------------------------------------------------------
    def _association_types(self, names: list[str]) -> list[str]:
        return [TYPE_ALIASES.get(n.lower(), n.lower()) for n in names]

    def _attach_associations(self, object_type: str, records: list[dict[str, Any]], names: list[str]) -> None:
        if not names or not records:
            return
        with self.dataset.reading() as cur:
            links = associations.v3_associations(cur, object_type, self._association_types(names),
                                                 [r["id"] for r in records])
        for rec in records:
            if rec["id"] in links:
                rec["associations"] = links[rec["id"]]

    def list_objects(self, request: Request, match: re.Match[str]) -> Response:
        ot = self.store.resolve(match["type"])
        limit = parse_limit(request.param("limit"), 10, self.settings.max_list_limit)
        props = self.store.output_properties(ot, request.params("properties"))
        names = request.params("associations")
        # without associations the records arrive as JSON text rendered by DuckDB and are spliced in as is
        rows, next_after = self.store.list_page(ot, props, limit, request.param("after"),
                                                parse_bool(request.param("archived")), as_json=not names)
        paging = None
        if next_after is not None:  # omitted on the last page (trap 13)
            link = f"{self.base_url}/crm/v3/objects/{match['type']}?limit={limit}&after={quote(next_after)}"
            paging = {"next": {"after": next_after, "link": link}}
        if names:
            self._attach_associations(ot.name, rows, names)
            return Response.json({"results": rows} if paging is None else {"results": rows, "paging": paging})
        tail = "" if paging is None else ',"paging":' + json.dumps(paging, separators=(",", ":"), ensure_ascii=False)
        return Response.json_text('{"results":[' + ",".join(text for _, text in rows) + "]" + tail + "}")

    def get_object(self, request: Request, match: re.Match[str]) -> Response:
        ot = self.store.resolve(match["type"])
        id_property = request.param("idProperty")
        requested = request.params("properties") + ([id_property] if id_property else [])
        props = self.store.output_properties(ot, requested)
        rows = self.store.read_ids(ot, props, [match["id"]], parse_bool(request.param("archived")), id_property)
        if not rows:
            raise HttpError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.",
                            context={"id": [match["id"]]})
        self._attach_associations(ot.name, rows, request.params("associations"))
        return Response.json(rows[0])

    def batch_read(self, request: Request, match: re.Match[str]) -> Response:
        started = hs_format_datetime(datetime.now(UTC))
        ot = self.store.resolve(match["type"])
        body = request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or any(not isinstance(i, dict) or "id" not in i for i in inputs):
            raise HttpError(400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' must be a list of {\"id\": ...}")
        if len(inputs) > BATCH_READ_MAX_INPUTS:
            raise HttpError(400, "VALIDATION_ERROR",
                            f"Too many inputs: {len(inputs)} were sent, the maximum is {BATCH_READ_MAX_INPUTS}")
        id_property = body.get("idProperty")
        requested = [str(p) for p in body.get("properties") or []] + ([id_property] if id_property else [])
        props = self.store.output_properties(ot, requested)
        ids = list(dict.fromkeys(str(i["id"]) for i in inputs))
        archived = parse_bool(request.param("archived")) or bool(body.get("archived", False))
        rows = self.store.read_ids(ot, props, ids, archived, id_property)
        key = (lambda r: r["properties"].get(id_property)) if id_property else (lambda r: r["id"])
        found = {key(r) for r in rows}
        if not id_property:  # merged-away ids are answered by the record they were merged into
            found |= {m for m, w in self.store.merged_winners(ot, ids, archived).items() if w in found}
        missing = [i for i in ids if i not in found]
        out: dict[str, Any] = {"status": "COMPLETE", "results": rows}
        status = 200
        if missing:
            status = 207
            out["numErrors"] = 1
            out["errors"] = [{
                "status": "error", "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {singular(ot.name).upper()} objects, they may be deleted or not "
                           "exist. Check that ids are valid.",
                "context": {"ids": missing}, "errors": [],
            }]
        out.update({"requestedAt": started, "startedAt": started,
                    "completedAt": hs_format_datetime(datetime.now(UTC))})
        return Response.json(out, status)

    def search(self, request: Request, match: re.Match[str]) -> Response:
        ot = self.store.resolve(match["type"])
        s = self.settings
        limits = SearchLimits(
            max_groups=s.max_filter_groups,
            max_filters_per_group=s.max_filters_per_group,
            max_filters_total=s.max_filters_total,
            max_limit=s.max_search_limit,
            result_cap=s.search_result_cap,
        )
        return Response.json(search(self.store, ot, request.json(), limits, self.search_lag(), self.dataset.clock))

    def associations_batch_read(self, request: Request, match: re.Match[str]) -> Response:
        from_type = self.store.resolve(match["from"]).name
        to_type = self.store.resolve(match["to"]).name
        body = request.json()
        with self.dataset.reading() as cur:
            status, out = associations.batch_read(cur, from_type, to_type, body,
                                                  self.settings.associations_207_for_missing, self.association_index)
        return Response.json(out, status)

    # -- metadata ------------------------------------------------------------------------------
    def owners(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.owners_page(request.param("limit"), request.param("after"),
                                                       request.param("email"), request.param("archived")))

    def owner(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.owner(match["id"], request.param("idProperty"),
                                                 request.param("archived")))

    def _metadata_type(self, raw: str) -> str:
        name = TYPE_ALIASES.get(raw.lower(), raw.lower())
        if name in STANDARD_TYPES or name in self.dataset.hs_pipelines or name in self.dataset.hs_properties:
            return name
        return self.store.resolve(raw).name  # 400 for a type the portal does not have

    def pipelines(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.pipelines(self._metadata_type(match["type"])))

    def pipeline(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.pipeline(self._metadata_type(match["type"]), match["id"]))

    def stages(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.stages(self._metadata_type(match["type"]), match["id"]))

    def properties(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.properties(self._metadata_type(match["type"]),
                                                      request.param("archived")))

    def property(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(self.metadata.property(self._metadata_type(match["type"]), match["name"]))
