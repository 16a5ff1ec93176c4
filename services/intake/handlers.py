"""Intake's HTTP routes and its one consumer. Thin: parse, call logic, store, answer."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.intake import bulk, logic, store
from shared import auth, vn
from shared.calendar import Clock, SystemClock, previous_window, to_local, week_window
from shared.errors import (
    REASONS_VI,
    FieldError,
    Problem,
    Refusal,
    language,
    refuse,
    refuse_all,
    refuse_invalid,
    responses,
    unauthorized,
    validation_problems,
)
from shared.events import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    ZONE_TYPE_LABELS,
    ActorKind,
    Category,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyUrgencyConfirmed,
    Envelope,
    Kind,
    Status,
    TaskDifficulty,
    Urgency,
    UrgencySource,
    ZoneType,
    deterministic_id,
    new_envelope,
)
from shared.http import BodyTooLarge
from shared.kafka import Emitter
from shared.provinces import ConfigHolder, ConfigSet, Member, ProvinceConfig
from shared.service import Runtime

SOURCE = "thaogo/intake"

# The same key and body give the same answer and create nothing; another body is a 409.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
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
    target_agency_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None,
        description="With reassign_requested, from the permanent deputy only: the agency of "
        "the task force that is to lead (a dispatch from the triage queue, or a correction "
        "of the routing). Without it an agency's request goes to the permanent deputy's "
        "triage queue.",
    )


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


class DifficultyOut(BaseModel):
    """A difficulty as the caller may read it, and where the caller stands in it."""

    standing: logic.Standing
    difficulty: TaskDifficulty


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


class WeekItem(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    category: str
    status: Status
    urgency: Urgency
    received_at: datetime
    assigned_at: datetime
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool


class WeekFigures(BaseModel):
    received: int = Field(description="Assigned to the member and received this week")
    resolved: int = Field(description="Resolved this week")
    open: int
    overdue: int


class ReportDue(BaseModel):
    week_label: str
    due_at: datetime
    reported: bool
    revision: int | None = None
    late_if_submitted_now: bool


class ReportDraft(BaseModel):
    """A MemberReportIn with what the system knows filled in."""

    week_label: str
    received_summary: str
    solutions: str = ""
    recommendations: str = ""
    figures: dict[str, int]


class MemberWeekOut(BaseModel):
    member_id: str
    province_code: str
    week_label: str
    window_start: datetime
    window_end: datetime
    open: list[WeekItem]
    overdue: list[WeekItem]
    resolved_this_week: list[WeekItem]
    figures: WeekFigures
    reports_due: list[ReportDue]
    draft: ReportDraft


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
        self.refusals.labels(*refusal_labels(field, reason)).inc()


# The label values of thaogo_intake_refusals_total, closed sets. Pydantic names a client's
# unknown JSON key as the refused field ("extra_forbidden"), so the field label is looked up
# here rather than taken from the refusal: one request with many unknown keys would
# otherwise create as many series.
REFUSAL_FIELDS = frozenset(
    {*DifficultyIn.model_fields, *StatusIn.model_fields, *MemberReportIn.model_fields,
     *UrgencyIn.model_fields,
     "Authorization", "Content-Type", "Idempotency-Key", "body", "client", "difficulty_id",
     "file", "method", "path", "row", "week"}
)
UNKNOWN_FIELD = "unknown_field"
REFUSAL_REASONS = frozenset(
    {*REASONS_VI, "invalid", "task_force_dissolved", "transition", "rate_limited", "conflict",
     "content_type", "file", "extra_cells"}
)
OTHER_REASON = "other"


def refusal_labels(field: str, reason: str) -> tuple[str, str]:
    """(field, reason) labels for a refusal: the top-level field name if it is one of ours,
    else "unknown_field"; the reason code if known, else "other"."""
    top = field.split(".")[0]
    return (top if top in REFUSAL_FIELDS else UNKNOWN_FIELD,
            reason if reason in REFUSAL_REASONS else OTHER_REASON)


bearer = HTTPBearer(
    auto_error=False, description="Agency token (tga_...), task-force member token (tgm_...) "
    "or operator token (tgo_...), from `thaogo token create`"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


async def authenticate(
    conn: asyncpg.Connection, credentials: HTTPAuthorizationCredentials | None,
    configs: ConfigSet,
) -> auth.Principal | None:
    return await auth.principal_for(conn, credentials.credentials if credentials else None,
                                    configs=configs)


ACTOR_KINDS = {auth.TokenKind.AGENCY: ActorKind.AGENCY, auth.TokenKind.MEMBER: ActorKind.MEMBER,
               auth.TokenKind.OPERATOR: ActorKind.OPERATOR}


def build_router(
    rt: Runtime, *, config: ConfigHolder, metrics: IntakeMetrics, clock: Clock | None = None,
    max_import_rows: int = 10_000, import_chunk_rows: int = 1_000,
) -> APIRouter:
    api = APIRouter()
    clock = clock or SystemClock()
    rt.state["metrics"] = metrics

    async def require_caller(credentials: Credentials) -> auth.Principal:
        """Whoever a valid token speaks for, checked against the registry and the
        configuration on every request (a revoked token or a member who left is refused
        at once); a 401 otherwise."""
        async with rt.db().acquire() as conn:
            who = await authenticate(conn, credentials, config.current)
        if who is None:
            metrics.auth_failures.labels("no_valid_token").inc()
            raise unauthorized()
        return who

    # A default, not an Annotated alias: with postponed annotations FastAPI resolves
    # names in module globals, and require_caller is local to this router.
    caller = Depends(require_caller)

    async def standing(conn: asyncpg.Connection, who: auth.Principal,
                       state: store.DifficultyState
                       ) -> tuple[ProvinceConfig | None, list[logic.Held], logic.Acting]:
        """The difficulty's task force, its active assignments, and where `who` stands
        among them."""
        cfg = config.current.for_difficulty(state.province_code, state.task_force)
        held = await store.active_assignments(conn, difficulty_id=state.difficulty_id)
        return cfg, held, logic.standing_of(
            ACTOR_KINDS[who.kind], who.subject_id, held,
            triage_agency=cfg.rules.triage if cfg is not None else None)

    @api.get("/v1/vocabulary", response_model=Vocabulary, tags=["difficulties"],
             summary="Categories, zone types, kinds, urgencies and statuses with vi/en labels",
             responses=responses(429))
    async def get_vocabulary() -> Vocabulary:
        return vocabulary()

    async def accept(body: DifficultyIn, *, idempotency_key: str | None) -> Outcome:
        """Accept one submission durably (the web form and the API both come here); the
        model has validated it, this cleans it, resolves the province, checks that its task
        force still takes difficulties in, and commits it with its outbox event."""
        raw = body.model_dump(mode="json")
        fingerprint = logic.request_fingerprint(raw)
        async with rt.db().acquire() as conn:
            if idempotency_key is not None:
                seen = await store.find_idempotent(conn, key=idempotency_key)
                if seen is not None:
                    return _replay(seen, fingerprint)
            try:
                event = received_event(raw, config.current, clock.now(), logic.tracking_code())
            except vn.InvalidField as e:
                problem = _problem(e)
                metrics.refused(problem.field, problem.kind)
                return Outcome(422, problems=[problem])
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
                return _replay(seen, fingerprint)
        metrics.submissions.labels(d.province_code, d.zone_type or "unknown", d.category,
                                   "accepted").inc()
        return Outcome(202, answer=response)

    rt.state["accept"] = accept  # the web form submits through the same path

    @api.post(
        "/v1/difficulties",
        status_code=202,
        response_model=Accepted,
        responses=responses(409, 413, 422, 429),
        tags=["difficulties"],
        summary="Submit a difficulty or recommendation",
        description="Refused (422, field `province`) once the province's task force has been "
        "dissolved: the answer points the business to the regular channel.",
    )
    async def submit(
        body: DifficultyIn,
        request: Request,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        outcome = await accept(body, idempotency_key=idempotency_key)
        return outcome.response(language(request.headers))

    @api.post(
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
        "in_progress may repeat as progress notes.",
    )
    async def post_status(
        difficulty_id: uuid.UUID, body: StatusIn, request: Request,
        who: auth.Principal = caller,
    ) -> Any:
        lang = language(request.headers)
        wanted = Status(body.status)
        async with rt.db().acquire() as conn:
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
                actor_kind = ACTOR_KINDS[who.kind]
                cfg, held, acting = await standing(conn, who, state)
                try:
                    logic.check_may_post(acting, wanted)
                    if body.target_agency_id is not None:
                        logic.check_dispatch(body.target_agency_id, wanted=wanted,
                                             actor_id=who.subject_id, cfg=cfg, held=held)
                except vn.InvalidField as e:
                    metrics.refused(e.field, "invalid")
                    return refuse_invalid(e, lang)
                except logic.StatusForbidden as e:
                    metrics.auth_failures.labels(
                        "not_assigned" if acting.standing is logic.Standing.OUTSIDER
                        else "not_allowed_for_role").inc()
                    return refuse(e.field, e.en, e.vi, lang, 403)
                try:
                    logic.check_transition(state.status, wanted)
                except logic.TransitionRefused as e:
                    metrics.refused("status", "transition")
                    en, vi = e.reasons()
                    return refuse("status", en, vi, lang, 409)
                event = new_envelope(logic.build_status(
                    difficulty_id=difficulty_id, province_code=state.province_code,
                    status=wanted, actor_kind=actor_kind, actor_id=who.subject_id,
                    assignment_id=acting.assignment_id, note=note,
                    target_agency_id=body.target_agency_id, now=datetime.now(UTC),
                ), source=SOURCE)
                await store.record_status(conn, event=event)
        metrics.status_updates.labels(wanted.value).inc()
        answer = StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                                status=wanted)
        return JSONResponse(answer.model_dump(mode="json"), status_code=202)

    @api.post(
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
    async def confirm_urgency(
        difficulty_id: uuid.UUID, body: UrgencyIn, request: Request,
        who: auth.Principal = caller,
    ) -> Any:
        lang = language(request.headers)
        async with rt.db().acquire() as conn:
            found = await store.difficulty(conn, difficulty_id=difficulty_id)
            if found is None:
                return refuse("difficulty_id", "no difficulty with this id",
                              "không có phản ánh với mã này", lang, 404)
            state, d = found
            cfg, _, acting = await standing(conn, who, state)
            try:
                logic.check_may_confirm_urgency(acting, member_of_task_force=(
                    who.kind is auth.TokenKind.MEMBER and cfg is not None
                    and who.province == cfg.slug))
            except logic.StatusForbidden as e:
                metrics.auth_failures.labels("not_assigned").inc()
                return refuse(e.field, e.en, e.vi, lang, 403)
            if d.urgency is not Urgency.URGENT or d.urgency_source is not UrgencySource.BUSINESS:
                metrics.refused("urgency", "conflict")
                return refuse("urgency", "only a business's own urgent flag is confirmed: this "
                              "difficulty is not marked urgent, or a member or operator filed it",
                              "chỉ xác nhận phản ánh doanh nghiệp tự đánh dấu khẩn: phản ánh này "
                              "không khẩn, hoặc do thành viên, người vận hành nhập", lang, 409)
            event = new_envelope(logic.urgency_confirmation(
                d, actor_kind=ACTOR_KINDS[who.kind], actor_id=who.subject_id, reported=False,
                note=body.note or None, now=datetime.now(UTC),
            ), source=SOURCE, event_id=str(DifficultyUrgencyConfirmed.id_for(difficulty_id)))
            async with conn.transaction():
                new = await store.record_confirmations(conn, events=[event])
            first = await store.confirmation_of(conn, difficulty_id=difficulty_id)
        assert first is not None
        answer = UrgencyConfirmedOut(
            confirmation_id=first["confirmation_id"], difficulty_id=difficulty_id,
            confirmed_by=first["actor_id"], reported=first["reported"],
            confirmed_at=first["confirmed_at"])
        return JSONResponse(answer.model_dump(mode="json"), status_code=202 if new else 200)

    @api.get(
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
    async def read_difficulty(
        difficulty_id: uuid.UUID, request: Request, who: auth.Principal = caller,
    ) -> Any:
        lang = language(request.headers)
        async with rt.db().acquire() as conn:
            found = await store.difficulty(conn, difficulty_id=difficulty_id)
            if found is None:
                return refuse("difficulty_id", "no difficulty with this id",
                              "không có phản ánh với mã này", lang, 404)
            state, d = found
            cfg, _, acting = await standing(conn, who, state)
        try:
            logic.check_may_read(acting, operator_in_scope=who.province is None or (
                cfg is not None and who.province == cfg.slug))
        except logic.StatusForbidden as e:
            metrics.auth_failures.labels(
                "out_of_scope" if e.field == "province" else "not_assigned").inc()
            return refuse(e.field, e.en, e.vi, lang, 403)
        answer = DifficultyOut(standing=acting.standing,
                               difficulty=logic.as_read_by(d, acting.standing))
        return JSONResponse(answer.model_dump(mode="json"))

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
        body: MemberReportIn, request: Request, who: auth.Principal = caller,
    ) -> Any:
        lang = language(request.headers)
        cfg, member = member_of(who, "only a task-force member may submit a report",
                                "chỉ thành viên Tổ công tác mới được gửi báo cáo")
        async with rt.db().acquire() as conn:
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

    def member_of(who: auth.Principal, refusal_en: str, refusal_vi: str
                  ) -> tuple[ProvinceConfig, Member]:
        """The task-force member `who` is, else a 403 saying what only members do."""
        found = auth.find_member(config.current, who.subject_id)
        if who.kind != auth.TokenKind.MEMBER or found is None:
            metrics.auth_failures.labels("not_a_member").inc()
            raise Refusal(403, "Authorization", refusal_en, refusal_vi)
        return found

    @api.post(
        "/v1/difficulties/import",
        status_code=200,
        response_model=ImportResult,
        responses=responses(401, 403, 409, 413, 415, 422, 429),
        tags=["members"],
        summary="Import difficulties from a CSV file (task-force members and operators)",
        description=IMPORT_DESCRIPTION.format(max_rows=max_import_rows),
        openapi_extra={"requestBody": {"required": True, "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }},
        }}},
    )
    async def import_csv(
        request: Request,
        idempotency_key: IdempotencyKey = None,
        who: auth.Principal = caller,
    ) -> Any:
        lang = language(request.headers)
        # Operators import on the task force's behalf (a batch from a conference desk).
        if who.kind != auth.TokenKind.OPERATOR and (
                who.kind != auth.TokenKind.MEMBER
                or auth.find_member(config.current, who.subject_id) is None):
            metrics.auth_failures.labels("not_a_member").inc()
            return refuse("Authorization",
                          "only a task-force member or an operator may import difficulties",
                          "chỉ thành viên Tổ công tác hoặc người vận hành mới được nhập phản ánh "
                          "từ tệp", lang, 403)
        data = await _csv_bytes(request)
        if isinstance(data, Problem):
            metrics.refused(data.field, data.kind)
            return refuse_all([data], lang, 415 if data.field == "Content-Type" else 422)
        fingerprint = "import:" + hashlib.sha256(data).hexdigest()
        if idempotency_key is not None:
            async with rt.db().acquire() as conn:
                seen = await store.find_idempotent(conn, key=idempotency_key)
            if seen is not None:
                return _replay(seen, fingerprint).response(lang)
        try:
            # Reading and validating 10,000 rows takes a while: off the event loop.
            results = await asyncio.to_thread(
                prepare_import, data, configs=config.current, now=clock.now(),
                max_rows=max_import_rows, province=who.province,
                filed_by=UrgencySource(ACTOR_KINDS[who.kind].value),
            )
        except bulk.FileRefused as e:
            metrics.refused(e.problem.field, e.problem.kind)
            return refuse_all([e.problem], lang, e.status)
        events = [r for r in results if isinstance(r, ImportedRow)]
        answer = ImportResult(
            accepted=len(events), refused=len(results) - len(events),
            rows=[r.out(lang) for r in results],
        )
        response = answer.model_dump(mode="json")
        async with rt.db().acquire() as conn:
            # All accepted rows, their outbox events and the idempotency record commit
            # together: a retry after a lost answer finds either everything or nothing.
            async with conn.transaction():
                claimed = idempotency_key is None or await store.claim_idempotency_key(
                    conn, key=idempotency_key, request_hash=fingerprint, status_code=200,
                    response=response,
                )
                if claimed:
                    for i in range(0, len(events), import_chunk_rows):
                        await store.insert_difficulties(
                            conn, events=[r.event for r in events[i:i + import_chunk_rows]])
                    await store.record_confirmations(conn, events=[
                        new_envelope(c, source=SOURCE, event_id=str(c.confirmation_id))
                        for r in events
                        if (c := logic.reported_urgent(r.event.data, who.subject_id))])
            if not claimed:
                seen = await store.find_idempotent(conn, key=idempotency_key or "")
                assert seen is not None
                return _replay(seen, fingerprint).response(lang)
        for r in results:
            if isinstance(r, ImportedRow):
                d = r.event.data
                metrics.submissions.labels(d.province_code, d.zone_type or "unknown",
                                           d.category, "accepted").inc()
            else:
                for p in r.problems:
                    metrics.refused(p.field, p.kind)
        return JSONResponse(response, status_code=200)

    @api.get(
        "/v1/members/me/week",
        response_model=MemberWeekOut,
        responses=responses(401, 403, 429),
        tags=["members"],
        summary="A member's week: assigned items, reports due, and a pre-filled report",
        description="With a member's token: the difficulties assigned to the member that are "
        "open (with their deadlines), overdue, or resolved in the current report week "
        "(Friday 12:00 to Friday 12:00); which weekly reports are due and whether they would "
        "be late; and a draft report whose figures the system already knows (the difficulties "
        "the router assigned to the member by field and area). Fill in "
        "`solutions` and `recommendations` and POST the draft to /v1/member-reports. "
        "Deadlines run from the latest handling assignment (lead, escalation or triage) "
        "with the province's deadlines, as in the weekly report.",
    )
    async def member_week(request: Request, who: auth.Principal = caller) -> Any:
        lang = language(request.headers)
        now = clock.now()
        cfg, member = member_of(who, "only a task-force member has a week to show",
                                "chỉ thành viên Tổ công tác mới xem được công việc tuần")
        async with rt.db().acquire() as conn:
            since = week_window(now).start
            items = await store.member_items(conn, member_id=member.id, since=since)
            current = week_window(now)
            weeks = [current, previous_window(current)]
            revisions = await store.member_report_revisions(
                conn, member_id=member.id, week_labels=[w.label for w in weeks])
        week = logic.member_week(items, now=now, deadlines=cfg.deadlines)
        due = [ReportDue(week_label=w.label, due_at=w.end, reported=w.label in revisions,
                         revision=revisions.get(w.label), late_if_submitted_now=w is not current)
               for w in weeks if w is current or w.label not in revisions]
        en, vi = logic.draft_summary(week.figures, current.label)
        answer = MemberWeekOut(
            member_id=member.id, province_code=cfg.province.province_code,
            week_label=current.label, window_start=current.start, window_end=current.end,
            open=[_item(v) for v in week.open], overdue=[_item(v) for v in week.overdue],
            resolved_this_week=[_item(v) for v in week.resolved],
            figures=WeekFigures(**week.figures), reports_due=due,
            draft=ReportDraft(week_label=current.label,
                              received_summary=vi if lang == "vi" else en,
                              figures=week.figures),
        )
        return JSONResponse(answer.model_dump(mode="json"))

    return api


@dataclass(frozen=True)
class Outcome:
    """What became of one submission: accepted (or replayed) with its answer, or refused."""

    status: int
    answer: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)

    def response(self, lang: str) -> JSONResponse:
        if self.answer is not None:
            return JSONResponse(self.answer, status_code=self.status)
        return refuse_all(self.problems, lang, self.status)


IMPORT_DESCRIPTION = """\
For the task force entering difficulties collected at a conference or by phone: a
member's or an operator's bearer token is required (anonymous import would be a spam
vector; agencies answer, they do not file). The body is a CSV file, UTF-8 (a BOM is
tolerated), either as the whole `text/csv` request body or as the `file` field of a
multipart upload; at most {max_rows} data rows and the import size limit
(THAOGO_INTAKE_MAX_IMPORT_BYTES, 20 MiB by default; 413 above either).

