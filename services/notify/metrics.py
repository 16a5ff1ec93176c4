"""Notify's metrics, every one of them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.notify import logic
from shared.provinces import Channel as ContactChannel


@dataclass(frozen=True)
class NotifyMetrics:
    messages: Counter
    delivery_seconds: Histogram
    retry_queue: Gauge
    oldest_age: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> NotifyMetrics:
        messages = Counter(
            "thaogo_notify_messages_total",
            "Messages by kind, channel and outcome (sent, failed, retried, held)",
            ["kind", "channel", "outcome"], registry=registry,
        )
        # ThaogoNotificationFailures reads increase() of the failures: a series that only
        # appears with the first failure after a deploy would raise nothing.
        for kind in logic.KINDS:
            for channel in ContactChannel:
                messages.labels(kind, channel.value, "failed")
        return cls(
            messages=messages,
            delivery_seconds=Histogram(
                "thaogo_notify_delivery_duration_seconds",
                "Time of one delivery attempt, by channel", ["channel"], registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            ),
            retry_queue=Gauge(
                "thaogo_notify_retry_queue_size",
                "Undelivered messages that failed at least once and wait for a retry",
                registry=registry,
            ),
            oldest_age=Gauge(
                "thaogo_notify_oldest_undelivered_age_seconds",
                "How long the oldest due, undelivered message has been due",
                registry=registry,
            ),
        )

    def held(self, owed: list[logic.Owed]) -> None:
        for o in owed:
            if o.held:
                self.messages.labels(o.kind, o.channel, "held").inc()
