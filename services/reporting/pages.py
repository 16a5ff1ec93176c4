"""The report pages: an index of task forces and a readable weekly report, in
Vietnamese by default (?lang=en), with charts drawn server-side as SVG."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting import access, charts, document, logic, store, usecases
from services.reporting.api import (
    PROVINCE_PATTERN,
    REPORT_PATTERN,
    ReadSide,
    load_report,
    not_found,
)
from shared import auth, outbox, vn
from shared.calendar import TZ, previous_window, week_window, week_window_by_label
from shared.errors import responses
from shared.events import (
    STATUS_LABELS,
    BreakdownRow,
    SignInLink,
    Status,
    WeeklyReport,
    new_envelope,
)
from shared.provinces import ProvinceConfig, email_key

TREND_WEEKS = 8
MAX_OVERDUE_LISTED = 50

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)

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
        "missing": "Thành viên chưa báo cáo", "reported": "Thành viên đã báo cáo",
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
        "ws_coming": "Các trang làm việc theo vai trò đang được xây dựng.",
        "ws_sign_out": "Đăng xuất", "ws_reports": "Báo cáo tuần",
        "ws_api": "Tài liệu API (tra cứu, báo cáo)",
        "role_agency": "Cán bộ cơ quan", "role_member": "Thành viên Tổ công tác",
        "role_permanent_deputy": "Tổ phó Thường trực", "role_head": "Tổ trưởng",
        "role_operator": "Quản trị hệ thống",
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
        "ws_coming": "The workspaces of each role are being built.",
        "ws_sign_out": "Sign out", "ws_reports": "Weekly reports",
        "ws_api": "API documentation (search, reports)",
        "role_agency": "Agency officer", "role_member": "Task-force member",
        "role_permanent_deputy": "Permanent deputy", "role_head": "Head of the task force",
        "role_operator": "Operator",
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


def _fmt(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%d/%m/%Y %H:%M") if t else ""


def build_router(side: ReadSide) -> APIRouter:
    router = APIRouter(tags=["pages"])

    async def allowed(request: Request) -> auth.Principal | bool:
        """A signed link to this very page (True; a bound one only while its token lives),
        or a member's or operator's token (sign-in session or bearer header), checked
        against the registry and the current configuration on every request (the reader,
        whose scope the page then checks); False otherwise."""
        q = request.query_params
        if side.links is not None:
            grant = side.links.grant(request.url.path, q.get("exp"), q.get("tok"),
                                     q.get("sig"), now=side.now())
            if grant is not None and (grant.token_id is None or access.reader_ok(
                    await side.token_principal(grant.token_id), side.config.current)):
                return True
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = credentials.strip()
            if not token or len(token) > 200:
                return False
            who = await side.principal(token)
        else:
            who = await side.session_principal(request.cookies.get(auth.SESSION_COOKIE))
        if who is None or not access.reader_ok(who, side.config.current):
            return False
        return who

    def secure(request: Request) -> bool:
        # Behind a TLS-terminating proxy the app sees http; the public URL says https.
        return request.url.scheme == "https" or side.secure_cookies

    def with_csrf(request: Request, render: Callable[[str], HTMLResponse]) -> HTMLResponse:
        """A page whose forms carry the browser's CSRF value (set in its cookie here)."""
        csrf = auth.csrf_value(request.cookies.get(auth.CSRF_COOKIE))
        page = render(csrf)
        page.set_cookie(auth.CSRF_COOKIE, csrf, path="/", httponly=True, samesite="strict",
                        secure=secure(request))
        return page

    def check_csrf(request: Request, value: str) -> None:
        if not auth.csrf_ok(request.cookies.get(auth.CSRF_COOKIE), value):
            raise auth.csrf_refused()

    def sign_in_page(request: Request, lang: str, next_path: str, *, error: bool = False,
                     status: int = 401) -> HTMLResponse:
        t = TEXT[lang]

        def render(csrf: str) -> HTMLResponse:
            html = _env.get_template("login.html").render(
                t=t, lang=lang, next=access.safe_next(next_path), csrf=csrf,
                error=t["bad_token"] if error else None)
            return HTMLResponse(html, status_code=status,
                                headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)

        return with_csrf(request, render)


    @router.get("/reports/login", response_class=Response, summary="Sign in to the pages",
                responses=PAGE)
    async def login_form(
        request: Request, lang: Lang = "vi",
        next: Annotated[str, Query(max_length=300)] = "/reports",
    ) -> HTMLResponse:
        return sign_in_page(request, lang, next, status=200)

    @router.post("/reports/login", response_class=Response, summary="Sign in with a token",
                 response_model=None,
                 responses={**PAGE, 303: {"description": "Signed in; back to the page"},
                            401: {"description": "Unknown, revoked or not a reader's token",
                                  "content": {"text/html": {}}}, **responses(403)})
    async def login(
        request: Request,
        token: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=300)] = "/reports",
        lang: Annotated[str, Form(pattern=r"^(vi|en)$")] = "vi",
        csrf_token: CsrfField = "",
    ) -> HTMLResponse | RedirectResponse:
        check_csrf(request, csrf_token)
        who = await side.principal(token.strip())
        if who is None or not access.reader_ok(who, side.config.current):
            return sign_in_page(request, lang, next, error=True)
        return await signed_in(request, who.token_id, access.safe_next(next))

    async def signed_in(request: Request, token_id: uuid.UUID, target: str) -> RedirectResponse:
        """A new session on `token_id` (the cookie holds a random id, the session names the
        token), then on to `target`."""
        sid, now = auth.new_session_id(), side.now()
        async with side.db().acquire() as conn:
            await auth.open_session(
                conn, sid=sid, token_id=token_id, now=now,
                expires_at=now + timedelta(seconds=auth.SESSION_MAX_AGE_S))
        done = RedirectResponse(target, status_code=303)
        done.set_cookie(auth.SESSION_COOKIE, sid, max_age=auth.SESSION_MAX_AGE_S, path="/",
                        httponly=True, samesite="lax", secure=secure(request))
        return done

    async def signed_out(request: Request, target: str) -> RedirectResponse:
        sid = request.cookies.get(auth.SESSION_COOKIE)
        if sid and len(sid) <= 100:
            async with side.db().acquire() as conn:
                await auth.close_session(conn, sid=sid)
        done = RedirectResponse(target, status_code=303)
        done.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure(request))
        return done

    @router.post("/reports/logout", summary="Sign out", status_code=303,
                 response_class=RedirectResponse, responses=responses(403))
    async def logout(request: Request, csrf_token: CsrfField = "") -> RedirectResponse:
        check_csrf(request, csrf_token)
        return await signed_out(request, "/reports/login")

    workspace_routes(router, side, with_csrf=with_csrf, check_csrf=check_csrf,
                     signed_in=signed_in, signed_out=signed_out)

    @router.get("/reports", response_class=Response, summary="Index of weekly reports",
                responses={**PAGE, 401: {"description": "Not signed in: the sign-in form",
                                  "content": {"text/html": {}}}})
    async def index(request: Request, lang: Lang = "vi") -> HTMLResponse:
        who = await allowed(request)
        if who is False:
            return sign_in_page(request, lang, f"/reports?lang={lang}")
        async with side.db().acquire() as conn:
            latest = await store.report_index(conn, per_task_force=6)
        by_tf: dict[str, list[dict[str, Any]]] = {}
        for r in latest:
            by_tf.setdefault(r["task_force"], []).append(r)
        current = week_window(side.now()).label
        provinces = [
            {"slug": slug, "name": (cfg.province.name_vi, cfg.province.name_en)[lang == "en"],
             "weeks": [r["week_label"] for r in by_tf.get(slug, [])]}
            for slug, cfg in side.config.current.items()
            if not isinstance(who, auth.Principal) or access.may_read(who, slug)
        ]
        html = _env.get_template("index.html").render(
            t=TEXT[lang], lang=lang, provinces=provinces, current=current,
            phrase=lambda label: week_name(label, lang))
        return HTMLResponse(html)

    @router.get("/reports/{province}/{week_label}", response_class=Response,
                summary="A weekly report as a page",
                responses={**PAGE, 401: {"description": "No valid signed link, not signed in: the "
                                  "sign-in form", "content": {"text/html": {}}},
                           **responses(403, 404)})
    async def report_page(
        request: Request,
        province: Annotated[str, PathParam(pattern=PROVINCE_PATTERN)],
        week_label: Annotated[str, PathParam(pattern=REPORT_PATTERN)],
        lang: Lang = "vi",
        exp: Annotated[str | None, Query(max_length=12, description="Signed link: expiry")] = None,
        tok: Annotated[str | None, Query(max_length=36,
                                         description="Signed link: bound to this token")] = None,
        sig: Annotated[str | None, Query(max_length=100, description="Signed link: HMAC")] = None,
    ) -> HTMLResponse:
        who = await allowed(request)
        if who is False:
            return sign_in_page(request, lang, f"{request.url.path}?lang={lang}")
        # The language switch keeps the signature, so a forwarded link works in both.
        signed = ("&" + urlencode({"exp": exp, **({"tok": tok} if tok else {}), "sig": sig})
                  if exp and sig else "")
        found = await load_report(side, province, week_label,
                                  who=who if isinstance(who, auth.Principal) else None)
        if found is None:
            raise not_found()
        cfg, report, published = found
        label = Labeller(cfg, lang)
        t = TEXT[lang]
        if report.final:
            return HTMLResponse(_env.get_template("report.html").render(
                t=t, lang=lang, cfg=cfg, report=report, published=published,
                total=logic.total_row(report.rows), fmt=_fmt, label=label,
                charts=_charts(report, label, t), overdue=[], trend="", signed=signed,
                heading=heading(report.week_label, lang),
                province_name=(cfg.province.name_vi, cfg.province.name_en)[lang == "en"]))
        window = week_window_by_label(report.week_label)
        as_of = min(side.now(), window.end)
        weeks = [window]
        for _ in range(TREND_WEEKS - 1):
            weeks.insert(0, previous_window(weeks[0]))
        async with side.db().acquire() as conn:
            overdue = await store.report_items(conn, task_force=cfg.slug, start=window.start,
                                               end=as_of, which="overdue",
                                               limit=MAX_OVERDUE_LISTED)
            past = await store.reports_for_weeks(conn, task_force=cfg.slug,
                                                 week_labels=[w.label for w in weeks])
        past[report.week_label] = report.model_dump(mode="json")
        trend = []
        for w in weeks:
            if w.label in past:
                tot = logic.total_row([BreakdownRow.model_validate(r)
                                       for r in past[w.label]["rows"]])
                if tot is not None:
                    # The day each week closed, as people date their weeks.
                    trend.append((f"{w.end.astimezone(TZ):%d/%m}",
                                  [tot.received, tot.resolved, tot.open]))
        html = _env.get_template("report.html").render(
            t=t, lang=lang, cfg=cfg, report=report, published=published,
            total=logic.total_row(report.rows), fmt=_fmt, label=label,
            charts=_charts(report, label, t), overdue=overdue,
            trend=charts.trend_chart(trend, _series(t, "received", "resolved", "open"),
                                     title=t["trend"]), signed=signed,
            heading=heading(report.week_label, lang),
            province_name=(cfg.province.name_vi, cfg.province.name_en)[lang == "en"],
        )
        return HTMLResponse(html)

    return router