The header row names the columns: the API's field names (`tax_code`, `contact.name` or
`contact_name`, ...) or their Vietnamese headers (`Mã số thuế`, `Tên doanh nghiệp`,
`Tỉnh/Thành phố`, `Loại khu`, `Tên khu`, `Lĩnh vực`, `Loại phản ánh`, `Tiêu đề`,
`Nội dung`, `Mức độ`, `Người liên hệ`, `Điện thoại`, `Email`, `Số lao động`,
`Ngành nghề`, `Phường/Xã`, `Quận/Huyện`, `Kênh tiếp nhận`), matched without diacritics
or case. Closed-list cells take the code or its label (`KCN` or `Khu công nghiệp`).

Each row is validated exactly like a single submission; a member imports for their own
task force (an operator whose token names a province, for that province), and a row of
another province is refused (field `province`). The answer lists every non-blank
row by its spreadsheet number (the header is row 1): accepted with its id and tracking
code, or refused with each field and reason (Vietnamese or English by Accept-Language).
Accepted rows and their events are committed in one transaction before the answer.
A whole-file problem (encoding, unknown or missing column) is a 422 naming `file`, and
nothing is imported.

`Idempotency-Key` is supported: the same key and file answer the same (nothing new is
created); the same key with another file is a 409.
"""


def _replay(seen: Any, fingerprint: str) -> Outcome:
    if seen["request_hash"] != fingerprint:
        return Outcome(409, problems=[Problem(
            "Idempotency-Key", "conflict",
            "this key was already used with a different request body",
            "khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
        )])
    return Outcome(int(seen["status_code"]), answer=dict(seen["response"]))


def _problem(e: vn.InvalidField) -> Problem:
    return Problem.of(e, "task_force_dissolved" if isinstance(e, logic.TaskForceDissolved)
                      else "out_of_scope" if isinstance(e, logic.OutOfScope) else "invalid")


def received_event(
    raw: dict[str, Any], configs: ConfigSet, now: datetime, code: str,
    urgency_source: UrgencySource = UrgencySource.BUSINESS,
) -> Envelope[DifficultyReceived]:
    """The event of a validated submission (InvalidField when cleaning refuses a field or
    the province's task force is dissolved)."""
    received = logic.build_received(raw, difficulty_id=uuid.uuid4(), code=code,
                                    now=now.astimezone(UTC), urgency_source=urgency_source)
    task_force = configs.task_force_for(
        received.province_code, received.task_force, zone_name=received.zone_name,
        ward=received.ward, district=received.district)
    if task_force != received.task_force:
        received = received.model_copy(update={"task_force": task_force})
    event = new_envelope(received, source=SOURCE)
    logic.check_task_force_open(configs, event.data, to_local(now).date())
    return event


def parse_submission(raw: dict[str, Any]) -> DifficultyIn:
    """The request model over a dict from a form or a CSV row; Refused lists its problems."""
    try:
        return DifficultyIn.model_validate(raw)
    except ValidationError as e:
        problems = validation_problems(e.errors())
        # A person correcting a form or a spreadsheet row wants every error at once, not
        # the tax code's only after the e-mail's is fixed.
        flagged = {p.field for p in problems}
        problems += [Problem.of(x) for x in logic.identity_problems(raw)
                     if x.field not in flagged]
        raise Refused(problems) from None


@dataclass(frozen=True, slots=True)
class ImportedRow:
    number: int
    event: Envelope[DifficultyReceived]

    def out(self, lang: str) -> ImportRowOut:
        d = self.event.data
        return ImportRowOut(row=self.number, accepted=True, difficulty_id=d.difficulty_id,
                            tracking_code=d.tracking_code)


@dataclass(frozen=True, slots=True)
class RefusedRow:
    number: int
    problems: list[Problem]

    def out(self, lang: str) -> ImportRowOut:
        return ImportRowOut(row=self.number, accepted=False,
                            errors=[FieldError(**p.as_dict(lang)) for p in self.problems])


def prepare_import(
    data: bytes, *, configs: ConfigSet, now: datetime, max_rows: int,
    filed_by: UrgencySource, province: str | None = None,
) -> list[ImportedRow | RefusedRow]:
    """Each row of a CSV file through the single-submission path (model, cleaning,
    province, task force); FileRefused when the file itself cannot be read. With
    `province` (the importer's scope: a member's task force, a scoped operator's
    province), a row of another province is refused. `filed_by` says who marked the
    urgent rows urgent (the importer: a member or an operator)."""
    out: list[ImportedRow | RefusedRow] = []
    codes: set[str] = set()
    for row in bulk.read(data, max_rows=max_rows):
        if row.problems:
            out.append(RefusedRow(row.number, list(row.problems)))
            continue
        try:
            body = parse_submission(row.submission)
            code = logic.tracking_code()
            while code in codes:  # unique within the file; across files, 40 random bits
                code = logic.tracking_code()
            event = received_event(body.model_dump(mode="json"), configs, now, code,
                                   urgency_source=filed_by)
            if province is not None:
                logic.check_in_scope(configs, event.data, province)
        except Refused as e:
            out.append(RefusedRow(row.number, e.problems))
            continue
        except vn.InvalidField as e:
            out.append(RefusedRow(row.number, [_problem(e)]))
            continue
        codes.add(code)
        out.append(ImportedRow(row.number, event))
    return out


CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"})


async def _csv_bytes(request: Request) -> bytes | Problem:
    """The CSV file of an import: the body itself, or the `file` part of a multipart form."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in CSV_TYPES:
        return await request.body()
    if ctype != "multipart/form-data":
        return Problem("Content-Type", "content_type",
                       "send the CSV file as text/csv or as the `file` field of "
                       "multipart/form-data",
                       "gửi tệp CSV với Content-Type text/csv hoặc trường `file` của "
                       "multipart/form-data")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except BodyTooLarge:
        raise
    except (StarletteHTTPException, MultiPartException, ValueError, KeyError):
        return Problem("file", "file", "the multipart body could not be read",
                       "không đọc được nội dung multipart")
    upload = form.get("file")
    if isinstance(upload, StarletteUploadFile):
        return await upload.read()
    if isinstance(upload, str) and upload:
        return upload.encode()
    return Problem("file", "missing", "a CSV file is expected in the `file` field",
                   "cần tệp CSV trong trường `file`")


def _item(v: logic.ItemView) -> WeekItem:
    it = v.item
    return WeekItem(
        difficulty_id=it.difficulty_id, tracking_code=it.tracking_code, title=it.title,
        category=it.category, status=it.status, urgency=it.urgency, received_at=it.received_at,
        assigned_at=it.assigned_at, ack_due_at=v.ack_due_at, resolve_due_at=v.resolve_due_at,
        overdue=v.overdue,
    )


class Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(p.field for p in problems))
        self.problems = problems


async def on_assigned(
    rt: Runtime, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
) -> int:
    async with rt.db().acquire() as conn, conn.transaction():
        return await store.record_assignments(conn, events=batch)
