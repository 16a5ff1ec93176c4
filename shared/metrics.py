"""One Prometheus registry per service, and the metrics every consumer shares.

Labels are bounded: topic, consumer group, agency id, category... never a
difficulty id, a tax code, a person or an address.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = ["CONTENT_TYPE", "ConsumerMetrics", "new_registry", "render"]

VERSION = "0.1.0"


def new_registry(service: str) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    build = Gauge("thaogo_build_info", "Build of the running service", ["service", "version"],
                  registry=registry)
    build.labels(service, VERSION).set(1)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


@dataclass(frozen=True)
class ConsumerMetrics:
    consumed: Counter
    dead_lettered: Counter
    missing_topic: Counter
    lag: Gauge
    batch_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ConsumerMetrics:
        return cls(
            consumed=Counter(
                "thaogo_events_consumed_total",
                "Events consumed, by outcome (processed, duplicate, dead_lettered)",
                ["topic", "outcome"],
                registry=registry,
            ),
            dead_lettered=Counter(
                "thaogo_dlq_messages_total",
                "Messages sent to a dead-letter topic, by source topic",
                ["topic"],
                registry=registry,
            ),
            missing_topic=Counter(
                "thaogo_missing_topic_messages_total",
                "Messages dead-lettered because a topic their effects go to does not exist,"
                " by source topic",
                ["topic"],
                registry=registry,
            ),
            lag=Gauge(
                "thaogo_consumer_lag_messages",
                "Messages between the consumer's position and the end of its partitions",
                ["group", "topic"],
                registry=registry,
            ),
            batch_seconds=Histogram(
                "thaogo_batch_duration_seconds",
                "Time to process one consumed batch, effects included",
                ["group"],
                registry=registry,
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
        )


@dataclass(frozen=True)
class OutboxMetrics:
    backlog: Gauge
    oldest_age: Gauge
    publish_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> OutboxMetrics:
        return cls(
            backlog=Gauge("thaogo_outbox_backlog_rows", "Outbox rows not yet published",
                          registry=registry),
            oldest_age=Gauge("thaogo_outbox_oldest_unsent_age_seconds",
                             "Age of the oldest outbox row not yet published",
                             registry=registry),
            publish_seconds=Histogram(
                "thaogo_outbox_publish_duration_seconds",
                "Time to publish one outbox batch and have it acknowledged",
                registry=registry,
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            ),
        )
