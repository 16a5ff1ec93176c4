"""Intake's HTTP routes and its one consumer. Thin: parse, call logic, store, answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Header, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.intake import logic, store, tokens
from services.intake.errors import language, refuse, refuse_invalid, responses
from shared import vn
from shared.calendar import Clock, SystemClock
from shared.events import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    ZONE_TYPE_LABELS,
    ActorKind,
    Category,
    DifficultyAssigned,
    Envelope,
    Kind,
    Status,
    Urgency,
    ZoneType,
    deterministic_id,
    new_envelope,
)
from shared.kafka import Emitter
from shared.provinces import ConfigHolder
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


class StatusAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    status: Status


ReportText = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class MemberReportIn(BaseModel):
    """A task-force member's weekly report (báo cáo tuần)."""

    model_config = ConfigDict(extra="forbid")

    received_summary: ReportText = Field(description="Tình hình tiếp nhận")
    solutions: ReportText = Field(description="Kết quả, giải pháp tháo gỡ")
    recommendations: ReportText = Field(description="Kiến nghị, đề xuất")
    figures: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")],
                  Annotated[int, Field(ge=0, le=1_000_000_000)]] = Field(
        default_factory=dict, max_length=50
    )
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")] | None = Field(
        default=None, description="ISO week of the closing Friday; default the current week. "
        "A past week is accepted and marked late."
    )
    urgent: bool = False


class MemberReportAccepted(BaseModel):
    report_id: uuid.UUID
    week_label: str
    late: bool
    revision: int = Field(description="1 for the first report of the week; more replaces it")


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


@dataclass(frozen=True)
class IntakeMetrics:
    submissions: Counter
    refusals: Counter
    status_updates: Counter
    member_reports: Counter
    auth_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IntakeMetrics:
        return cls(
            submissions=Counter(
                "thaogo_intake_submissions_total",
                "Submissions, by province code, zone type, category and outcome",
                ["province", "zone_type", "category", "outcome"], registry=registry,
            ),
            refusals=Counter(
                "thaogo_intake_refusals_total", "Refused requests, by field and reason code",
                ["field", "reason"], registry=registry,
            ),
            status_updates=Counter(
                "thaogo_status_updates_total", "Status updates accepted, by status",
                ["status"], registry=registry,
            ),
            member_reports=Counter(
                "thaogo_intake_member_reports_total",
                "Member weekly reports accepted, by timeliness (on_time, late) and whether "
                "they replaced an earlier one",
                ["timeliness", "replaced"], registry=registry,
            ),
            auth_failures=Counter(
                "thaogo_intake_auth_failures_total",
                "Requests refused for authentication or authorisation, by reason",
                ["reason"], registry=registry,
            ),
        )

    def refused(self, field: str, reason: str) -> None:
        # Field names come from our own models, but a client's unknown field is echoed by
        # pydantic: cut the label so that no input can grow the series without bound.
        self.refusals.labels(field.split(".")[0][:40], reason[:40]).inc()


