"""The simulator's HTTP machinery: requests, responses, routing, fault injection and counters.

Each CRM API is an :class:`ApiPlugin` (its routes, auth, error shapes and headers) served by an
:class:`ApiServer`, a threaded HTTP/1.1 server bound to loopback. The plugin never sees sockets;
this module applies faults (see :mod:`.faults`) and turns any handler crash into the API's own
500 error body, so a client never receives a Python stack trace.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import socket
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import RESPONSE_KINDS, SHORT_CIRCUIT_KINDS, Fault, FaultPlan

log = logging.getLogger("acctwh.simulator")


class HttpError(Exception):
    """Raised by handlers to answer with the API's error shape (status, code, message)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        """A list parameter sent repeated (``?p=a&p=b``) and/or comma-separated (``?p=a,b``)."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v != "")
        return out

    def json(self) -> Any:
        if not self.body:
            raise HttpError(400, "JSON_PARSER_ERROR", "The request body is empty; a JSON document was expected")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(400, "JSON_PARSER_ERROR", f"The request body is not valid JSON: {exc}") from exc


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, body, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})

    @classmethod
    def json_text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON body that is already serialised (e.g. rendered by DuckDB)."""
        return cls(status, text.encode(), {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=UTF-8",
             headers: dict[str, str] | None = None) -> Response:
        return cls(status, text.encode(), {"Content-Type": content_type, **(headers or {})})


Handler = Callable[[Request, "re.Match[str]"], Response]


@dataclass
class Route:
    method: str
    pattern: str  # a regex matched against the whole path
    name: str  # stable endpoint name for counters and faults, e.g. "sf.query"
    handler: Handler
    auth: bool = True

    def __post_init__(self) -> None:
        self.regex = re.compile(self.pattern)


class ApiPlugin:
    """One CRM API: subclasses provide routes, authentication, error bodies and per-response headers."""

    name = "api"

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        raise NotImplementedError

    def authenticate(self, request: Request, route: Route) -> None:
        """Raise :class:`HttpError` when the request is not authorised."""

    def fault_response(self, fault: Fault, request: Request, route: Route) -> Response:
        """The response for a short-circuit fault; plugins override API-specific kinds."""
        if fault.kind == "status":
            status = fault.status or 500
            code = {503: "SERVER_UNAVAILABLE"}.get(status, "UNKNOWN_EXCEPTION")
            return self.error(status, code, f"Injected HTTP {status}")
        return self.error(500, "UNKNOWN_EXCEPTION", f"fault kind {fault.kind!r} is not supported by {self.name}")

    def mutate(self, fault: Fault, request: Request, route: Route, response: Response) -> Response:
        """API-specific response damage (e.g. Salesforce ``drop_next``); default: unchanged."""
        return response

    def decorate(self, request: Request, route: Route, response: Response) -> None:
        """Add headers every response carries (limit info, rate-limit headers)."""


class ApiServer:
    """A threaded HTTP server on 127.0.0.1 serving one :class:`ApiPlugin`."""

    def __init__(self, plugin: ApiPlugin, faults: FaultPlan, host: str = "127.0.0.1", port: int = 0,
                 log_requests: bool = False, clock: Callable[[], datetime] | None = None) -> None:
        self.plugin = plugin
        self.clock = clock  # server time for the Date header; None = wall clock
        self.faults = faults
        self.routes = plugin.routes()
        self.counters: Counter[str] = Counter()
        self.status_counters: Counter[tuple[str, int]] = Counter()
        self.log_requests = log_requests
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # a short poll interval keeps stop() fast; suites start and stop many servers
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sim-{self.plugin.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def reset_counters(self) -> None:
        with self._count_lock:
            self.counters.clear()
            self.status_counters.clear()

    # -- dispatch ----------------------------------------------------------------------------
    def resolve(self, method: str, path: str) -> tuple[Route, re.Match[str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            m = route.regex.fullmatch(path)
            if m:
                return route, m
        return None

    def handle(self, request: Request) -> tuple[Response, Fault | None, str]:
        """Answer one request; returns the response, a response-kind fault to apply, and the route name."""
        found = self.resolve(request.method, request.path)
        if found is None:
            resp = self.plugin.error(404, "NOT_FOUND", f"The requested resource does not exist: "
                                                       f"{request.method} {request.path}")
            return resp, None, "unrouted"
        route, match = found
        with self._count_lock:
            self.counters[route.name] += 1
        fault = self.faults.match(route.name, kinds=SHORT_CIRCUIT_KINDS)
        try:
            if fault is not None:
                resp = self.plugin.fault_response(fault, request, route)
            else:
                if route.auth:
                    self.plugin.authenticate(request, route)
                resp = route.handler(request, match)
                fault = self.faults.match(route.name, kinds=RESPONSE_KINDS - {"search_lag"})
                if fault is not None:
                    resp = self.plugin.mutate(fault, request, route, resp)
        except HttpError as exc:
            resp = self.plugin.error(exc.status, exc.code, exc.message, **exc.extra)
        except Exception:  # a simulator bug must look like a server error, never a stack trace on the wire
            log.error("simulator handler %s failed:\n%s", route.name, traceback.format_exc())
            resp = self.plugin.error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the simulator")
        try:
            self.plugin.decorate(request, route, resp)
        except Exception:
            log.error("decorating %s failed:\n%s", route.name, traceback.format_exc())
        with self._count_lock:
            self.status_counters[(route.name, resp.status)] += 1
        return resp, fault, route.name


def _damage(fault: Fault | None, body: bytes) -> bytes:
    if fault is None:
        return body
    if fault.kind == "truncated":
        return body[: max(1, len(body) // 2)]
    if fault.kind == "bad_json":
        return b"<html><body>upstream proxy error</body></html>"
    if fault.kind == "nan":
        text = body.decode("utf-8", "replace")
        # replace the first number value with a bare NaN, which strict JSON parsers reject
        text, n = re.subn(r'(":)(-?\d+(?:\.\d+)?)', r"\1NaN", text, count=1)
        return (text if n else text.replace("{", '{"value":NaN,', 1)).encode()
    if fault.kind == "duplicate_keys":
        text = body.decode("utf-8", "replace")
        m = re.search(r'\{"([^"]+)":', text)
        if m:
            return (text[: m.start()] + '{"' + m.group(1) + '":"duplicate",' + text[m.start() + 1:]).encode()
    return body


def _make_handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "acctwh-simulator/1"

        def date_time_string(self, timestamp: float | None = None) -> str:
            # clients read server time from Date (connectors use it as `now` for their windows)
            if timestamp is None and server.clock is not None:
                return email.utils.format_datetime(server.clock().astimezone(UTC), usegmt=True)
            return super().date_time_string(timestamp)

        def log_message(self, format: str, *args: Any) -> None:
            if server.log_requests:
                log.info("%s %s", server.plugin.name, format % args)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            response, fault, _ = server.handle(request)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            payload = _damage(fault, response.body)
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if fault is not None and fault.kind == "reset":
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                # SO_LINGER 0 makes close() send RST: the client sees "connection reset" mid-body
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    return _Handler
