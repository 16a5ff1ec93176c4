"""The task-force members' own API: the weekly report, and the member's week it is
drafted from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.intake import usecases
from services.intake.api.common import Service
from services.intake.models import MemberReportAccepted, MemberReportIn, MemberWeekOut
from shared.errors import language, responses
from shared.identity import SignedIn

router = APIRouter()


@router.post(
    "/v1/member-reports",
    status_code=202,
    response_model=MemberReportAccepted,
    responses=responses(401, 403, 413, 422, 429),
    tags=["members"],
    summary="Submit a member's weekly report",
    description="One report per member and week: submitting again for the same week "
    "replaces the earlier report (same report_id, revision + 1; a new event with the same "
    "key on member.report.v1, whose consumers keep the latest revision). A report for a "
    "past week is accepted and marked late.",
)
async def post_member_report(ix: Service, who: SignedIn, body: MemberReportIn) -> Any:
    accepted = await usecases.submit_member_report(ix, who, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.get(
    "/v1/members/me/week",
    response_model=MemberWeekOut,
    responses=responses(401, 403, 429),
    tags=["members"],
    summary="A member's week: assigned items, reports due, and a pre-filled report",
    description="With a member's token: the difficulties assigned to the member that are "
    "open (with their deadlines), overdue, or resolved in the current report week "
    "(Friday 12:00 to Friday 12:00); which weekly reports are due and whether they would "
    "be late; and a draft report whose figures the system already knows (the difficulties "
    "the router assigned to the member by field and area). Fill in "
    "`solutions` and `recommendations` and POST the draft to /v1/member-reports. "
    "Deadlines run from the latest handling assignment (lead, escalation or triage) "
    "with the province's deadlines, as in the weekly report.",
)
async def member_week(ix: Service, who: SignedIn, request: Request) -> Any:
    week = await usecases.member_week(ix, who, language(request.headers))
    return JSONResponse(week.model_dump(mode="json"))
