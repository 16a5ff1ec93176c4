"""Reporting composition root: settings, broker, pool, projections, the weekly
publisher and its outbox relay, the read API and the report pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.reporting import api, jobs, pages
from services.reporting.access import LinkSigner
from services.reporting.api import ReadSide
from services.reporting.consumers import ReportingHandlers
from services.reporting.jobs import WeeklyPublisher
from services.reporting.metrics import CaseloadGauges, ProjectionMetrics, PublishMetrics
from services.reporting.settings import ReportingSettings
from services.reporting.usecases import SCHEMA
from shared import auth, topics
from shared.calendar import Clock, SystemClock
from shared.events import (
    CompilationSaved,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DirectionGiven,
    DirectionProgress,
    MemberReport,
    NotificationSent,
    PolicyBottleneck,
)
from shared.headers import inline_styles
from shared.http import RateRule, ReadinessCheck, TokenBuckets, create_app
from shared.identity import Identities
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, subscribe
from shared.metrics import OutboxMetrics
from shared.outbox import OutboxRelay
from shared.provinces import ConfigHolder
from shared.service import Runtime

SERVICE = "reporting"


def rate_rules(s: ReportingSettings) -> list[RateRule]:
    """Separate buckets per route group, so pages read in a browser never spend the few
    sign-in attempts a client has. Probes and scrapes are never limited."""
    if not s.rate_limit_enabled:
        return []
    tracking = TokenBuckets(s.track_rate_limit_per_minute, s.track_rate_limit_burst)
    return [
        RateRule("/reports/login", TokenBuckets(s.sign_in_rate_limit_per_minute,
                                                s.sign_in_rate_limit_burst),
                 methods=frozenset({"POST"})),
        # Each request mails someone: the same few a minute as a token guessed.
        RateRule("/workspace/sign-in", TokenBuckets(s.sign_in_rate_limit_per_minute,
                                                    s.sign_in_rate_limit_burst),
                 methods=frozenset({"POST"})),
        # The JSON answer and the page share one allowance: a guesser gains nothing by
        # alternating between them.
        RateRule("/v1/track", tracking),
        RateRule("/track", tracking, methods=frozenset({"POST"})),
        RateRule("/", TokenBuckets(s.rate_limit_per_minute, s.rate_limit_burst)),
    ]


def http_app(side: ReadSide, s: ReportingSettings, *, registry: CollectorRegistry,
             lifespan: Callable[[FastAPI], Any], readiness: ReadinessCheck) -> FastAPI:
    """The read API and the pages, with the limits and error format of every service."""
    app = create_app(
        service=SERVICE, registry=registry, lifespan=lifespan, readiness=readiness,
        title="thaogo reporting",
        description="Weekly reports of the task forces, tracking for businesses, and the "
                    "list of difficulties for members.",
        openapi_tags=[{"name": "business"}, {"name": "reports"}, {"name": "members"},
                      {"name": "pages"}, {"name": "ops"}],
        max_body_bytes=s.max_body_bytes, rate_limits=rate_rules(s),
        trusted_proxies=s.trusted_proxy_networks(),
        page_styles=inline_styles(pages.TEMPLATES),
        # The workspace's forms post to intake (the command side).
        form_targets=[side.intake_url],
    )
    mount(app, side)
    return app


def mount(app: FastAPI, side: ReadSide) -> None:
    """The read API and the pages on `app`, with what their dependencies take from it."""
    app.state.read_side = side
    app.state.identities = Identities(db=side.db, configs=lambda: side.config.current,
                                      now=side.now)
    app.include_router(api.api)
    app.include_router(pages.pages)


def build(settings: ReportingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    s = settings or ReportingSettings()
    clock = clock or SystemClock()
    rt = Runtime.create(SERVICE, s)
    holder = ConfigHolder(s.config_dir)
    links = LinkSigner.create(s.link_secret.get_secret_value() if s.link_secret else None,
                              ttl_days=s.link_ttl_days, bound_ttl_hours=s.link_json_ttl_hours)
    side = ReadSide(db=rt.db, config=holder, clock=clock, base_url=s.base_url(), links=links,
                    mailbox_url=s.mailbox_url, intake_url=s.intake_url.rstrip("/"))
    h = ReportingHandlers(rt, holder, ProjectionMetrics.create(rt.registry),
                          page_url=side.page_url)
    subscriptions: tuple[tuple[str, Any, Any], ...] = (
        (topics.DIFFICULTY_RECEIVED, DifficultyReceived, h.on_received),
        (topics.DIFFICULTY_ASSIGNED, DifficultyAssigned, h.on_assigned),
        (topics.DIFFICULTY_STATUS, DifficultyStatusChanged, h.on_status),
        (topics.MEMBER_REPORT, MemberReport, h.on_member_report),
        (topics.NOTIFICATION_SENT, NotificationSent, h.on_notification),
        (topics.DIRECTION_GIVEN, DirectionGiven, h.on_direction),
        (topics.DIRECTION_PROGRESS, DirectionProgress, h.on_direction_progress),
        (topics.COMPILATION_SAVED, CompilationSaved, h.on_compilation),
        (topics.POLICY_BOTTLENECK, PolicyBottleneck, h.on_bottleneck),
    )
    for topic, model, handle in subscriptions:
        group = f"{s.group_id}.{topic.split('.')[1]}"
        subscribe(
            rt.broker,
            BatchProcessor(group_id=group, model=model, handle=handle,
                           producer=rt.producer, metrics=rt.consumer_metrics,
                           source="thaogo/reporting"),
            topic=topic, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS,
            max_records=s.max_records, description=f"Project {topic} into PostgreSQL",
        )

    relay = OutboxRelay(dsn=s.database_url, schema=SCHEMA, producer=rt.producer,
                        metrics=OutboxMetrics.create(rt.registry),
                        batch_size=s.outbox_batch_size)
    publish_metrics = PublishMetrics.create(rt.registry)

    async def run_relay(_: Runtime) -> None:
        await relay.run()

    async def run_weekly(rt_: Runtime) -> None:
        publisher = WeeklyPublisher(pool=rt_.db(), config=holder, clock=clock,
                                    metrics=publish_metrics, base_url=s.base_url(),
                                    poll_interval_s=s.schedule_poll_interval_s, links=links)
        rt_.state["publisher"] = publisher
        await publisher.run()

    caseload = CaseloadGauges.create(rt.registry)

    async def refresh_gauges(rt_: Runtime) -> None:
        await jobs.refresh_gauges(rt_.db(), clock=clock, caseload=caseload,
                                  published=publish_metrics, interval_s=s.gauges_interval_s)

    async def regroup(rt_: Runtime) -> None:
        await jobs.regroup(rt_.db(), config=holder, clock=clock,
                           interval_s=s.regroup_interval_s)

    async def watch_config(_: Runtime) -> None:
        # A dissolution (`thaogo taskforce dissolve`) reaches the publisher by hot reload.
        await holder.watch(s.config_reload_interval_s)

    rt.background += [run_relay, run_weekly, refresh_gauges, regroup, watch_config]

    # The read routes verify bearer tokens against the shared registry: migrate it first.
    app = http_app(side, s, registry=rt.registry, lifespan=auth.serving_lifespan(rt),
                   readiness=rt.readiness)
    app.state.runtime = rt
    return app
