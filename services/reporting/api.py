"""Reporting's read side: tracking for businesses, reports as JSON and CSV, and the
searchable list of difficulties for task-force members."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Cookie, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from services.reporting import access, document, logic, render, spreadsheets, store, usecases
from shared import auth, vn
from shared.calendar import TZ, Clock, check_date, parse_week_label
from shared.errors import ErrorBody, Refusal, responses, unauthorized
from shared.events import (
    OUTCOME_LABELS,
    STATUS_LABELS,
    Category,
    Outcome,
    ReportItem,
    Status,
    WeeklyReport,
    ZoneType,
)
from shared.exports import csv_text
from shared.provinces import ConfigHolder, ProvinceConfig
from shared.topics import AGENCY_ID_PATTERN

MAX_SEARCH_WORDS = 8
WEEK_PATTERN = r"^[0-9]{4}-W[0-9]{2}$"
# A report path names a week, or "final": the mandate report of a dissolved task force.
REPORT_PATTERN = r"^([0-9]{4}-W[0-9]{2}|final)$"
PROVINCE_PATTERN = r"^[a-z0-9-]{1,60}$"
# Module level: with postponed annotations FastAPI resolves names in module globals.
BEARER = HTTPBearer(auto_error=False, description="A task-force member token (tgm_...) or "
                    "an operator token (tgo_...), from `thaogo token create`")
ProvincePath = Annotated[str, Path(pattern=PROVINCE_PATTERN,
                                   description="Province slug (binh-duong) or code (74)")]
ReportPath = Annotated[str, Path(pattern=REPORT_PATTERN,
                                 description='ISO week, e.g. 2026-W48, or "final"')]


@dataclass
class ReadSide:
    """What the read routes need; built once in main."""

    db: Callable[[], asyncpg.Pool]
    config: ConfigHolder
    clock: Clock
    base_url: str
    # Signs the page links in reports; None leaves them unsigned (tests of other things).
    links: access.LinkSigner | None = None
    # The local mailbox of `thaogo up`, named on the page that says a link was mailed.
    mailbox_url: str | None = None
    # Where the workspace's forms post (intake's public URL); "" for the same origin.
    intake_url: str = ""

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    def page_url(self, slug: str, week_label: str, *,
                 token_id: uuid.UUID | None = None) -> str:
        """The page's signed link: unbound (the one mailed), or bound to `token_id` for a
        link handed to that token's holder."""
        path = f"/reports/{slug}/{week_label}"
        if self.links is None:
            return self.base_url + path
        return self.links.url(self.base_url, path, now=self.now(), token_id=token_id)

    @property
    def secure_cookies(self) -> bool:
        """Served over HTTPS (behind the ingress, whose TLS the app does not see): the
        sign-in cookie must then never travel in clear."""
        return self.base_url.startswith("https://")

    async def principal(self, token: str | None) -> auth.Principal | None:
        async with self.db().acquire() as conn:
            return await auth.principal_for(conn, token, configs=self.config.current)

    async def session_principal(self, sid: str | None) -> auth.Principal | None:
        """Who a sign-in session is for while both it and its token live, else None."""
        async with self.db().acquire() as conn:
            return await auth.session_principal(conn, sid, now=self.now(),
                                                configs=self.config.current)

    async def token_principal(self, token_id: uuid.UUID) -> auth.Principal | None:
        async with self.db().acquire() as conn:
            return await auth.principal_by_id(conn, token_id, self.config.current)


async def load_report(
    side: ReadSide, province: str, week_label: str, *, who: auth.Principal | None
) -> tuple[ProvinceConfig, WeeklyReport, bool] | None:
    """(config, report, published): the stored report, or for a week not yet closed (or
    whose report was not published yet) a preview computed as of now; None if unknown.
    A week label outside the accepted weeks is refused (InvalidField, a 422); a reader
    (`who`; None for a signed link, which opens its own page) of another province gets
    a 403, before anything is computed."""
    cfg = logic.resolve_province(side.config.current, province)
    if cfg is None:
        return None
    if who is not None and not access.may_read(who, cfg.slug):
        raise access.out_of_scope()
    if week_label == usecases.FINAL:
        return await load_final(side, cfg)
    window = parse_week_label(week_label, "week_label")
    async with side.db().acquire() as conn:
        stored = await store.stored_report(conn, task_force=cfg.slug, week_label=window.label)
        if stored is not None:
            return cfg, WeeklyReport.model_validate(stored), True
        now = side.now()
        if window.start >= now:
            return None  # a week that has not started has nothing to say
        report = await usecases.compose(
            conn, cfg=cfg, window=window, as_of=now, generated_at=now,
            page_url=side.page_url(cfg.slug, window.label))
    return cfg, report, False


