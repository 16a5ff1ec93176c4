"""The compiled week (#22 item 1): the permanent deputy's draft from the members' reports,
a member's report as the weekly report carries it, and a direction's overdue mark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from shared.events import MemberReportSummary

HEADINGS = (("received_summary", "I. Tình hình tiếp nhận", "I. What was received"),
            ("solutions", "II. Giải pháp đang triển khai", "II. Solutions being carried out"),
            ("recommendations", "III. Kiến nghị, đề xuất", "III. Recommendations"))


def draft_compilation(reports: Sequence[tuple[str, Mapping[str, Any] | None]], lang: str
                      ) -> str:
    """The permanent deputy's text pre-filled from the members' reports: under each of the
    three headings, each member's own words (their name first, late ones marked), then
    who did not report."""
    vi = lang == "vi"
    parts: list[str] = []
    for key, head_vi, head_en in HEADINGS:
        lines = [head_vi if vi else head_en]
        for name, report in reports:
            said = str((report or {}).get("payload", {}).get(key) or "").strip()
            if report is None or not said:
                continue
            late = (" (trễ hạn)" if vi else " (late)") if report.get("late") else ""
            lines.append(f"- {name}{late}: {said}")
        if len(lines) == 1:
            lines.append("- (không có)" if vi else "- (none)")
        parts.append("\n".join(lines))
    missing = [name for name, report in reports if report is None]
    if missing:
        parts.append(("Chưa báo cáo: " if vi else "Not reported: ") + ", ".join(missing))
    return "\n\n".join(parts)


def member_report_summary(member_id: str, row: Mapping[str, Any]) -> MemberReportSummary:
    """A member's stored report as the weekly report carries it."""
    payload = row.get("payload") or {}
    return MemberReportSummary(
        member_id=member_id, late=bool(row["late"]), urgent=bool(row.get("urgent")),
        submitted_at=row["submitted_at"],
        received_summary=str(payload.get("received_summary") or ""),
        solutions=str(payload.get("solutions") or ""),
        recommendations=str(payload.get("recommendations") or ""))


def direction_overdue(due_on: date | None, state: str, today: date) -> bool:
    """A tracked direction not done whose due date has passed."""
    return due_on is not None and state != "done" and due_on < today
