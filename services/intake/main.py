"""Intake composition root: settings, broker, pool, outbox relay, consumer, routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.intake import errors, handlers, middleware, web
from services.intake.settings import IntakeSettings
from shared import auth, topics
from shared.calendar import Clock
from shared.events import DifficultyAssigned
from shared.headers import inline_styles
from shared.http import create_app
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, subscribe
from shared.outbox import OutboxMetrics, OutboxRelay
from shared.provinces import ConfigHolder
from shared.service import Runtime

SERVICE = "intake"
IMPORT_PATH = "/v1/difficulties/import"


def validation_handler(
    metrics: handlers.IntakeMetrics,
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = errors.validation_problems(exc.errors())
        for p in problems:
            metrics.refused(p.field, p.kind)
        return errors.refuse_all(problems, errors.language(request.headers))

    return handle


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown route, wrong method, body too large) in our shape."""
    assert isinstance(exc, StarletteHTTPException)
    lang = errors.language(request.headers)
    if isinstance(exc, middleware.BodyTooLarge):
        en, vi = middleware.too_large_reasons(exc.limit)
        return errors.refuse("body", en, vi, lang, 413, headers={"Connection": "close"})
    field, en, vi = errors.HTTP_REASONS.get(
        exc.status_code, ("request", str(exc.detail), "yêu cầu không hợp lệ")
    )
    return errors.refuse(field, en, vi, lang, exc.status_code,
                         headers=dict(exc.headers) if exc.headers else None)


def build(settings: IntakeSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    s = settings or IntakeSettings()
    rt = Runtime.create(SERVICE, s)
    relay = OutboxRelay(dsn=s.database_url, schema=SERVICE, producer=rt.producer,
                        metrics=OutboxMetrics.create(rt.registry),
                        batch_size=s.outbox_batch_size)
    # Agencies and members are checked against the province configuration (hot-reloaded).
    config = ConfigHolder(s.config_dir)

    async def run_relay(_: Runtime) -> None:
        await relay.run()

    async def watch_config(_: Runtime) -> None:
        await config.watch(s.config_reload_interval_s)

    rt.background += [run_relay, watch_config]
    subscribe(
        rt.broker,
        BatchProcessor(group_id=s.assignments_group_id, model=DifficultyAssigned,
                       handle=partial(handlers.on_assigned, rt), producer=rt.producer,
                       metrics=rt.consumer_metrics, source="thaogo/intake"),
        topic=topics.DIFFICULTY_ASSIGNED, group_id=s.assignments_group_id,
        ack_policy=COMMIT_AFTER_EFFECTS, max_records=1000,
        description="Learn assignments so that an agency updates only what it holds",
    )
    # The routes verify bearer tokens against the shared registry: migrate it first.
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=auth.serving_lifespan(rt),
                     readiness=rt.readiness, title="thaogo intake",
                     description="Where businesses submit difficulties and agencies and "
                     "members report back", page_styles=inline_styles(web.TEMPLATES))
    metrics = handlers.IntakeMetrics.create(rt.registry)
    app.add_exception_handler(RequestValidationError, validation_handler(metrics))
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.include_router(handlers.build_router(
        rt, config=config, metrics=metrics, clock=clock, max_import_rows=s.max_import_rows,
        import_chunk_rows=s.import_chunk_rows))
    app.include_router(web.build_router(rt.state["accept"], metrics))
    # Added innermost first: metrics see every answer, including 413s and 429s.
    app.add_middleware(middleware.BodyLimit, default_limit=s.max_body_bytes,
                       limits={IMPORT_PATH: s.max_import_bytes})
    if s.rate_limit_enabled:
        app.add_middleware(
            middleware.RateLimit,
            buckets=middleware.TokenBuckets(s.rate_limit_per_minute, s.rate_limit_burst),
            trust_forwarded_for=s.trust_forwarded_for,
            on_limited=lambda: metrics.refused("client", "rate_limited"),
        )
    app.add_middleware(middleware.RequestMetrics, registry=rt.registry,
                       routes=lambda: app.routes)
    app.state.runtime = rt
    return app
