"""Casework on a difficulty, as agencies, members and the permanent deputy post it: a
status, the urgency confirmed, a step on one's own part, the resolution, the ministry's
answer and the letter to the ministry; and a difficulty as the caller may read it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.intake import logic
from shared.events import Outcome, Status, Step, TaskDifficulty

PostableStatus = Literal[
    "acknowledged", "in_progress", "resolved", "escalated", "rejected", "reassign_requested"
]


class StatusIn(BaseModel):
    """A status update from the agency (or member) the difficulty is assigned to."""

    model_config = ConfigDict(extra="forbid")

    status: PostableStatus
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = Field(
        default=None,
        description="Required for resolved (the resolution) and for escalated and rejected "
        "(the reason)",
    )
    target_agency_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None,
        description="With reassign_requested, from the permanent deputy only: the agency of "
        "the task force that is to lead (a dispatch from the triage queue, or a correction "
        "of the routing). Without it an agency's request goes to the permanent deputy's "
        "triage queue.",
    )
    co_agency_ids: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=20,
        description="With a dispatch (target_agency_id), from the permanent deputy only: "
        "agencies of the task force that co-handle it beside the lead, each its own "
        "co_handler assignment.")


class StatusAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    status: Status


class UrgencyIn(BaseModel):
    """An officer's or a member's word that an urgent difficulty is urgent."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)] | None = (
        Field(default=None, description="Why it cannot wait (for the head's message)"))


class UrgencyConfirmedOut(BaseModel):
    confirmation_id: uuid.UUID
    difficulty_id: uuid.UUID
    confirmed_by: str
    reported: bool = Field(description="Filed urgent by a member or operator, rather than "
                           "confirmed afterwards")
    confirmed_at: datetime


Note = Annotated[str, StringConstraints(max_length=10_000)]


class StepIn(BaseModel):
    """A step on the caller's own part of a difficulty (its assignment)."""

    model_config = ConfigDict(extra="forbid")

    step: Step = Field(description="acknowledged, in_progress (may repeat, each a progress "
                       "note), need_info (a question to the business), done (say what was done; "
                       "not for the lead, which closes with a resolution) or "
                       "declined (\"not ours\", with the reason)")
    note: Note | None = Field(default=None, description="Required for done (what was done) "
                              "and declined (why it is not yours); internal, never shown to "
                              "the business")
    question: Note | None = Field(default=None, description="Required with need_info: what "
                                  "the business is asked, shown on its tracking page; the "
                                  "part's clock stands still until it answers")
    suggested_agency_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="With declined: the agency of the task force that should "
        "act, as advice to the permanent deputy (nothing is routed to it)")
    assignment_id: uuid.UUID | None = Field(
        default=None, description="Which of the caller's assignments, if it has several on "
        "the difficulty; default its own (as holder first)")


class StepAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    assignment_id: uuid.UUID
    step: Step
    status: Status | None = Field(description="The difficulty's status after the step: "
                                  "moved by the lead's steps only, else null")


class ResolutionIn(BaseModel):
    """How the lead agency (or the permanent deputy) closes a difficulty or passes it up."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    done: Note = Field(description="What was done (for the task force's record)")
    legal_basis: Annotated[str, StringConstraints(max_length=300)] | None = Field(
        default=None, description="The legal basis or document cited, with its number and "
        "symbol, e.g. \"Công văn 123/UBND-KT\"")
    public_answer: Note = Field(description="The answer the business reads on its tracking "
                                "page; kept apart from internal notes")
    reason: Note | None = Field(default=None, description="Required for rejected (why out "
                                "of scope) and escalated (why beyond provincial authority)")
    note: Note | None = Field(default=None, description="Internal note, never shown to the "
                              "business")
    waive_open_parts_reason: Note | None = Field(
        default=None, description="To close while co-handlers' parts are still open: why "
        "the difficulty closes without them (recorded with the parts waived)")


class ResolutionAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    outcome: Outcome
    status: Status
    waived: list[uuid.UUID] = Field(description="Co-handlers' assignments closed without "
                                    "their parts done")


LetterNumber = Annotated[str, StringConstraints(min_length=1, max_length=60,
                                               pattern=r"^[0-9]+/[^\s/].*$")]


class MinistryAnswerIn(BaseModel):
    """The central ministry's answer to an escalated difficulty, as its letter says."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["resolved", "partly_resolved", "rejected"] = "resolved"
    letter_number: LetterNumber = Field(description="The ministry's letter, number and "
                                        "symbol, e.g. \"4512/BTC-CST\"")
    letter_date: date = Field(description="The date of the ministry's letter")
    public_answer: Note = Field(description="The ministry's answer as the business reads it "
                                "on its tracking page")
    note: Note | None = Field(default=None, description="Internal note")


class LetterIn(BaseModel):
    """The province's letter passing an escalated difficulty to the ministry, registered."""

    model_config = ConfigDict(extra="forbid")

    letter_number: LetterNumber = Field(description="Number and symbol as registered, e.g. "
                                        "\"125/UBND-KT\"")
    letter_date: date = Field(description="The date the letter was signed")


class DifficultyOut(BaseModel):
    """A difficulty as the caller may read it, and where the caller stands in it."""

    standing: logic.Standing
    difficulty: TaskDifficulty
