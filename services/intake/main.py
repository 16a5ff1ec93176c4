"""Intake composition root: settings, broker, pool, outbox relay, consumer, routes."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.intake import handlers
from services.intake.settings import IntakeSettings
from shared import topics
from shared.events import DifficultyAssigned
from shared.http import create_app
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, make_broker, subscribe
from shared.outbox import OutboxMetrics, OutboxRelay
from shared.service import Runtime

SERVICE = "intake"

_REASONS_VI = {
    "missing": "bắt buộc phải có",
    "extra_forbidden": "trường không được phép",
    "string_too_long": "quá dài",
    "string_too_short": "không được để trống",
    "enum": "giá trị không hợp lệ",
    "literal_error": "giá trị không hợp lệ",
    "string_pattern_mismatch": "sai định dạng",
    "value_error": "giá trị không hợp lệ",
}


def validation_handler(rt: Runtime):  # type: ignore[no-untyped-def]
    async def handle(request: Request, exc: RequestValidationError) -> JSONResponse:
        vi = not request.headers.get("accept-language", "").lower().startswith("en")
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "header", "query",
                                                                   "path")]
            field = ".".join(loc) or "body"
            reason = str(err.get("msg", "invalid"))
            if vi:
                reason = _REASONS_VI.get(str(err.get("type")), "giá trị không hợp lệ") + (
                    f" ({reason})")
            errors.append({"field": field, "reason": reason})
            refusals = rt.state.get("refusals")
            if refusals is not None:
                refusals.labels(field.split(".")[0][:40], str(err.get("type"))[:40]).inc()
        return JSONResponse({"errors": errors}, status_code=422)

    return handle


def build(settings: IntakeSettings | None = None) -> FastAPI:
    s = settings or IntakeSettings()
    rt = Runtime.create(
        SERVICE, s, lambda reg: make_broker(s.kafka_bootstrap, client_id="thaogo-intake",
                                             registry=reg)
    )
    relay = OutboxRelay(dsn=s.database_url, schema=SERVICE, broker=rt.broker,
                        metrics=OutboxMetrics.create(rt.registry),
                        batch_size=s.outbox_batch_size)

    async def run_relay(_: Runtime) -> None:
        await relay.run()

    rt.background.append(run_relay)
    subscribe(
        rt.broker,
        BatchProcessor(group_id=s.assignments_group_id, model=DifficultyAssigned,
                       handle=partial(handlers.on_assigned, rt), broker=rt.broker,
                       metrics=rt.consumer_metrics, source="thaogo/intake"),
        topic=topics.DIFFICULTY_ASSIGNED, group_id=s.assignments_group_id,
        ack_policy=COMMIT_AFTER_EFFECTS, max_records=1000,
        description="Learn assignments so that an agency updates only what it holds",
    )
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=rt.lifespan(),
                     readiness=rt.readiness, title="thaogo intake",
                     description="Where businesses submit difficulties and agencies and "
                     "members report back")
    app.add_exception_handler(RequestValidationError, validation_handler(rt))
    app.include_router(handlers.build_router(rt))
    app.state.runtime = rt
    return app
