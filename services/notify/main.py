"""Notify composition root: settings, broker, pool, consumers, scheduler, dispatcher, outbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import FastAPI

from services.notify.channels import (
    Channel,
    EmailChannel,
    LogChannel,
    WebhookChannel,
    ZaloChannel,
    ZnsChannel,
    ZnsTokens,
)
from services.notify.consumers import NotifyHandlers
from services.notify.jobs import Dispatcher, Scheduler
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import topics
from shared.calendar import Clock, SystemClock
from shared.db import Pool
from shared.events import (
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    DirectionProgress,
    EventData,
    MemberReminderRequested,
    MemberReport,
    PolicyBottleneck,
    SignInLink,
    WeeklyReport,
)
from shared.http import create_app
from shared.kafka import COMMIT_AFTER_EFFECTS, BatchProcessor, Handler, subscribe
from shared.metrics import OutboxMetrics
from shared.outbox import OutboxRelay
from shared.provinces import ConfigHolder
from shared.service import Runtime

SERVICE = "notify"


def build_channels(s: NotifySettings, client: httpx.AsyncClient,
                   pool: Pool | None = None) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "email": EmailChannel(
            host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from, username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            starttls=s.smtp_starttls, timeout_s=s.smtp_timeout_s,
        ),
        "webhook": WebhookChannel(
            client=client,
            default_secret=s.webhook_secret.get_secret_value() if s.webhook_secret else None,
            timeout_s=s.webhook_timeout_s,
        ),
        "zalo": ZaloChannel(
            client=client, api_url=s.zalo_api_url,
            access_token=s.zalo_access_token.get_secret_value() if s.zalo_access_token else None,
            timeout_s=s.zalo_timeout_s,
        ),
        "log": LogChannel(),
    }
    if pool is not None:
        channels["zns"] = ZnsChannel(
            client=client, api_url=s.zns_api_url, timeout_s=s.zalo_timeout_s,
            tokens=ZnsTokens.of(s, client=client, pool=pool))
    return channels


def build(
    settings: NotifySettings | None = None,
    *,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
) -> FastAPI:
    """`clock` and `channels` are for tests that drive time by hand or add a channel;
    production uses the system clock and the channels of the settings."""
    s = settings or NotifySettings()
    clk: Clock = clock or SystemClock()
    rt = Runtime.create(SERVICE, s)
    holder = ConfigHolder(s.config_dir)
    metrics = NotifyMetrics.create(rt.registry)
    h = NotifyHandlers(rt=rt, config=holder, clock=clk, settings=s, metrics=metrics)

    def consume(model: type[EventData], handle: Handler[Any], topic: str, suffix: str,
                why: str) -> None:
        group = f"{s.group_id}.{suffix}"
        subscribe(
            rt.broker,
            BatchProcessor(group_id=group, model=model, handle=handle, producer=rt.producer,
                           metrics=rt.consumer_metrics, source="thaogo/notify"),
            topic=topic, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS,
            max_records=s.max_records, description=why,
        )

    consume(DifficultyAssigned, h.on_assigned, topics.DIFFICULTY_ASSIGNED, "assigned",
            "Tell agencies of their new assignments; follow their deadlines")
    consume(DifficultyStatusChanged, h.on_status, topics.DIFFICULTY_STATUS, "status",
            "Track acknowledgements and resolutions, which stop reminders")
    consume(DifficultyUrgencyConfirmed, h.on_urgency, topics.DIFFICULTY_URGENCY, "urgency",
            "Tell the head and the permanent deputy at once of an urgent item vouched for")
    consume(MemberReport, h.on_member_report, topics.MEMBER_REPORT, "member-report",
            "Know who reported, so only the others are reminded")
    consume(WeeklyReport, h.on_weekly_report, topics.REPORT_WEEKLY, "weekly",
            "Send the compiled weekly report to the head and the permanent deputy")
    consume(SignInLink, h.on_sign_in, topics.SIGN_IN_LINK, "sign-in",
            "Mail the one-time sign-in links people ask for")
    consume(MemberReminderRequested, h.on_member_reminder, topics.MEMBER_REMINDER,
            "member-reminder", "Remind a member the permanent deputy asks to remind")
    consume(DirectionGiven, h.on_direction, topics.DIRECTION_GIVEN, "direction",
            "Remind whoever a direction names before and on its due date")
    consume(DirectionProgress, h.on_direction_progress, topics.DIRECTION_PROGRESS,
            "direction-progress", "A direction done: its pending reminders are cancelled")
    consume(DifficultyReceived, h.on_received, topics.DIFFICULTY_RECEIVED, "received",
            "Keep the business's contact for its notices, and tell it its case was received")
    consume(PolicyBottleneck, h.on_bottleneck, topics.POLICY_BOTTLENECK, "bottleneck",
            "Tell each business whose recommendation was merged into a policy bottleneck")

    outbox_metrics = OutboxMetrics.create(rt.registry)

    async def deliver(rt_: Runtime) -> None:
        async with httpx.AsyncClient() as client:
            d = Dispatcher(pool=rt_.db(), channels=channels or build_channels(s, client, rt_.db()),
                           clock=clk, settings=s, metrics=metrics)
            rt_.state["dispatcher"] = d
            await d.run()

    async def schedule(rt_: Runtime) -> None:
        sch = Scheduler(pool=rt_.db(), config=holder, clock=clk, settings=s, metrics=metrics)
        rt_.state["scheduler"] = sch
        await sch.run()

    async def relay(rt_: Runtime) -> None:
        await OutboxRelay(dsn=s.database_url, schema=SERVICE, producer=rt_.producer,
                          metrics=outbox_metrics).run()

    async def watch_config(_: Runtime) -> None:
        await holder.watch()

    rt.background += [deliver, schedule, relay, watch_config]
    app = create_app(service=SERVICE, registry=rt.registry, lifespan=rt.lifespan(),
                     readiness=rt.readiness, title="thaogo notify")
    app.state.runtime = rt
    return app