def week_name(label: str, lang: str) -> str:
    """"Tuần 49 · 28/11–04/12/2026"; the final report has no week."""
    if label == "final":
        return TEXT[lang]["final_title"]
    return document.week_phrase(label, lang)


def heading(label: str, lang: str) -> str:
    """"Báo cáo tuần 49 · 28/11–04/12/2026" / "Weekly report, week 49 · 28 Nov–4 Dec 2026"."""
    if label == "final":
        return TEXT[lang]["final_title"]
    first, last = document.week_days(label)
    n = document.week_number(label)
    if lang == "en":
        return f"Weekly report, week {n} · {document.period_en(first, last)}"
    return f"Báo cáo tuần {n} · {document.period_vi(first, last)}"


def _series(t: dict[str, str], *keys: str) -> list[tuple[str, str]]:
    names = {"escalated_central": t["escalated"]}
    return [(k, names.get(k, t.get(k, k))) for k in keys]


CHART_SERIES = ("received", "resolved", "open", "overdue")


def _charts(report: WeeklyReport, label: Labeller, t: dict[str, str]) -> list[Any]:
    out = []
    for dim, title in (("zone_type", t["by_zone"]), ("category", t["by_category"]),
                       ("agency", t["by_agency"])):
        picked = sorted((r for r in report.rows if r.dimension == dim),
                        key=lambda r: (-r.received, label(dim, r.value)))
        rows = [(label(dim, r.value), [getattr(r, k) for k in CHART_SERIES]) for r in picked]
        out.append(charts.bar_chart(rows, _series(t, *CHART_SERIES), title=title))
    return out


