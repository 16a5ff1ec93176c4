"""The people's workspaces: a member's report, triage, reminders, directions, the queue's
acknowledgements and the business's contact person."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from services.intake import usecases
from services.intake.api import Service
from services.intake.models import (
    CorrectionIn,
    MemberReportIn,
    MergeIn,
    StatusIn,
)
from services.intake.pages.common import (
    TEXT,
    WorkspaceForm,
    _env,
    page_language,
    pages,
    refusal_text,
)
from services.intake.usecases import Intake
from shared import auth, identity, vn
from shared.errors import Refusal, validation_problems

# --- the people's workspaces: a member's report, triage, reminders, directions (#21 3-5) -----


def back_to_page(ix: Intake, page: str, lang: str, **said: str) -> RedirectResponse:
    return RedirectResponse(f"{ix.workspace_url}/workspace/{page}?"
                            f"{urlencode({'lang': lang, **said})}", status_code=303)


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
    who = await identity.person_at_form(request, csrf_token)
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
    co_agency_ids: Annotated[list[str] | None, Form(max_length=20)] = None,
    zone_type: WorkspaceForm = "", category: WorkspaceForm = "", province: WorkspaceForm = "",
    into: WorkspaceForm = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: WorkspaceForm = "", lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """The permanent deputy's triage: dispatch to the agency picked from the directory
    (reassign_requested with the target, and the co-handlers picked beside it), reject
    with a public reason, correct the zone type, category or province (the router routes
    it again), or merge it as a duplicate into the difficulty named by its tracking code."""
    lang = lang if lang in TEXT else "vi"
    who = await identity.person_at_form(request, csrf_token)
    try:
        done = await _triage_action(ix, who, difficulty_id, action, note=note,
                                    target_agency_id=target_agency_id.strip(),
                                    co_agency_ids=[a for a in co_agency_ids or [] if a.strip()],
                                    zone_type=zone_type, category=category,
                                    province=province, into=into)
    except ValidationError as e:
        problem = validation_problems(e.errors())[0]
        ix.metrics.refused(problem.field, problem.kind)
        return back_to_page(ix, "triage", lang, field=problem.field,
                            refused=problem.as_dict(lang)["reason"])
    except (Refusal, vn.InvalidField) as e:
        return back_to_page(ix, "triage", lang, **refusal_text(e, lang))
    return back_to_page(ix, "triage", lang, done=done)


async def _triage_action(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                         action: str, *, note: str, target_agency_id: str,
                         co_agency_ids: list[str], zone_type: str, category: str,
                         province: str, into: str) -> str:
    """Carry out one triage form through the API's use cases; what was done."""
    if action == "correct":
        # Left blank, a field keeps the difficulty's own value (the form's "unchanged").
        await usecases.correct_difficulty(ix, who, difficulty_id, CorrectionIn.model_validate({
            "zone_type": zone_type or None, "category": category or None,
            "province": province.strip() or None, "note": note or None}))
        return "corrected"
    if action == "merge":
        await usecases.merge_duplicate(ix, who, difficulty_id, MergeIn.model_validate({
            "into": into, "note": note or None}))
        return "merged"
    status = {"dispatch": "reassign_requested", "reject": "rejected"}.get(action)
    if status is None:
        raise vn.InvalidField("action", "must be dispatch, reject, correct or merge",
                              "phải là giao xử lý, từ chối, sửa thông tin hoặc gộp")
    if status == "reassign_requested" and not target_agency_id:
        raise vn.InvalidField("target_agency_id", "choose the lead agency",
                              "chọn cơ quan chủ trì")
    dispatching = status == "reassign_requested"
    await usecases.post_status(ix, who, difficulty_id, StatusIn.model_validate({
        "status": status, "note": note or None,
        "target_agency_id": target_agency_id if dispatching else None,
        "co_agency_ids": co_agency_ids if dispatching else []}))
    return status


@pages.post("/workspace/act/remind", response_class=RedirectResponse, status_code=303)
async def workspace_remind(
    ix: Service, request: Request, member_id: WorkspaceForm,
    csrf_token: WorkspaceForm = "", lang: Annotated[str, Form(max_length=2)] = "vi",
) -> RedirectResponse:
    """The permanent deputy reminds a member who has not reported this week."""
    lang = lang if lang in TEXT else "vi"
    who = await identity.person_at_form(request, csrf_token)
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
    who = await identity.person_at_form(request, csrf_token)
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
    who = await identity.person_at_form(request, csrf_token)
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
    who = await identity.person_at_form(request, csrf_token)
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
    who = await identity.person_at_form(request, csrf_token)
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
    who = await identity.person(request)
    seen = await usecases.read_difficulty(ix, who, difficulty_id)
    d = seen.difficulty
    html = _env.get_template("contact.html").render(
        lang=lang, t=TEXT[lang], code=d.tracking_code, contact=d.contact,
        back=f"{ix.workspace_url}/workspace/difficulties/{difficulty_id}?lang={lang}")
    # Personal data: kept out of shared caches and the browser's history cache.
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