bearer = HTTPBearer(
    auto_error=False, description="Agency token (tga_...) or task-force member token (tgm_...)"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


async def authenticate(
    conn: asyncpg.Connection, credentials: HTTPAuthorizationCredentials | None
) -> tokens.Principal | None:
    if credentials is None:
        return None
    token = credentials.credentials.strip()
    kind = tokens.kind_of(token)
    if kind is None:
        return None  # not one of ours: spare the database the lookup
    row = await store.principal_for(conn, token_hash=tokens.token_hash(token))
    if row is None or row["kind"] != kind.value:
        return None
    return tokens.Principal(row["token_id"], kind, row["subject_id"])


def unauthorized(lang: str) -> JSONResponse:
    return refuse("Authorization", "a valid bearer token is required (missing, unknown or "
                  "revoked)", "cần mã truy cập hợp lệ (thiếu, không đúng hoặc đã bị thu hồi)",
                  lang, 401, headers={"WWW-Authenticate": "Bearer"})


def build_router(
    rt: Runtime, *, config: ConfigHolder, metrics: IntakeMetrics, clock: Clock | None = None
) -> APIRouter:
    api = APIRouter()
    clock = clock or SystemClock()
    rt.state["metrics"] = metrics

    @api.get("/v1/vocabulary", response_model=Vocabulary, tags=["difficulties"],
             summary="Categories, zone types, kinds, urgencies and statuses with vi/en labels",
             responses=responses(429))
    async def get_vocabulary() -> Vocabulary:
        return vocabulary()

    @api.post(
        "/v1/difficulties",
        status_code=202,
        response_model=Accepted,
        responses=responses(409, 413, 422, 429),
        tags=["difficulties"],
        summary="Submit a difficulty or recommendation",
    )
    async def submit(
        body: DifficultyIn,
        request: Request,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
        ] = None,
    ) -> Any:
        lang = language(request.headers)
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
                metrics.refused(e.field, "invalid")
                return refuse_invalid(e, lang)
            d = event.data
            answer = Accepted(difficulty_id=d.difficulty_id, tracking_code=d.tracking_code)
            response = answer.model_dump(mode="json")
            stored = False
            # A concurrent request with the same key makes our INSERT lose; the whole
            # transaction is then rolled back and we answer as the winner did.
            async with conn.transaction():
                stored = await store.accept_difficulty(
                    conn, event=event, idempotency_key=idempotency_key,
                    request_hash=fingerprint, response=response,
                )
            if not stored:
                seen = await store.find_idempotent(conn, key=idempotency_key or "")
                assert seen is not None
                return _replay(seen, fingerprint, lang)
        metrics.submissions.labels(d.province_code, d.zone_type or "unknown", d.category,
                                   "accepted").inc()
        return JSONResponse(response, status_code=202)

    @api.post(
        "/v1/difficulties/{difficulty_id}/status",
        status_code=202,
        response_model=StatusAccepted,
        responses=responses(401, 403, 404, 409, 413, 422, 429),
        tags=["agencies"],
        summary="Post a status update on a difficulty assigned to the caller",
        description="Authenticated by the agency's (or member's) bearer token. Allowed "
        "transitions: resolved and rejected are final; escalated and reassign_requested hand "
        "the difficulty on; in_progress may repeat as progress notes.",
    )
    async def post_status(
        difficulty_id: uuid.UUID, body: StatusIn, request: Request, credentials: Credentials,
    ) -> Any:
        lang = language(request.headers)
        wanted = Status(body.status)
        async with rt.db().acquire() as conn:
            who = await authenticate(conn, credentials)
            if who is None:
                metrics.auth_failures.labels("no_valid_token").inc()
                return unauthorized(lang)
            try:
                note = logic.clean_note(wanted, body.note)
            except vn.InvalidField as e:
                metrics.refused(e.field, "invalid")
                return refuse_invalid(e, lang)
            async with conn.transaction():
                state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
                if state is None:
                    return refuse("difficulty_id", "no difficulty with this id",
                                  "không có phản ánh với mã này", lang, 404)
                if who.kind == tokens.TokenKind.AGENCY:
                    assignment = await store.active_assignment(
                        conn, difficulty_id=difficulty_id, agency_id=who.subject_id)
                else:
                    assignment = await store.active_assignment(
                        conn, difficulty_id=difficulty_id, member_id=who.subject_id)
                if assignment is None:
                    metrics.auth_failures.labels("not_assigned").inc()
                    return refuse("difficulty_id",
                                  "this difficulty is not assigned to you",
                                  "phản ánh này không được giao cho cơ quan/thành viên của bạn",
                                  lang, 403)
                try:
                    logic.check_transition(state.status, wanted)
                except logic.TransitionRefused as e:
                    metrics.refused("status", "transition")
                    en, vi = e.reasons()
                    return refuse("status", en, vi, lang, 409)
                event = new_envelope(logic.build_status(
                    difficulty_id=difficulty_id, province_code=state.province_code,
                    status=wanted,
                    actor_kind=ActorKind.AGENCY if who.kind == tokens.TokenKind.AGENCY
                    else ActorKind.MEMBER,
                    actor_id=who.subject_id, assignment_id=assignment, note=note,
                    now=datetime.now(UTC),
                ), source=SOURCE)
                await store.record_status(conn, event=event)
        metrics.status_updates.labels(wanted.value).inc()
        answer = StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                                status=wanted)
        return JSONResponse(answer.model_dump(mode="json"), status_code=202)

    @api.post(
        "/v1/member-reports",
        status_code=202,
        response_model=MemberReportAccepted,
        responses=responses(401, 403, 413, 422, 429),
        tags=["members"],
        summary="Submit a member's weekly report",
        description="One report per member and week: submitting again for the same week "
        "replaces the earlier report (same report_id, revision + 1; a new event with the same "
        "key on member.report.v1, whose consumers keep the latest revision). A report for a "
        "past week is accepted and marked late.",
    )
    async def post_member_report(
        body: MemberReportIn, request: Request, credentials: Credentials,
    ) -> Any:
        lang = language(request.headers)
        async with rt.db().acquire() as conn:
            who = await authenticate(conn, credentials)
            if who is None:
                metrics.auth_failures.labels("no_valid_token").inc()
                return unauthorized(lang)
            found = tokens.find_member(config.current, who.subject_id)
            if who.kind != tokens.TokenKind.MEMBER or found is None:
                metrics.auth_failures.labels("not_a_member").inc()
                return refuse("Authorization", "only a task-force member may submit a report",
                              "chỉ thành viên Tổ công tác mới được gửi báo cáo", lang, 403)
            cfg, member = found
            now = clock.now()
            try:
                week, late = logic.report_week(body.week_label, now)
                report = logic.build_member_report(
                    member_id=member.id, province_code=cfg.province.province_code,
                    week_label=week, late=late, received_summary=body.received_summary,
                    solutions=body.solutions, recommendations=body.recommendations,
                    figures=dict(body.figures), urgent=body.urgent, now=now,
                )
            except vn.InvalidField as e:
                metrics.refused(e.field, "invalid")
                return refuse_invalid(e, lang)
            async with conn.transaction():
                revision = await store.upsert_member_report(
                    conn, member_id=member.id, week_label=week, report_id=report.report_id,
                    late=late, payload=report.model_dump(mode="json"), submitted_at=now,
                )
                # The event id changes with each revision, so a replacement is not taken
                # for a duplicate of the report it replaces.
                await store.enqueue(conn, events=[new_envelope(
                    report, source=SOURCE,
                    event_id=deterministic_id(report.report_id, revision),
                )])
        metrics.member_reports.labels("late" if late else "on_time",
                                      str(revision > 1).lower()).inc()
        answer = MemberReportAccepted(report_id=report.report_id, week_label=week, late=late,
                                      revision=revision)
        return JSONResponse(answer.model_dump(mode="json"), status_code=202)

    return api


def _replay(seen: Any, fingerprint: str, lang: str) -> JSONResponse:
    if seen["request_hash"] != fingerprint:
        return refuse(
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
