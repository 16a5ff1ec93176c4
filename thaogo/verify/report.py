"""The checker's findings: each difference, what was compared, what was left unchecked,
and the one field-by-field comparison every service's check uses."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.audit import Finding


@dataclass(frozen=True, slots=True)
class Difference:
    service: str
    table: str
    id: str
    field: str
    expected: Any
    found: Any

    def __str__(self) -> str:
        return (f"{self.service}\t{self.table}\t{self.id}\t{self.field}\t"
                f"expected {_show(self.expected)}\tfound {_show(self.found)}")


def _show(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat()
    return json.dumps(v, default=str, ensure_ascii=False) if not isinstance(v, str) else v


@dataclass
class Report:
    differences: list[Difference] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)  # decoded events per topic
    undecodable: Counter[str] = field(default_factory=Counter)
    compared: Counter[str] = field(default_factory=Counter)  # rows compared per table
    unchecked: list[str] = field(default_factory=list)  # what retention made impossible
    audit: list[Finding] = field(default_factory=list)  # what the history chains show
    audit_summary: str | None = None

    def differ(self, service: str, table: str, id_: object, fld: str, expected: Any,
               found: Any) -> None:
        self.differences.append(Difference(service, table, str(id_), fld, expected, found))

    @property
    def ok(self) -> bool:
        return not self.differences and not self.audit

    def summary(self) -> str:
        lines = [str(d) for d in self.differences] + [str(f) for f in self.audit]
        if self.audit_summary is not None:
            lines.append(self.audit_summary)
        lines += [f"not checked: {u}" for u in self.unchecked]
        n = len(self.differences) + len(self.audit)  # an audit finding is a difference too
        lines.append(
            f"{sum(self.events.values())} events read"
            + (f" ({sum(self.undecodable.values())} undecodable, left to the dead-letter"
               " topics)" if self.undecodable else "")
            + f", {sum(self.compared.values())} rows compared, "
            + f"{n} difference{'s' if n != 1 else ''}")
        return "\n".join(lines)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        # PostgreSQL keeps microseconds; events may carry as much.
        return abs((a - b).total_seconds()) < 1e-6
    return bool(a == b)


def compare_row(report: Report, service: str, table: str, id_: object,
                 expected: Mapping[str, Any], row: Mapping[str, Any]) -> None:
    report.compared[f"{service}.{table}"] += 1
    for k, v in expected.items():
        if not same(v, row[k]):
            report.differ(service, table, id_, k, v, row[k])
