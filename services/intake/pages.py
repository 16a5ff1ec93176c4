"""The web form at `/`: a business submits a difficulty without any API client.

Server-rendered (Jinja2, autoescaped), Vietnamese by default with an English switch
(`?lang=en`, or Accept-Language), and no JavaScript needed: the form posts back here,
goes through the very path of `POST /v1/difficulties` (request model, cleaning,
province, task-force lifecycle, idempotency, outbox) and renders either the tracking
code or the form again with each error next to its field.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from services.intake import bottlenecks, bulk, logic, usecases
from services.intake.api import Service
from services.intake.models import (
    BottleneckIn,
    DifficultyIn,
    LetterIn,
    MemberReportIn,
    MinistryAnswerIn,
    ResolutionIn,
    StatusIn,
    StepIn,
)
from services.intake.usecases import Intake, Refused, parse_submission
from shared import auth, vn
from shared.errors import Problem, Refusal, language, validation_problems
from shared.events import CATEGORY_LABELS, ZONE_TYPE_LABELS

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)

# The form's inputs are named by the API's field paths, so an error's field names its input.
TEXT_FIELDS = ("tax_code", "enterprise_name", "province", "zone_type", "zone_name", "category",
               "kind", "title", "description", "urgency", "contact.name", "contact.phone",
               "contact.email", "employees", "sector", "ward", "district")
WEB_CHANNEL = "web"

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Gửi phản ánh khó khăn, vướng mắc, kiến nghị",
        "intro": "Doanh nghiệp điền thông tin dưới đây. Sau khi gửi, doanh nghiệp nhận được "
                 "mã hồ sơ để theo dõi.",
        "other_lang": "English", "other_code": "en",
        "enterprise": "Doanh nghiệp", "matter": "Nội dung phản ánh", "contact": "Người liên hệ",
        "tax_code": "Mã số thuế", "tax_code_hint": "10 chữ số, hoặc 13 chữ số cho chi nhánh",
        "enterprise_name": "Tên doanh nghiệp", "province": "Tỉnh/Thành phố",
        "zone_type": "Loại khu", "zone_name": "Tên khu, cụm công nghiệp",
        "category": "Lĩnh vực", "kind": "Loại phản ánh", "title_field": "Tiêu đề",
        "description": "Nội dung chi tiết", "urgency": "Mức độ",
        "contact.name": "Họ tên", "contact.phone": "Điện thoại", "contact.email": "Email",
        "employees": "Số lao động", "sector": "Ngành nghề", "ward": "Phường/Xã",
        "district": "Quận/Huyện (cũ)", "choose": "— Chọn —", "submit": "Gửi phản ánh",
        "errors": "Chưa gửi được: vui lòng sửa các mục được đánh dấu.",
        "done": "Đã tiếp nhận phản ánh", "tracking_code": "Mã hồ sơ",
        "difficulty_id": "Mã định danh", "keep": "Vui lòng ghi lại mã hồ sơ để tra cứu, "
        "trao đổi với Tổ công tác.", "again": "Gửi phản ánh khác", "required": "bắt buộc",
        "track": "Theo dõi hồ sơ trên trang tra cứu",
        "contact_title": "Người liên hệ của doanh nghiệp", "contact_back": "Về hồ sơ",
        "contact_not_yours": "Thông tin liên hệ chỉ dành cho cơ quan chủ trì và Tổ phó "
                             "Thường trực.",
    },
    "en": {
        "title": "Report a difficulty or a recommendation",
        "intro": "Fill in the form below. Once it is sent you receive a tracking code.",
        "other_lang": "Tiếng Việt", "other_code": "vi",
        "enterprise": "Business", "matter": "The difficulty", "contact": "Contact person",
        "tax_code": "Tax code", "tax_code_hint": "10 digits, or 13 for a branch",
        "enterprise_name": "Business name", "province": "Province or city",
        "zone_type": "Zone type", "zone_name": "Park or cluster name",
        "category": "Category", "kind": "Kind", "title_field": "Title",
        "description": "Description", "urgency": "Urgency",
        "contact.name": "Name", "contact.phone": "Phone", "contact.email": "E-mail",
        "employees": "Employees", "sector": "Sector", "ward": "Ward or commune",
        "district": "District (former)", "choose": "— Choose —", "submit": "Send",
        "errors": "Not sent yet: please correct the fields marked below.",
        "done": "Your report was received", "tracking_code": "Tracking code",
        "difficulty_id": "Id", "keep": "Please keep the tracking code to follow up with "
        "the task force.", "again": "Report another difficulty", "required": "required",
        "track": "Follow your report on its tracking page",
        "contact_title": "The business's contact person", "contact_back": "Back to the case",
        "contact_not_yours": "The contact details are for the lead agency and the permanent "
                             "deputy only.",
    },
}


def page_language(request: Request, chosen: str | None = None) -> str:
    """?lang= (or the form's hidden lang) first, then Accept-Language; Vietnamese by default."""
    wanted = chosen if chosen is not None else request.query_params.get("lang")
    if wanted in TEXT:
        return wanted
    return language(request.headers)


def options(lang: str) -> dict[str, list[tuple[str, str]]]:
    i = 0 if lang == "vi" else 1
    return {
        "zone_type": [(str(k), v[i]) for k, v in ZONE_TYPE_LABELS.items()],
        "category": [(str(k), v[i]) for k, v in CATEGORY_LABELS.items()],
        "kind": [(k, v[i]) for k, v in bulk.KIND_LABELS.items()],
        "urgency": [(k, v[i]) for k, v in bulk.URGENCY_LABELS.items()],
    }


def submission_of(form: Mapping[str, Any]) -> dict[str, Any]:
    """The submission a posted form carries, shaped like the JSON body of the API."""
    raw: dict[str, Any] = {"contact": {}, "channel": WEB_CHANNEL}
    for name in TEXT_FIELDS:
        value = form.get(name)
        if not isinstance(value, str) or not value.strip():
            continue  # empty: the model's default, or its "missing" refusal
        if name.startswith("contact."):
            raw["contact"][name.removeprefix("contact.")] = value
        else:
            raw[name] = value
    return raw


def render(lang: str, *, values: Mapping[str, str] | None = None,
           problems: list[Problem] | None = None, answer: dict[str, Any] | None = None,
           track_url: str | None = None, status: int = 200) -> HTMLResponse:
    by_field: dict[str, list[str]] = {}
    for p in problems or []:
        # "contact" alone (no contact at all) is shown at the contact's name.
        f = "contact.name" if p.field == "contact" else p.field
        by_field.setdefault(f if f in TEXT_FIELDS else "", []).append(p.reason(lang))
    html = _env.get_template("form.html").render(
        lang=lang, t=TEXT[lang], values=values or {}, errors=by_field, answer=answer,
        track_url=track_url, options=options(lang),
        provinces=[p.name for p in vn.current_provinces()],
        idempotency_key=f"web-{uuid.uuid4()}",
    )
    return HTMLResponse(html, status_code=status)


pages = APIRouter(include_in_schema=False)


@pages.get("/", response_class=HTMLResponse)
async def form_page(request: Request) -> HTMLResponse:
    return render(page_language(request))

@pages.post("/", response_class=HTMLResponse)
async def form_post(ix: Service, request: Request) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=50)
    lang_field = form.get("lang")
    lang = page_language(request, lang_field if isinstance(lang_field, str) else None)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k in TEXT_FIELDS}
    key = form.get("idempotency_key")
    try:
        body: DifficultyIn = parse_submission(submission_of(form))
    except Refused as e:
        for p in e.problems:
            ix.metrics.refused(p.field, p.kind)
        return render(lang, values=values, problems=e.problems, status=422)
    # The page's key guards against a double click or a reload; with the content in it,
    # a business going back to report something else is not taken for a replay.
    if isinstance(key, str) and 0 < len(key) <= 100:
        key = f"{key}:{logic.request_fingerprint(body.model_dump(mode='json'))}"
    else:
        key = None
    outcome = await usecases.accept(ix, body, idempotency_key=key)
    if outcome.answer is not None:
        # Straight to the business's tracking page, the code filled in (the tax code is
        # asked there: it never travels in an address).
        code = urlencode({"lang": lang, "code": outcome.answer["tracking_code"]})
        return render(lang, answer=outcome.answer, track_url=f"{ix.workspace_url}/track?{code}")
    return render(lang, values=values, problems=outcome.problems, status=outcome.status)