# --- the workspace: signing in by e-mail, and a landing page per role --------------------

log = logging.getLogger("thaogo.reporting.pages")
EMAIL = Annotated[str, Form(max_length=254, description="The address in the configuration")]
SignedIn = Callable[[Request, uuid.UUID, str], Awaitable[RedirectResponse]]
WORKSPACE = "/workspace/"
LINK_PATH = "/workspace/sign-in/link"
ENTER_PATH = "/workspace/enter"


def describe(who: auth.Principal, configs: Any, lang: str) -> tuple[str, str, str]:
    """(who, role, province) as the landing page says them."""
    t, en = TEXT[lang], lang == "en"
    role = access.role_of(who, configs) or "agency"
    cfg = configs.get(who.province) if who.province else None
    province = (cfg.province.name_en if en else cfg.province.name_vi) if cfg else ""
    name = who.subject_id
    if cfg is not None:
        tf = cfg.task_force
        person = {"head": tf.head, "permanent_deputy": tf.permanent_deputy}.get(role) or (
            cfg.person(who.subject_id) if role == "member" else None)
        if person is not None:
            name = f"{person.name} — {person.title}"
        elif (agency := cfg.agency(who.subject_id)) is not None:
            name = agency.name_en if en else agency.name_vi
    return name, t[f"role_{role}"], province


