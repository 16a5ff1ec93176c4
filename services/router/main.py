"""The router's wiring: settings, broker, pool, configuration, subscribers, jobs, HTTP."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from services.router import metrics
from services.router.consumers import RouterHandlers
from services.router.jobs import SOURCE, Membership
from services.router.settings import RouterSettings
from shared import topics
from shared.events import DifficultyReceived, DifficultyStatusChanged, Envelope
from shared.http import create_app
from shared.kafka import (
    COMMIT_AFTER_EFFECTS,
    COMMIT_IN_ORDER_AFTER_EFFECTS,
    BatchProcessor,
    Emitter,
    PipelinedProcessor,
    subscribe,
)
from shared.provinces import ConfigHolder
from shared.service import Runtime

SERVICE = "router"

# A batch of a thousand difficulties allocates some hundred thousand objects that live
# until it is committed. CPython collects the young generation whenever the objects
# allocated exceed those freed by its threshold: at the default 700, and at 10,000 too,
# that happened again and again while a batch was being built, walking the batches in
# flight each time (measured with gc.callbacks: 120 collections and 0.84 s of 10 s of
# CPU for 60,000 difficulties). Above what the batches in flight hold, the count falls
# back as each batch is released, and young collections become rare (one, measured).
# Cycles are still collected: the threshold still bounds the garbage they can leave.
GC_THRESHOLDS = (200_000, 10, 10)


async def settle_heap(_: Runtime) -> None:
    """Once started: move the start-up heap (modules, configuration) out of collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def build(settings: RouterSettings | None = None) -> FastAPI:
    s = settings or RouterSettings()
    rt = Runtime.create(SERVICE, s)
    holder = ConfigHolder(s.config_dir)
    reloads = metrics.config_reloads(rt.registry)
    handlers_ = RouterHandlers(
        rt=rt,
        config=holder,
        metrics=metrics.RouterMetrics.create(rt.registry),
        status_base=s.intake_public_url,
    )

    holder.on_change(lambda _: reloads.labels("applied").inc())
    holder.on_refused(lambda _: reloads.labels("refused").inc())
    rt.state["config"] = holder

    async def watch_config(_: Runtime) -> None:
        await holder.watch(s.config_reload_interval_s)

    rt.background.append(watch_config)
    rt.background.append(settle_heap)
    # New difficulties are the bulk of the traffic: the next batch is decided and
    # encoded while the broker and the database take the previous one.
    received = PipelinedProcessor(
        group_id=s.group_id, model=DifficultyReceived, handle=handlers_.on_received,
        prepare=handlers_.prepare_received, producer=rt.producer,
        metrics=rt.consumer_metrics, source=SOURCE)
    rt.drains.append(received.drain)
    subscribe(
        rt.broker, received,
        topic=topics.DIFFICULTY_RECEIVED, group_id=s.group_id,
        ack_policy=COMMIT_IN_ORDER_AFTER_EFFECTS, max_records=s.max_records,
        description="Assign each new difficulty to its lead agency, co-handlers and members",
    )
    # Membership changes (services/router/jobs.py): reloads drive it, and the status
    # consumer tells it which difficulties are closed (their member items stay put).
    membership = Membership(rt=rt, config=holder, metrics=handlers_.metrics,
                            interval_s=s.config_reload_interval_s)
    rt.background.append(membership.run)

    async def on_status(
        batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        await membership.on_status(batch, emitter)  # idempotent: safe to repeat on a retry
        return await handlers_.on_status(batch, emitter)

    subscribe(
        rt.broker,
        BatchProcessor(group_id=f"{s.group_id}.status", model=DifficultyStatusChanged,
                       handle=on_status, producer=rt.producer,
                       metrics=rt.consumer_metrics, source=SOURCE),
        topic=topics.DIFFICULTY_STATUS, group_id=f"{s.group_id}.status",
        ack_policy=COMMIT_AFTER_EFFECTS, max_records=s.max_records,
        description="Escalate or re-assign on agencies' requests; remember closures",
    )
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=rt.lifespan(),
                     readiness=rt.readiness, title="thaogo router")
    app.state.runtime = rt
    return app