# --- the workspace's forms -------------------------------------------------------------------
# Reporting serves the workspace pages (it holds the read model); their forms post here,
# to the command side under /workspace/act/ (the path a one-origin proxy sends to
# intake), with the sign-in session's cookie (cookies ignore ports, so
# `thaogo up` works as one site) and the page's CSRF value. Intake answers by sending the
# browser back to the page, saying what was done or what was refused.

WorkspaceForm = Annotated[str, Form(max_length=100)]


def back_to(ix: Intake, difficulty_id: uuid.UUID, lang: str, **said: str) -> RedirectResponse:
    query = urlencode({"lang": lang, **said})
    return RedirectResponse(f"{ix.workspace_url}/workspace/difficulties/{difficulty_id}?{query}",
                            status_code=303)


async def act_on_case(
    ix: Intake, request: Request, difficulty_id: uuid.UUID, *, csrf_token: str, lang: str,
    act: Callable[[auth.Principal], Awaitable[object]], done: str,
) -> RedirectResponse:
    """One casework form: the session and its CSRF value, then `act` (which builds the
    API's model from the form and calls its use case), then back to the difficulty's
    page saying what was done, or what was refused and why."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    try:
        await act(who)
    except ValidationError as e:
        problem = validation_problems(e.errors())[0]
        ix.metrics.refused(problem.field, problem.kind)
        return back_to(ix, difficulty_id, lang, refused=problem.as_dict(lang)["reason"],
                       field=problem.field)
    except (Refusal, vn.InvalidField) as e:
        if isinstance(e, vn.InvalidField):
            ix.metrics.refused(e.field, "invalid")
        return back_to(ix, difficulty_id, lang, **refusal_text(e, lang))
    return back_to(ix, difficulty_id, lang, done=done)


Note = Annotated[str, Form(max_length=2000)]
FormLang = Annotated[str, Form(max_length=2)]


@pages.post("/workspace/act/difficulties/{difficulty_id}/status", response_class=RedirectResponse,
            status_code=303)
async def workspace_status(
    ix: Service, request: Request, difficulty_id: uuid.UUID,
    status: WorkspaceForm, csrf_token: WorkspaceForm = "", note: Note = "",
    target_agency_id: Annotated[str, Form(max_length=120)] = "", lang: FormLang = "vi",
) -> RedirectResponse:
    """A status on the difficulty, from the lead's (or the deputy's) page."""
    async def act(who: auth.Principal) -> object:
        return await usecases.post_status(ix, who, difficulty_id, StatusIn.model_validate({
            "status": status, "note": note or None,
            "target_agency_id": target_agency_id or None}))

    return await act_on_case(ix, request, difficulty_id, csrf_token=csrf_token, lang=lang,
                             act=act, done=status)


@pages.post("/workspace/act/difficulties/{difficulty_id}/step", response_class=RedirectResponse,
            status_code=303)
async def workspace_step(
    ix: Service, request: Request, difficulty_id: uuid.UUID,
    step: WorkspaceForm, csrf_token: WorkspaceForm = "", note: Note = "",
    suggested_agency_id: Annotated[str, Form(max_length=200)] = "", lang: FormLang = "vi",
    question: Note = "",
) -> RedirectResponse:
    """A step on the caller's own part (a co-handler's, a member's), or a question to the
    business (need_info)."""
    async def act(who: auth.Principal) -> object:
        return await usecases.post_step(ix, who, difficulty_id, StepIn.model_validate({
            "step": step, "note": note or None, "question": question or None,
            "suggested_agency_id": suggested_agency_id or None}))

    return await act_on_case(ix, request, difficulty_id, csrf_token=csrf_token, lang=lang,
                             act=act, done=step)


@pages.post("/workspace/act/difficulties/{difficulty_id}/resolution",
            response_class=RedirectResponse, status_code=303)
async def workspace_resolution(
    ix: Service, request: Request, difficulty_id: uuid.UUID,
    outcome: WorkspaceForm, done: Note = "", public_answer: Note = "",
    legal_basis: Annotated[str, Form(max_length=300)] = "", reason: Note = "",
    note: Note = "", waive_open_parts_reason: Note = "", csrf_token: WorkspaceForm = "",
    lang: FormLang = "vi",
) -> RedirectResponse:
    """The lead's resolution form: the outcome, what was done, the document cited, the
    public answer, and a reason where one is needed."""
    given = {"outcome": outcome, "done": done, "public_answer": public_answer,
             "legal_basis": legal_basis, "reason": reason, "note": note,
             "waive_open_parts_reason": waive_open_parts_reason}

    async def act(who: auth.Principal) -> object:
        return await usecases.post_resolution(ix, who, difficulty_id, ResolutionIn.model_validate(
            {k: v for k, v in given.items() if v or k in ("done", "public_answer")}))

    return await act_on_case(ix, request, difficulty_id, csrf_token=csrf_token, lang=lang,
                             act=act, done=outcome)


@pages.post("/track/answer", response_class=RedirectResponse, status_code=303,
            tags=["business"], summary="The business answers an agency's question")
async def track_answer(
    ix: Service, code: Annotated[str, Form(pattern=r"^[A-Za-z0-9-]{1,30}$")],
    tax_code: Annotated[str, Form(max_length=20)], assignment_id: Annotated[uuid.UUID, Form()],
    answer: Note, lang: FormLang = "vi",
) -> RedirectResponse:
    """From the business's tracking page (#20 item 4): authenticated by the tracking code
    and the tax code in the body, as `/track` is, not by a session; back to the page
    saying it was received, or refused with one neutral answer whatever was wrong."""
    lang = lang if lang in TEXT else "vi"
    said: dict[str, str] = {"said": "answered"}
    try:
        await usecases.answer_question(ix, tracking_code=code, tax_code=tax_code,
                                       assignment_id=assignment_id, answer=answer)
    except (Refusal, vn.InvalidField) as e:
        if isinstance(e, vn.InvalidField):
            ix.metrics.refused(e.field, "invalid")
        # The field only: the public page says a fixed sentence for it, so that no
        # link can make it show words of someone else's choosing.
        said = {"refused": e.field}
    query = urlencode({"lang": lang, "code": code.upper(), **said})
    return RedirectResponse(f"{ix.workspace_url}/track?{query}", status_code=303)


@pages.post("/track/feedback", response_class=RedirectResponse, status_code=303,
            tags=["business"], summary="The business says whether the answer resolved it, "
            "and rates the handling")
async def track_feedback(
    ix: Service, code: Annotated[str, Form(pattern=r"^[A-Za-z0-9-]{1,30}$")],
    tax_code: Annotated[str, Form(max_length=20)],
    resolved: Annotated[str, Form(max_length=3)] = "",
    rating: Annotated[str, Form(max_length=1)] = "", comment: Note = "",
    lang: FormLang = "vi",
) -> RedirectResponse:
    """From the business's tracking page once its difficulty is closed (#20 item 6), by
    the two codes as `/track/answer`; back to the page saying it was received, or why not
    (a wrong pair gets the one neutral answer)."""
    lang = lang if lang in TEXT else "vi"
    said: dict[str, str] = {"said": "rated"}
    try:
        await usecases.give_feedback(ix, tracking_code=code, tax_code=tax_code,
                                     resolved=resolved, rating=rating, comment=comment)
    except (Refusal, vn.InvalidField) as e:
        if isinstance(e, vn.InvalidField):
            ix.metrics.refused(e.field, "invalid")
        # The field only: the public page says a fixed sentence for it, so that no
        # link can make it show words of someone else's choosing.
        said = {"refused": e.field}
    query = urlencode({"lang": lang, "code": code.upper(), **said})
    return RedirectResponse(f"{ix.workspace_url}/track?{query}", status_code=303)
LetterNumberForm = Annotated[str, Form(max_length=60)]
DateForm = Annotated[str, Form(max_length=10)]


@pages.post("/workspace/act/difficulties/{difficulty_id}/ministry-answer",
            response_class=RedirectResponse, status_code=303)
async def workspace_ministry_answer(
    ix: Service, request: Request, difficulty_id: uuid.UUID,
    letter_number: LetterNumberForm = "", letter_date: DateForm = "",
    public_answer: Note = "", outcome: Annotated[str, Form(max_length=20)] = "resolved",
    note: Note = "", csrf_token: WorkspaceForm = "", lang: FormLang = "vi",
) -> RedirectResponse:
    """The permanent deputy's form for the ministry's answer that came by letter."""
    async def act(who: auth.Principal) -> object:
        return await usecases.record_ministry_answer(
            ix, who, difficulty_id, MinistryAnswerIn.model_validate({
                "outcome": outcome, "letter_number": letter_number.strip(),
                "letter_date": letter_date, "public_answer": public_answer,
                "note": note or None}))

    return await act_on_case(ix, request, difficulty_id, csrf_token=csrf_token, lang=lang,
                             act=act, done="ministry_answer")


@pages.post("/workspace/act/difficulties/{difficulty_id}/letter",
            response_class=RedirectResponse, status_code=303)
async def workspace_letter(
    ix: Service, request: Request, difficulty_id: uuid.UUID,
    letter_number: LetterNumberForm = "", letter_date: DateForm = "",
    csrf_token: WorkspaceForm = "", lang: FormLang = "vi",
) -> RedirectResponse:
    """The permanent deputy registers the signed letter to the ministry: number and date."""
    async def act(who: auth.Principal) -> object:
        return await usecases.register_letter(ix, who, difficulty_id, LetterIn.model_validate(
            {"letter_number": letter_number.strip(), "letter_date": letter_date}))

    return await act_on_case(ix, request, difficulty_id, csrf_token=csrf_token, lang=lang,
                             act=act, done="letter")


# --- the people's workspaces: a member's report, triage, reminders, directions (#21 3-5) -----


def back_to_page(ix: Intake, page: str, lang: str, **said: str) -> RedirectResponse:
    return RedirectResponse(f"{ix.workspace_url}/workspace/{page}?"
                            f"{urlencode({'lang': lang, **said})}", status_code=303)


async def person_at_form(ix: Intake, request: Request, csrf_token: str) -> auth.Principal:
    if not auth.csrf_ok(request.cookies.get(auth.CSRF_COOKIE), csrf_token):
        raise auth.csrf_refused()
    return await usecases.session_caller(ix, request.cookies.get(auth.SESSION_COOKIE))


def refusal_text(e: Refusal | vn.InvalidField, lang: str) -> dict[str, str]:
    return {"field": e.field, "refused": e.reason_vi if lang == "vi" else e.reason_en}


ReportField = Annotated[str, Form(max_length=10_000)]
# The member's figures the page pre-filled, sent back as they were shown.
Figure = Annotated[str, Form(max_length=12)]


@pages.post("/workspace/act/member-report", response_class=RedirectResponse, status_code=303)
async def workspace_member_report(
    ix: Service, request: Request, received_summary: ReportField = "",
    solutions: ReportField = "", recommendations: ReportField = "",
    week_label: WorkspaceForm = "", urgent: WorkspaceForm = "",
    figure_received: Figure = "", figure_resolved: Figure = "", figure_open: Figure = "",
    figure_overdue: Figure = "",
    csrf_token: WorkspaceForm = "", lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """A member's weekly report from the form of their week, through the API's use case
    (on time before Friday 12:00, accepted and marked late after)."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    figures = {"received": figure_received, "resolved": figure_resolved,
               "open": figure_open, "overdue": figure_overdue}
    try:
        body = MemberReportIn.model_validate({
            "received_summary": received_summary, "solutions": solutions,
            "recommendations": recommendations, "week_label": week_label or None,
            "urgent": urgent == "on",
            "figures": {k: v for k, v in figures.items() if v}})
    except ValidationError as e:
        problem = validation_problems(e.errors())[0]
        ix.metrics.refused(problem.field, problem.kind)
        return back_to_page(ix, "my-week", lang, field=problem.field,
                            refused=problem.as_dict(lang)["reason"])
    try:
        done = await usecases.submit_member_report(ix, who, body)
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "my-week", lang, **refusal_text(e, lang))
    return back_to_page(ix, "my-week", lang, done="report",
                        late="1" if done.late else "0", week=done.week_label)


