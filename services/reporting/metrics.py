"""Reporting's metrics, every one of them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class ProjectionMetrics:
    projected: Counter
    lag: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ProjectionMetrics:
        return cls(
            projected=Counter("thaogo_reporting_events_projected_total",
                              "Events newly projected (duplicates excluded), by topic",
                              ["topic"], registry=registry),
            lag=Gauge("thaogo_reporting_projection_lag_seconds",
                      "Now minus the event time of the last projected event",
                      registry=registry),
        )


@dataclass(frozen=True)
class PublishMetrics:
    published: Counter
    last_published: Gauge
    cutoff: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> PublishMetrics:
        return cls(
            published=Counter(
                "thaogo_reporting_weekly_reports_published_total",
                "Weekly reports this replica claimed and handed to the outbox, by task force",
                ["province"], registry=registry),
            last_published=Gauge(
                "thaogo_reporting_last_weekly_report_timestamp_seconds",
                "When the latest weekly report of a task force was generated (from the database)",
                ["province"], registry=registry),
            # The alert on a late report compares with this rather than computing Friday
            # 12:00 itself: a holiday Friday moves the cutoff (shared/calendar.py).
            cutoff=Gauge(
                "thaogo_reporting_weekly_cutoff_timestamp_seconds",
                "The latest weekly cutoff that has passed: Friday 12:00 Asia/Ho_Chi_Minh, or "
                "12:00 of the working day before a holiday Friday", registry=registry),
        )


@dataclass(frozen=True)
class CaseloadGauges:
    open: Gauge
    overdue: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> CaseloadGauges:
        return cls(
            open=Gauge("thaogo_reporting_open_difficulties",
                       "Difficulties not resolved or rejected, by current handling agency",
                       ["agency"], registry=registry),
            overdue=Gauge("thaogo_reporting_overdue_difficulties",
                          "Open difficulties past their acknowledge or resolve deadline, by agency",
                          ["agency"], registry=registry),
        )
