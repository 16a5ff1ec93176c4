"""Intake's request duration metrics, as pure ASGI middleware (no BaseHTTPMiddleware) so
bodies stream through untouched. The body and rate limits every service shares are in
shared/http.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _flat(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Routes of included routers too (FastAPI wraps them; the wrapper has no path)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield r


# --- metrics -------------------------------------------------------------------------------


class RequestMetrics:
    """`thaogo_intake_request_duration_seconds{route,method,status_class}`: the route is the
    template ("/v1/difficulties/{difficulty_id}/status"), never the raw path, which would
    put ids in labels; unmatched paths share one label."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry,
                 routes: Callable[[], Sequence[BaseRoute]] = tuple) -> None:
        self.app = app
        self.routes = routes
        self.duration = Histogram(
            "thaogo_intake_request_duration_seconds",
            "HTTP request duration, by route template, method and status class",
            ["route", "method", "status_class"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            # Refused before routing (429, 413): find the template the request was for.
            route = next(
                (r for r in _flat(self.routes()) if r.matches(scope)[0] == Match.FULL), None
            )
        return getattr(route, "path", None) or "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = self.template(scope)
            method = scope.get("method", "GET")
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
                method = "other"
            self.duration.labels(template, method, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
