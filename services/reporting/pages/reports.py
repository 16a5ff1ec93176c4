"""The report pages: an index of task forces and a readable weekly report, in
Vietnamese by default (?lang=en), with charts drawn server-side as SVG; and signing in
with a token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import access, charts, document, logic, store, usecases
from services.reporting.api import (
    PROVINCE_PATTERN,
    REPORT_PATTERN,
    Side,
    load_report,
    not_found,
)
from services.reporting.pages.common import (
    PAGE,
    TEXT,
    CsrfField,
    Labeller,
    Lang,
    allowed,
    check_csrf,
    env,
    fmt,
    sign_in_page,
    signed_out,
    start_session,
)
from shared import auth, identity
from shared.calendar import TZ, previous_window, week_window, week_window_by_label
from shared.errors import responses
from shared.events import WAITING_REASON_LABELS, BreakdownRow, WeeklyReport

TREND_WEEKS = 8
MAX_OVERDUE_LISTED = 50

router = APIRouter(tags=["pages"])


@router.get("/reports/login", response_class=Response, summary="Sign in to the pages",
            responses=PAGE)
async def login_form(
    side: Side, request: Request, lang: Lang = "vi",
    next: Annotated[str, Query(max_length=300)] = "/reports",
) -> HTMLResponse:
    return sign_in_page(request, side, lang, next, status=200)

@router.post("/reports/login", response_class=Response, summary="Sign in with a token",
             response_model=None,
             responses={**PAGE, 303: {"description": "Signed in; back to the page"},
                        401: {"description": "Unknown, revoked or not a reader's token",
                              "content": {"text/html": {}}}, **responses(403)})
async def login(
    side: Side, request: Request,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=300)] = "/reports",
    lang: Annotated[str, Form(pattern=r"^(vi|en)$")] = "vi",
    csrf_token: CsrfField = "",
) -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token)
    who = await identity.identities(request).by_token(token.strip())
    if who is None or not access.reader_ok(who, side.config.current):
        return sign_in_page(request, side, lang, next, error=True)
    return await start_session(request, side, who.token_id, access.safe_next(next))

@router.post("/reports/logout", summary="Sign out", status_code=303,
             response_class=RedirectResponse, responses=responses(403))
async def logout(
    side: Side, request: Request, csrf_token: CsrfField = "") -> RedirectResponse:
    check_csrf(request, csrf_token)
    return await signed_out(request, side, "/reports/login")

@router.get("/reports", response_class=Response, summary="Index of weekly reports",
            responses={**PAGE, 401: {"description": "Not signed in: the sign-in form",
                              "content": {"text/html": {}}}})
async def index(
    side: Side, request: Request, lang: Lang = "vi") -> HTMLResponse:
    who = await allowed(request, side)
    if who is False:
        return sign_in_page(request, side, lang, f"/reports?lang={lang}")
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
    html = env.get_template("index.html").render(
        t=TEXT[lang], lang=lang, provinces=provinces, current=current,
        phrase=lambda label: week_name(label, lang))
    return HTMLResponse(html)

@router.get("/reports/{province}/{week_label}", response_class=Response,
            summary="A weekly report as a page",
            responses={**PAGE, 401: {"description": "No valid signed link, not signed in: the "
                              "sign-in form", "content": {"text/html": {}}},
                       **responses(403, 404)})
async def report_page(
    side: Side, request: Request,
    province: Annotated[str, PathParam(pattern=PROVINCE_PATTERN)],
    week_label: Annotated[str, PathParam(pattern=REPORT_PATTERN)],
    lang: Lang = "vi",
    exp: Annotated[str | None, Query(max_length=12, description="Signed link: expiry")] = None,
    tok: Annotated[str | None, Query(max_length=36,
                                     description="Signed link: bound to this token")] = None,
    sig: Annotated[str | None, Query(max_length=100, description="Signed link: HMAC")] = None,
) -> HTMLResponse:
    who = await allowed(request, side)
    if who is False:
        return sign_in_page(request, side, lang, f"{request.url.path}?lang={lang}")
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
        return HTMLResponse(env.get_template("report.html").render(
            t=t, lang=lang, cfg=cfg, report=report, published=published,
            total=logic.total_row(report.rows), fmt=fmt, label=label,
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
        league_trend = await usecases.league_trend(conn, task_force=cfg.slug, report=report)
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
    html = env.get_template("report.html").render(
        t=t, lang=lang, cfg=cfg, report=report, published=published,
        total=logic.total_row(report.rows), fmt=fmt, label=label,
        charts=_charts(report, label, t), overdue=overdue,
        trend=charts.trend_chart(trend, _series(t, "received", "resolved", "open"),
                                 title=t["trend"]), signed=signed,
        heading=heading(report.week_label, lang),
        province_name=(cfg.province.name_vi, cfg.province.name_en)[lang == "en"],
        league=_league(report, league_trend, label, lang, published=published, as_of=as_of),
        why=lambda i: WAITING_REASON_LABELS[i.why][lang == "en"].replace(
            "{n}", str(report.decision_overdue_days or "")),
    )
    return HTMLResponse(html)


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
    at = fmt(report.window_end if published else as_of)
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
