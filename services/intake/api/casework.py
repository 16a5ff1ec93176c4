"""Casework on one difficulty, by the agencies, members and the permanent deputy on it:
a status, the urgency confirmed, a step on one's own part, the resolution, the central
ministry's answer and the letter to it; and reading the difficulty."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.intake import usecases
from services.intake.api.common import Service
from services.intake.models import (
    DifficultyOut,
    LetterIn,
    MinistryAnswerIn,
    ResolutionAccepted,
    ResolutionIn,
    StatusAccepted,
    StatusIn,
    StepAccepted,
    StepIn,
    UrgencyConfirmedOut,
    UrgencyIn,
)
from shared.errors import responses
from shared.identity import SignedIn

router = APIRouter()


@router.post(
    "/v1/difficulties/{difficulty_id}/status",
    status_code=202,
    response_model=StatusAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Post a status update on a difficulty assigned to the caller",
    description="Authenticated by the agency's (or member's) bearer token. Who may post "
    "what (403 naming the reason otherwise): the lead agency (or whoever holds the "
    "difficulty after an escalation or in triage) and the province's permanent deputy "
    "(its triage agency's token), every status; a co-handling agency, on its own part, "
    "acknowledged, in_progress and reassign_requested; the responsible task-force member, "
    "acknowledged and in_progress; an operator, nothing. Allowed transitions: resolved "
    "and rejected are final; escalated and reassign_requested hand the difficulty on; "
    "in_progress may repeat as progress notes. A co-handler's or member's acknowledged "
    "and in_progress move their own part only (as POST .../steps does). Closing "
    "(resolved, rejected) while co-handlers' parts are open is a 409: close with POST "
    ".../resolution, which can waive them with a reason. The steps and resolution "
    "endpoints are the fuller forms of this one.",
)
async def post_status(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                      body: StatusIn) -> Any:
    accepted = await usecases.post_status(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.post(
    "/v1/difficulties/{difficulty_id}/urgency",
    status_code=202,
    response_model=UrgencyConfirmedOut,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Confirm that an urgent difficulty is urgent",
    description="A business's own urgent flag reaches its lead agency at once, but the "
    "head and the permanent deputy only in office hours. Confirmed here by the lead "
    "agency (or whoever holds the difficulty), the permanent deputy or a member of its "
    "task force, it reaches them at once, day or night (difficulty.urgency.v1). 202 "
    "with the confirmation; 200 with the first one when it was confirmed already; 409 "
    "(field `urgency`) for a difficulty not marked urgent or filed urgent by a member "
    "or operator (vouched for already); 403 for anyone else.",
)
async def confirm_urgency(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                          body: UrgencyIn) -> Any:
    new, confirmed = await usecases.confirm_urgency(ix, who, difficulty_id, body)
    return JSONResponse(confirmed.model_dump(mode="json"), status_code=202 if new else 200)


@router.post(
    "/v1/difficulties/{difficulty_id}/steps",
    status_code=202,
    response_model=StepAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Move the caller's own part of a difficulty: acknowledged, in progress, done or "
    "declined",
    description="Each assignment has its own state: the lead agency, each co-handling "
    "agency and the responsible task-force member move their own (403 for a caller with "
    "no active assignment on the difficulty). acknowledged → in_progress (may repeat, each "
    "a progress note) → done (the note says what was done) or declined (\"not ours\": "
    "the note says why, `suggested_agency_id` may name the agency that should act). done "
    "and declined are final (409 after them). A co-handler's or member's step leaves the "
    "difficulty's status as it is (`status: null` on difficulty.status.v1); the lead's "
    "steps move it: acknowledged, in_progress, and declined, which sends the difficulty "
    "back to the permanent deputy's triage queue with the reason (reassign_requested). "
    "The lead's part is done by closing the difficulty with POST .../resolution.",
)
async def post_step(ix: Service, who: SignedIn, difficulty_id: uuid.UUID, body: StepIn) -> Any:
    accepted = await usecases.post_step(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.post(
    "/v1/difficulties/{difficulty_id}/resolution",
    status_code=202,
    response_model=ResolutionAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Close a difficulty (or pass it up) with a structured resolution",
    description="Only the agency holding the difficulty (its lead, or whoever holds it "
    "after an escalation or in triage) or the province's permanent deputy; a co-handler "
    "or a member gets a 403 naming why (they finish their own part with POST .../steps). "
    "The outcome: resolved or partly_resolved (the difficulty is resolved), rejected (out "
    "of scope, `reason` required) or escalated (beyond provincial authority, `reason` "
    "required: the router passes it to the central ministry). `done` says what was done "
    "and `legal_basis` the document cited (\"Công văn 123/UBND-KT\"); `public_answer` is "
    "what the business reads on its tracking page, `note` stays internal. Closing while "
    "co-handlers' parts are neither done nor declined is a 409 naming "
    "`waive_open_parts_reason`: give it to close without them; the parts waived and the "
    "reason are recorded. A difficulty already resolved or rejected: 409.",
)
async def post_resolution(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                          body: ResolutionIn) -> Any:
    accepted = await usecases.post_resolution(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.post(
    "/v1/difficulties/{difficulty_id}/ministry-answer",
    status_code=202,
    response_model=ResolutionAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Record the central ministry's answer to an escalated difficulty",
    description="The province's permanent deputy only (403 otherwise), for a difficulty a "
    "central ministry holds after an escalation (409 otherwise). The ministry's letter "
    "(`letter_number`, `letter_date`, not in the future) is cited in the resolution; "
    "`public_answer` is the ministry's answer as the business reads it on its tracking "
    "page. `outcome` resolved (default), partly_resolved or rejected closes the difficulty "
    "and stops the reminders to chase the ministry.",
)
async def post_ministry_answer(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                               body: MinistryAnswerIn) -> Any:
    accepted = await usecases.record_ministry_answer(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.post(
    "/v1/difficulties/{difficulty_id}/letter",
    status_code=202,
    response_model=StatusAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Register the number and date of the letter to the ministry",
    description="The province's permanent deputy registers the letter (công văn) passing "
    "an escalated difficulty to the central ministry once signed: its number and symbol "
    "and its date, printed in the letter reporting renders and shown on the difficulty's "
    "page. Registering again corrects it. 403 for anyone else, 409 when no ministry holds "
    "the difficulty.",
)
async def post_letter(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                      body: LetterIn) -> Any:
    accepted = await usecases.register_letter(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.get(
    "/v1/difficulties/{difficulty_id}",
    response_model=DifficultyOut,
    responses=responses(401, 403, 404, 429),
    tags=["agencies"],
    summary="Read a difficulty assigned to the caller",
    description="Authenticated by an agency's, member's or operator's bearer token. Who "
    "reads it: the agencies and the member it is assigned to, the province's permanent "
    "deputy, and an operator of its province. The business's contact person (name, "
    "phone, e-mail) is shown to the lead agency and the permanent deputy only; the "
    "others get `contact: null`, as in their tasks on the agency topics.",
)
async def read_difficulty(ix: Service, who: SignedIn, difficulty_id: uuid.UUID) -> Any:
    found = await usecases.read_difficulty(ix, who, difficulty_id)
    return JSONResponse(found.model_dump(mode="json"))
