"""Intake's wiring: settings, broker, pool, outbox relay, consumer, the service the routes
use, the routes."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from services.intake import api, consumers, metrics, pages, usecases
from services.intake.settings import IntakeSettings
from shared import auth, topics
from shared.calendar import Clock, SystemClock
from shared.events import DifficultyAssigned
from shared.headers import inline_styles
from shared.http import RateRule, TokenBuckets, create_app
from shared.identity import Identities
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, subscribe
from shared.metrics import OutboxMetrics
from shared.outbox import OutboxRelay
from shared.provinces import ConfigHolder
from shared.service import Runtime

SERVICE = "intake"


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
                       handle=partial(consumers.on_assigned, rt), producer=rt.producer,
                       metrics=rt.consumer_metrics, source="thaogo/intake"),
        topic=topics.DIFFICULTY_ASSIGNED, group_id=s.assignments_group_id,
        ack_policy=COMMIT_AFTER_EFFECTS, max_records=1000,
        description="Learn assignments so that an agency updates only what it holds",
    )
    intake_metrics = metrics.IntakeMetrics.create(rt.registry)
    attachment_limits = usecases.AttachmentLimits(max_bytes=s.max_attachment_bytes,
                                                  max_files=s.max_attachments)
    # The routes verify bearer tokens against the shared registry: migrate it first.
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=auth.serving_lifespan(rt),
                     readiness=rt.readiness, title="thaogo intake",
                     description="Where businesses submit difficulties and agencies and "
                     "members report back",
                     max_body_bytes=s.max_body_bytes,
                     body_limits={api.IMPORT_PATH: s.max_import_bytes},
                     body_limit_patterns=[(p, attachment_limits.body_bytes())
                                          for p in api.ATTACHMENT_PATHS],
                     rate_limits=[
                         # The business's answers and ratings are a guess at two codes as
                         # much as /track is: the same few a minute.
                         RateRule("/track/", TokenBuckets(s.track_rate_limit_per_minute,
                                                                s.track_rate_limit_burst),
                                  methods=frozenset({"POST"})),
                         RateRule("/", TokenBuckets(s.rate_limit_per_minute,
                                                    s.rate_limit_burst))]
                     if s.rate_limit_enabled else (),
                     trusted_proxies=s.trusted_proxy_networks(), on_refused=intake_metrics.refused,
                     page_styles=inline_styles(pages.TEMPLATES))
    clock = clock or SystemClock()
    app.state.identities = Identities(
        db=rt.db, configs=lambda: config.current, now=clock.now,
        refused=lambda why: intake_metrics.auth_failures.labels(why).inc())
    app.state.intake = usecases.Intake(
        rt=rt, config=config, metrics=intake_metrics, clock=clock,
        max_import_rows=s.max_import_rows, import_chunk_rows=s.import_chunk_rows,
        workspace_url=s.workspace_url.rstrip("/"), attachment_limits=attachment_limits)
    app.include_router(api.api)
    app.include_router(pages.pages)
    # Added last, so outermost: metrics see every answer, including 413s and 429s.
    app.add_middleware(metrics.RequestMetrics, registry=rt.registry,
                       routes=lambda: app.routes)
    app.state.runtime = rt
    return app
