"""Observability for the HTTP API: request ids, one JSON log line per request, Prometheus metrics.

`RequestContext` (pure ASGI, so streaming responses pass through untouched) takes or makes an
X-Request-ID, returns it, records request count and latency, and logs one JSON line. The id also
rides in a context variable, so log lines written by the service in worker threads carry it too.
Each app gets its own Prometheus registry (no global state between apps or tests).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("vraagbaak.api")
REQUEST_ID: ContextVar[str | None] = ContextVar("vraagbaak_request_id", default=None)
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_QUIET_ROUTES = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes: logged at DEBUG
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("vraagbaak_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.errors = Counter("vraagbaak_errors", "Error responses and stream errors by type", ["error_type"],
                              registry=self.registry)
        self.latency = Histogram("vraagbaak_request_seconds", "HTTP request latency (to the last byte)",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.stages = Histogram("vraagbaak_stage_seconds", "Latency per pipeline stage (retrieve, generate)",
                                ["stage"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.queue = Gauge("vraagbaak_generation_pending", "Generation requests running or waiting",
                           registry=self.registry)
        self.ready = Gauge("vraagbaak_ready", "1 once models and index are loaded", registry=self.registry)

    def observe_stages(self, timings_ms: Mapping[str, float] | None) -> None:
        for stage, ms in (timings_ms or {}).items():
            if isinstance(ms, int | float) and ms >= 0:
                self.stages.labels(stage).observe(ms / 1000)


class RequestContext:
    """ASGI middleware: X-Request-ID in and out, metrics per route, one JSON log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        status, start = 500, time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - start)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.metrics.requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)
        level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
        log.log(level, "request", extra={"request_id": scope["state"]["request_id"],
                                          "method": scope["method"],
                                          "path": scope["path"], "route": route, "status": status,
                                          "duration_ms": round(seconds * 1000, 1)})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any `extra` fields."""

    _STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A logging.dictConfig for uvicorn.run: JSON lines on stderr for every logger (the service's
    too). uvicorn's access log is off because RequestContext logs every request itself, with its id."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
