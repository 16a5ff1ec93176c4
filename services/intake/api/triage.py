"""The permanent deputy's triage (#20 item 3): correcting a difficulty waiting in triage,
and merging a duplicate into the difficulty that carries on."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.intake import usecases
from services.intake.api.common import Service
from services.intake.models import CorrectionIn, MergeAccepted, MergeIn, StatusAccepted
from shared.errors import responses
from shared.identity import SignedIn

router = APIRouter()


@router.post(
    "/v1/difficulties/{difficulty_id}/correction",
    status_code=202,
    response_model=StatusAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Correct the zone type, category or province of a difficulty in triage",
    description="The permanent deputy of the difficulty's task force only (its triage "
    "agency's token; 403 otherwise). What is given replaces the difficulty's own, the "
    "rest stays; nothing different is a 422 naming `correction`, a province without a "
    "task force a 422 naming `province`. Only a difficulty waiting in triage and still "
    "open is corrected (409 otherwise). The correction is a status event "
    "(difficulty.status.v1, status null, `correction`): the router routes the corrected "
    "difficulty again (to the task force of a new province, if it differs), and the "
    "reporting pages show the corrected values.",
)
async def post_correction(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                          body: CorrectionIn) -> Any:
    accepted = await usecases.correct_difficulty(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.post(
    "/v1/difficulties/{difficulty_id}/merge",
    status_code=202,
    response_model=MergeAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Merge a duplicate into the difficulty that carries on",
    description="The permanent deputy of the difficulty's task force only (403 "
    "otherwise). The difficulty closes with status merged and `merged_into` the kept one "
    "(`into`: its tracking code or id, of the same task force and not itself merged; a "
    "422 naming `into` otherwise); the kept one records the duplicate (`duplicate`, "
    "status unchanged). The duplicate's business reads on its tracking page that it was "
    "merged, with the kept difficulty's progress and answer. A closed difficulty: 409.",
)
async def post_merge(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
                     body: MergeIn) -> Any:
    accepted = await usecases.merge_duplicate(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)
