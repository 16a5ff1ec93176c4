"""Policy bottlenecks (#25 item 1): the permanent deputy merges recommendations many
businesses share into one item for a central ministry, and records its answer."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.intake.api.common import Service
from services.intake.models import (
    BottleneckAccepted,
    BottleneckAnswered,
    BottleneckIn,
    IdempotencyKey,
    MinistryAnswerIn,
)
from services.intake.usecases import bottlenecks
from shared.errors import responses
from shared.identity import SignedIn

router = APIRouter()


@router.post(
    "/v1/bottlenecks",
    status_code=202,
    response_model=BottleneckAccepted,
    responses=responses(401, 403, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Merge recommendations many businesses share into one policy bottleneck",
    description="The province's permanent deputy only (403 otherwise). The items "
    "(`difficulty_ids`, 2 to 500, open, of the deputy's task force: 422 naming one that is "
    "not) become one policy bottleneck escalated to the central ministry `ministry_id` as "
    "one item (policy.bottleneck.v1), with the number of businesses and what each item is "
    "about, never who raised it. An item closed or already in a bottleneck: 409 naming it. "
    "The same `Idempotency-Key` merges once and answers the same.",
)
async def post_bottleneck(ix: Service, who: SignedIn, body: BottleneckIn,
                          idempotency_key: IdempotencyKey = None) -> Any:
    accepted = await bottlenecks.merge(ix, who, body, idempotency_key or str(uuid.uuid4()))
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.post(
    "/v1/bottlenecks/{bottleneck_id}/ministry-answer",
    status_code=202,
    response_model=BottleneckAnswered,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Record the central ministry's answer to a policy bottleneck",
    description="The province's permanent deputy only (403 otherwise); the body is that "
    "of `/v1/difficulties/{id}/ministry-answer`. Every member item still open is closed "
    "with the ministry's letter cited and `public_answer`, which each business reads on "
    "its tracking page; members closed meanwhile are left as they are. Answered once: "
    "409 after.",
)
async def post_bottleneck_answer(ix: Service, who: SignedIn, bottleneck_id: uuid.UUID,
                                 body: MinistryAnswerIn) -> Any:
    answered = await bottlenecks.answer(ix, who, bottleneck_id, body)
    return JSONResponse(answered.model_dump(mode="json"), status_code=202)
