"""The read side's HTTP routes: tracking, reports as JSON, CSV and documents, letters, the
handed-over list and the searchable list of difficulties."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from services.reporting import access, document, logic, render, spreadsheets, store, usecases
from services.reporting.api.common import (
    MAX_SEARCH_WORDS,
    PROVINCE_PATTERN,
    WEEK_PATTERN,
    Lister,
    ProvincePath,
    Reader,
    ReadSide,
    ReportPath,
    Side,
    cached,
    decode_cursor,
    encode_cursor,
    in_scope,
    load_public,
    load_report,
    not_found,
    track_not_found,
)
from services.reporting.api.csv_files import (
    items_csv,
    rows_csv,
    rows_csv_vi,
)
from services.reporting.api.models import DifficultyOut, DifficultyPage, KeptOut, TrackOut
from shared import auth, vn
from shared.calendar import TZ, parse_week_label
from shared.errors import ErrorBody, Refusal, responses
from shared.events import (
    OUTCOME_LABELS,
    STATUS_LABELS,
    Category,
    Outcome,
    Status,
    WeeklyReport,
    ZoneType,
)
from shared.topics import AGENCY_ID_PATTERN

DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

api = APIRouter()


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
        kept = (await store.kept_case(conn, difficulty_id=row["merged_into"])
                if row is not None and row["merged_into"] is not None else None)
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
        kept=None if kept is None else kept_out(side, kept[0]),
    )


def kept_out(side: Side, row: dict[str, Any]) -> KeptOut:
    status = Status(row["status"])
    agency = side.config.current.agency(row["lead_agency_id"] or "")
    return KeptOut(
        status=status, status_vi=STATUS_LABELS[status][0], status_en=STATUS_LABELS[status][1],
        agency_name_vi=agency.name_vi if agency else None,
        agency_name_en=agency.name_en if agency else None,
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        answered_at=row["outcome_at"], public_answer=row["public_answer"])


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
