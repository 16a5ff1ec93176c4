"""What a business submits (by the API, the web form or a row of the CSV import) and what
it is answered: the submission validated and cleaned field by field into the event it
becomes, an import's answer row by row, and the vocabulary its closed lists take."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.intake import logic
from services.intake.models.common import Description, OptText, ProvinceName, TaxCode, Text
from shared import vn
from shared.errors import FieldError
from shared.events import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    ZONE_TYPE_LABELS,
    Category,
    Contact,
    DifficultyReceived,
    Kind,
    Urgency,
    UrgencySource,
    ZoneType,
)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 .-]{8,20}$")] | None = None
    email: EmailStr | None = None


class DifficultyIn(BaseModel):
    """A difficulty (khó khăn, vướng mắc) or recommendation (kiến nghị) from a business,
    as it will be stored: validated and cleaned field by field, every refusal at once."""

    model_config = ConfigDict(extra="forbid")

    tax_code: TaxCode = Field(
        description="Mã số thuế: 10 digits, or 13 for a branch (0123456789-001)"
    )
    enterprise_name: Text
    province: ProvinceName = Field(
        description="Province code or name, current or former (before July 2025)"
    )
    zone_type: ZoneType | None = None
    zone_name: OptText = None
    category: Category
    kind: Kind = Kind.DIFFICULTY
    title: Text
    description: Description
    urgency: Urgency = Urgency.NORMAL
    contact: ContactIn
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    sector: OptText = None
    ward: OptText = None
    district: OptText = None
    channel: OptText = None

    def received(self, *, difficulty_id: uuid.UUID, code: str, now: datetime,
                 urgency_source: UrgencySource = UrgencySource.BUSINESS) -> DifficultyReceived:
        """The event of this submission, with its province resolved (the task force its
        province names; usecases.received_event may choose a former province's)."""
        province = vn.resolve_province(self.province)
        c = self.contact
        return DifficultyReceived(
            difficulty_id=difficulty_id,
            tracking_code=code,
            received_at=now,
            province_code=province.code,
            province_name=province.name,
            task_force=province.task_force_slug,
            contact=Contact(name=c.name, phone=c.phone, email=c.email),
            urgency_source=urgency_source,
            **self.model_dump(exclude={"province", "contact"}),
        )


class Accepted(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    status: str = "received"

class ImportRowOut(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it (the header is 1)")
    accepted: bool
    difficulty_id: uuid.UUID | None = None
    tracking_code: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ImportResult(BaseModel):
    accepted: int
    refused: int
    rows: list[ImportRowOut]


class Label(BaseModel):
    code: str
    vi: str
    en: str


class Vocabulary(BaseModel):
    categories: list[Label]
    zone_types: list[Label]
    kinds: list[Label]
    urgencies: list[Label]
    statuses: list[Label]


def vocabulary() -> Vocabulary:
    def labels(d: dict[Any, tuple[str, str]]) -> list[Label]:
        return [Label(code=str(k), vi=vi, en=en) for k, (vi, en) in d.items()]

    return Vocabulary(
        categories=labels(CATEGORY_LABELS),
        zone_types=labels(ZONE_TYPE_LABELS),
        kinds=labels({Kind.DIFFICULTY: ("Khó khăn, vướng mắc", "Difficulty"),
                      Kind.RECOMMENDATION: ("Kiến nghị", "Recommendation")}),
        urgencies=labels({Urgency.NORMAL: ("Thông thường", "Normal"),
                          Urgency.URGENT: ("Khẩn, đột xuất", "Urgent")}),
        statuses=labels({s: STATUS_LABELS[s] for s in logic.POSTABLE}),
    )