async def load_final(
    side: ReadSide, cfg: ProvinceConfig
) -> tuple[ProvinceConfig, WeeklyReport, bool] | None:
    """The published final report; between the dissolution and its publication (one
    poll of the publisher), a preview; None for a task force still in office, whose
    mandate-long rollup nobody should be able to make this public route compute."""
    async with side.db().acquire() as conn:
        stored = await store.stored_report(conn, task_force=cfg.slug, week_label=usecases.FINAL)
        if stored is not None:
            return cfg, WeeklyReport.model_validate(stored), True
        now = side.now()
        if not usecases.is_dissolved(cfg, now):
            return None
        report = await usecases.compose_final(
            conn, cfg=cfg, as_of=now, page_url=side.page_url(cfg.slug, usecases.FINAL))
    return cfg, report, False


class TrackOut(BaseModel):
    """What a business may know of its own difficulty, and nothing more."""

    tracking_code: str
    status: Status
    status_vi: str
    status_en: str
    received_at: datetime
    status_at: datetime
    resolved_at: datetime | None
    agency_name_vi: str | None
    agency_name_en: str | None
    # The lead's answer, once it closed the difficulty or passed it up: the public part of
    # its resolution only (what was done internally, notes and waivers stay inside).
    outcome: Outcome | None = None
    outcome_vi: str | None = None
    outcome_en: str | None = None
    answered_at: datetime | None = None
    public_answer: str | None = None


