"""Policy bottlenecks (#25 item 1): recommendations many businesses share, merged by the
permanent deputy into one item escalated to a central ministry, and its answer."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared import topics
from shared.events.difficulty import LetterRef
from shared.events.envelope import CE_TYPE_PREFIX, EventData
from shared.events.vocabulary import AgencyId, Category, LongText, Outcome, ShortText


class BottleneckItem(BaseModel):
    """A difficulty merged into a policy bottleneck, as the ministry reads it: what it is
    about, never who raised it (no business name, tax code or contact)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    difficulty_id: uuid.UUID
    title: ShortText
    category: Category


class BottleneckAnswer(BaseModel):
    """The central ministry's answer to a policy bottleneck, from its letter, recorded by
    the permanent deputy; each member difficulty is closed with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome  # resolved, partly_resolved or rejected
    letter: LetterRef
    public_answer: LongText
    answered_by: ShortText  # the permanent deputy's id
    answered_at: AwareDatetime


class PolicyBottleneck(EventData):
    """A policy bottleneck (điểm nghẽn chính sách, #25 item 1): recommendations many
    businesses share, merged by the permanent deputy into one item escalated to a central
    ministry, with how many businesses raised it and their items. Sent when merged and
    again when the ministry's answer is recorded: the latest `changed_at` of a bottleneck
    is what stands. Keyed by the bottleneck, so its two events stay in order."""

    topic: ClassVar[str] = topics.POLICY_BOTTLENECK
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "policy.bottleneck.v1"

    bottleneck_id: uuid.UUID
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    province_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    ministry_id: AgencyId  # the central ministry it is escalated to
    # The legal documents the items cite, by key (shared/legal.py), most cited first.
    documents: list[ShortText] = Field(default_factory=list, max_length=20)
    business_count: Annotated[int, Field(ge=1)]  # distinct businesses (tax codes)
    items: list[BottleneckItem] = Field(min_length=2, max_length=500)
    merged_by: ShortText  # the permanent deputy's id
    merged_at: AwareDatetime
    answer: BottleneckAnswer | None = None
    changed_at: AwareDatetime

    def key(self) -> str:
        return str(self.bottleneck_id)
