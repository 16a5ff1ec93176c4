"""Intake's HTTP routes and its one consumer. Thin: parse, call logic, store, answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.intake import logic, store
from shared import vn
from shared.events import (
    Category,
    DifficultyAssigned,
    Envelope,
    Kind,
    Urgency,
    ZoneType,
    new_envelope,
)
from shared.kafka import Emitter
from shared.service import Runtime

SOURCE = "thaogo/intake"

Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text300
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 .-]{8,20}$")] | None = None
    email: EmailStr | None = None


class DifficultyIn(BaseModel):
    """A difficulty (khó khăn, vướng mắc) or recommendation (kiến nghị) from a business."""

    model_config = ConfigDict(extra="forbid")

    tax_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = Field(
        description="Mã số thuế: 10 digits, or 13 for a branch (0123456789-001)"
    )
    enterprise_name: Text300
    province: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=100)] = Field(
        description="Province code or name, current or former (before July 2025)"
    )
    zone_type: ZoneType | None = None
    zone_name: OptText = None
    category: Category
    kind: Kind = Kind.DIFFICULTY
    title: Text300
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=10_000)]
    urgency: Urgency = Urgency.NORMAL
    contact: ContactIn
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    sector: OptText = None
    ward: OptText = None
    district: OptText = None
    channel: OptText = None


class Accepted(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    status: str = "received"


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    errors: list[FieldError]


def field_error(field: str, reason_en: str, reason_vi: str, lang: str, status: int = 422
                ) -> JSONResponse:
    reason = reason_vi if lang == "vi" else reason_en
    return JSONResponse({"errors": [{"field": field, "reason": reason}]}, status_code=status)


def language(request: Request) -> str:
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "vi"


def build_router(rt: Runtime) -> APIRouter:
    api = APIRouter()
    submissions = Counter(
        "thaogo_intake_submissions_total",
        "Submissions, by province code, zone type, category and outcome",
        ["province", "zone_type", "category", "outcome"],
        registry=rt.registry,
    )
    refusals = Counter(
        "thaogo_intake_refusals_total", "Refused requests, by field and reason code",
        ["field", "reason"], registry=rt.registry,
    )
    rt.state["refusals"] = refusals

    @api.post(
        "/v1/difficulties",
        status_code=202,
        response_model=Accepted,
        responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
        tags=["difficulties"],
        summary="Submit a difficulty or recommendation",
    )
    async def submit(
        body: DifficultyIn,
        request: Request,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", max_length=200)
        ] = None,
    ) -> Any:
        lang = language(request)
        raw = body.model_dump(mode="json")
        fingerprint = logic.request_fingerprint(raw)
        async with rt.db().acquire() as conn:
            if idempotency_key is not None:
                seen = await store.find_idempotent(conn, key=idempotency_key)
                if seen is not None:
                    return _replay(seen, fingerprint, lang)
            try:
                event = new_envelope(
                    logic.build_received(raw, difficulty_id=uuid.uuid4(),
                                         code=logic.tracking_code(), now=datetime.now(UTC)),
                    source=SOURCE,
                )
            except vn.InvalidField as e:
                refusals.labels(e.field, "invalid").inc()
                return field_error(e.field, e.reason_en, e.reason_vi, lang)
            d = event.data
            answer = Accepted(difficulty_id=d.difficulty_id, tracking_code=d.tracking_code)
            response = answer.model_dump(mode="json")
            async with conn.transaction():
                stored = await store.accept_difficulty(
                    conn, event=event, idempotency_key=idempotency_key,
                    request_hash=fingerprint, response=response,
                )
            if not stored:  # the same key raced in; answer as the winner did
                seen = await store.find_idempotent(conn, key=idempotency_key or "")
                assert seen is not None
                return _replay(seen, fingerprint, lang)
        submissions.labels(d.province_code, d.zone_type or "unknown", d.category, "accepted").inc()
        return JSONResponse(response, status_code=202)

    return api


def _replay(seen: Any, fingerprint: str, lang: str) -> JSONResponse:
    if seen["request_hash"] != fingerprint:
        return field_error(
            "Idempotency-Key",
            "this key was already used with a different request body",
            "khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
            lang, status=409,
        )
    return JSONResponse(seen["response"], status_code=seen["status_code"])


async def on_assigned(
    rt: Runtime, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
) -> int:
    async with rt.db().acquire() as conn, conn.transaction():
        return await store.record_assignments(conn, events=batch)
