"""The report pages: an index of task forces and a readable weekly report, in
Vietnamese by default (?lang=en), with charts drawn server-side as SVG."""

from __future__ import annotations

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
from shared import auth
from shared.calendar import TZ, previous_window, week_window, week_window_by_label
from shared.errors import responses
from shared.events import (
    STATUS_LABELS,
    BreakdownRow,
    Status,
    WeeklyReport,
)
from shared.provinces import ProvinceConfig

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
            who = await side.session_principal(request.cookies.get(access.COOKIE))
        if who is None or not access.reader_ok(who, side.config.current):
            return False
        return who

    def secure(request: Request) -> bool:
        # Behind a TLS-terminating proxy the app sees http; the public URL says https.
        return request.url.scheme == "https" or side.secure_cookies

    def sign_in_page(lang: str, next_path: str, *, error: bool = False,
                     status: int = 401) -> HTMLResponse:
        t = TEXT[lang]
        html = _env.get_template("login.html").render(
            t=t, lang=lang, next=access.safe_next(next_path),
            error=t["bad_token"] if error else None)
        return HTMLResponse(html, status_code=status,
                            headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)

    @router.get("/reports/login", response_class=Response, summary="Sign in to the pages",
                responses=PAGE)
    async def login_form(
        lang: Lang = "vi", next: Annotated[str, Query(max_length=300)] = "/reports",
    ) -> HTMLResponse:
        return sign_in_page(lang, next, status=200)

    @router.post("/reports/login", response_class=Response, summary="Sign in with a token",
                 response_model=None,
                 responses={**PAGE, 303: {"description": "Signed in; back to the page"},
                            401: {"description": "Unknown, revoked or not a reader's token",
                                  "content": {"text/html": {}}}})
    async def login(
        request: Request,
        token: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=300)] = "/reports",
        lang: Annotated[str, Form(pattern=r"^(vi|en)$")] = "vi",
    ) -> HTMLResponse | RedirectResponse:
        who = await side.principal(token.strip())
        if who is None or not access.reader_ok(who, side.config.current):
            return sign_in_page(lang, next, error=True)
        sid, now = access.session_id(), side.now()
        async with side.db().acquire() as conn:
            await store.open_session(
                conn, session_hash=access.session_hash(sid), token_id=who.token_id, now=now,
                expires_at=now + timedelta(seconds=access.COOKIE_MAX_AGE_S))
        done = RedirectResponse(access.safe_next(next), status_code=303)
        done.set_cookie(access.COOKIE, sid, max_age=access.COOKIE_MAX_AGE_S, path="/",
                        httponly=True, samesite="lax", secure=secure(request))
        return done

    @router.post("/reports/logout", summary="Sign out", status_code=303,
                 response_class=RedirectResponse)
    async def logout(request: Request) -> RedirectResponse:
        sid = request.cookies.get(access.COOKIE)
        if sid and len(sid) <= 100:
            async with side.db().acquire() as conn:
                await store.close_session(conn, session_hash=access.session_hash(sid))
        done = RedirectResponse("/reports/login", status_code=303)
        done.delete_cookie(access.COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure(request))
        return done

    @router.get("/reports", response_class=Response, summary="Index of weekly reports",
                responses={**PAGE, 401: {"description": "Not signed in: the sign-in form",
                                  "content": {"text/html": {}}}})
    async def index(request: Request, lang: Lang = "vi") -> HTMLResponse:
        who = await allowed(request)
        if who is False:
            return sign_in_page(lang, f"/reports?lang={lang}")
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
            return sign_in_page(lang, f"{request.url.path}?lang={lang}")
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
            league_trend = await usecases.league_trend(conn, task_force=cfg.slug,
                                                       report=report)
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
            league=_league(report, league_trend, label, lang, published=published,
                           as_of=as_of),
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


def _number(x: float, lang: str, digits: int = 1) -> str:
    return document.decimal_vi(x, digits) if lang == "vi" else f"{x:.{digits}f}"


def _share(n: int, of: int, pct: float | None, target: float, t: dict[str, str],
           lang: str) -> dict[str, Any]:
    if pct is None:
        return {"text": "—", "detail": t["nothing_due"], "meets": None}
    return {"text": f"{_number(pct, lang)}%", "detail": f"{n}/{of}",
            "meets": logic.meets(pct, target)}


def _league(report: WeeklyReport, trend: document.Trend, label: Labeller, lang: str, *,
            published: bool, as_of: datetime) -> dict[str, Any] | None:
    """The league table as the page shows it: every figure as text, each share beside the
    target in words (colour is never the only sign), and the trend as a small line."""
    lg = report.league
    if lg is None:
        return None
    t = TEXT[lang]
    target = _number(lg.target_pct, lang, 0 if lg.target_pct.is_integer() else 1)
    labels, series = trend
    days = [f"{week_window_by_label(w).end.astimezone(TZ):%d/%m}" for w in labels]
    trends = dict(series)
    rows = []
    for r in lg.rows:
        values = trends.get(r.agency_id, [])
        said = "; ".join(f"{d}: {t['no_figure'] if v is None else _number(v, lang) + '%'}"
                         for d, v in zip(days, values, strict=True))
        rows.append({
            "agency_id": r.agency_id, "name": label("agency", r.agency_id),
            "ack": _share(r.ack_on_time, r.ack_measured, r.ack_on_time_pct, lg.target_pct,
                          t, lang),
            "resolved": _share(r.resolved_on_time, r.resolve_measured, r.resolved_on_time_pct,
                               lg.target_pct, t, lang),
            "median": "—" if r.median_working_days is None
            else _number(r.median_working_days, lang),
            "rating": (f"{_number(r.rating_average, lang)} / 5 ({r.rated} {t['rated']})"
                       if r.rating_average is not None else f"— ({t['not_rated']})"),
            "trend": charts.sparkline(values, target=lg.target_pct,
                                      label=f"{t['league_trend'].format(n=len(days))}: {said}")
            if values else "",
        })
    at = _fmt(report.window_end if published else as_of)
    return {"rows": rows, "target": target,
            "note": (t["league_frozen"] if published else t["league_preview"]).format(at=at),
            "trend_title": t["league_trend"].format(n=len(days))}


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
