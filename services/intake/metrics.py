"""Intake's metrics, every one of them: submissions, refusals, status updates, member
reports, authentication failures, and request durations by route."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.models import DifficultyIn, MemberReportIn, StatusIn, UrgencyIn
from shared.errors import REASONS_VI


@dataclass(frozen=True)
class IntakeMetrics:
    submissions: Counter
    refusals: Counter
    status_updates: Counter
    member_reports: Counter
    auth_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IntakeMetrics:
        return cls(
            submissions=Counter(
                "thaogo_intake_submissions_total",
                "Submissions, by province code, zone type, category and outcome",
                ["province", "zone_type", "category", "outcome"], registry=registry,
            ),
            refusals=Counter(
                "thaogo_intake_refusals_total", "Refused requests, by field and reason code",
                ["field", "reason"], registry=registry,
            ),
            status_updates=Counter(
                "thaogo_status_updates_total", "Status updates accepted, by status",
                ["status"], registry=registry,
            ),
            member_reports=Counter(
                "thaogo_intake_member_reports_total",
                "Member weekly reports accepted, by timeliness (on_time, late) and whether "
                "they replaced an earlier one",
                ["timeliness", "replaced"], registry=registry,
            ),
            auth_failures=Counter(
                "thaogo_intake_auth_failures_total",
                "Requests refused for authentication or authorisation, by reason",
                ["reason"], registry=registry,
            ),
        )

    def refused(self, field: str, reason: str) -> None:
        self.refusals.labels(*refusal_labels(field, reason)).inc()


# The label values of thaogo_intake_refusals_total, closed sets. Pydantic names a client's
# unknown JSON key as the refused field ("extra_forbidden"), so the field label is looked up
# here rather than taken from the refusal: one request with many unknown keys would
# otherwise create as many series.
REFUSAL_FIELDS = frozenset(
    {*DifficultyIn.model_fields, *StatusIn.model_fields, *MemberReportIn.model_fields,
     *UrgencyIn.model_fields, "Authorization", "Content-Type", "Idempotency-Key", "body",
     "client", "difficulty_id", "file", "method", "path", "row", "week",
     # The fields intake's own rules refuse by name (casework, triage, the business's
     # answers on /track, bottlenecks, attachments).
     "waive_open_parts_reason", "public_answer", "code", "difficulty_ids", "bottleneck_id",
     "files", "into", "correction", "step"}
)
UNKNOWN_FIELD = "unknown_field"
REFUSAL_REASONS = frozenset(
    {*REASONS_VI, "invalid", "task_force_dissolved", "transition", "rate_limited", "conflict",
     "content_type", "file", "extra_cells", "parts_open", "not_central", "not_found",
     "not_waiting", "not_mergeable", "answered", "missing", "too_many"}
)
OTHER_REASON = "other"


def refusal_labels(field: str, reason: str) -> tuple[str, str]:
    """(field, reason) labels for a refusal: the top-level field name if it is one of ours,
    else "unknown_field"; the reason code if known, else "other"."""
    top = field.split(".")[0]
    return (top if top in REFUSAL_FIELDS else UNKNOWN_FIELD,
            reason if reason in REFUSAL_REASONS else OTHER_REASON)


def _flat(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Routes of included routers too (FastAPI wraps them; the wrapper has no path)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield r


class RequestMetrics:
    """`thaogo_intake_request_duration_seconds{route,method,status_class}`: the route is the
    template ("/v1/difficulties/{difficulty_id}/status"), never the raw path, which would
    put ids in labels; unmatched paths share one label."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry,
                 routes: Callable[[], Sequence[BaseRoute]] = tuple) -> None:
        self.app = app
        self.routes = routes
        self.duration = Histogram(
            "thaogo_intake_request_duration_seconds",
            "HTTP request duration, by route template, method and status class",
            ["route", "method", "status_class"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            # Refused before routing (429, 413): find the template the request was for.
            route = next(
                (r for r in _flat(self.routes()) if r.matches(scope)[0] == Match.FULL), None
            )
        return getattr(route, "path", None) or "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = self.template(scope)
            method = scope.get("method", "GET")
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
                method = "other"
            self.duration.labels(template, method, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
