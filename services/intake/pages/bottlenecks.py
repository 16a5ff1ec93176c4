"""The permanent deputy's forms of the shared recommendations' page (#25 item 1): merge a
group into a policy bottleneck, record the ministry's answer to one. Both go through the
use cases of `POST /v1/bottlenecks` and `POST /v1/bottlenecks/{id}/ministry-answer`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.intake.api import Service
from services.intake.models import BottleneckIn, MinistryAnswerIn
from services.intake.pages.common import (
    TEXT,
    WorkspaceForm,
    pages,
    refusal_text,
)
from services.intake.pages.people import back_to_page
from services.intake.pages.workspace import DateForm, FormLang, LetterNumberForm, Note
from services.intake.usecases import Intake, bottlenecks
from shared import auth, identity, vn
from shared.errors import Refusal, validation_problems


async def on_bottleneck_page(ix: Intake, request: Request, csrf_token: str, lang: str,
                             act: Callable[[auth.Principal], Awaitable[object]], done: str
                             ) -> RedirectResponse:
    """A form of the shared recommendations' page: `act`, then back to the page saying
    what was done, or what was refused and why."""
    lang = lang if lang in TEXT else "vi"
    who = await identity.person_at_form(request, csrf_token)
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
