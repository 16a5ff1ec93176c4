"""The API's response models: what a business may know of its difficulty, and the members'
list of difficulties."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.events import (
    Outcome,
    Status,
)


class KeptOut(BaseModel):
    """The difficulty a duplicate was merged into: its public progress and answer only."""

    status: Status
    status_vi: str
    status_en: str
    agency_name_vi: str | None
    agency_name_en: str | None
    outcome: Outcome | None = None
    answered_at: datetime | None = None
    public_answer: str | None = None


class TrackOut(BaseModel):
    """What a business may know of its own difficulty, and nothing more."""

    tracking_code: str
    status: Status
    status_vi: str
    status_en: str
    received_at: datetime
    status_at: datetime
    resolved_at: datetime | None
    agency_name_vi: str | None
    agency_name_en: str | None
    # The lead's answer, once it closed the difficulty or passed it up: the public part of
    # its resolution only (what was done internally, notes and waivers stay inside).
    outcome: Outcome | None = None
    outcome_vi: str | None = None
    outcome_en: str | None = None
    answered_at: datetime | None = None
    public_answer: str | None = None
    # Merged as a duplicate (status merged, #20 item 3): the difficulty kept, which carries
    # on for both businesses, as this one's business may read it (never its business).
    kept: KeptOut | None = None


class DifficultyOut(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    enterprise_name: str | None
    task_force: str | None
    province_code: str
    zone_type: str | None
    category: str
    kind: str
    urgency: str
    status: Status
    received_at: datetime
    status_at: datetime
    resolved_at: datetime | None
    agency_id: str | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool
    # The deadline it runs to next: acknowledging while nobody has, then resolving; none
    # once closed.
    next_due_at: datetime | None = None


class DifficultyPage(BaseModel):
    items: list[DifficultyOut]
    next_cursor: str | None
