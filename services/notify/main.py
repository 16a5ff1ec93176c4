"""Notify composition root: settings, broker, pool, consumers, delivery."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.handlers import NotifyHandlers
from services.notify.settings import NotifySettings
from shared import topics
from shared.events import DifficultyAssigned
from shared.http import create_app
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, make_broker, subscribe
from shared.service import Runtime

SERVICE = "notify"


def build(settings: NotifySettings | None = None) -> FastAPI:
    s = settings or NotifySettings()
    rt = Runtime.create(
        SERVICE, s, lambda reg: make_broker(s.kafka_bootstrap, client_id="thaogo-notify",
                                             registry=reg)
    )
    h = NotifyHandlers(rt)
    group = f"{s.group_id}.assigned"
    subscribe(
        rt.broker,
        BatchProcessor(group_id=group, model=DifficultyAssigned, handle=h.on_assigned,
                       broker=rt.broker, metrics=rt.consumer_metrics, source="thaogo/notify"),
        topic=topics.DIFFICULTY_ASSIGNED, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS,
        max_records=s.max_records, description="Tell agencies of their new assignments",
    )
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=rt.lifespan(),
                     readiness=rt.readiness, title="thaogo notify")
    app.state.runtime = rt
    return app
