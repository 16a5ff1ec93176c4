"""The web form at `/`: the business's submission, through the very path of
`POST /v1/difficulties`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from services.intake import bulk, logic, usecases
from services.intake.api import Service, multipart
from services.intake.models import (
    DifficultyIn,
)
from services.intake.pages.common import (
    TEXT,
    _env,
    page_language,
    pages,
)
from services.intake.usecases import (
    AttachmentLimits,
    Intake,
    Refused,
    attachments,
    parse_submission,
)
from shared import vn
from shared.errors import Problem, Refusal
from shared.events import CATEGORY_LABELS, ZONE_TYPE_LABELS

# The form's inputs are named by the API's field paths, so an error's field names its input.
TEXT_FIELDS = ("tax_code", "enterprise_name", "province", "zone_type", "zone_name", "category",
               "kind", "title", "description", "urgency", "contact.name", "contact.phone",
               "contact.email", "employees", "sector", "ward", "district")
WEB_CHANNEL = "web"
DEFAULT_LIMITS = AttachmentLimits()


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


FILES = "files"  # the form's file input, named as the API's upload field


def render(lang: str, *, values: Mapping[str, str] | None = None,
           problems: list[Problem] | None = None, answer: dict[str, Any] | None = None,
           track_url: str | None = None, status: int = 200,
           limits: AttachmentLimits = DEFAULT_LIMITS) -> HTMLResponse:
    by_field: dict[str, list[str]] = {}
    for p in problems or []:
        # "contact" alone (no contact at all) is shown at the contact's name.
        f = "contact.name" if p.field == "contact" else p.field
        by_field.setdefault(f if f in TEXT_FIELDS or f == FILES else "", []).append(
            p.reason(lang))
    html = _env.get_template("form.html").render(
        lang=lang, t=TEXT[lang], values=values or {}, errors=by_field, answer=answer,
        track_url=track_url, options=options(lang),
        provinces=[p.name for p in vn.current_provinces()],
        idempotency_key=f"web-{uuid.uuid4()}", limits=limits,
    )
    return HTMLResponse(html, status_code=status)


@pages.get("/", response_class=HTMLResponse)
async def form_page(ix: Service, request: Request) -> HTMLResponse:
    return render(page_language(request), limits=ix.attachment_limits)


@pages.post("/", response_class=HTMLResponse)
async def form_post(ix: Service, request: Request) -> HTMLResponse:
    limits = ix.attachment_limits
    lang = page_language(request, request.query_params.get("lang"))
    try:
        form = await multipart_or_form(ix, request)
    except Refusal as e:
        return render(lang, problems=[Problem(e.field, "invalid", e.reason_en, e.reason_vi)],
                      status=e.status_code, limits=limits)
    lang_field = form.get("lang")
    lang = page_language(request, lang_field if isinstance(lang_field, str) else None)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k in TEXT_FIELDS}
    key = form.get("idempotency_key")
    problems: list[Problem] = []
    try:
        body: DifficultyIn | None = parse_submission(submission_of(form))
    except Refused as e:
        for p in e.problems:
            ix.metrics.refused(p.field, p.kind)
        body, problems = None, e.problems
    try:
        files = attachments.check(ix, await attachments.sent_files(
            form, FILES, max_bytes=limits.max_bytes), FILES)
    except Refusal as e:
        problems.append(Problem(e.field, "invalid", e.reason_en, e.reason_vi))
    if body is None or problems:
        return render(lang, values=values, problems=problems, status=422, limits=limits)
    # The page's key guards against a double click or a reload; with the content in it,
    # a business going back to report something else is not taken for a replay.
    if isinstance(key, str) and 0 < len(key) <= 100:
        key = f"{key}:{logic.request_fingerprint(body.model_dump(mode='json'))}"
        if files:
            key += ":" + logic.request_fingerprint({"files": [f.sha256 for f in files]})
    else:
        key = None
    outcome = await usecases.accept(ix, body, idempotency_key=key, files=files)
    if outcome.answer is not None:
        # Straight to the business's tracking page, the code filled in (the tax code is
        # asked there: it never travels in an address).
        code = urlencode({"lang": lang, "code": outcome.answer["tracking_code"]})
        return render(lang, answer=outcome.answer, track_url=f"{ix.workspace_url}/track?{code}")
    return render(lang, values=values, problems=outcome.problems, status=outcome.status,
                  limits=limits)


async def multipart_or_form(ix: Intake, request: Request) -> FormData:
    """The posted form: multipart with the business's files (the page's own), or the
    url-encoded form a client without files may still send."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await multipart(ix, request, fields=50)
    return await request.form(max_files=0, max_fields=50)
