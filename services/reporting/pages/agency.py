"""An agency's workspace: its queue (what it holds an active assignment on, any role;
overdue, due soon and new first), acknowledging several at once, the queue as CSV and
XLSX; a difficulty's page (difficulty.py) stands on the words and session checks here.
The forms post to intake (the command side) under /workspace/act/, which sends the
browser back here saying what was done or refused."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import logic, spreadsheets, store
from services.reporting.api import (
    DOCUMENT_TYPES,
    MAX_SEARCH_WORDS,
    WEEK_PATTERN,
    ReadSide,
    Side,
)
from services.reporting.pages.common import PAGE, TEXT, Labeller, Lang, env, fmt, with_csrf
from shared import auth, identity, vn
from shared.calendar import check_date, parse_week_label
from shared.errors import Refusal, responses
from shared.events import (
    Category,
    Status,
    ZoneType,
)
from shared.exports import csv_text
from shared.provinces import ProvinceConfig

router = APIRouter(tags=["pages"])

QUEUE = "/workspace/queue"
PAGE_SIZE = 50
EXPORT_MAX = 10_000  # rows in one export: far above any agency's open queue
# "" is the form's "any" choice; "open" (the default) everything not closed, "all"
# everything held, closed included.
StatusChoice = Literal["", "open", "all", "received", "assigned", "acknowledged",
                       "in_progress", "resolved", "escalated", "rejected",
                       "reassign_requested"]
CategoryChoice = Category | Literal[""]
ZoneChoice = ZoneType | Literal[""]

WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "q_title": "Hồ sơ của cơ quan", "q_filters": "Lọc và tìm kiếm",
        "q_search": "Tìm (không cần dấu)", "q_any": "Tất cả", "q_open": "Đang mở",
        "q_all": "Tất cả, kể cả đã đóng", "q_category": "Lĩnh vực", "q_zone": "Loại khu vực",
        "q_week": "Tuần tiếp nhận (ví dụ 2026-W48)", "q_apply": "Lọc",
        "q_clear": "Bỏ lọc", "q_none": "Không có hồ sơ nào khớp.",
        "q_select": "Chọn", "q_ack_selected": "Xác nhận đã nhận các hồ sơ đã chọn",
        "q_next": "Trang sau", "q_first": "Về trang đầu", "q_export": "Xuất danh sách",
        "q_business": "Doanh nghiệp", "q_lead": "Cơ quan chủ trì", "q_next_due": "Hạn tiếp theo",
        "q_mark": "Lưu ý", "mark_overdue": "Quá hạn", "mark_due_soon": "Sắp đến hạn",
        "mark_new": "Mới", "q_acked": "Đã xác nhận nhận {n} hồ sơ.",
        "q_refused": "Không xác nhận được:", "q_count": "Hiển thị {n} hồ sơ",
        "q_back": "Danh sách hồ sơ", "q_home": "Không gian làm việc",
        "d_submission": "Nội dung phản ánh", "d_description": "Nội dung chi tiết",
        "d_kind": "Loại", "d_urgency": "Mức độ", "d_history": "Quá trình xử lý",
        "d_parts": "Các cơ quan tham gia", "d_role": "Vai trò", "d_rule": "Căn cứ phân công",
        "d_since": "Từ", "d_active": "Đang giao", "d_ended": "Đã chuyển",
        "d_actions": "Xử lý", "d_note": "Ghi chú", "d_reason": "Lý do",
        "d_result": "Kết quả giải quyết", "d_no_actions": "Không còn bước nào đồng chí có thể "
        "thực hiện với hồ sơ này.", "d_done": "Đã cập nhật: {status}.",
        "d_refused": "Chưa cập nhật được:", "d_contact": "Người liên hệ của doanh nghiệp",
        "d_contact_link": "Xem thông tin liên hệ (chỉ cơ quan chủ trì và Tổ phó Thường trực)",
        "d_by": "Người thực hiện", "d_when": "Thời gian", "d_none_yet": "Chưa có bước nào.",
        "d_ack_by": "Hạn xác nhận", "d_resolve_by": "Hạn giải quyết", "d_sector": "Ngành nghề",
        "d_zone_name": "Tên khu, cụm", "d_tax_code": "Mã số thuế", "d_your_part": "Phần việc "
        "của đồng chí", "yes": "Có", "no": "Không",
        "act_acknowledged": "Xác nhận đã nhận", "act_in_progress": "Đang xử lý",
        "act_resolved": "Đã giải quyết", "act_rejected": "Từ chối",
        "act_escalated": "Chuyển cấp trên", "act_reassign_requested": "Không thuộc thẩm quyền",
        "step_acknowledged": "Xác nhận đã nhận phần việc", "step_in_progress": "Đang xử lý",
        "step_done": "Xong phần việc của mình", "step_declined": "Không thuộc thẩm quyền",
        "step_need_info": "Hỏi doanh nghiệp (tạm dừng thời hạn)",
        "d_question": "Nội dung cần doanh nghiệp bổ sung (doanh nghiệp sẽ đọc)",
        "d_asked": "Câu hỏi gửi doanh nghiệp:", "d_fb": "Doanh nghiệp đánh giá",
        "d_fb_resolved": "đã được giải quyết", "d_fb_not_resolved": "chưa được giải quyết",
        "d_the_business": "Doanh nghiệp",
        "d_business_said": "Doanh nghiệp trả lời:",
        "d_done_what": "Đã làm gì", "d_suggest": "Cơ quan nên xử lý (nếu biết)",
        "d_own_part": "phần việc của cơ quan",
        "d_merged_into": "Đã gộp vào phản ánh", "d_duplicate": "Gộp phản ánh trùng",
        "d_corrected": "Tổ phó Thường trực sửa loại khu, lĩnh vực, tỉnh",
        "res_title": "Kết thúc hồ sơ",
        "res_outcome": "Kết quả", "res_done": "Đã làm gì (nội bộ)",
        "res_legal": "Căn cứ, văn bản (số, ký hiệu), ví dụ Công văn 123/UBND-KT",
        "res_answer": "Trả lời doanh nghiệp (doanh nghiệp sẽ đọc được)",
        "res_reason": "Lý do (bắt buộc khi từ chối hoặc kiến nghị cấp trên)",
        "res_note": "Ghi chú nội bộ", "res_waive": "Lý do kết thúc khi các cơ quan phối hợp "
        "chưa xong (bắt buộc nếu còn phần việc mở)", "res_submit": "Kết thúc hồ sơ",
        "res_open_parts": "Còn phần việc của cơ quan phối hợp chưa xong:",
        "d_answer": "Trả lời doanh nghiệp",
        "c_title": "Kiến nghị Bộ, ngành Trung ương", "c_ministry": "Bộ, ngành",
        "c_due": "Hạn Bộ, ngành trả lời", "c_letter": "Công văn gửi Bộ, ngành",
        "c_unregistered": "Chưa vào số", "c_letter_docx": "Tải công văn (DOCX, để ký)",
        "c_letter_pdf": "Tải công văn (PDF)", "c_register": "Vào số công văn đã ký",
        "c_number": "Số, ký hiệu (ví dụ 125/TCT-KT)", "c_date": "Ngày ký",
        "c_register_submit": "Ghi số công văn", "c_answer_title": "Ghi nhận văn bản trả lời "
        "của Bộ, ngành", "c_answer_number": "Số, ký hiệu văn bản trả lời",
        "c_answer_date": "Ngày văn bản trả lời", "c_answer_text": "Nội dung trả lời (doanh "
        "nghiệp xem được)", "c_answer_outcome": "Kết quả", "c_answer_submit": "Ghi nhận trả lời",
        "done_letter": "đã ghi số công văn", "done_ministry_answer": "đã ghi nhận trả lời của "
        "Bộ, ngành",
        "part_lead": "Chủ trì", "part_permanent_deputy": "Tổ phó Thường trực",
        "part_co_handler": "Phối hợp", "part_member": "Thành viên phụ trách",
        "role_lead": "Chủ trì", "role_co_handler": "Phối hợp", "role_triage": "Phân loại",
        "role_escalation": "Cấp trên", "role_member": "Thành viên phụ trách",
        "ws_queue": "Hồ sơ của cơ quan (xử lý, xác nhận, xuất danh sách)",
        "urgency_normal": "Thường", "urgency_urgent": "Khẩn (đột xuất)",
    },
    "en": {
        "q_title": "The agency's cases", "q_filters": "Filter and search",
        "q_search": "Search (diacritics optional)", "q_any": "Any", "q_open": "Open",
        "q_all": "All, closed included", "q_category": "Category", "q_zone": "Zone type",
        "q_week": "Week received (e.g. 2026-W48)", "q_apply": "Filter",
        "q_clear": "Clear filters", "q_none": "No case matches.",
        "q_select": "Select", "q_ack_selected": "Acknowledge the selected cases",
        "q_next": "Next page", "q_first": "First page", "q_export": "Export the list",
        "q_business": "Business", "q_lead": "Lead agency", "q_next_due": "Next deadline",
        "q_mark": "Note", "mark_overdue": "Overdue", "mark_due_soon": "Due soon",
        "mark_new": "New", "q_acked": "{n} case(s) acknowledged.",
        "q_refused": "Not acknowledged:", "q_count": "Showing {n} cases",
        "q_back": "The list of cases", "q_home": "Workspace",
        "d_submission": "The submission", "d_description": "Description",
        "d_kind": "Kind", "d_urgency": "Urgency", "d_history": "History",
        "d_parts": "Agencies taking part", "d_role": "Role", "d_rule": "Why assigned",
        "d_since": "Since", "d_active": "Assigned", "d_ended": "Moved on",
        "d_actions": "Casework", "d_note": "Note", "d_reason": "Reason",
        "d_result": "The resolution", "d_no_actions": "There is no step left for you on this "
        "case.", "d_done": "Updated: {status}.",
        "d_refused": "Not updated:", "d_contact": "The business's contact person",
        "d_contact_link": "See the contact details (lead agency and permanent deputy only)",
        "d_by": "By", "d_when": "When", "d_none_yet": "No step yet.",
        "d_ack_by": "Acknowledge by", "d_resolve_by": "Resolve by", "d_sector": "Sector",
        "d_zone_name": "Park or cluster", "d_tax_code": "Tax code",
        "d_your_part": "Your part", "yes": "Yes", "no": "No",
        "act_acknowledged": "Acknowledge", "act_in_progress": "In progress",
        "act_resolved": "Resolved", "act_rejected": "Reject",
        "act_escalated": "Escalate", "act_reassign_requested": "Not ours",
        "step_acknowledged": "Acknowledge my part", "step_in_progress": "In progress",
        "step_done": "My part is done", "step_declined": "Not ours",
        "step_need_info": "Ask the business (the deadline pauses)",
        "d_question": "What the business is asked (the business reads this)",
        "d_asked": "Asked of the business:", "d_fb": "The business's rating",
        "d_fb_resolved": "resolved", "d_fb_not_resolved": "not resolved",
        "d_the_business": "The business",
        "d_business_said": "The business answered:",
        "d_done_what": "What was done", "d_suggest": "The agency that should act (if known)",
        "d_own_part": "their own part",
        "d_merged_into": "Merged into", "d_duplicate": "Duplicate merged in",
        "d_corrected": "Zone type, category, province corrected by the permanent deputy",
        "res_title": "Close the case",
        "res_outcome": "Outcome", "res_done": "What was done (internal)",
        "res_legal": "Legal basis or document cited (number and symbol), e.g. Công văn "
        "123/UBND-KT", "res_answer": "Answer to the business (the business reads it)",
        "res_reason": "Reason (required to reject or to pass up)",
        "res_note": "Internal note", "res_waive": "Why it closes while co-handlers' parts are "
        "open (required if any is)", "res_submit": "Close the case",
        "res_open_parts": "Co-handlers' parts still open:", "d_answer": "Answer to the business",
        "c_title": "Escalated to a central ministry", "c_ministry": "Ministry",
        "c_due": "Ministry's answer due", "c_letter": "Letter to the ministry",
        "c_unregistered": "Not yet registered", "c_letter_docx": "Download the letter (DOCX, "
        "to sign)", "c_letter_pdf": "Download the letter (PDF)",
        "c_register": "Register the signed letter", "c_number": "Number and symbol (e.g. "
        "125/TCT-KT)", "c_date": "Signed on", "c_register_submit": "Register the letter",
        "c_answer_title": "Record the ministry's answer", "c_answer_number": "Number and "
        "symbol of the ministry's letter", "c_answer_date": "Date of the ministry's letter",
        "c_answer_text": "The answer (the business reads it)", "c_answer_outcome": "Outcome",
        "c_answer_submit": "Record the answer", "done_letter": "letter registered",
        "done_ministry_answer": "the ministry's answer recorded",
        "part_lead": "Lead", "part_permanent_deputy": "Permanent deputy",
        "part_co_handler": "Co-handler", "part_member": "Responsible member",
        "role_lead": "Lead", "role_co_handler": "Co-handler", "role_triage": "Triage",
        "role_escalation": "Escalation", "role_member": "Responsible member",
        "ws_queue": "The agency's cases (casework, acknowledging, export)",
        "urgency_normal": "Normal", "urgency_urgent": "Urgent",
    },
}
QUEUE_HEADERS_VI = ("Mã hồ sơ", "Nội dung", "Doanh nghiệp", "Cơ quan chủ trì", "Trạng thái",
                    "Lĩnh vực", "Loại khu vực", "Ngày tiếp nhận", "Hạn tiếp theo", "Quá hạn")


def words(lang: str) -> dict[str, str]:
    return {**TEXT[lang], **WORDS[lang]}


def not_an_agency() -> Refusal:
    return Refusal(403, "Authorization", "only an agency's officers have a queue",
                   "chỉ cán bộ cơ quan có danh sách hồ sơ của cơ quan")


async def agency_session(side: ReadSide, request: Request) -> auth.Principal | None:
    """The signed-in agency (an officer, the permanent deputy, the head); None without a
    session; a 403 for another kind of session."""
    who = await identity.browser_person(request)
    if who is not None and who.kind is not auth.TokenKind.AGENCY:
        raise not_an_agency()
    return who


def sign_in_first(lang: str) -> RedirectResponse:
    return RedirectResponse(f"/workspace/sign-in?lang={lang}", status_code=303)


# --- the queue -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as the page's form, its links and the exports carry them."""

    status: str = "open"
    category: str = ""
    zone_type: str = ""
    week: str = ""
    q: str = ""

    def params(self, **more: str) -> str:
        pairs = [(k, v) for k, v in dataclasses.asdict(self).items()
                 if v and not (k == "status" and v == "open")]
        return urlencode([*pairs, *((k, v) for k, v in more.items() if v)])

    def list_filter(self, agency_id: str, slug: str | None) -> tuple[store.ListFilter, bool]:
        """(the store's filter, whether ordered by deadline): open items by their next
        deadline; closed ones (or everything) newest first."""
        status = self.status if self.status not in ("", "open", "all") else None
        f = store.ListFilter(
            task_forces=[slug] if slug else None, held_by=agency_id,
            open_only=self.status in ("", "open"), status=status,
            category=self.category or None, zone_type=self.zone_type or None)
        if self.week:
            w = parse_week_label(self.week, "week")
            f = dataclasses.replace(f, received_after=w.start, received_until=w.end)
        if self.q:
            f = dataclasses.replace(
                f, words=vn.fold(self.q.replace("\x00", " ")).split()[:MAX_SEARCH_WORDS])
        return f, status not in logic.FINAL_STATUSES and self.status != "all"


