"""What the pages share: their words in both languages, the page templates, who may
see a page (a signed link, a session, a bearer token), the CSRF double submit, and
opening and closing sign-in sessions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting import access, document
from services.reporting.api import ReadSide
from shared import auth, identity
from shared.calendar import TZ
from shared.events import STATUS_LABELS, Status
from shared.provinces import ProvinceConfig

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)
# Weeks as people say them ("Tuần 49 · 28/11–04/12/2026"), never "2026-W49".
env.filters["week"] = document.week_phrase

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "index_title": "Báo cáo tuần các Tổ công tác", "week": "Tuần", "current": "Tuần hiện tại",
        "report_title": "Báo cáo tuần", "received": "Tiếp nhận", "resolved": "Đã giải quyết",
        "open": "Đang mở", "overdue": "Quá hạn", "escalated": "Chuyển Trung ương",
        "rejected": "Từ chối", "carried_over": "Tồn đầu kỳ", "of_which": "trong đó",
        "balance": "Tồn đầu kỳ + tiếp nhận = đã giải quyết + từ chối + đang mở",
        "downloads": "Tải về", "csv_vi": "CSV (tiêu đề tiếng Việt)", "total": "Tổng cộng",
        "dim_agency": "Theo cơ quan chủ trì", "dim_zone_type": "Theo loại khu vực",
        "dim_category": "Theo lĩnh vực",
        "median": "Trung vị thời gian giải quyết (giờ)", "p90": "P90 thời gian giải quyết (giờ)",
        "by_zone": "Theo loại khu vực", "by_category": "Theo lĩnh vực", "by_agency": "Theo cơ quan",
        "trend": "Diễn biến các tuần gần đây", "overdue_items": "Hồ sơ quá hạn",
        "urgent_items": "Việc đột xuất", "recommendations": "Kiến nghị",
        "audit_line": "Kiểm toán (Audit): {n} chuỗi lịch sử hồ sơ thay đổi trong tuần; gốc"
                      " Merkle của các đầu chuỗi:",
        "missing": "Thành viên chưa báo cáo", "reported": "Thành viên đã báo cáo",
        "compiled_text": "Tổng hợp của Tổ phó Thường trực",
        "member_reports": "Báo cáo của thành viên Tổ công tác",
        "directions": "Ý kiến chỉ đạo của Tổ trưởng và tiến độ thực hiện",
        "waiting": "Hồ sơ chờ Tổ trưởng quyết định", "why": "Lý do",
        "letter": "Công văn số", "no_letter": "Chưa ghi số công văn",
        "direction": "Nội dung chỉ đạo", "assignee": "Đơn vị, người thực hiện",
        "due_on": "Thời hạn", "state": "Tiến độ",
        "h_received": "Tình hình tiếp nhận", "h_solutions": "Giải pháp đang triển khai",
        "h_recommendations": "Kiến nghị, đề xuất", "late": "Trễ hạn",
        "state_open": "Chưa thực hiện", "state_in_progress": "Đang thực hiện",
        "state_done": "Đã hoàn thành",
        "none": "Không có", "preview": "Bản xem trước (tuần chưa chốt)",
        "published": "Đã chốt", "window": "Kỳ báo cáo", "code": "Mã hồ sơ", "title": "Nội dung",
        "agency": "Cơ quan", "status": "Trạng thái", "received_at": "Ngày tiếp nhận",
        "due": "Hạn giải quyết", "no_reports": "Chưa có báo cáo đã chốt", "other_lang": "English",
        "breakdown": "Chi tiết", "value": "Nhóm",
        "final_title": "Báo cáo tổng kết nhiệm vụ", "mandate": "Thời gian hoạt động",
        "handed_over": "Hồ sơ còn mở bàn giao", "central_items": "Hồ sơ chuyển Trung ương",
        "final_preview": "Bản xem trước (Tổ công tác chưa giải thể hoặc chưa chốt)",
        "sign_in": "Đăng nhập xem báo cáo",
        "sign_in_why": "Báo cáo dành cho thành viên Tổ công tác. Mở bằng đường dẫn trong thư "
                       "thông báo, hoặc đăng nhập bằng mã truy cập được cấp.",
        "token": "Mã truy cập", "bad_token": "Mã truy cập không hợp lệ, đã thu hồi hoặc không "
                                             "được xem báo cáo.",
        "tr_title": "Tra cứu hồ sơ phản ánh", "tr_code": "Mã hồ sơ", "tr_tax_code": "Mã số thuế",
        "tr_look": "Tra cứu", "tr_why": "Nhập mã hồ sơ nhận được khi gửi phản ánh và mã số "
        "thuế của doanh nghiệp.", "tr_not_found": "Không có hồ sơ với mã hồ sơ và mã số thuế "
        "này. Vui lòng kiểm tra lại.", "tr_status": "Tình trạng",
        "tr_agency": "Cơ quan chủ trì xử lý", "tr_no_agency": "Đang phân công",
        "tr_expected": "Dự kiến trả lời trước", "tr_closed": "Hoàn thành lúc",
        "tr_timeline": "Các bước xử lý", "tr_received": "Tiếp nhận",
        "tr_another": "Tra cứu hồ sơ khác",
        "tr_questions": "Cơ quan cần doanh nghiệp bổ sung thông tin",
        "tr_reply": "Trả lời của doanh nghiệp", "tr_tax_again": "Nhập lại mã số thuế để gửi",
        "tr_send": "Gửi trả lời",
        "tr_said_answered": "Đã gửi trả lời tới cơ quan; thời hạn xử lý tiếp tục được tính.",
        "tr_said_rated": "Cảm ơn doanh nghiệp đã đánh giá.",
        "tr_feedback": "Ý kiến của doanh nghiệp", "tr_resolved_q": "Vướng mắc đã được giải quyết?",
        "tr_yes": "Đã được giải quyết", "tr_no": "Chưa được giải quyết",
        "tr_rating": "Mức độ hài lòng (1 đến 5)", "tr_comment": "Góp ý (nếu có)",
        "tr_send_feedback": "Gửi đánh giá",
        "tr_answer": "Trả lời của cơ quan chủ trì",
        "tr_shared": "Kiến nghị chung",
        "tr_merged": "Đã gộp với phản ánh trùng",
        "tr_merged_text": "Tổ công tác đã gộp phản ánh này với một phản ánh cùng nội dung "
        "đã tiếp nhận; phản ánh đó được tiếp tục xử lý cho cả hai doanh nghiệp. Tiến độ và "
        "trả lời được cập nhật tại đây.",
        "tr_merged_progress": "Tiến độ của phản ánh được giữ lại",
        "tr_shared_text": "Ngày {date}, Tổ công tác đã tổng hợp kiến nghị này cùng kiến nghị "
        "giống nhau của {n} doanh nghiệp, kiến nghị {ministry}.",
        "tr_shared_wait": "Trả lời của Bộ, ngành sẽ được thông báo tại đây.",
        "tr_refused": "Chưa gửi được. Vui lòng kiểm tra lại mã hồ sơ, mã số thuế và nội dung, "
        "rồi thử lại.",
        "tr_refused_answer": "Chưa gửi được: vui lòng nhập nội dung trả lời (tối đa 2.000 ký "
        "tự).", "tr_refused_rating": "Chưa gửi được: vui lòng chọn mức đánh giá từ 1 đến 5.",
        "tr_refused_comment": "Chưa gửi được: ý kiến dài quá 2.000 ký tự.",
        "tr_refused_files": "Chưa gửi được: chỉ nhận tài liệu PDF và ảnh PNG, JPEG, WebP, "
        "số tệp và dung lượng trong giới hạn.",
        "att_title": "Tài liệu đính kèm", "att_files": "Đính kèm tài liệu (PDF, ảnh; không "
        "bắt buộc)", "att_download": "Tải về", "att_public": "kèm câu trả lời công khai",
        "att_by_business": "doanh nghiệp gửi", "att_by_agency": "cơ quan gửi",
        "att_by_member": "thành viên gửi", "att_by_operator": "người vận hành gửi",
        "att_tax": "Nhập mã số thuế để tải tệp", "att_file": "Tệp",
        "ws_sign_in": "Đăng nhập", "ws_title": "Không gian làm việc",
        "ws_ask_why": "Nhập địa chỉ thư điện tử của đồng chí (địa chỉ đã khai trong cấu hình "
                      "của Tổ công tác). Hệ thống gửi một đường dẫn đăng nhập, dùng một lần, "
                      "có hiệu lực 15 phút.",
        "ws_email": "Thư điện tử", "ws_send_link": "Gửi đường dẫn đăng nhập",
        "ws_token_instead": "Có mã truy cập?", "ws_token_page": "Đăng nhập bằng mã truy cập",
        "ws_sent": "Nếu địa chỉ này có trong cấu hình của Tổ công tác, một đường dẫn đăng nhập "
                   "vừa được gửi tới đó. Đường dẫn dùng một lần, hết hạn sau 15 phút.",
        "ws_local_mailbox": "Thư trên máy này:",
        "ws_confirm_as": "Đăng nhập với tư cách",
        "ws_used": "Đường dẫn này đã được dùng. Mỗi đường dẫn chỉ dùng được một lần.",
        "ws_expired": "Đường dẫn này đã hết hạn (sau 15 phút).",
        "ws_unknown": "Đường dẫn không hợp lệ hoặc đã hết hiệu lực.",
        "ws_ask_again": "Xin đường dẫn mới",
        "ws_signed_in_as": "Đang đăng nhập:", "ws_what_exists": "Hiện có",
        "ws_sign_out": "Đăng xuất", "ws_reports": "Báo cáo tuần",
        "ws_api": "Tài liệu API (tra cứu, báo cáo)",
        "role_agency": "Cán bộ cơ quan", "role_member": "Thành viên Tổ công tác",
        "role_permanent_deputy": "Tổ phó Thường trực", "role_head": "Tổ trưởng",
        "role_operator": "Quản trị hệ thống", "role_deputy": "Tổ phó",
        "league": "Kết quả xử lý đúng hạn theo cơ quan",
        "league_frozen": "Số liệu chốt lúc {at}, không thay đổi sau khi chốt.",
        "league_preview": "Số liệu tạm tính đến {at}.",
        "league_target": "Mục tiêu: {target}% đúng hạn.",
        "league_rule": "Một thời hạn được tính vào tuần có kết quả: tuần hồ sơ được xác nhận "
                       "hoặc giải quyết đúng hạn, hoặc tuần thời hạn đã qua mà chưa xong.",
        "ack_on_time": "Xác nhận đúng hạn", "resolved_on_time": "Giải quyết đúng hạn",
        "median_days": "Trung vị thời gian giải quyết (ngày làm việc)",
        "rating": "Đánh giá của doanh nghiệp", "rated": "lượt", "not_rated": "chưa có đánh giá",
        "met": "Đạt", "missed": "Chưa đạt", "nothing_due": "không có hồ sơ đến hạn",
        "league_trend": "Giải quyết đúng hạn, {n} tuần gần đây", "no_figure": "không có số liệu",
        "no_league": "Trong tuần không có cơ quan nào xử lý hồ sơ.",
    },
    "en": {
        "index_title": "Weekly reports of the task forces", "week": "Week",
        "current": "Current week", "report_title": "Weekly report", "received": "Received",
        "resolved": "Resolved", "open": "Open", "overdue": "Overdue",
        "rejected": "Rejected", "carried_over": "Carried over", "of_which": "of which",
        "balance": "Carried over + received = resolved + rejected + open",
        "downloads": "Download", "csv_vi": "CSV (Vietnamese headers)", "total": "Total",
        "dim_agency": "By lead agency", "dim_zone_type": "By zone type",
        "dim_category": "By category",
        "escalated": "Escalated to central level", "median": "Median time to resolution (h)",
        "p90": "P90 time to resolution (h)", "by_zone": "By zone type",
        "by_category": "By category", "by_agency": "By agency", "trend": "Recent weeks",
        "overdue_items": "Overdue items", "urgent_items": "Urgent items",
        "recommendations": "Recommendations", "missing": "Members who have not reported",
        "audit_line": "Audit: {n} case history chains moved this week; Merkle root of"
                      " their heads:",
        "compiled_text": "The permanent deputy's compilation",
        "member_reports": "The members' reports",
        "directions": "The head's directions and their progress",
        "waiting": "Waiting for the head's decision", "why": "Why",
        "letter": "Letter no.", "no_letter": "Letter not registered yet",
        "direction": "Direction", "assignee": "Who must act", "due_on": "Due by",
        "state": "Progress",
        "h_received": "What was received", "h_solutions": "Solutions being carried out",
        "h_recommendations": "Recommendations", "late": "Late",
        "state_open": "Open", "state_in_progress": "In progress", "state_done": "Done",
        "reported": "Members who reported", "none": "None",
        "preview": "Preview (week not closed)", "published": "Published",
        "window": "Period", "code": "Code", "title": "Title", "agency": "Agency",
        "status": "Status", "received_at": "Received", "due": "Due", "no_reports":
        "No published report yet", "other_lang": "Tiếng Việt", "breakdown": "Breakdown",
        "value": "Group", "final_title": "Final report of the mandate",
        "mandate": "Mandate", "handed_over": "Open items handed over",
        "central_items": "Items sent to central level",
        "final_preview": "Preview (task force not dissolved, or report not compiled yet)",
        "sign_in": "Sign in to read reports",
        "sign_in_why": "Reports are for the task force. Open the link in the notification "
                       "e-mail, or sign in with the access token you were given.",
        "token": "Access token", "bad_token": "That token is unknown, revoked, or may not "
                                              "read reports.",
        "tr_title": "Track a difficulty", "tr_code": "Tracking code", "tr_tax_code": "Tax code",
        "tr_look": "Look up", "tr_why": "Enter the tracking code you received when you "
        "reported, and your business's tax code.", "tr_not_found": "No difficulty with this "
        "tracking code and tax code. Please check them.", "tr_status": "Status",
        "tr_agency": "Lead agency", "tr_no_agency": "Being assigned",
        "tr_expected": "Answer expected by", "tr_closed": "Completed on",
        "tr_timeline": "Steps", "tr_received": "Received", "tr_another": "Track another",
        "tr_answer": "The lead agency's answer",
        "tr_shared": "Shared recommendation",
        "tr_merged": "Merged with a like difficulty",
        "tr_merged_text": "The task force merged this difficulty with a like one it had "
        "received; that one carries on for both businesses. Its progress and answer are "
        "shown here.",
        "tr_merged_progress": "Progress of the difficulty kept",
        "tr_shared_text": "On {date} the task force merged this recommendation with the like "
        "ones of {n} businesses and escalated it to {ministry}.",
        "tr_shared_wait": "The ministry's answer will be shown here.",
        "tr_refused": "Not sent. Please check the tracking code, the tax code and what you "
        "wrote, then try again.",
        "tr_refused_answer": "Not sent: please write your answer (at most 2,000 characters).",
        "tr_refused_rating": "Not sent: please choose a rating from 1 to 5.",
        "tr_refused_comment": "Not sent: the comment is longer than 2,000 characters.",
        "tr_refused_files": "Not sent: only PDF documents and PNG, JPEG, WebP images are "
        "taken, within the number and size allowed.",
        "att_title": "Attached documents", "att_files": "Attach documents (PDF, images; "
        "optional)", "att_download": "Download", "att_public": "with the public answer",
        "att_by_business": "sent by the business", "att_by_agency": "sent by an agency",
        "att_by_member": "sent by a member", "att_by_operator": "sent by an operator",
        "att_tax": "Enter the tax code to download a file", "att_file": "File",
        "tr_questions": "An agency needs more information from you",
        "tr_reply": "Your answer", "tr_tax_again": "Your tax code again, to send it",
        "tr_send": "Send the answer",
        "tr_said_answered": "Your answer was sent to the agency; its deadline runs again.",
        "tr_said_rated": "Thank you for your rating.",
        "tr_feedback": "Your opinion", "tr_resolved_q": "Did the answer resolve it?",
        "tr_yes": "Yes, it is resolved", "tr_no": "No, it is not",
        "tr_rating": "How satisfied are you (1 to 5)", "tr_comment": "Comment (optional)",
        "tr_send_feedback": "Send",
        "ws_sign_in": "Sign in", "ws_title": "Workspace",
        "ws_ask_why": "Enter your e-mail address (the one in the task force's configuration). "
                      "You will be sent a sign-in link, for one use, valid 15 minutes.",
        "ws_email": "E-mail", "ws_send_link": "Send me a sign-in link",
        "ws_token_instead": "Have an access token?", "ws_token_page": "Sign in with a token",
        "ws_sent": "If this address is in the task force's configuration, a sign-in link has "
                   "just been sent to it. It works once and expires in 15 minutes.",
        "ws_local_mailbox": "Mail on this machine:",
        "ws_confirm_as": "Sign in as",
        "ws_used": "This link has been used already. Each link works once.",
        "ws_expired": "This link has expired (after 15 minutes).",
        "ws_unknown": "This link is not valid, or no longer.",
        "ws_ask_again": "Ask for a new link",
        "ws_signed_in_as": "Signed in as", "ws_what_exists": "Available now",
        "ws_sign_out": "Sign out", "ws_reports": "Weekly reports",
        "ws_api": "API documentation (search, reports)",
        "role_agency": "Agency officer", "role_member": "Task-force member",
        "role_permanent_deputy": "Permanent deputy", "role_head": "Head of the task force",
        "role_operator": "Operator", "role_deputy": "Deputy head (by zone type)",
        "league": "How each agency is doing",
        "league_frozen": "Figures frozen at {at}; they do not change afterwards.",
        "league_preview": "Provisional figures as of {at}.",
        "league_target": "Target: {target}% on time.",
        "league_rule": "A deadline counts in the week its outcome became known: the week it "
                       "was met on time, or the week it passed unmet.",
        "ack_on_time": "Acknowledged on time", "resolved_on_time": "Resolved on time",
        "median_days": "Median time to resolve (working days)",
        "rating": "Businesses' rating", "rated": "rated", "not_rated": "not rated yet",
        "met": "Met", "missed": "Below target", "nothing_due": "nothing due",
        "league_trend": "Resolved on time, last {n} weeks", "no_figure": "no figure",
        "no_league": "No agency held an item this week.",
    },
}

Lang = Annotated[str, Query(pattern=r"^(vi|en)$", description="Page language")]
FormLang = Annotated[str, Form(pattern=r"^(vi|en)$")]
CsrfField = Annotated[str, Form(max_length=100, description="The page's CSRF value "
                                "(double submit: the same as the thaogo_csrf cookie)")]
# The pages answer HTML; their refusals (400, 404, 413, 422, 429) are the JSON of every
# service. Declared this way rather than with response_class=HTMLResponse, which would
# document those JSON refusals as text/html.
PAGE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}


class Labeller:
    def __init__(self, cfg: ProvinceConfig, lang: str) -> None:
        self.cfg, self.i = cfg, 0 if lang == "vi" else 1

    def __call__(self, dimension: str, value: str) -> str:
        return document.name_of(self.cfg, dimension, value, ("vi", "en")[self.i])

    def status(self, s: str) -> str:
        return STATUS_LABELS[Status(s)][self.i]

    def person(self, pid: str) -> str:
        p = self.cfg.person(pid)
        return f"{p.name} — {p.title}" if p else pid

    def acting(self, assignee_id: str | None) -> str:
        """Who must act on a direction: a person of the task force or an agency."""
        if assignee_id is None:
            return ""
        p = self.cfg.person(assignee_id)
        return p.name if p else self("agency", assignee_id)


def fmt(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%d/%m/%Y %H:%M") if t else ""


async def allowed(request: Request, side: ReadSide) -> auth.Principal | bool:
    """A signed link to this very page (True; a bound one only while its token lives),
    or a member's or operator's token (sign-in session or bearer header), checked
    against the registry and the current configuration on every request (the reader,
    whose scope the page then checks); False otherwise."""
    q = request.query_params
    if side.links is not None:
        grant = side.links.grant(request.url.path, q.get("exp"), q.get("tok"),
                                 q.get("sig"), now=side.now())
        if grant is not None and (grant.token_id is None or access.reader_ok(
                await identity.identities(request).by_token_id(grant.token_id),
                side.config.current)):
            return True
    who = await identity.asking(request)
    if who is None or not access.reader_ok(who, side.config.current):
        return False
    return who

def secure(request: Request, side: ReadSide) -> bool:
    # Behind a TLS-terminating proxy the app sees http; the public URL says https.
    return request.url.scheme == "https" or side.secure_cookies

def with_csrf(request: Request, side: ReadSide,
              render: Callable[[str], HTMLResponse]) -> HTMLResponse:
    """A page whose forms carry the browser's CSRF value (set in its cookie here)."""
    csrf = auth.csrf_value(request.cookies.get(auth.CSRF_COOKIE))
    page = render(csrf)
    page.set_cookie(auth.CSRF_COOKIE, csrf, path="/", httponly=True, samesite="strict",
                    secure=secure(request, side))
    return page

