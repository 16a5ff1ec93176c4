"""Intake's front-door ASGI middleware: request duration metrics, a per-client rate
limit, and a body size limit. Pure ASGI (no BaseHTTPMiddleware) so bodies stream through
untouched and nothing is buffered twice."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from prometheus_client import CollectorRegistry, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake import errors

# Never limited or counted against a client: probes and scrapes must always get through.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def _send_json(send: Send, status: int, payload: dict[str, Any],
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": data})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


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


# --- rate limit ----------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key: `per_minute` tokens refill evenly, up to `burst`.

    Pure: the caller passes the time. Memory is bounded by forgetting buckets that have
    been full long enough (a full bucket is the same as no bucket)."""

    def __init__(self, per_minute: float, burst: float, max_keys: int = 100_000) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> float:
        """0.0 if a request may pass now (and spend a token), else seconds to wait."""
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            b = self._buckets[key] = _Bucket(self.burst, now)
        else:
            b.tokens = min(self.burst, b.tokens + (now - b.updated) * self.rate)
            b.updated = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
        if len(self._buckets) >= self.max_keys:
            # Under a flood of distinct clients, forget the oldest half rather than grow.
            keep = sorted(self._buckets.items(), key=lambda kv: kv[1].updated)
            self._buckets = dict(keep[len(keep) // 2:])

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    """429 with Retry-After once a client (by IP) has spent its bucket."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, *, trust_forwarded_for: bool = False,
                 clock: Callable[[], float] = time.monotonic,
                 on_limited: Callable[[], None] | None = None) -> None:
        self.app = app
        self.buckets = buckets
        self.trust_forwarded_for = trust_forwarded_for
        self.clock = clock
        self.on_limited = on_limited

    def client_key(self, scope: Scope) -> str:
        if self.trust_forwarded_for:
            # Behind a trusted proxy: the left-most address is the original client.
            fwd = _headers(scope).get("x-forwarded-for", "")
            first = fwd.split(",")[0].strip()
            if first:
                return first[:64]
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self.client_key(scope), self.clock())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        if self.on_limited is not None:
            self.on_limited()
        retry_after = max(1, math.ceil(wait))
        lang = errors.language(_headers(scope))
        reason = (
            f"quá nhiều yêu cầu; vui lòng thử lại sau {retry_after} giây" if lang == "vi"
            else f"too many requests; retry after {retry_after} s"
        )
        await _send_json(send, 429, errors.body("client", reason),
                         [(b"retry-after", str(retry_after).encode())])


# --- body size -----------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """Raised from `receive` while streaming; an HTTPException so that FastAPI's body
    parsing lets it through (it turns other errors into 400s) to the 413 handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"body larger than {limit} bytes")
        self.limit = limit


def too_large_reasons(limit: int) -> tuple[str, str]:
    return (
        f"the request body is too large: at most {limit} bytes",
        f"nội dung yêu cầu quá lớn: tối đa {limit} byte",
    )


class BodyLimit:
    """413 for a body over the limit: at once from Content-Length when it is declared, and
    while streaming when it is not (chunked) or lies."""

    def __init__(self, app: ASGIApp, *, default_limit: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = limits  # path -> limit, for routes with bigger bodies (CSV import)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope.get("path", ""), self.default_limit)
        headers = _headers(scope)
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            en, vi = too_large_reasons(limit)
            reason = vi if errors.language(headers) == "vi" else en
            await _send_json(send, 413, errors.body("body", reason), [(b"connection", b"close")])
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