def workspace_routes(
    router: APIRouter, side: ReadSide, *,
    with_csrf: Callable[[Request, Callable[[str], HTMLResponse]], HTMLResponse],
    check_csrf: Callable[[Request, str], None], signed_in: SignedIn,
    signed_out: Callable[[Request, str], Awaitable[RedirectResponse]],
) -> None:
    def signin_page(request: Request, lang: str, mode: str, *, status: int = 200,
                    switch: str | None = None, **extra: Any) -> HTMLResponse:
        t = TEXT[lang]
        other = "en" if lang == "vi" else "vi"
        return with_csrf(request, lambda csrf: HTMLResponse(
            _env.get_template("signin.html").render(
                t=t, lang=lang, mode=mode, csrf=csrf, mailbox=side.mailbox_url,
                switch=switch or f"/workspace/sign-in?lang={other}", **extra),
            status_code=status))

    def dead_link(request: Request, lang: str, row: Any) -> HTMLResponse:
        t = TEXT[lang]
        if row is None:
            return signin_page(request, lang, "problem", status=404, problem=t["ws_unknown"])
        if row["used_at"] is not None:
            return signin_page(request, lang, "problem", status=410, problem=t["ws_used"])
        return signin_page(request, lang, "problem", status=410, problem=t["ws_expired"])

    @router.get("/workspace/sign-in", response_class=Response, responses=PAGE,
                summary="Ask for a sign-in link by e-mail")
    async def ask_form(request: Request, lang: Lang = "vi") -> HTMLResponse:
        return signin_page(request, lang, "ask")

    @router.post("/workspace/sign-in", response_class=Response,
                 responses={**PAGE, **responses(403)},
                 summary="Mail a one-time sign-in link to a person of the configuration")
    async def ask(request: Request, email: EMAIL, csrf_token: CsrfField = "",
                  lang: FormLang = "vi") -> HTMLResponse:
        """The same answer whether or not the address is known (nobody learns who is in
        the configuration from it). A known address gets one link per role it holds,
        through notify's mail channel."""
        check_csrf(request, csrf_token)
        address = email.strip()
        if not access.looks_like_email(address):
            raise vn.InvalidField("email", "not an e-mail address",
                                  "không phải địa chỉ thư điện tử")
        now = side.now()
        found = access.identities_for(side.config.current, address,
                                      today=now.astimezone(TZ).date())
        events = []
        async with side.db().acquire() as conn, conn.transaction():
            for who in found:
                code, rid = access.sign_in_code(), uuid.uuid4()
                await store.open_sign_in_link(
                    conn, link_hash=auth.session_hash(code), request_id=rid,
                    kind=who.kind.value, subject_id=who.subject_id,
                    recipient_id=who.recipient_id, role=who.role, province=who.province,
                    now=now, expires_at=now + access.SIGN_IN_TTL)
                events.append(new_envelope(SignInLink(
                    request_id=rid, recipient_id=who.recipient_id, role=who.role,
                    province=who.province, address_sha256=email_key(address),
                    url=f"{side.base_url}{LINK_PATH}?{urlencode({'code': code})}",
                    expires_at=now + access.SIGN_IN_TTL, lang=lang,
                ), source=usecases.SOURCE, event_id=str(rid)))
            if events:
                await outbox.enqueue(conn, schema=usecases.SCHEMA, events=events)
        log.info("sign-in link asked for", extra={"links": len(events)})
        return signin_page(request, lang, "sent")

    @router.get(LINK_PATH, response_class=Response,
                responses={**PAGE, 404: {"description": "Unknown link",
                                         "content": {"text/html": {}}},
                           410: {"description": "Used or expired",
                                 "content": {"text/html": {}}}},
                summary="A mailed sign-in link: who it signs in as, and the button")
    async def open_link(request: Request, code: Annotated[str, Query(max_length=100)],
                        lang: Lang = "vi") -> HTMLResponse:
        # Opening changes nothing: mail scanners open links before people do, and a
        # single-use link spent by a scanner would never reach its person.
        async with side.db().acquire() as conn:
            row = await store.sign_in_link(conn, link_hash=auth.session_hash(code))
        if row is None or row["used_at"] is not None or row["expires_at"] <= side.now():
            return dead_link(request, lang, row)
        who = auth.Principal(uuid.UUID(int=0), auth.TokenKind(row["kind"]), row["subject_id"],
                             row["province"])
        name, role, province = describe(who, side.config.current, lang)
        other = "en" if lang == "vi" else "vi"
        return signin_page(request, lang, "confirm", action=LINK_PATH,
                           who=f"{name} ({role}, {province})", hidden=[("code", code)],
                           switch=f"{LINK_PATH}?{urlencode({'code': code, 'lang': other})}")

    @router.post(LINK_PATH, response_class=Response,
                 responses={**PAGE, 303: {"description": "Signed in: the workspace"},
                            **responses(403)}, response_model=None,
                 summary="Use a mailed sign-in link (once)")
    async def use_link(request: Request, code: Annotated[str, Form(max_length=100)],
                       csrf_token: CsrfField = "", lang: FormLang = "vi"
                       ) -> HTMLResponse | RedirectResponse:
        check_csrf(request, csrf_token)
        link_hash = auth.session_hash(code)
        async with side.db().acquire() as conn, conn.transaction():
            row = await store.use_sign_in_link(conn, link_hash=link_hash, now=side.now())
            if row is None:
                return dead_link(request, lang,
                                 await store.sign_in_link(conn, link_hash=link_hash))
            kind = auth.TokenKind(row["kind"])
            if auth.subject_problem(side.config.current, kind, row["subject_id"]) is not None:
                return signin_page(request, lang, "problem", status=410,
                                   problem=TEXT[lang]["ws_unknown"])
            # The session's token: never shown, lives a day, and ends with the session's
            # subject like any token (a member set inactive, an agency removed).
            token_id, _ = await auth.insert_token(
                conn, kind=kind, subject_id=row["subject_id"], expires_in_days=1,
                purpose=auth.Purpose.SIGN_IN)
        return await signed_in(request, token_id, WORKSPACE)

    def demo_grant(tok: str | None, exp: str | None, sig: str | None) -> uuid.UUID | None:
        if side.links is None:
            return None
        grant = side.links.grant(ENTER_PATH, exp, tok, sig, now=side.now())
        return grant.token_id if grant is not None else None

    @router.get(ENTER_PATH, response_class=Response,
                responses={**PAGE, 404: {"description": "Not a valid link",
                                         "content": {"text/html": {}}}},
                summary="A sign-in link bound to a token (the demo links of `thaogo up`)")
    async def enter_form(
        request: Request, lang: Lang = "vi",
        tok: Annotated[str | None, Query(max_length=36)] = None,
        exp: Annotated[str | None, Query(max_length=12)] = None,
        sig: Annotated[str | None, Query(max_length=100)] = None,
    ) -> HTMLResponse:
        token_id = demo_grant(tok, exp, sig)
        who = None if token_id is None else await side.token_principal(token_id)
        if who is None:
            return signin_page(request, lang, "problem", status=404,
                               problem=TEXT[lang]["ws_unknown"])
        name, role, province = describe(who, side.config.current, lang)
        other = "en" if lang == "vi" else "vi"
        query = {"tok": tok or "", "exp": exp or "", "sig": sig or ""}
        return signin_page(request, lang, "confirm", action=ENTER_PATH,
                           who=f"{name} ({role}{', ' + province if province else ''})",
                           hidden=list(query.items()),
                           switch=f"{ENTER_PATH}?{urlencode({**query, 'lang': other})}")

    @router.post(ENTER_PATH, response_class=Response, response_model=None,
                 responses={**PAGE, 303: {"description": "Signed in: the workspace"},
                            **responses(403)},
                 summary="Sign in with a link bound to a token")
    async def enter(
        request: Request, tok: Annotated[str, Form(max_length=36)],
        exp: Annotated[str, Form(max_length=12)], sig: Annotated[str, Form(max_length=100)],
        csrf_token: CsrfField = "", lang: FormLang = "vi",
    ) -> HTMLResponse | RedirectResponse:
        check_csrf(request, csrf_token)
        token_id = demo_grant(tok, exp, sig)
        if token_id is None or await side.token_principal(token_id) is None:
            return signin_page(request, lang, "problem", status=404,
                               problem=TEXT[lang]["ws_unknown"])
        return await signed_in(request, token_id, WORKSPACE)

    @router.get("/workspace", include_in_schema=False)
    async def workspace_bare(lang: Lang = "vi") -> RedirectResponse:
        return RedirectResponse(f"{WORKSPACE}?lang={lang}", status_code=307)

    @router.get(WORKSPACE, response_class=Response, response_model=None,
                responses={**PAGE, 303: {"description": "Not signed in: the sign-in page"}},
                summary="Who you are signed in as, and what there is for you")
    async def workspace(request: Request, lang: Lang = "vi") -> HTMLResponse | RedirectResponse:
        who = await side.session_principal(request.cookies.get(auth.SESSION_COOKIE))
        if who is None:
            return RedirectResponse(f"/workspace/sign-in?lang={lang}", status_code=303)
        configs = side.config.current
        t = TEXT[lang]
        name, role, province = describe(who, configs, lang)
        links = [(f"/reports?lang={lang}", t["ws_reports"])] if access.reader_ok(
            who, configs) else []
        links.append(("/docs", t["ws_api"]))
        return with_csrf(request, lambda csrf: HTMLResponse(
            _env.get_template("workspace.html").render(
                t=t, lang=lang, who=name, role=role, province=province, links=links,
                csrf=csrf)))

    @router.post("/workspace/sign-out", status_code=303, response_class=RedirectResponse,
                 responses=responses(403), summary="Sign out (ends the session)")
    async def sign_out(request: Request, csrf_token: CsrfField = "",
                       lang: FormLang = "vi") -> RedirectResponse:
        check_csrf(request, csrf_token)
        return await signed_out(request, f"/workspace/sign-in?lang={lang}")