FAR = datetime(9999, 12, 31, tzinfo=UTC)  # an item with no next deadline sorts last


def encode_cursor(row: dict[str, Any], by_deadline: bool) -> str:
    due = (row["next_due_at"] or FAR).isoformat() if by_deadline else ""
    raw = f"{due}|{row['received_at'].isoformat()}|{row['difficulty_id']}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, by_deadline: bool) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, at, did = raw.split("|")
        times = [datetime.fromisoformat(t) for t in ((due, at) if by_deadline else (at,))]
        for t in times:
            if t.tzinfo is None:
                raise ValueError("naive")
            if t != FAR:
                check_date(t, "cursor")
        return (*times, uuid.UUID(did))
    except (ValueError, UnicodeDecodeError) as e:
        raise Refusal(422, "cursor", "not a cursor of this list",
                      "không phải con trỏ trang của danh sách này") from e


def agency_province(side: ReadSide, who: auth.Principal) -> ProvinceConfig | None:
    configs = side.config.current
    slug = who.province if who.province in configs else auth.province_of_agency(
        configs, who.subject_id)
    return configs.get(slug) if slug else None


async def queue_rows(side: ReadSide, who: auth.Principal, query: QueueQuery, *,
                     cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The rows of one page (`limit` and whether there are more) of the agency's queue.
    Central agencies act for every province: their queue spans task forces."""
    cfg = agency_province(side, who)
    central = cfg is not None and (a := cfg.agency(who.subject_id)) is not None and (
        a.level.value == "central")
    f, by_deadline = query.list_filter(who.subject_id,
                                       None if cfg is None or central else cfg.slug)
    if cursor:
        f = dataclasses.replace(f, after=decode_cursor(cursor, by_deadline))
    async with side.db().acquire() as conn:
        rows = await store.list_difficulties(conn, f=f, now=side.now(), limit=limit + 1,
                                             by_deadline=by_deadline)
    return rows[:limit], len(rows) > limit


FilterStatus = Annotated[StatusChoice, Query(description="open (the default): not closed; "
                                             "all: closed too; or one status")]
FilterCategory = Annotated[CategoryChoice, Query()]
FilterZone = Annotated[ZoneChoice, Query()]
FilterWeek = Annotated[str, Query(pattern=f"({WEEK_PATTERN})|^$",
                                  description="The week received, e.g. 2026-W48")]
FilterWords = Annotated[str, Query(max_length=200, description="Words that must all appear; "
                                   "diacritics optional")]


def queue_query(status: str, category: str, zone_type: str, week: str, q: str) -> QueueQuery:
    return QueueQuery(status=status or "open", category=str(category),
                      zone_type=str(zone_type), week=week, q=q.strip())


@router.get(QUEUE, response_class=Response, response_model=None,
            responses={**PAGE, 303: {"description": "Not signed in: the sign-in page"},
                       **responses(403, 422)},
            summary="An agency's queue: overdue, due soon and new first")
async def queue(
    side: Side, request: Request, lang: Lang = "vi", status: FilterStatus = "open",
    category: FilterCategory = "", zone_type: FilterZone = "", week: FilterWeek = "",
    q: FilterWords = "", cursor: Annotated[str | None, Query(max_length=200)] = None,
    acknowledged: Annotated[int | None, Query(ge=0, le=1000)] = None,
    refused: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> HTMLResponse | RedirectResponse:
    who = await agency_session(side, request)
    if who is None:
        return sign_in_first(lang)
    query = queue_query(status, category, zone_type, week, q)
    rows, more = await queue_rows(side, who, query, cursor=cursor, limit=PAGE_SIZE)
    cfg = agency_province(side, who)
    t, now = words(lang), side.now()
    name = Labeller(cfg, lang) if cfg is not None else None
    by_deadline = query.list_filter(who.subject_id, None)[1]
    items = [queue_item(r, name, lang, now) for r in rows]
    refused_lines = await refused_said(side, refused or [])
    other = "en" if lang == "vi" else "vi"
    agency = cfg.agency(who.subject_id) if cfg is not None else None
    next_cursor = encode_cursor(rows[-1], by_deadline) if more else ""

    def render(csrf: str) -> HTMLResponse:
        return HTMLResponse(env.get_template("queue.html").render(
            t=t, lang=lang, csrf=csrf, items=items, query=query,
            agency=(agency.name_vi if lang == "vi" else agency.name_en) if agency
            else who.subject_id,
            statuses=[(s.value, name.status(s.value) if name else s.value) for s in Status],
            categories=[(c.value, name("category", c.value) if name else c.value)
                        for c in Category],
            zones=[(z.value, name("zone_type", z.value) if name else z.value)
                   for z in ZoneType],
            act_url=side.intake_url, acknowledged=acknowledged, refused=refused_lines,
            next_url=f"{QUEUE}?{query.params(lang=lang, cursor=next_cursor)}" if more else None,
            first_url=f"{QUEUE}?{query.params(lang=lang)}" if cursor else None,
            switch=f"{QUEUE}?{query.params(lang=other)}",
            csv_url=f"{QUEUE}.csv?{query.params()}", xlsx_url=f"{QUEUE}.xlsx?{query.params()}"))

    return with_csrf(request, side, render)


def queue_item(r: dict[str, Any], name: Labeller | None, lang: str,
               now: datetime) -> dict[str, Any]:
    def label(dim: str, v: str | None) -> str:
        return "" if v is None else name(dim, v) if name else v

    return {
        "id": r["difficulty_id"], "code": r["tracking_code"], "title": r["title"],
        "business": r["enterprise_name"] or "", "status": r["status"],
        "status_label": name.status(r["status"]) if name else r["status"],
        "lead": label("agency", r["lead_agency_id"]), "category": label("category", r["category"]),
        "zone": label("zone_type", r["zone_type"]), "received": fmt(r["received_at"]),
        "due": fmt(r["next_due_at"]), "urgent": r["urgency"] == "urgent",
        "mark": logic.queue_mark(status=r["status"], next_due_at=r["next_due_at"], now=now),
        "ackable": r["status"] in logic.ACKNOWLEDGEABLE,
    }


async def refused_said(side: ReadSide, said: Sequence[str]) -> list[tuple[str, str]]:
    """(tracking code, reason) of each refusal intake's bulk acknowledgement sends back
    as "<difficulty id> <reason>"."""
    parsed: list[tuple[uuid.UUID | None, str]] = []
    for line in said:
        head, _, reason = line.partition(" ")
        try:
            parsed.append((uuid.UUID(head), reason[:300]))
        except ValueError:
            parsed.append((None, line[:300]))
    ids = [i for i, _ in parsed if i is not None]
    codes: dict[uuid.UUID, str] = {}
    if ids:
        async with side.db().acquire() as conn:
            codes = await store.tracking_codes(conn, difficulty_ids=ids)
    return [(codes.get(i, str(i)) if i else "", reason) for i, reason in parsed]


async def export_rows(side: ReadSide, who: auth.Principal, query: QueueQuery
                      ) -> tuple[ProvinceConfig | None, list[list[object]]]:
    rows, _ = await queue_rows(side, who, query, cursor=None, limit=EXPORT_MAX)
    cfg = agency_province(side, who)
    name = Labeller(cfg, "vi") if cfg is not None else None
    out: list[list[object]] = []
    for r in rows:
        i = queue_item(r, name, "vi", side.now())
        out.append([i["code"], i["title"], i["business"], i["lead"], i["status_label"],
                    i["category"], i["zone"], i["received"], i["due"],
                    "Có" if r["overdue"] else "Không"])
    return cfg, out


def export_name(who: auth.Principal, ext: str) -> str:
    day = datetime.now(UTC).strftime("%Y%m%d")
    return f"{who.subject_id}-{day}.{ext}"


@router.get(f"{QUEUE}.csv", response_class=Response, response_model=None,
            responses={200: {"content": {"text/csv": {}}},
                       303: {"description": "Not signed in: the sign-in page"},
                       **responses(403, 422)},
            summary="An agency's queue as CSV (Vietnamese headers and names; the same filters)")
async def queue_csv(
    side: Side, request: Request, status: FilterStatus = "open",
    category: FilterCategory = "", zone_type: FilterZone = "", week: FilterWeek = "",
    q: FilterWords = "",
) -> Response:
    who = await agency_session(side, request)
    if who is None:
        return sign_in_first("vi")
    _, rows = await export_rows(side, who, queue_query(status, category, zone_type, week, q))
    # The byte-order mark: without it Excel reads UTF-8 as a legacy code page.
    return Response("\ufeff" + csv_text(QUEUE_HEADERS_VI, rows),
                    media_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition":
                        f'attachment; filename="{export_name(who, "csv")}"'})


@router.get(f"{QUEUE}.xlsx", response_class=Response, response_model=None,
            responses={200: {"content": {DOCUMENT_TYPES["xlsx"]: {}}},
                       303: {"description": "Not signed in: the sign-in page"},
                       **responses(403, 422)},
            summary="An agency's queue as a workbook (Vietnamese headers and names)")
async def queue_xlsx(
    side: Side, request: Request, status: FilterStatus = "open",
    category: FilterCategory = "", zone_type: FilterZone = "", week: FilterWeek = "",
    q: FilterWords = "",
) -> Response:
    who = await agency_session(side, request)
    if who is None:
        return sign_in_first("vi")
    query = queue_query(status, category, zone_type, week, q)
    cfg, rows = await export_rows(side, who, query)
    agency = cfg.agency(who.subject_id) if cfg is not None else None
    title = ["Danh sách hồ sơ", agency.name_vi if agency else who.subject_id,
             f"Lập lúc {fmt(side.now())}"]
    body = await asyncio.to_thread(spreadsheets.queue_workbook, title, QUEUE_HEADERS_VI, rows)
    return Response(body, media_type=DOCUMENT_TYPES["xlsx"], headers={
        "Content-Disposition": f'attachment; filename="{export_name(who, "xlsx")}"'})
