"""The workspace's forms on one difficulty (status, step, resolution, central level,
letter) and the tracking page's answer and feedback."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.intake import logic, usecases
from services.intake.api import Service, file_response
from services.intake.models import (
    LetterIn,
    MinistryAnswerIn,
    ResolutionIn,
    StatusIn,
    StepIn,
)
from services.intake.pages.common import (
    TEXT,
    WorkspaceForm,
    pages,
    refusal_text,
)
from services.intake.pages.form import FILES
from services.intake.usecases import Intake, attachments
from shared import auth, identity, vn
from shared.errors import Refusal, validation_problems


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
    who = await identity.person_at_form(request, csrf_token)
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
    business (need_info), with the files the form sent."""
    async def act(who: auth.Principal) -> object:
        body = StepIn.model_validate({
            "step": step, "note": note or None, "question": question or None,
            "suggested_agency_id": suggested_agency_id or None})
        return await usecases.post_step(ix, who, difficulty_id, body,
                                        files=await files_of(ix, request))

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
    public answer, and a reason where one is needed; the files sent with it go with the
    public answer."""
    given = {"outcome": outcome, "done": done, "public_answer": public_answer,
             "legal_basis": legal_basis, "reason": reason, "note": note,
             "waive_open_parts_reason": waive_open_parts_reason}

    async def act(who: auth.Principal) -> object:
        body = ResolutionIn.model_validate(
            {k: v for k, v in given.items() if v or k in ("done", "public_answer")})
        return await usecases.post_resolution(ix, who, difficulty_id, body,
                                              files=await files_of(ix, request))

    return await act_on_case(ix, request, difficulty_id, csrf_token=csrf_token, lang=lang,
                             act=act, done=outcome)


async def files_of(ix: Intake, request: Request) -> list[logic.CheckedFile]:
    """The files this request sent in its `files` field (the form FastAPI has parsed,
    within the body's limit), checked: counted as sent, not as the form declares."""
    form = await request.form()
    return attachments.check(ix, await attachments.sent_files(
        form, FILES, max_bytes=ix.attachment_limits.max_bytes), FILES)


@pages.get("/workspace/act/difficulties/{difficulty_id}/attachments/{attachment_id}",
           response_class=Response)
async def workspace_attachment(ix: Service, request: Request, difficulty_id: uuid.UUID,
                               attachment_id: uuid.UUID) -> Response:
    """A case's file, for the people on it signed in to the workspace (a link on the
    difficulty's page); 404 for anyone else."""
    who = await identity.person(request)
    return file_response(await attachments.download(ix, who, difficulty_id, attachment_id))


@pages.post("/track/attachments", response_class=Response, tags=["business"],
            summary="The business downloads its own file or one of the public answer")
async def track_attachment(
    ix: Service, code: Annotated[str, Form(pattern=r"^[A-Za-z0-9-]{1,30}$")],
    tax_code: Annotated[str, Form(max_length=20)],
    attachment_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """From the tracking page, by the two codes in the body (never in an address): the
    business's own files and the agency's files of the public answer; one 404 for
    anything else, whichever of the three is wrong."""
    return file_response(await attachments.download_tracked(
        ix, tracking_code=code, tax_code=tax_code, attachment_id=attachment_id))


@pages.post("/track/answer", response_class=RedirectResponse, status_code=303,
            tags=["business"], summary="The business answers an agency's question")
async def track_answer(
    ix: Service, request: Request,
    code: Annotated[str, Form(pattern=r"^[A-Za-z0-9-]{1,30}$")],
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
                                       assignment_id=assignment_id, answer=answer,
                                       files=await files_of(ix, request))
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
