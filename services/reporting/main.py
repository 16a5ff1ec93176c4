"""Reporting composition root: settings, broker, pool, projections, read API."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.handlers import ReportingHandlers
from services.reporting.settings import ReportingSettings
from shared import topics
from shared.events import DifficultyAssigned, DifficultyReceived
from shared.http import create_app
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, make_broker, subscribe
from shared.service import Runtime

SERVICE = "reporting"


def build(settings: ReportingSettings | None = None) -> FastAPI:
    s = settings or ReportingSettings()
    rt = Runtime.create(
        SERVICE, s, lambda reg: make_broker(s.kafka_bootstrap, client_id="thaogo-reporting",
                                             registry=reg)
    )
    h = ReportingHandlers(rt)
    for topic, model, handle in (
        (topics.DIFFICULTY_RECEIVED, DifficultyReceived, h.on_received),
        (topics.DIFFICULTY_ASSIGNED, DifficultyAssigned, h.on_assigned),
    ):
        group = f"{s.group_id}.{topic.split('.')[1]}"
        subscribe(
            rt.broker,
            BatchProcessor(group_id=group, model=model, handle=handle,  # type: ignore[arg-type]
                           broker=rt.broker, metrics=rt.consumer_metrics,
                           source="thaogo/reporting"),
            topic=topic, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS,
            max_records=s.max_records, description=f"Project {topic} into PostgreSQL",
        )
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=rt.lifespan(),
                     readiness=rt.readiness, title="thaogo reporting")
    app.state.runtime = rt
    return app
