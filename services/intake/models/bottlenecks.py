"""Policy bottlenecks (#25 item 1): recommendations many businesses share, merged into
one item for a central ministry, and its answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.intake import logic
from services.intake.models.common import SHORT_TEXT_MAX, cleaned
from shared.events import Outcome


class BottleneckIn(BaseModel):
    """Recommendations many businesses share, merged by the permanent deputy into one
    policy bottleneck for a central ministry."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, cleaned(SHORT_TEXT_MAX)] = Field(
        description="What the bottleneck is, as the ministry reads it")
    ministry_id: Annotated[str, StringConstraints(max_length=120)] = Field(
        description="The central ministry (an agency of level central in the configuration)")
    difficulty_ids: list[uuid.UUID] = Field(
        min_length=2, max_length=logic.BOTTLENECK_MAX_ITEMS,
        description="The difficulties and recommendations merged, open, of the task force")


class BottleneckAccepted(BaseModel):
    bottleneck_id: uuid.UUID
    ministry_id: str
    business_count: int = Field(description="Distinct businesses (tax codes) among the items")
    item_count: int
    documents: list[str] = Field(description="Keys of the legal documents the items cite, "
                                 "most cited first")


class BottleneckAnswered(BaseModel):
    bottleneck_id: uuid.UUID
    outcome: Outcome
    closed: list[uuid.UUID] = Field(description="The member difficulties closed with the "
                                    "ministry's answer")
    already_closed: list[uuid.UUID] = Field(description="Members closed before the answer "
                                            "came, left as they were")
