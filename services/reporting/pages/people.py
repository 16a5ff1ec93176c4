"""The workspaces of the task force's people (#21 items 3-5): a member's week and weekly
report, the permanent deputy's triage queue, missing reports and the week's
compilation, the deputies' zones, and the head's desk. Reporting serves them from its
read model; every form posts to intake's `/workspace/act/...` (the command side), which
sends the browser back here with `done=` or `refused=`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import access, api, document, logic, store
from services.reporting.api import ReadSide, Side
from services.reporting.pages.common import PAGE, TEXT, Labeller, Lang, env, fmt, with_csrf
from shared import auth, identity
from shared.calendar import parse_week_label, previous_window, to_local, week_window
from shared.errors import Refusal
from shared.events import CATEGORY_LABELS, WAITING_REASON_LABELS, ZONE_TYPE_LABELS
from shared.provinces import ProvinceConfig

# A page for a signed-in person: without a session, the sign-in page (303).
SESSION_PAGE: dict[int | str, dict[str, Any]] = {
    **PAGE, 303: {"description": "Not signed in: the sign-in page"}}

router = APIRouter(tags=["pages"])

MY_WEEK, TRIAGE, COMPILATION, ZONE, HEAD = (
    "/workspace/my-week", "/workspace/triage", "/workspace/compilation", "/workspace/zone",
    "/workspace/head")
SHARED = "/workspace/shared"  # pages/shared.py
MAX_ITEMS = 200  # a page lists at most this many items; the counts above stay exact
PAST_REPORTS = 20
WeekQuery = Annotated[str | None, Query(pattern=api.WEEK_PATTERN, description="ISO week")]

WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "my_week": "Công việc tuần của tôi", "triage": "Tiếp nhận, phân loại",
        "compilation": "Tổng hợp báo cáo tuần", "zone": "Hồ sơ theo khu vực phụ trách",
        "head": "Điều hành của Tổ trưởng", "back": "Không gian làm việc",
        "my_fields": "Lĩnh vực phụ trách", "my_areas": "Địa bàn phụ trách",
        "assigned": "Hồ sơ được giao", "no_items": "Không có hồ sơ.",
        "area": "Địa bàn", "closed": "Đã đóng", "overdue_badge": "Quá hạn",
        "report_form": "Báo cáo tuần", "week_of": "Kỳ báo cáo",
        "due_rule": "Gửi trước 12:00 thứ Sáu là đúng hạn; sau thời điểm đó vẫn được nhận "
                    "nhưng ghi là trễ hạn.",
        "due_at": "Hạn nộp", "late_now": "nộp bây giờ: trễ hạn", "on_time_now": "đúng hạn",
        "h_received": "Tình hình tiếp nhận", "h_solutions": "Giải pháp đang triển khai",
        "h_recommendations": "Kiến nghị, đề xuất", "urgent_box": "Báo cáo đột xuất",
        "urgent_hint": "Đánh dấu khi có việc cần báo cáo ngay, không chờ đến thứ Sáu; "
                       "báo cáo này thay cho báo cáo tuần đã gửi (có thể gửi bổ sung).",
        "send_report": "Gửi báo cáo", "my_reports": "Báo cáo đã gửi",
        "submitted_at": "Gửi lúc", "late": "Trễ hạn", "on_time": "Đúng hạn",
        "urgent": "Đột xuất", "already": "Đã gửi báo cáo tuần này (gửi lại sẽ thay thế).",
        "done_report": "Đã nhận báo cáo.", "refused": "Chưa thực hiện được:",
        "queue": "Hồ sơ chờ phân loại", "reason": "Lý do", "enterprise": "Doanh nghiệp",
        "dispatch": "Giao cơ quan chủ trì", "dispatch_to": "Cơ quan chủ trì (gõ để tìm)",
        "dispatch_btn": "Giao xử lý", "reject": "Từ chối tiếp nhận",
        "reject_note": "Lý do (doanh nghiệp sẽ đọc)", "reject_btn": "Từ chối",
        "done_reassign_requested": "Đã giao hồ sơ cho cơ quan được chọn.",
        "done_rejected": "Đã từ chối hồ sơ.", "done_reminded": "Đã gửi lời nhắc.",
        "co_to": "Cơ quan phối hợp (không bắt buộc, gõ để tìm)",
        "correct": "Sửa loại khu, lĩnh vực, tỉnh", "keep": "Giữ nguyên",
        "zone_type": "Loại khu", "category": "Lĩnh vực",
        "province": "Tỉnh, thành phố (mã hoặc tên; để trống nếu giữ nguyên)",
        "correct_btn": "Sửa và phân loại lại",
        "merge_dup": "Gộp vào phản ánh trùng",
        "merge_into": "Mã hồ sơ của phản ánh được giữ",
        "merge_btn": "Gộp", "internal_note": "Ghi chú nội bộ (không bắt buộc)",
        "done_corrected": "Đã sửa thông tin; hồ sơ được phân loại lại.",
        "done_merged": "Đã gộp hồ sơ vào phản ánh được giữ.",
        "done_direction": "Đã ghi ý kiến chỉ đạo.", "done_progress": "Đã cập nhật tiến độ.",
        "my_directions": "Ý kiến chỉ đạo giao cho đơn vị", "progress_note":
        "Kết quả, vướng mắc (không bắt buộc)", "post_progress": "Cập nhật",
        "not_reported": "Thành viên chưa báo cáo tuần này", "all_reported":
        "Tất cả thành viên đã báo cáo.", "remind": "Nhắc báo cáo",
        "reported_n": "Đã báo cáo", "of": "trên", "no_report": "Chưa báo cáo",
        "zone_types": "Loại khu phụ trách", "waiting": "Hồ sơ chờ quyết định",
        "agencies_overdue":
        "Quá hạn theo cơ quan", "week_figures": "Số liệu tuần (bản xem trước)",
        "full_report": "Xem báo cáo tuần đầy đủ", "directions": "Ý kiến chỉ đạo",
        "direction_text": "Nội dung chỉ đạo", "give_direction": "Gửi ý kiến chỉ đạo",
        "direction_hint": "Ý kiến chỉ đạo được ghi lại; đơn vị, người thực hiện thấy trên "
                          "trang làm việc của mình và được nhắc trước và đúng thời hạn.",
        "no_directions": "Chưa có ý kiến chỉ đạo.", "given_at": "Ngày",
        "other_weeks": "Các tuần khác", "item_status": "Trạng thái",
        "compiled_text": "Báo cáo tổng hợp trình Tổ trưởng",
        "compiled_hint": "Soạn sẵn từ báo cáo của các thành viên; chỉnh sửa, lưu nháp, "
                         "rồi trình Tổ trưởng (trình lại sẽ thay thế bản trước).",
        "save_draft": "Lưu nháp", "submit_head": "Trình Tổ trưởng",
        "draft_saved_at": "Bản nháp lưu lúc", "submitted_at_head": "Đã trình lúc",
        "not_submitted": "Tổ phó Thường trực chưa trình báo cáo tổng hợp tuần này.",
        "done_saved": "Đã lưu bản nháp.", "done_submitted": "Đã trình Tổ trưởng.",
        "assignee": "Đơn vị, người thực hiện", "due_on": "Thời hạn",
        "agencies_group": "Cơ quan", "members_group": "Thành viên Tổ công tác",
        "state": "Tiến độ", "state_open": "Chưa thực hiện",
        "state_in_progress": "Đang thực hiện", "state_done": "Đã hoàn thành",
        "direction_overdue": "Quá thời hạn",
        "shared": "Kiến nghị chung của nhiều doanh nghiệp",
        "shared_hint": "Phản ánh, kiến nghị đang xử lý có nội dung giống nhau hoặc viện dẫn "
                       "cùng văn bản được nhóm tự động (viết có dấu hay không dấu đều "
                       "được). Bỏ chọn phản ánh không thuộc nhóm, rồi tổng hợp thành một "
                       "điểm nghẽn chính sách kiến nghị Bộ, ngành Trung ương.",
        "groups": "Nhóm kiến nghị giống nhau", "considered": "Đã xét {n} phản ánh đang xử lý.",
        "no_groups": "Chưa có kiến nghị nào được nhiều doanh nghiệp cùng nêu.",
        "n_items": "phản ánh", "n_businesses": "doanh nghiệp",
        "cited": "Văn bản được viện dẫn", "group_n": "Nhóm {n}",
        "bn_title": "Tên điểm nghẽn (Bộ, ngành sẽ đọc)", "bn_ministry": "Kiến nghị Bộ, ngành",
        "bn_items": "Phản ánh đưa vào", "merge": "Tổng hợp thành điểm nghẽn chính sách",
        "bottlenecks": "Điểm nghẽn chính sách đã kiến nghị",
        "no_bottlenecks": "Chưa có điểm nghẽn chính sách nào.",
        "waiting_ministry": "Chờ Bộ, ngành trả lời", "answered": "Bộ, ngành đã trả lời",
        "merged_at": "Ngày tổng hợp", "answer_form": "Ghi nhận trả lời của Bộ, ngành",
        "letter_number": "Số, ký hiệu văn bản trả lời", "letter_date": "Ngày văn bản",
        "outcome": "Kết quả", "public_answer": "Nội dung trả lời (doanh nghiệp sẽ đọc)",
        "record_answer": "Ghi nhận, thông báo cho doanh nghiệp",
        "outcome_resolved": "Đã giải quyết", "outcome_partly_resolved": "Giải quyết một phần",
        "outcome_rejected": "Không chấp nhận", "letter_of": "Văn bản số",
        "done_bottleneck": "Đã tổng hợp điểm nghẽn chính sách, kiến nghị Bộ, ngành.",
        "done_bottleneck_answer": "Đã ghi nhận trả lời; doanh nghiệp xem trên trang tra cứu.",
    },
    "en": {
        "my_week": "My week", "triage": "Triage", "compilation": "The week's compilation",
        "zone": "Items of my zones", "head": "The head's desk", "back": "Workspace",
        "my_fields": "My fields", "my_areas": "My areas", "assigned": "Assigned to me",
        "no_items": "Nothing here.", "area": "Area", "closed": "Closed",
        "overdue_badge": "Overdue", "report_form": "Weekly report", "week_of": "Report week",
        "due_rule": "Sent before Friday 12:00 it is on time; after that it is still "
                    "accepted, and marked late.",
        "due_at": "Due", "late_now": "sent now: late", "on_time_now": "on time",
        "h_received": "What was received", "h_solutions": "Solutions being carried out",
        "h_recommendations": "Recommendations", "urgent_box": "Urgent report (đột xuất)",
        "urgent_hint": "Tick when something must be reported at once, not on Friday; it "
                       "replaces the week's report sent so far (you may send it again).",
        "send_report": "Send the report", "my_reports": "My reports",
        "submitted_at": "Sent", "late": "Late", "on_time": "On time", "urgent": "Urgent",
        "already": "You reported this week (sending again replaces it).",
        "done_report": "Report received.", "refused": "Not done:",
        "queue": "Waiting for triage", "reason": "Reason", "enterprise": "Business",
        "dispatch": "Dispatch to a lead agency", "dispatch_to": "Lead agency (type to search)",
        "dispatch_btn": "Dispatch", "reject": "Reject",
        "reject_note": "Reason (the business reads it)", "reject_btn": "Reject",
        "done_reassign_requested": "Dispatched to the chosen agency.",
        "done_rejected": "Rejected.", "done_reminded": "Reminder sent.",
        "co_to": "Co-handling agency (optional, type to search)",
        "correct": "Correct zone type, category, province", "keep": "Unchanged",
        "zone_type": "Zone type", "category": "Category",
        "province": "Province (code or name; blank keeps it)",
        "correct_btn": "Correct and route again",
        "merge_dup": "Merge into a duplicate",
        "merge_into": "Tracking code of the difficulty kept",
        "merge_btn": "Merge", "internal_note": "Internal note (optional)",
        "done_corrected": "Corrected; the item is routed again.",
        "done_merged": "Merged into the difficulty kept.",
        "done_direction": "Direction recorded.", "done_progress": "Progress recorded.",
        "my_directions": "Directions for you to act on",
        "progress_note": "What was done, what stands in the way (optional)",
        "post_progress": "Update",
        "not_reported": "Members who have not reported this week",
        "all_reported": "Every member has reported.", "remind": "Remind",
        "reported_n": "Reported", "of": "of", "no_report": "Not reported",
        "zone_types": "My zone types", "waiting": "Waiting for a decision",
        "agencies_overdue": "Overdue by agency", "week_figures": "The week's figures (preview)",
        "full_report": "Open the full weekly report", "directions": "Directions",
        "direction_text": "Direction", "give_direction": "Give the direction",
        "direction_hint": "A direction is recorded; whoever must act sees it in their "
                          "workspace and is reminded the day before and on its due date.",
        "no_directions": "No direction yet.", "given_at": "Date",
        "other_weeks": "Other weeks", "item_status": "Status",
        "compiled_text": "The compiled report for the head",
        "compiled_hint": "Pre-filled from the members' reports; edit, save a draft, then "
                         "submit it to the head (submitting again replaces it).",
        "save_draft": "Save the draft", "submit_head": "Submit to the head",
        "draft_saved_at": "Draft saved", "submitted_at_head": "Submitted",
        "not_submitted": "The permanent deputy has not submitted this week's compilation.",
        "done_saved": "Draft saved.", "done_submitted": "Submitted to the head.",
        "assignee": "Who must act", "due_on": "Due by",
        "agencies_group": "Agencies", "members_group": "Task force members",
        "state": "Progress", "state_open": "Open", "state_in_progress": "In progress",
        "state_done": "Done", "direction_overdue": "Past due",
        "shared": "Recommendations many businesses share",
        "shared_hint": "Open difficulties and recommendations that say the same or cite the "
                       "same document are grouped by themselves (with or without "
                       "diacritics). Untick an item that does not belong, then merge the "
                       "group into one policy bottleneck for a central ministry.",
        "groups": "Alike recommendations", "considered": "{n} open items considered.",
        "no_groups": "No recommendation is shared by several businesses yet.",
        "n_items": "items", "n_businesses": "businesses",
        "cited": "Documents cited", "group_n": "Group {n}",
        "bn_title": "The bottleneck's title (the ministry reads it)",
        "bn_ministry": "Central ministry", "bn_items": "Items merged",
        "merge": "Merge into a policy bottleneck",
        "bottlenecks": "Policy bottlenecks escalated",
        "no_bottlenecks": "No policy bottleneck yet.",
        "waiting_ministry": "Waiting for the ministry", "answered": "Answered by the ministry",
        "merged_at": "Merged", "answer_form": "Record the ministry's answer",
        "letter_number": "Number and symbol of its letter", "letter_date": "Letter date",
        "outcome": "Outcome", "public_answer": "The answer (the businesses read it)",
        "record_answer": "Record and tell the businesses",
        "outcome_resolved": "Resolved", "outcome_partly_resolved": "Partly resolved",
        "outcome_rejected": "Not accepted", "letter_of": "Letter no.",
        "done_bottleneck": "Merged into a policy bottleneck and escalated to the ministry.",
        "done_bottleneck_answer": "Answer recorded; the businesses read it on their tracking "
                                  "page.",
    },
}
# Why an item waits for the head: the words the compiled week's report uses.
for _i, _lang in enumerate(("vi", "en")):
    WORDS[_lang].update({f"why_{r.value}": words[_i]
                         for r, words in WAITING_REASON_LABELS.items()})

# Which role opens which page.
PAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "member": ((MY_WEEK, "my_week"),),
    "permanent_deputy": ((TRIAGE, "triage"), (COMPILATION, "compilation"), (ZONE, "zone"),
                         (SHARED, "shared")),
    "deputy": ((ZONE, "zone"), (COMPILATION, "compilation")),
    "head": ((HEAD, "head"), (COMPILATION, "compilation")),
}


TITLES = {path: key for pages in PAGES.values() for path, key in pages}


def links_for(role: str | None, lang: str) -> list[tuple[str, str]]:
    """The landing page's links to a role's pages."""
    w = WORDS[lang]
    return [(f"{path}?lang={lang}", w[key]) for path, key in PAGES.get(role or "", ())]


@dataclass(frozen=True)
class Desk:
    """Who is at the page, in which task force and role, in which language."""

    who: auth.Principal
    cfg: ProvinceConfig
    role: str
    lang: str
    t: dict[str, str]
    label: Labeller

    @property
    def name(self) -> str:
        tf = self.cfg.task_force
        person = {"head": tf.head, "permanent_deputy": tf.permanent_deputy}.get(
            self.role) or self.cfg.person(self.who.subject_id)
        return f"{person.name} — {person.title}" if person else self.who.subject_id

    def render(self, request: Request, side: ReadSide, template: str, path: str,
               **values: Any) -> HTMLResponse:
        q = request.query_params
        other = "en" if self.lang == "vi" else "vi"
        switch = f"{path}?" + urlencode([*((k, v) for k, v in q.multi_items() if k not in (
            "done", "refused", "field", "lang")), ("lang", other)])
        said = self.t.get(f"done_{q.get('done')}") if q.get("done") else None
        return with_csrf(request, side, lambda csrf: HTMLResponse(
            env.get_template(template).render(
                t=self.t, lang=self.lang, csrf=csrf, act=side.intake_url, desk=self,
                title=self.t[TITLES[path]], who=self.name, form_key=uuid.uuid4(),
                switch=switch, done=said,
                refused=q.get("refused"), path=path, fmt=fmt, label=self.label,
                links=links_for(self.role, self.lang), **values)))


async def desk(side: ReadSide, request: Request, lang: str, *roles: str
               ) -> Desk | RedirectResponse:
    """The signed-in person if their role opens the page; the sign-in page if nobody is
    signed in; a 403 naming the role otherwise."""
    who = await identity.browser_person(request)
    if who is None:
        return RedirectResponse(f"/workspace/sign-in?lang={lang}", status_code=303)
    configs = side.config.current
    role = access.role_of(who, configs)
    cfg = configs.get(who.province) if who.province else None
    if role not in roles or cfg is None:
        raise Refusal(403, "role", "this page is for another role of the task force",
                      "trang này dành cho vai trò khác trong Tổ công tác")
    return Desk(who, cfg, role, lang, {**TEXT[lang], **WORDS[lang]}, Labeller(cfg, lang))


def week_of(label: str | None, side: ReadSide) -> Any:
    """The week asked for (not one still to come), else the current one."""
    current = week_window(side.now())
    if label is None:
        return current
    wanted = parse_week_label(label, "week")
    return current if wanted.start >= side.now() else wanted


@router.get(MY_WEEK, response_class=Response, response_model=None, responses=SESSION_PAGE,
            summary="A member's week: assigned items, the weekly report form, past reports")
async def my_week(side: Side, request: Request, lang: Lang = "vi"
                  ) -> HTMLResponse | RedirectResponse:
    d = await desk(side, request, lang, "member")
    if isinstance(d, RedirectResponse):
        return d
    member = d.cfg.person(d.who.subject_id)
    now, current = side.now(), week_window(side.now())
    async with side.db().acquire() as conn:
        items = await store.member_items(conn, member_id=d.who.subject_id,
                                         since=current.start, now=now, limit=MAX_ITEMS)
        past = await store.member_reports_of(conn, member_id=d.who.subject_id,
                                             limit=PAST_REPORTS)
    figures = logic.member_figures(items, current.start)
    reported = {r["week_label"]: r for r in past}
    previous = previous_window(current)
    weeks = [(current, False)] + ([(previous, True)] if previous.label not in reported else [])
    this = reported.get(current.label)
    draft = dict(this["payload"]) if this is not None else {
        "received_summary": logic.draft_received(figures, current.label, lang),
        "solutions": "", "recommendations": ""}
    by_field: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        by_field.setdefault(it["category"], []).append(it)
    return d.render(request, side, "people_member.html", MY_WEEK, member=member,
                    figures=figures, by_field=by_field, weeks=weeks, draft=draft,
                    already=this is not None, past=past)


@router.get(TRIAGE, response_class=Response, response_model=None, responses=SESSION_PAGE,
            summary="The permanent deputy's triage queue and who has not reported")
async def triage(side: Side, request: Request, lang: Lang = "vi"
                 ) -> HTMLResponse | RedirectResponse:
    d = await desk(side, request, lang, "permanent_deputy")
    if isinstance(d, RedirectResponse):
        return d
    current = week_window(side.now())
    members = d.cfg.task_force.active_members()
    async with side.db().acquire() as conn:
        queue = await store.open_items(conn, task_force=d.cfg.slug, now=side.now(),
                                       agency_id=d.cfg.rules.triage, limit=MAX_ITEMS)
        reported = await store.members_reported(conn, week_label=current.label,
                                                member_ids=[m.id for m in members])
    _, missing = logic.members_split([m.id for m in members], reported)
    agencies = [a for a in d.cfg.agencies if a.id != d.cfg.rules.triage]
    return d.render(request, side, "people_triage.html", TRIAGE, queue=queue,
                    agencies=agencies, zone_types=ZONE_TYPE_LABELS,
                    categories=CATEGORY_LABELS, missing=[d.cfg.person(m) for m in missing],
                    members=members, reported=reported, week=current)


@router.get(COMPILATION, response_class=Response, response_model=None, responses=SESSION_PAGE,
            summary="The members' reports of a week under the three headings")
async def compilation(side: Side, request: Request, lang: Lang = "vi",
                      week: WeekQuery = None) -> HTMLResponse | RedirectResponse:
    d = await desk(side, request, lang, "permanent_deputy", "head", "deputy")
    if isinstance(d, RedirectResponse):
        return d
    window = week_of(week, side)
    entries = await compiled(side, d.cfg, window.label)
    async with side.db().acquire() as conn:
        saved = await store.compilation_of(conn, task_force=d.cfg.slug,
                                           week_label=window.label)
    weeks, w = [], week_window(side.now())
    for _ in range(6):
        weeks.append(w.label)
        w = previous_window(w)
    draft = saved["body"] if saved else logic.draft_compilation(
        [(m.name, r) for m, r in entries], d.lang)
    return d.render(request, side, "people_compilation.html", COMPILATION, week=window,
                    entries=entries, weeks=weeks, saved=saved, draft=draft,
                    may_compile=d.role == "permanent_deputy")


async def compiled(side: ReadSide, cfg: ProvinceConfig, week_label: str
                   ) -> list[tuple[Any, dict[str, Any] | None]]:
    """(member, their report of the week or None), in the configuration's order."""
    members = cfg.task_force.active_members()
    async with side.db().acquire() as conn:
        rows = await store.week_member_reports(conn, week_label=week_label,
                                               member_ids=[m.id for m in members])
    by_member = {r["member_id"]: r for r in rows}
    return [(m, by_member.get(m.id)) for m in members]


