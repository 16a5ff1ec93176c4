"""A task-force member's week: the weekly report (báo cáo tuần) submitted, and the week as
the member reads it (assigned items, reports due, a draft with the figures known)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events import Status, Urgency

ReportText = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class MemberReportIn(BaseModel):
    """A task-force member's weekly report (báo cáo tuần)."""

    model_config = ConfigDict(extra="forbid")

    received_summary: ReportText = Field(description="Tình hình tiếp nhận")
    solutions: ReportText = Field(description="Kết quả, giải pháp tháo gỡ")
    recommendations: ReportText = Field(description="Kiến nghị, đề xuất")
    figures: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")],
                  Annotated[int, Field(ge=0, le=1_000_000_000)]] = Field(
        default_factory=dict, max_length=50
    )
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")] | None = Field(
        default=None, description="ISO week of the closing Friday; default the current week. "
        "A past week is accepted and marked late."
    )
    urgent: bool = False


class MemberReportAccepted(BaseModel):
    report_id: uuid.UUID
    week_label: str
    late: bool
    revision: int = Field(description="1 for the first report of the week; more replaces it")

class WeekItem(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    category: str
    status: Status
    urgency: Urgency
    received_at: datetime
    assigned_at: datetime
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool


class WeekFigures(BaseModel):
    received: int = Field(description="Assigned to the member and received this week")
    resolved: int = Field(description="Resolved this week")
    open: int
    overdue: int


class ReportDue(BaseModel):
    week_label: str
    due_at: datetime
    reported: bool
    revision: int | None = None
    late_if_submitted_now: bool


class ReportDraft(BaseModel):
    """A MemberReportIn with what the system knows filled in."""

    week_label: str
    received_summary: str
    solutions: str = ""
    recommendations: str = ""
    figures: dict[str, int]


class MemberWeekOut(BaseModel):
    member_id: str
    province_code: str
    week_label: str
    window_start: datetime
    window_end: datetime
    open: list[WeekItem]
    overdue: list[WeekItem]
    resolved_this_week: list[WeekItem]
    figures: WeekFigures
    reports_due: list[ReportDue]
    draft: ReportDraft