def check_csrf(request: Request, value: str) -> None:
    if not auth.csrf_ok(request.cookies.get(auth.CSRF_COOKIE), value):
        raise auth.csrf_refused()

def sign_in_page(request: Request, side: ReadSide, lang: str, next_path: str, *,
                 error: bool = False, status: int = 401) -> HTMLResponse:
    t = TEXT[lang]

    def render(csrf: str) -> HTMLResponse:
        html = env.get_template("login.html").render(
            t=t, lang=lang, next=access.safe_next(next_path), csrf=csrf,
            error=t["bad_token"] if error else None)
        return HTMLResponse(html, status_code=status,
                            headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)

    return with_csrf(request, side, render)


async def start_session(request: Request, side: ReadSide, token_id: uuid.UUID,
                    target: str) -> RedirectResponse:
    """A new session on `token_id` (the cookie holds a random id, the session names the
    token), then on to `target`."""
    sid, now = auth.new_session_id(), side.now()
    async with side.db().acquire() as conn:
        await auth.open_session(
            conn, sid=sid, token_id=token_id, now=now,
            expires_at=now + timedelta(seconds=auth.SESSION_MAX_AGE_S))
    done = RedirectResponse(target, status_code=303)
    done.set_cookie(auth.SESSION_COOKIE, sid, max_age=auth.SESSION_MAX_AGE_S, path="/",
                    httponly=True, samesite="lax", secure=secure(request, side))
    return done

async def signed_out(request: Request, side: ReadSide, target: str) -> RedirectResponse:
    sid = request.cookies.get(auth.SESSION_COOKIE)
    if sid and len(sid) <= 100:
        async with side.db().acquire() as conn:
            await auth.close_session(conn, sid=sid)
    done = RedirectResponse(target, status_code=303)
    done.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                       secure=secure(request, side))
    return done


FILE_KINDS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG",
              "image/webp": "WebP"}


def size_label(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def attachment_list(rows: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The files of a case as its pages list them: numbered by their type (events carry no
    file name, which may be personal; the download gives it back), size, who sent them,
    when, and whether they go with the public answer."""
    t = TEXT[lang]
    return [{"id": str(r["attachment_id"]),
             "name": f"{t['att_file']} {i} ({FILE_KINDS.get(r['content_type'], 'file')})",
             "size": size_label(r["size"]),
             "by": t.get(f"att_by_{r['actor_kind']}", r["actor_kind"]),
             "when": fmt(r["attached_at"]),
             "public": r["public"] and r["actor_kind"] != "business"}
            for i, r in enumerate(rows, start=1)]