@router.get(ZONE, response_class=Response, response_model=None, responses=SESSION_PAGE,
            summary="A deputy's zones: their open items, overdue first")
async def zone(side: Side, request: Request, lang: Lang = "vi"
               ) -> HTMLResponse | RedirectResponse:
    d = await desk(side, request, lang, "deputy", "permanent_deputy")
    if isinstance(d, RedirectResponse):
        return d
    tf = d.cfg.task_force
    deputy = tf.permanent_deputy if d.role == "permanent_deputy" else next(
        x for x in tf.deputies if x.id == d.who.subject_id)
    kinds = [str(z) for z in deputy.zone_types]
    async with side.db().acquire() as conn:
        items = await store.open_items(conn, task_force=d.cfg.slug, now=side.now(),
                                       zone_types=kinds, limit=MAX_ITEMS)
    return d.render(request, side, "people_zone.html", ZONE, deputy=deputy, kinds=kinds,
                    items=items, overdue=sum(1 for i in items if i["overdue"]))


@router.get(HEAD, response_class=Response, response_model=None, responses=SESSION_PAGE,
            summary="The head's desk: the compiled week, decisions, overdue, directions")
async def head(side: Side, request: Request, lang: Lang = "vi"
               ) -> HTMLResponse | RedirectResponse:
    d = await desk(side, request, lang, "head")
    if isinstance(d, RedirectResponse):
        return d
    now, current = side.now(), week_window(side.now())
    loaded = await api.load_report(side, d.cfg.slug, current.label, who=None)
    total = logic.total_row(loaded[1].rows) if loaded else None
    entries = await compiled(side, d.cfg, current.label)
    async with side.db().acquire() as conn:
        waiting = await store.waiting_for_decision(
            conn, task_force=d.cfg.slug, head_agency=d.cfg.rules.head, now=now,
            since=current.start, limit=MAX_ITEMS, overdue_before=logic.working_days_before(
                now, d.cfg.deadlines.decision_overdue_days))
        agencies = await store.overdue_by_agency(conn, task_force=d.cfg.slug, now=now)
        directions = await store.directions_of(conn, task_force=d.cfg.slug, limit=20,
                                               as_of=now)
        saved = await store.compilation_of(conn, task_force=d.cfg.slug,
                                           week_label=current.label)
    today = to_local(now).date()
    return d.render(request, side, "people_head.html", HEAD, week=current, total=total,
                    entries=entries, waiting=waiting, agencies=agencies,
                    directions=[{**x, "overdue": logic.direction_overdue(
                        x["due_on"], x["state"], today)} for x in directions],
                    n_days=d.cfg.deadlines.decision_overdue_days,
                    submitted=saved if saved and saved["submitted"] else None,
                    assignees=assignees(d.cfg, d.lang), today=today.isoformat(),
                    acts=lambda x: acting_name(d.cfg, x, d.lang))


