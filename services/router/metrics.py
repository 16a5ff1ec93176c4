"""The router's metrics, every one of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter

from services.router import logic
from shared.events import AssignmentRole, DifficultyAssigned


@dataclass(frozen=True)
class RouterMetrics:
    assignments: PromCounter
    triage: PromCounter
    decision_seconds: Histogram
    ignored_status: PromCounter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RouterMetrics:
        metrics = cls(
            assignments=PromCounter(
                "thaogo_router_assignments_total",
                "Assignments published, by agency, kind of rule and role",
                ["agency", "rule_kind", "role"],
                registry=registry,
            ),
            triage=PromCounter(
                "thaogo_router_triage_total",
                "Difficulties sent to the permanent deputy's triage queue, by reason",
                ["reason"],
                registry=registry,
            ),
            decision_seconds=Histogram(
                "thaogo_router_decision_duration_seconds",
                "Time to decide the assignments of one batch, per difficulty",
                registry=registry,
                buckets=(1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2),
            ),
            ignored_status=PromCounter(
                "thaogo_router_status_ignored_total",
                "Escalations and reassignment requests recorded but not acted on, because "
                "their actor does not hold what they would move, by reason",
                ["reason"],
                registry=registry,
            ),
        )
        # ThaogoTriageGrowing reads increase(): the series is there before the first one
        # (the reason is the rule's last part, as `count` counts it).
        metrics.triage.labels(logic.RULE_TRIAGE.rsplit(".", 1)[-1])
        return metrics

    def count(self, assignments: Iterable[DifficultyAssigned]) -> None:
        counted: Counter[tuple[str, str, str]] = Counter()
        triage: Counter[str] = Counter()
        for a in assignments:
            counted[a.agency_id, a.rule.split(".")[0], a.role] += 1
            if a.role is AssignmentRole.TRIAGE:
                triage[a.rule.rsplit(".", 1)[-1]] += 1
        for labels, n in counted.items():
            self.assignments.labels(*labels).inc(n)
        for reason, n in triage.items():
            self.triage.labels(reason).inc(n)


def config_reloads(registry: CollectorRegistry) -> PromCounter:
    """Province configuration reloads by outcome. ThaogoRoutingConfigRefused reads
    increase() of the refusals: both series exist from the start, or the first refused
    edit after a deploy would raise nothing."""
    reloads = PromCounter(
        "thaogo_router_config_reloads_total", "Province configuration reloads, by outcome",
        ["outcome"], registry=registry,
    )
    for outcome in ("applied", "refused"):
        reloads.labels(outcome)
    return reloads