class DifficultyOut(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    enterprise_name: str | None
    task_force: str | None
    province_code: str
    zone_type: str | None
    category: str
    kind: str
    urgency: str
    status: Status
    received_at: datetime
    status_at: datetime
    resolved_at: datetime | None
    agency_id: str | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool
    # The deadline it runs to next: acknowledging while nobody has, then resolving; none
    # once closed.
    next_due_at: datetime | None = None


class DifficultyPage(BaseModel):
    items: list[DifficultyOut]
    next_cursor: str | None


def not_found() -> Refusal:
    """An unknown province, a week that has not started, a task force still in office."""
    return Refusal(404, "path", "no such report", "không có báo cáo này")


def track_not_found() -> Refusal:
    # The same answer for an unknown code and a tax code that does not match it.
    return Refusal(404, "code", "no difficulty with this tracking code and tax code",
                   "không có hồ sơ với mã hồ sơ và mã số thuế này")


def encode_cursor(received_at: datetime, difficulty_id: uuid.UUID) -> str:
    raw = f"{received_at.isoformat()}|{difficulty_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, did = raw.partition("|")
        t = datetime.fromisoformat(at)
        if t.tzinfo is None:
            raise ValueError("naive")
        check_date(t, "cursor")
        return t, uuid.UUID(did)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refusal(422, "cursor", "not a cursor from this API",
                      "không phải con trỏ trang của API này") from e


DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

api = APIRouter()


def read_side(request: Request) -> ReadSide:
    """The read side main.py built for this app."""
    side: ReadSide = request.app.state.read_side
    return side


Side = Annotated[ReadSide, Depends(read_side)]


async def require_reader(
    side: Side,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    session: Annotated[str | None, Cookie(alias=auth.SESSION_COOKIE, include_in_schema=False,
                                          max_length=200)] = None,
) -> auth.Principal:
    """A task-force member or an operator, checked against the shared registry on every
    request (a revoked token is refused at once). The report pages' sign-in cookie
    counts too, so their JSON and CSV links open in the same browser."""
    who = (await side.principal(creds.credentials) if creds
           else await side.session_principal(session))
    if who is None:
        raise unauthorized()
    if access.reader_ok(who, side.config.current):
        return who
    raise Refusal(403, "Authorization", "only task-force members and operators may read this",
                  "chỉ thành viên Tổ công tác và người vận hành được xem")

Reader = Annotated[auth.Principal, Depends(require_reader)]


async def require_lister(
    side: Side,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    session: Annotated[str | None, Cookie(alias=auth.SESSION_COOKIE, include_in_schema=False,
                                          max_length=200)] = None,
) -> auth.Principal:
    """A reader (as `require_reader`), or an agency, whose list is its own queue."""
    who = (await side.principal(creds.credentials) if creds
           else await side.session_principal(session))
    if who is None:
        raise unauthorized()
    if who.kind is auth.TokenKind.AGENCY or access.reader_ok(who, side.config.current):
        return who
    raise Refusal(403, "Authorization", "only agencies, task-force members and operators may "
                  "list difficulties", "chỉ cơ quan, thành viên Tổ công tác và người vận hành "
                  "được xem danh sách")

Lister = Annotated[auth.Principal, Depends(require_lister)]

def in_scope(who: auth.Principal, cfg: ProvinceConfig) -> None:
    if not access.may_read(who, cfg.slug):
        raise access.out_of_scope()

reader_only = responses(401, 403, 404, 429)

@api.get(
    "/v1/track", tags=["business"], response_model=TrackOut,
    summary="Status of one difficulty, for the business that filed it",
    responses=responses(404, 429),
)
async def track(
    side: Side,
    code: Annotated[str, Query(pattern=r"^[A-Za-z0-9-]{1,30}$",
                               description="Tracking code, e.g. TG-7K3M-Q9XA")],
    tax_code: Annotated[str, Query(pattern=r"^[0-9 .-]{1,20}$",
                                   description="The business's tax code (mã số thuế)")],
) -> TrackOut:
    # A malformed tax code gets the same answer as a wrong one: nothing to probe.
    try:
        mst = vn.normalize_tax_code(tax_code)
    except ValueError:
        raise track_not_found() from None
    async with side.db().acquire() as conn:
        row = await store.track(conn, tracking_code=code.upper(), tax_code=mst)
    if row is None:
        raise track_not_found()
    status = Status(row["status"])
    agency = side.config.current.agency(row["lead_agency_id"] or "")
    vi, en = STATUS_LABELS[status]
    outcome = Outcome(row["outcome"]) if row["outcome"] else None
    return TrackOut(
        tracking_code=row["tracking_code"], status=status, status_vi=vi, status_en=en,
        received_at=row["received_at"], status_at=row["status_at"],
        resolved_at=row["resolved_at"],
        agency_name_vi=agency.name_vi if agency else None,
        agency_name_en=agency.name_en if agency else None,
        outcome=outcome,
        outcome_vi=OUTCOME_LABELS[outcome][0] if outcome else None,
        outcome_en=OUTCOME_LABELS[outcome][1] if outcome else None,
        answered_at=row["outcome_at"], public_answer=row["public_answer"],
    )


# The public view is the same for everybody and changes once a week (a new week published)
# or when an escalation is answered: a portal may link to it and proxies may keep it.
PUBLIC_MAX_AGE = 300


def cached(request: Request, body: bytes, media_type: str) -> Response:
    """`body` with a strong ETag of its bytes and public caching; 304 (no body) when the
    client already holds it (If-None-Match, any of a list, or *)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}", "ETag": etag}
    held = request.headers.get("if-none-match", "")
    if held.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in held.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def load_public(side: ReadSide, province: str, week: str | None
                      ) -> tuple[ProvinceConfig, usecases.PublicView]:
    """The public view of a province's week (the last published one by default), or a
    404 naming what is missing."""
    cfg = logic.resolve_province(side.config.current, province)
    if cfg is None:
        raise not_found()
    if week is not None:
        parse_week_label(week, "week")  # a malformed or impossible week: 422 naming it
    async with side.db().acquire() as conn:
        view = await usecases.public_view(conn, cfg=cfg, week_label=week, now=side.now())
    if view is None:
        raise Refusal(404, "week", "no published report for this week",
                      "chưa có báo cáo đã công bố của tuần này")
    return cfg, view


@api.get(
    "/public/{province}.json", tags=["public"], response_model=usecases.PublicView,
    summary="A province's week for the public: counts only, no group under 3 businesses",
    responses={**responses(404, 422, 429), 304: {"description": "Not modified (ETag)"}},
)
async def public_json(
    side: Side, request: Request, province: ProvincePath,
    week: Annotated[str | None, Query(pattern=WEEK_PATTERN,
                                      description="ISO week; the last published by default")
                    ] = None,
) -> Response:
    """No sign-in. A count of one or two businesses is "suppressed", and so is any cell
    hidden with it so that it cannot be worked out from the totals (see
    logic.suppress_tables)."""
    _, view = await load_public(side, province, week)
    return cached(request, view.model_dump_json().encode(), "application/json")


@api.get(
    "/v1/reports/{province}/{week_label}.json", tags=["reports"], response_model=WeeklyReport,
    summary="A weekly report (published, or a preview of the week in progress)",
    responses=reader_only,
)
async def report_json(side: Side, who: Reader, province: ProvincePath,
                      week_label: ReportPath, response: Response) -> WeeklyReport:
    """`page_url` is a link for the reader who asked: it lives `link_json_ttl_hours`
    and closes when the reader's token is revoked (the published report's own link,
    mailed by notify, lives longer and is not handed out here)."""
    found = await load_report(side, province, week_label, who=who)
    if found is None:
        raise not_found()
    cfg, report, published = found
    response.headers["X-Thaogo-Report-State"] = "published" if published else "preview"
    return report.model_copy(update={"page_url": side.page_url(
        cfg.slug, report.week_label, token_id=who.token_id)})

@api.get(
    "/v1/reports/{province}/{week_label}.csv", tags=["reports"],
    summary="A weekly report's breakdown rows as CSV", response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **reader_only},
)
async def report_csv(
    side: Side,
    who: Reader,
    province: ProvincePath, week_label: ReportPath,
    headers: Annotated[Literal["en", "vi"], Query(
        description="en: machine headers and ids (the default); vi: Vietnamese headers "
                    "and names, with a byte-order mark so Excel reads the diacritics")] = "en",
) -> Response:
    found = await load_report(side, province, week_label, who=who)
    if found is None:
        raise not_found()
    cfg, report, published = found
    body = rows_csv_vi(cfg, report) if headers == "vi" else rows_csv(report)
    return Response(
        body, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="{cfg.slug}-{report.week_label}.csv"',
                 "X-Thaogo-Report-State": "published" if published else "preview"},
    )

async def document_response(side: ReadSide, province: str, week_label: str, fmt: str,
                            who: auth.Principal) -> Response:
    found = await load_report(side, province, week_label, who=who)
    if found is None:
        raise not_found()
    cfg, report, published = found
    async with side.db().acquire() as conn:
        trend = await usecases.league_trend(conn, task_force=cfg.slug, report=report)
    try:
        # Laying out a document takes tens of milliseconds of CPU: off the event loop.
        if fmt == "xlsx":
            body = await asyncio.to_thread(spreadsheets.workbook, cfg, report, trend)
        else:
            doc = document.official_report(cfg, report, published=published, trend=trend)
            body = await asyncio.to_thread(render.to_pdf if fmt == "pdf" else render.to_docx,
                                           doc)
    except render.FontsMissing as e:
        raise Refusal(503, "fonts", str(e), "thiếu phông chữ để tạo PDF") from None
    return Response(body, media_type=DOCUMENT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{cfg.slug}-{report.week_label}.{fmt}"',
        "X-Thaogo-Report-State": "published" if published else "preview"})

def document_route(fmt: str, summary: str) -> None:
    async def route(side: Side, who: Reader, province: ProvincePath,
                    week_label: ReportPath) -> Response:
        return await document_response(side, province, week_label, fmt, who)

    api.add_api_route(
        f"/v1/reports/{{province}}/{{week_label}}.{fmt}", route, methods=["GET"],
        tags=["reports"], summary=summary, response_class=Response, name=f"report_{fmt}",
        responses={200: {"content": {DOCUMENT_TYPES[fmt]: {}}}, **reader_only,
                   503: {"model": ErrorBody,
                         "description": "The PDF fonts are not installed"}})

document_route("pdf", "A weekly (or final) report as the signed document, PDF "
                      "(Decree 30/2020/NĐ-CP form, fonts embedded)")
document_route("docx", "A weekly (or final) report as the signed document, DOCX "
                       "(Decree 30/2020/NĐ-CP form), to edit before signing")
document_route("xlsx", "A weekly (or final) report as a workbook: figures, breakdowns "
                       "and items, Vietnamese headers and names")

async def letter_response(side: ReadSide, who: auth.Principal, difficulty_id: uuid.UUID,
                          fmt: str) -> Response:
    async with side.db().acquire() as conn:
        case = await store.letter_case(conn, difficulty_id=difficulty_id)
    if case is None:
        raise Refusal(404, "difficulty_id", "no such difficulty", "không có hồ sơ này")
    cfg = logic.task_force_of(side.config.current, case["province_code"], case["task_force"])
    if cfg is None or not logic.may_read_letter(
            who.kind.value, who.subject_id, triage_agency=cfg.rules.triage,
            head_agency=cfg.rules.head, leads=case["leads"]):
        raise Refusal(403, "Authorization", "the letter to the ministry is for the permanent "
                      "deputy, the head and the agency that led the case",
                      "công văn gửi Bộ, ngành chỉ dành cho Tổ phó Thường trực, Tổ trưởng và cơ "
                      "quan chủ trì hồ sơ")
    if case["ministry"] is None:
        raise Refusal(409, "status", "no central ministry holds this difficulty: there is no "
                      "letter to write", "hồ sơ chưa chuyển Bộ, ngành Trung ương nên không có "
                      "công văn")
    ministry = side.config.current.agency(case["ministry"]["agency_id"])
    leads = [a.name_vi for a in (cfg.agency(x) for x in case["leads"]) if a is not None]
    doc = document.central_letter(
        cfg, case, ministry_name=ministry.name_vi if ministry else case["ministry"]["agency_id"],
        lead_names=leads, today=side.now().astimezone(TZ).date())
    try:
        body = await asyncio.to_thread(render.to_pdf if fmt == "pdf" else render.to_docx, doc)
    except render.FontsMissing as e:
        raise Refusal(503, "fonts", str(e), "thiếu phông chữ để tạo PDF") from None
    return Response(body, media_type=DOCUMENT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{doc.file_stem}.{fmt}"'})


def letter_route(fmt: str, summary: str) -> None:
    async def route(side: Side, who: Lister, difficulty_id: uuid.UUID) -> Response:
        return await letter_response(side, who, difficulty_id, fmt)

    api.add_api_route(
        f"/v1/difficulties/{{difficulty_id}}/letter.{fmt}", route, methods=["GET"],
        tags=["reports"], summary=summary, response_class=Response, name=f"letter_{fmt}",
        responses={200: {"content": {DOCUMENT_TYPES[fmt]: {}}}, **responses(401, 403, 404, 409,
                                                                              429),
                   503: {"model": ErrorBody,
                         "description": "The PDF fonts are not installed"}})


letter_route("pdf", "The letter (công văn) passing an escalated difficulty to its central "
                    "ministry, PDF (Decree 30/2020/NĐ-CP form, fonts embedded): for the "
                    "permanent deputy, the head and the agency that led the case")
letter_route("docx", "The letter passing an escalated difficulty to its central ministry, "
                     "DOCX to edit before signing: for the permanent deputy, the head and "
                     "the agency that led the case")


@api.get(
    "/v1/reports/{province}/final/handed-over.csv", tags=["reports"],
    summary="The open items a task force handed over, with the agency holding each",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **reader_only},
)
async def handed_over_csv(side: Side, who: Reader, province: ProvincePath) -> Response:
    found = await load_report(side, province, usecases.FINAL, who=who)
    if found is None:
        raise not_found()
    cfg, report, published = found
    return Response(
        items_csv(report.handed_over), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="{cfg.slug}-final-handed-over.csv"',
                 "X-Thaogo-Report-State": "published" if published else "preview"},
    )

@api.get(
    "/v1/difficulties", tags=["members"], response_model=DifficultyPage,
    summary="List and search difficulties (members, operators; an agency its own queue)",
    description="A member sees their own task force's difficulties only, as does an "
    "operator whose token names a province; asking for another province is a 403. "
    "An agency's token (`tga_…`) lists the agency's own queue: the difficulties it holds "
    "an active assignment on, in any role (lead, co-handler, escalation, triage), never "
    "another agency's; the same filters, newest first, and `open=true` for what is not "
    "closed yet. The head's and the permanent deputy's agencies read their task force's "
    "whole list, as members do.",
    responses=reader_only,
)
async def list_difficulties(
    side: Side,
    who: Lister,
    province: Annotated[str | None, Query(pattern=PROVINCE_PATTERN)] = None,
    agency: Annotated[str | None, Query(pattern=AGENCY_ID_PATTERN, max_length=120)] = None,
    status: Status | None = None,
    zone_type: ZoneType | None = None,
    category: Category | None = None,
    week: Annotated[str | None, Query(pattern=WEEK_PATTERN)] = None,
    q: Annotated[str | None, Query(max_length=200,
                                   description="Words that must all appear (title, description,"
                                               " business, code); diacritics optional")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    open_only: Annotated[bool, Query(
        alias="open", description="Only what is not closed (resolved or rejected) yet")] = False,
) -> DifficultyPage:
    own_queue = not access.reader_ok(who, side.config.current)  # an agency's
    f = store.ListFilter(
        held_by=who.subject_id if own_queue else None, open_only=open_only,
        agency_id=agency, status=status.value if status else None,
        zone_type=zone_type.value if zone_type else None,
        category=category.value if category else None,
        after=decode_cursor(cursor) if cursor else None,
    )
    if province is not None:
        cfg = logic.resolve_province(side.config.current, province)
        if cfg is None:
            raise Refusal(422, "province", "unknown province", "không có tỉnh này")
        if not own_queue:  # an agency's list is scoped by what it holds
            in_scope(who, cfg)
        f = _replace(f, task_forces=[cfg.slug])
    elif who.province is not None and not own_queue:
        f = _replace(f, task_forces=[who.province])
    if week is not None:
        w = parse_week_label(week, "week")
        f = _replace(f, received_after=w.start, received_until=w.end)
    if q:
        # PostgreSQL text holds no NUL; nothing else in a query needs refusing.
        words = vn.fold(q.replace("\x00", " ")).split()[:MAX_SEARCH_WORDS]
        f = _replace(f, words=words)
    async with side.db().acquire() as conn:
        rows = await store.list_difficulties(conn, f=f, now=side.now(), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [DifficultyOut(agency_id=r.pop("lead_agency_id"), **r) for r in rows]
    nxt = encode_cursor(rows[-1]["received_at"], rows[-1]["difficulty_id"]) if more else None
    return DifficultyPage(items=items, next_cursor=nxt)


def _replace(f: store.ListFilter, **changes: object) -> store.ListFilter:
    import dataclasses

    return dataclasses.replace(f, **changes)  # type: ignore[arg-type]


# New columns go at the end, so that readers of the older file keep working.
CSV_COLUMNS = ("dimension", "value", "received", "resolved", "open", "overdue",
               "escalated_central", "median_resolution_hours", "p90_resolution_hours",
               "rejected", "carried_over")
CSV_COLUMNS_VI = ("Nhóm", "Tên", "Tiếp nhận", "Đã giải quyết", "Đang xử lý", "Quá hạn",
                  "Chuyển Trung ương", "Thời gian giải quyết trung vị (giờ)",
                  "Thời gian giải quyết P90 (giờ)", "Từ chối", "Tồn đầu kỳ")
DIMENSION_VI = {"total": "Tổng cộng", "agency": "Cơ quan chủ trì", "zone_type": "Loại khu vực",
                "category": "Lĩnh vực"}


def rows_csv(report: WeeklyReport) -> str:
    dumped = (r.model_dump() for r in report.rows)
    return csv_text(CSV_COLUMNS, ([d[c] for c in CSV_COLUMNS] for d in dumped))


def rows_csv_vi(cfg: ProvinceConfig, report: WeeklyReport) -> str:
    """The same rows for people: Vietnamese headers, names for ids; a byte-order mark,
    without which Excel reads UTF-8 as a legacy code page and garbles the diacritics."""
    rows = ([DIMENSION_VI[r.dimension],
             "" if r.dimension == "total" else document.name_of(cfg, r.dimension, r.value),
             *(r.model_dump()[c] for c in CSV_COLUMNS[2:])] for r in report.rows)
    return "\ufeff" + csv_text(CSV_COLUMNS_VI, rows)


ITEM_COLUMNS = ("tracking_code", "title", "agency_id", "status", "received_at", "difficulty_id")


def items_csv(items: list[ReportItem]) -> str:
    dumped = (i.model_dump(mode="json") for i in items)
    return csv_text(ITEM_COLUMNS, ([d[c] for c in ITEM_COLUMNS] for d in dumped))