def assignees(cfg: ProvinceConfig, lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Who a direction can name, grouped: the agencies, then the active members."""
    w = WORDS[lang]
    agencies = [(a.id, a.name_vi if lang == "vi" else a.name_en) for a in cfg.agencies
                if a.id not in (cfg.rules.head,)]
    members = [(m.id, f"{m.name} — {m.title}") for m in cfg.task_force.active_members()]
    return [(w["agencies_group"], agencies), (w["members_group"], members)]


def acting_name(cfg: ProvinceConfig, assignee_id: str | None, lang: str) -> str:
    """An agency's name or a member's, never an id where a name is known."""
    if assignee_id is None:
        return ""
    person = cfg.person(assignee_id)
    return person.name if person else document.name_of(cfg, "agency", assignee_id, lang)


async def my_directions(side: ReadSide, who: auth.Principal, lang: str
                        ) -> list[dict[str, Any]]:
    """The directions the signed-in agency or member must act on, for their landing page."""
    if who.kind not in (auth.TokenKind.AGENCY, auth.TokenKind.MEMBER):
        return []
    now = side.now()
    async with side.db().acquire() as conn:
        rows = await store.directions_assigned(conn, assignee_id=who.subject_id, as_of=now,
                                               limit=MAX_ITEMS)
    today = to_local(now).date()
    return [{**x, "overdue": logic.direction_overdue(x["due_on"], x["state"], today)}
            for x in rows]
