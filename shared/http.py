"""The HTTP side every service shares: health, readiness and metrics endpoints, a
lifespan that starts and stops the service's resources in order, the one error format,
a bounded request body and per-client rate limits.

`/healthz` answers while the process is alive; `/readyz` only while the broker
and the database are reachable, so an orchestrator sends no traffic before.

The body limit and the rate limit are pure ASGI middleware (no BaseHTTPMiddleware), so
bodies stream through untouched and nothing is buffered twice.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import db, errors, metrics
from shared.errors import ErrorBody, Refusal
from shared.headers import SecurityHeaders

RETRY_AFTER_S = 2
UNAVAILABLE = ("the service cannot reach its database just now; nothing was recorded, "
               "please retry / dịch vụ tạm thời không kết nối được cơ sở dữ liệu; chưa có gì "
               "được ghi nhận, xin thử lại sau")

# Never limited: probes and scrapes must always get through.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
DEFAULT_MAX_BODY_BYTES = 256 * 1024

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]


def create_app(
    *,
    service: str,
    registry: CollectorRegistry,
    lifespan: Callable[[FastAPI], Any],
    readiness: ReadinessCheck,
    title: str,
    description: str = "",
    openapi_tags: list[dict[str, Any]] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_limits: dict[str, int] | None = None,
    body_limit_patterns: Sequence[tuple[str, int]] = (),
    rate_limits: Sequence[RateRule] = (),
    trusted_proxies: Sequence[Network] = (),
    on_refused: errors.OnRefused | None = None,
    page_styles: Sequence[str] = (),
    form_targets: Sequence[str] = (),
) -> FastAPI:
    """The service's app with its ops routes, error handlers, limits and security
    headers. `body_limits` gives routes with bigger bodies their own limit; `rate_limits`
    the paths limited per client address (the first rule whose prefix matches);
    `trusted_proxies` the proxies whose X-Forwarded-For is believed (see
    `client_address`); `page_styles` the inline <style> blocks its HTML pages may use."""
    app = FastAPI(
        title=title,
        description=description,
        version=metrics.VERSION,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # Answers any operation may give, documented once so clients and the schema
        # fuzzer know their form.
        responses={**errors.responses(400, 413, 422, *((429,) if rate_limits else ())),
                   503: {"model": ErrorBody,
                         "description": "Database unreachable for now; see Retry-After"}},
    )
    errors.install(app, on_refused)
    # Added innermost first: a refused client never gets its body read.
    app.add_middleware(BodyLimit, default_limit=max_body_bytes, limits=body_limits or {},
                       patterns=[(re.compile(p), n) for p, n in body_limit_patterns])
    if rate_limits:
        app.add_middleware(RateLimit, rules=rate_limits, trusted_proxies=trusted_proxies,
                           on_limited=(lambda: on_refused("client", "rate_limited"))
                           if on_refused else None)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # An outage is not the client's fault and not a bug: 503 and when to come back,
        # never a 500. What the client sent was not recorded (each write is one
        # transaction), so retrying with the same Idempotency-Key is safe.
        return JSONResponse({"errors": [{"field": "database", "reason": UNAVAILABLE}]},
                            status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})

    app.add_middleware(SecurityHeaders, styles=page_styles, form_targets=form_targets)

    for exc_type in db.TRANSIENT_ERRORS:
        app.add_exception_handler(exc_type, unavailable)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Readiness: broker and database reachable",
        responses={503: {"description": "Not ready"}},
    )
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(registry), media_type=metrics.CONTENT_TYPE)

    return app



# --- client address ------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(scope: Scope, trusted_proxies: Sequence[Network]) -> str:
    """The address a request came from, for rate limits.

    The peer, unless the peer is a trusted proxy: then X-Forwarded-For is read from the
    right, past the trusted proxies' own entries, and the first address not in a trusted
    network is the client. Each proxy appends the address it saw, so entries left of
    that one were written by the client and prove nothing; taking the left-most entry
    would let any client pick its own bucket."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    peer_ip = _ip(peer)
    if peer_ip is None or not any(peer_ip in n for n in trusted_proxies):
        return peer
    hops = [h for h in _headers(scope).get("x-forwarded-for", "").split(",")[-32:]]
    address = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # not written by a proxy of ours: stop at the last one we believe
        address = str(ip)
        if not any(ip in n for n in trusted_proxies):
            break
    return address


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs (or single addresses) as networks; ValueError names a bad one."""
    out = []
    for part in text.split(","):
        if part.strip():
            try:
                out.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR network: {part.strip()!r}") from None
    return tuple(out)


async def _send_json(send: Send, status: int, payload: dict[str, Any],
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": data})


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


@dataclass(frozen=True)
class RateRule:
    """Requests whose path starts with `prefix` (and whose method is in `methods`, if
    given) share `buckets`, one per client address."""

    prefix: str
    buckets: TokenBuckets
    methods: frozenset[str] | None = None

    def applies(self, method: str, path: str) -> bool:
        return path.startswith(self.prefix) and (self.methods is None or method in self.methods)


class RateLimit:
    """429 with Retry-After once a client has spent its bucket for the path's rule."""

    def __init__(self, app: ASGIApp, rules: Sequence[RateRule], *,
                 trusted_proxies: Sequence[Network] = (),
                 clock: Callable[[], float] = time.monotonic,
                 on_limited: Callable[[], None] | None = None) -> None:
        self.app = app
        self.rules = rules
        self.trusted_proxies = trusted_proxies
        self.clock = clock
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope.get("path", ""), scope.get("method", "GET")
        rule = None if scope["type"] != "http" or path in EXEMPT_PATHS else next(
            (r for r in self.rules if r.applies(method, path)), None)
        if rule is None:
            await self.app(scope, receive, send)
            return
        wait = rule.buckets.take(client_address(scope, self.trusted_proxies), self.clock())
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


def too_large_reasons(limit: int) -> tuple[str, str]:
    return (
        f"the request body is too large: at most {limit} bytes",
        f"nội dung yêu cầu quá lớn: tối đa {limit} byte",
    )


class BodyTooLarge(Refusal):
    """Raised from `receive` while streaming; a Refusal (an HTTPException) so that
    FastAPI's body parsing lets it through (it turns other errors into 400s)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "body", *too_large_reasons(limit), headers={"Connection": "close"})
        self.limit = limit


class BodyLimit:
    """413 for a body over the limit: at once from Content-Length when it is declared, and
    while streaming when it is not (chunked) or lies. Nothing of the body is echoed."""

    def __init__(self, app: ASGIApp, *, default_limit: int, limits: dict[str, int],
                 patterns: Sequence[tuple[re.Pattern[str], int]] = ()) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = limits  # path -> limit, for routes with bigger bodies (CSV import)
        self.patterns = patterns  # the same for paths with a parameter (attachments)

    def limit_for(self, path: str) -> int:
        if path in self.limits:
            return self.limits[path]
        return next((n for p, n in self.patterns if p.fullmatch(path)), self.default_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
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
