"""The HTTP side every service shares: health, readiness and metrics endpoints,
and a lifespan that starts and stops the service's resources in order.

`/healthz` answers while the process is alive; `/readyz` only while the broker
and the database are reachable, so an orchestrator sends no traffic before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from shared import db, metrics
from shared.headers import SecurityHeaders

RETRY_AFTER_S = 2
UNAVAILABLE = ("the service cannot reach its database just now; nothing was recorded, "
               "please retry / dịch vụ tạm thời không kết nối được cơ sở dữ liệu; chưa có gì "
               "được ghi nhận, xin thử lại sau")


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every refusal of every service: which field, and why."""

    errors: list[FieldError]

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
    page_styles: Sequence[str] = (),
) -> FastAPI:
    """The service's app with health, readiness, metrics and security headers on every
    answer; `page_styles` are the inline <style> blocks its HTML pages may use."""
    app = FastAPI(
        title=title,
        description=description,
        version=metrics.VERSION,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        responses={503: {"model": ErrorBody,
                         "description": "Database unreachable for now; see Retry-After"}},
    )

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # An outage is not the client's fault and not a bug: 503 and when to come back,
        # never a 500. What the client sent was not recorded (each write is one
        # transaction), so retrying with the same Idempotency-Key is safe.
        return JSONResponse({"errors": [{"field": "database", "reason": UNAVAILABLE}]},
                            status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})

    app.add_middleware(SecurityHeaders, styles=page_styles)

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

