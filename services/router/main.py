"""Router composition root: settings, broker, pool, configuration, subscribers, HTTP."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Counter

from services.router.handlers import RouterHandlers, RouterMetrics
from services.router.settings import RouterSettings
from shared import topics
from shared.events import DifficultyReceived, DifficultyStatusChanged
from shared.http import create_app
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, subscribe
from shared.provinces import ConfigHolder
from shared.service import Runtime

SERVICE = "router"


def build(settings: RouterSettings | None = None) -> FastAPI:
    s = settings or RouterSettings()
    rt = Runtime.create(SERVICE, s)
    holder = ConfigHolder(s.config_dir)
    reloads = Counter(
        "thaogo_router_config_reloads_total", "Province configuration reloads, by outcome",
        ["outcome"], registry=rt.registry,
    )
    handlers_ = RouterHandlers(
        rt=rt,
        config=holder,
        metrics=RouterMetrics.create(rt.registry),
        status_url=s.intake_public_url.rstrip("/"),
    )

    holder.on_change(lambda _: reloads.labels("applied").inc())

    async def watch_config(_: Runtime) -> None:
        await holder.watch(s.config_reload_interval_s)

    rt.background.append(watch_config)
    subscribe(
        rt.broker,
        BatchProcessor(group_id=s.group_id, model=DifficultyReceived,
                       handle=handlers_.on_received, producer=rt.producer,
                       metrics=rt.consumer_metrics, source="thaogo/router"),
        topic=topics.DIFFICULTY_RECEIVED, group_id=s.group_id,
        ack_policy=COMMIT_AFTER_EFFECTS, max_records=s.max_records,
        description="Assign each new difficulty to its lead agency, co-handlers and members",
    )
    subscribe(
        rt.broker,
        BatchProcessor(group_id=f"{s.group_id}.status", model=DifficultyStatusChanged,
                       handle=handlers_.on_status, producer=rt.producer,
                       metrics=rt.consumer_metrics, source="thaogo/router"),
        topic=topics.DIFFICULTY_STATUS, group_id=f"{s.group_id}.status",
        ack_policy=COMMIT_AFTER_EFFECTS, max_records=s.max_records,
        description="Escalate or re-assign on agencies' requests",
    )
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=rt.lifespan(),
                     readiness=rt.readiness, title="thaogo router")
    app.state.runtime = rt
    return app
