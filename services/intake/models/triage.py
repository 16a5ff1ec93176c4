"""The permanent deputy's triage (#20 item 3): a difficulty's zone type, category or
province corrected, and a duplicate merged into the difficulty that carries on."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.intake.models.common import ProvinceName
from shared.events import Category, Status, ZoneType


class CorrectionIn(BaseModel):
    """The permanent deputy's correction of a difficulty waiting in triage: what is given
    replaces the difficulty's own; the router routes it again."""

    model_config = ConfigDict(extra="forbid")

    zone_type: ZoneType | Literal[""] | None = Field(
        default=None, description="KCN, KKT, CCN or NONE; an empty string clears a zone type "
        "given wrongly; absent keeps it")
    category: Category | None = Field(default=None, description="The category; absent keeps it")
    province: ProvinceName | None = Field(
        default=None, description="Province code or name, current or former: a province of "
        "another task force moves the difficulty there; absent keeps it")
    note: Annotated[str, StringConstraints(max_length=2_000)] | None = Field(
        default=None, description="Why (internal)")


class MergeIn(BaseModel):
    """The permanent deputy merges a duplicate into the difficulty that carries on."""

    model_config = ConfigDict(extra="forbid")

    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=60)] = Field(
        description="The kept difficulty, by its tracking code or its id; of the same task "
        "force, not itself merged")
    note: Annotated[str, StringConstraints(max_length=2_000)] | None = Field(
        default=None, description="Why (internal)")


class MergeAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    status: Status
    merged_into: uuid.UUID
    kept_tracking_code: str
