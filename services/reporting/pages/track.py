"""The business's own page, `/track`: the form asks for the tracking code and the tax
code; the answer shows the difficulty, the lead agency by its name, the public steps
with their dates and the date the answer is expected. No sign-in: the two codes are the
business's credentials, as for `GET /v1/track`, and a wrong pair gets the same neutral
answer whichever of the two is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reporting import store
from services.reporting.api import Side
from services.reporting.pages.common import (
    PAGE,
    TEXT,
    FormLang,
    Lang,
    attachment_list,
    env,
    fmt,
)
from shared import vn
from shared.errors import responses
from shared.events import OUTCOME_LABELS, STATUS_LABELS, Outcome, Status
from shared.provinces import ConfigSet

router = APIRouter(tags=["pages"])

CODE = r"^[A-Za-z0-9-]{0,30}$"
# What the business sees of the case's life: a hand-over between agencies
# (reassign_requested) is the task force's own business until someone holds it again.
PUBLIC_STEPS = frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.ESCALATED,
                          Status.RESOLVED, Status.REJECTED, Status.MERGED})
OPEN = frozenset({Status.RECEIVED, Status.ACKNOWLEDGED, Status.IN_PROGRESS,
                  Status.REASSIGN_REQUESTED, Status.ESCALATED})


@dataclass(frozen=True)
class Step:
    label: str
    at: str


def public_steps(received_at: datetime, steps: list[dict[str, Any]], lang: str) -> list[Step]:
    """Received first, then each public status in order; a progress note repeated on
    the same day shows once."""
    i = 0 if lang == "vi" else 1
    out = [Step(TEXT[lang]["tr_received"], fmt(received_at))]
    for s in steps:
        status = Status(s["status"])
        if status not in PUBLIC_STEPS:
            continue
        step = Step(STATUS_LABELS[status][i], fmt(s["changed_at"]))
        if step.label == out[-1].label and step.at[:10] == out[-1].at[:10]:
            continue
        out.append(step)
    return out


def page(request: Request, lang: str, *, code: str = "", found: dict[str, Any] | None = None,
         missing: bool = False, status: int = 200, act_url: str = "",
         said: str = "", refused: str = "") -> HTMLResponse:
    t = TEXT[lang]
    other = "en" if lang == "vi" else "vi"
    return HTMLResponse(env.get_template("track.html").render(
        t=t, lang=lang, code=code, found=found, missing=missing, act_url=act_url,
        said=said, refused=refused,
        switch=f"/track?lang={other}" + (f"&code={code}" if code else "")),
        status_code=status)


@router.get("/track", response_class=Response, responses=PAGE,
            summary="The business's tracking page: the form")
async def track_form(request: Request, lang: Lang = "vi",
                     code: Annotated[str, Query(pattern=CODE)] = "",
                     said: Annotated[Literal["", "answered", "rated"], Query()] = "",
                     refused: Annotated[str, Query(pattern=r"^[a-z_.]{0,40}$")] = ""
                     ) -> HTMLResponse:
    """Also where intake sends the business back after it answered a question or rated:
    what was done (`said`) or which field was refused, said in a fixed sentence (the
    page never shows text taken from its address), then the form to look again."""
    t = TEXT[lang]
    why = (t.get(f"tr_refused_{refused}", t["tr_refused"]) if refused else "")
    return page(request, lang, code=code.upper(), said=said, refused=why)


@router.post("/track", response_class=Response,
             responses={**PAGE, 404: {"description": "No such pair of codes: the form again",
                                      "content": {"text/html": {}}}, **responses(429)},
             summary="The business's tracking page: its difficulty")
async def track_page(
    side: Side, request: Request,
    code: Annotated[str, Form(pattern=CODE)],
    tax_code: Annotated[str, Form(max_length=20)],
    lang: FormLang = "vi",
) -> HTMLResponse:
    """The tax code travels in the form body, never in the address, so it stays out of
    access logs and browser history."""
    code = code.upper()
    try:
        mst = vn.normalize_tax_code(tax_code)
    except ValueError:
        return page(request, lang, code=code, missing=True, status=404)
    async with side.db().acquire() as conn:
        got = await store.track_case(conn, tracking_code=code, tax_code=mst)
        if got is None:
            return page(request, lang, code=code, missing=True, status=404)
        row, steps = got
        waiting = await store.waiting_questions(conn, difficulty_id=row["difficulty_id"])
        shared = await store.bottleneck_of(conn, difficulty_id=row["difficulty_id"])
        files = await store.attachments_of(conn, difficulty_id=row["difficulty_id"],
                                           public_only=True)
        kept = (await store.kept_case(conn, difficulty_id=row["merged_into"])
                if row["merged_into"] is not None else None)
    status = Status(row["status"])
    agency = side.config.current.agency(row["lead_agency_id"] or "")
    en = lang == "en"
    found = {
        "code": row["tracking_code"], "title": row["title"],
        "status": STATUS_LABELS[status][1 if en else 0],
        "agency": (agency.name_en if en else agency.name_vi) if agency else None,
        "steps": public_steps(row["received_at"], steps, lang),
        "expected": fmt(row["resolve_due_at"]) if status in OPEN and row["resolve_due_at"]
        else None,
        "closed": fmt(row["resolved_at"]) if row["resolved_at"] else None,
        # The lead's answer to the business, never its internal notes.
        "outcome": OUTCOME_LABELS[Outcome(row["outcome"])][1 if en else 0]
        if row["outcome"] else None,
        "answered": fmt(row["outcome_at"]) if row["outcome_at"] else None,
        "answer": row["public_answer"],
        # Asked of the business (#20 item 4): answered on this page, by the agency's name.
        "questions": [{"assignment_id": q["assignment_id"], "question": q["question"],
                       "asked": fmt(q["asked_at"]),
                       "agency": agency_name(side.config.current, q["agency_id"], en)}
                      for q in waiting],
        # Its own files and those of the public answer (#20 item 10), downloaded from
        # intake by the two codes again.
        "files": attachment_list(files, lang),
        # Once closed, the business says whether the answer resolved it and rates it.
        "rateable": status in (Status.RESOLVED, Status.REJECTED),
        # Merged with other businesses' into a policy bottleneck (#25 item 1): which
        # ministry it went to and with how many businesses, never who they are.
        "shared": None if shared is None else {
            "ministry": agency_name(side.config.current, shared.ministry_id, en),
            "businesses": shared.business_count, "merged": fmt(shared.merged_at),
            "answered": shared.answer is not None},
    }
    if kept is not None:
        # Merged as a duplicate (#20 item 3): the kept difficulty carries on for both
        # businesses, so this one's business follows it here (its progress and answer,
        # nothing of the business that raised it, not even its tracking code).
        found["merged"] = merged_view(side.config.current, *kept, lang)
    return page(request, lang, code=code, found=found, act_url=side.intake_url)


def merged_view(configs: ConfigSet, row: dict[str, Any], steps: list[dict[str, Any]],
                lang: str) -> dict[str, Any]:
    """What a merged duplicate's business reads of the difficulty it was merged into."""
    en = lang == "en"
    status = Status(row["status"])
    return {
        "status": STATUS_LABELS[status][1 if en else 0],
        "agency": agency_name(configs, row["lead_agency_id"], en)
        if row["lead_agency_id"] else None,
        "steps": public_steps(row["received_at"], steps, lang),
        "expected": fmt(row["resolve_due_at"]) if status in OPEN and row["resolve_due_at"]
        else None,
        "outcome": OUTCOME_LABELS[Outcome(row["outcome"])][1 if en else 0]
        if row["outcome"] else None,
        "answered": fmt(row["outcome_at"]) if row["outcome_at"] else None,
        "answer": row["public_answer"],
    }


def agency_name(configs: ConfigSet, agency_id: str, en: bool) -> str:
    a = configs.agency(agency_id)
    return agency_id if a is None else (a.name_en if en else a.name_vi)