@pages.post("/workspace/act/triage/{difficulty_id}", response_class=RedirectResponse,
            status_code=303)
async def workspace_triage(
    ix: Service, request: Request, difficulty_id: uuid.UUID, action: WorkspaceForm,
    target_agency_id: Annotated[str, Form(max_length=300)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: WorkspaceForm = "", lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """The permanent deputy's triage: dispatch to the agency picked from the directory
    (reassign_requested with the target), or reject with a public reason."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    status = {"dispatch": "reassign_requested", "reject": "rejected"}.get(action)
    try:
        if status is None:
            raise vn.InvalidField("action", "must be dispatch or reject",
                                  "phải là giao xử lý hoặc từ chối")
        if status == "reassign_requested" and not target_agency_id.strip():
            raise vn.InvalidField("target_agency_id", "choose the lead agency",
                                  "chọn cơ quan chủ trì")
        body = StatusIn.model_validate({
            "status": status, "note": note or None,
            "target_agency_id": target_agency_id.strip() if status != "rejected"
            and target_agency_id.strip() else None})
        await usecases.post_status(ix, who, difficulty_id, body)
    except ValidationError as e:
        problem = validation_problems(e.errors())[0]
        ix.metrics.refused(problem.field, problem.kind)
        return back_to_page(ix, "triage", lang, field=problem.field,
                            refused=problem.as_dict(lang)["reason"])
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "triage", lang, **refusal_text(e, lang))
    return back_to_page(ix, "triage", lang, done=status)


@pages.post("/workspace/act/remind", response_class=RedirectResponse, status_code=303)
async def workspace_remind(
    ix: Service, request: Request, member_id: WorkspaceForm,
    csrf_token: WorkspaceForm = "", lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """The permanent deputy reminds a member who has not reported this week."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    try:
        await usecases.remind_member(ix, who, member_id)
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "triage", lang, **refusal_text(e, lang))
    return back_to_page(ix, "triage", lang, done="reminded")


@pages.post("/workspace/act/direction", response_class=RedirectResponse, status_code=303)
async def workspace_direction(
    ix: Service, request: Request, direction: Annotated[str, Form(max_length=4000)] = "",
    assignee_id: WorkspaceForm = "", due_on: Annotated[str, Form(max_length=10)] = "",
    key: WorkspaceForm = "", csrf_token: WorkspaceForm = "",
    lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """The head's direction: what, who must act, by when."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    try:
        await usecases.give_direction(ix, who, direction, key or str(uuid.uuid4()),
                                      assignee_id=assignee_id, due_on=due_on)
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "head", lang, **refusal_text(e, lang))
    return back_to_page(ix, "head", lang, done="direction")


@pages.post("/workspace/act/direction-progress/{direction_id}",
            response_class=RedirectResponse, status_code=303)
async def workspace_direction_progress(
    ix: Service, request: Request, direction_id: uuid.UUID, state: WorkspaceForm = "",
    note: Annotated[str, Form(max_length=2000)] = "", csrf_token: WorkspaceForm = "",
    lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """Whoever must act on a direction says where it stands, from their landing page."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    try:
        await usecases.post_direction_progress(ix, who, direction_id, state, note)
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "", lang, **refusal_text(e, lang))
    return back_to_page(ix, "", lang, done="progress")


@pages.post("/workspace/act/compilation", response_class=RedirectResponse, status_code=303)
async def workspace_compilation(
    ix: Service, request: Request,
    compiled_text: Annotated[str, Form(max_length=20_000)] = "",
    week_label: WorkspaceForm = "", action: WorkspaceForm = "", key: WorkspaceForm = "",
    csrf_token: WorkspaceForm = "", lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """The permanent deputy saves the week's compiled text, or submits it to the head."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    week = {"week": week_label} if week_label else {}
    try:
        if action not in ("save", "submit"):
            raise vn.InvalidField("action", "must be save or submit", "phải là lưu hoặc trình")
        await usecases.save_compilation(ix, who, week_label, compiled_text,
                                        submit=action == "submit",
                                        key=key or str(uuid.uuid4()))
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "compilation", lang, **week, **refusal_text(e, lang))
    return back_to_page(ix, "compilation", lang, **week,
                        done="submitted" if action == "submit" else "saved")


async def on_bottleneck_page(ix: Intake, request: Request, csrf_token: str, lang: str,
                             act: Callable[[auth.Principal], Awaitable[object]], done: str
                             ) -> RedirectResponse:
    """A form of the shared recommendations' page: `act`, then back to the page saying
    what was done, or what was refused and why."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    try:
        await act(who)
    except ValidationError as e:
        problem = validation_problems(e.errors())[0]
        ix.metrics.refused(problem.field, problem.kind)
        return back_to_page(ix, "shared", lang, refused=problem.as_dict(lang)["reason"],
                            field=problem.field)
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "shared", lang, **refusal_text(e, lang))
    return back_to_page(ix, "shared", lang, done=done)


@pages.post("/workspace/act/bottleneck", response_class=RedirectResponse, status_code=303)
async def workspace_bottleneck(
    ix: Service, request: Request,
    difficulty_id: Annotated[list[uuid.UUID] | None, Form(max_length=500)] = None,
    title: Annotated[str, Form(max_length=300)] = "", ministry_id: WorkspaceForm = "",
    key: WorkspaceForm = "", csrf_token: WorkspaceForm = "", lang: FormLang = "vi",
) -> RedirectResponse:
    """The permanent deputy merges a group of the page (the items left ticked) into one
    policy bottleneck for the ministry chosen."""
    async def act(who: auth.Principal) -> object:
        return await bottlenecks.merge(ix, who, BottleneckIn.model_validate({
            "title": title, "ministry_id": ministry_id,
            "difficulty_ids": difficulty_id or []}),
            key or str(uuid.uuid4()))

    return await on_bottleneck_page(ix, request, csrf_token, lang, act, "bottleneck")


@pages.post("/workspace/act/bottleneck/{bottleneck_id}/ministry-answer",
            response_class=RedirectResponse, status_code=303)
async def workspace_bottleneck_answer(
    ix: Service, request: Request, bottleneck_id: uuid.UUID,
    letter_number: LetterNumberForm = "", letter_date: DateForm = "",
    public_answer: Note = "", outcome: Annotated[str, Form(max_length=20)] = "resolved",
    csrf_token: WorkspaceForm = "", lang: FormLang = "vi",
) -> RedirectResponse:
    """The ministry's answer to a bottleneck, from its letter, recorded by the deputy."""
    async def act(who: auth.Principal) -> object:
        return await bottlenecks.answer(ix, who, bottleneck_id, MinistryAnswerIn.model_validate({
            "outcome": outcome, "letter_number": letter_number.strip(),
            "letter_date": letter_date, "public_answer": public_answer}))

    return await on_bottleneck_page(ix, request, csrf_token, lang, act, "bottleneck_answer")


MAX_AT_ONCE = 100  # a queue page holds 50; a form never needs more


def back_to_queue(ix: Intake, lang: str, said: list[tuple[str, str]]) -> RedirectResponse:
    return RedirectResponse(f"{ix.workspace_url}/workspace/queue?"
                            f"{urlencode([('lang', lang), *said])}", status_code=303)


@pages.post("/workspace/act/acknowledge", response_class=RedirectResponse, status_code=303)
async def workspace_acknowledge(
    ix: Service, request: Request,
    difficulty_id: Annotated[list[uuid.UUID], Form(max_length=MAX_AT_ONCE)],
    csrf_token: WorkspaceForm = "",
    lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """Acknowledge several difficulties of an agency's queue at once: each on its own,
    through the very step of the status route, so one refused (already acknowledged,
    not this agency's) leaves the others acknowledged. Back to the queue with how many
    were acknowledged and, for each refused, its id and why."""
    lang = lang if lang in TEXT else "vi"
    who = await person_at_form(ix, request, csrf_token)
    body = StatusIn.model_validate({"status": "acknowledged"})
    done, said = 0, []
    for did in dict.fromkeys(difficulty_id):  # a repeated box counts once
        try:
            await usecases.post_status(ix, who, did, body)
        except Refusal as e:
            said.append(("refused", f"{did} {e.reason_vi if lang == 'vi' else e.reason_en}"))
            continue
        done += 1
    return back_to_queue(ix, lang, [("acknowledged", str(done)), *said])


@pages.get("/workspace/act/difficulties/{difficulty_id}/contact", response_class=HTMLResponse)
async def workspace_contact(ix: Service, request: Request, difficulty_id: uuid.UUID
                            ) -> HTMLResponse:
    """The business's contact person, for the workspace's signed-in lead agency and
    permanent deputy (reporting never keeps it): as `GET /v1/difficulties/{id}` decides
    (`logic.as_read_by`); anyone else on the case is told it is not theirs to see."""
    lang = page_language(request)
    who = await usecases.session_caller(ix, request.cookies.get(auth.SESSION_COOKIE))
    seen = await usecases.read_difficulty(ix, who, difficulty_id)
    d = seen.difficulty
    html = _env.get_template("contact.html").render(
        lang=lang, t=TEXT[lang], code=d.tracking_code, contact=d.contact,
        back=f"{ix.workspace_url}/workspace/difficulties/{difficulty_id}?lang={lang}")
    # Personal data: kept out of shared caches and the browser's history cache.
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
