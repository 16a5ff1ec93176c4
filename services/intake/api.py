"""Intake's HTTP API: routes at module level, each a thin call of a use case. What a
route needs comes in through dependencies: `intake` (the service, built by main.py) and
`caller` (whoever the bearer token speaks for)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.intake import logic, usecases
from services.intake.models import (
    Accepted,
    AttachmentsAccepted,
    BottleneckAccepted,
    BottleneckAnswered,
    BottleneckIn,
    CorrectionIn,
    DifficultyIn,
    DifficultyOut,
    IdempotencyKey,
    ImportResult,
    LetterIn,
    MemberReportAccepted,
    MemberReportIn,
    MemberWeekOut,
    MergeAccepted,
    MergeIn,
    MinistryAnswerIn,
    ResolutionAccepted,
    ResolutionIn,
    StatusAccepted,
    StatusIn,
    StepAccepted,
    StepIn,
    UrgencyConfirmedOut,
    UrgencyIn,
    Vocabulary,
    vocabulary,
)
from services.intake.usecases import Intake, Outcome, attachments, bottlenecks
from shared import auth
from shared.errors import Problem, Refusal, language, refuse_all, responses
from shared.http import BodyTooLarge

IMPORT_PATH = "/v1/difficulties/import"
# The requests that may carry files (#20 item 10), whose bodies may be as large as their
# files (the body limit refuses anything larger before reading it).
ATTACHMENT_PATHS = (r"/v1/difficulties/[^/]+/attachments", r"/",
                    r"/workspace/act/difficulties/[^/]+/(resolution|step)", r"/track/answer")

api = APIRouter()


def intake(request: Request) -> Intake:
    """The service main.py built for this app."""
    ix: Intake = request.app.state.intake
    return ix


Service = Annotated[Intake, Depends(intake)]

bearer = HTTPBearer(
    auto_error=False, description="Agency token (tga_...), task-force member token (tgm_...) "
    "or operator token (tgo_...), from `thaogo token create`"
)


async def caller(
    ix: Service,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> auth.Principal:
    return await usecases.authenticate(ix, credentials.credentials if credentials else None)


Caller = Annotated[auth.Principal, Depends(caller)]


def answer(outcome: Outcome, lang: str) -> JSONResponse:
    if outcome.answer is not None:
        return JSONResponse(outcome.answer, status_code=outcome.status)
    return refuse_all(outcome.problems, lang, outcome.status)


@api.get("/v1/vocabulary", response_model=Vocabulary, tags=["difficulties"],
         summary="Categories, zone types, kinds, urgencies and statuses with vi/en labels",
         responses=responses(429))
async def get_vocabulary() -> Vocabulary:
    return vocabulary()


@api.post(
    "/v1/difficulties",
    status_code=202,
    response_model=Accepted,
    responses=responses(409, 413, 422, 429),
    tags=["difficulties"],
    summary="Submit a difficulty or recommendation",
    description="Refused (422, field `province`) once the province's task force has been "
    "dissolved: the answer points the business to the regular channel.",
)
async def submit(ix: Service, body: DifficultyIn, request: Request,
                 idempotency_key: IdempotencyKey = None) -> Any:
    outcome = await usecases.accept(ix, body, idempotency_key=idempotency_key)
    return answer(outcome, language(request.headers))


@api.post(
    "/v1/difficulties/{difficulty_id}/status",
    status_code=202,
    response_model=StatusAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Post a status update on a difficulty assigned to the caller",
    description="Authenticated by the agency's (or member's) bearer token. Who may post "
    "what (403 naming the reason otherwise): the lead agency (or whoever holds the "
    "difficulty after an escalation or in triage) and the province's permanent deputy "
    "(its triage agency's token), every status; a co-handling agency, on its own part, "
    "acknowledged, in_progress and reassign_requested; the responsible task-force member, "
    "acknowledged and in_progress; an operator, nothing. Allowed transitions: resolved "
    "and rejected are final; escalated and reassign_requested hand the difficulty on; "
    "in_progress may repeat as progress notes. A co-handler's or member's acknowledged "
    "and in_progress move their own part only (as POST .../steps does). Closing "
    "(resolved, rejected) while co-handlers' parts are open is a 409: close with POST "
    ".../resolution, which can waive them with a reason. The steps and resolution "
    "endpoints are the fuller forms of this one.",
)
async def post_status(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                      body: StatusIn) -> Any:
    accepted = await usecases.post_status(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/difficulties/{difficulty_id}/urgency",
    status_code=202,
    response_model=UrgencyConfirmedOut,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Confirm that an urgent difficulty is urgent",
    description="A business's own urgent flag reaches its lead agency at once, but the "
    "head and the permanent deputy only in office hours. Confirmed here by the lead "
    "agency (or whoever holds the difficulty), the permanent deputy or a member of its "
    "task force, it reaches them at once, day or night (difficulty.urgency.v1). 202 "
    "with the confirmation; 200 with the first one when it was confirmed already; 409 "
    "(field `urgency`) for a difficulty not marked urgent or filed urgent by a member "
    "or operator (vouched for already); 403 for anyone else.",
)
async def confirm_urgency(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                          body: UrgencyIn) -> Any:
    new, confirmed = await usecases.confirm_urgency(ix, who, difficulty_id, body)
    return JSONResponse(confirmed.model_dump(mode="json"), status_code=202 if new else 200)


@api.post(
    "/v1/difficulties/{difficulty_id}/steps",
    status_code=202,
    response_model=StepAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Move the caller's own part of a difficulty: acknowledged, in progress, done or "
    "declined",
    description="Each assignment has its own state: the lead agency, each co-handling "
    "agency and the responsible task-force member move their own (403 for a caller with "
    "no active assignment on the difficulty). acknowledged → in_progress (may repeat, each "
    "a progress note) → done (the note says what was done) or declined (\"not ours\": "
    "the note says why, `suggested_agency_id` may name the agency that should act). done "
    "and declined are final (409 after them). A co-handler's or member's step leaves the "
    "difficulty's status as it is (`status: null` on difficulty.status.v1); the lead's "
    "steps move it: acknowledged, in_progress, and declined, which sends the difficulty "
    "back to the permanent deputy's triage queue with the reason (reassign_requested). "
    "The lead's part is done by closing the difficulty with POST .../resolution.",
)
async def post_step(ix: Service, who: Caller, difficulty_id: uuid.UUID, body: StepIn) -> Any:
    accepted = await usecases.post_step(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/difficulties/{difficulty_id}/resolution",
    status_code=202,
    response_model=ResolutionAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Close a difficulty (or pass it up) with a structured resolution",
    description="Only the agency holding the difficulty (its lead, or whoever holds it "
    "after an escalation or in triage) or the province's permanent deputy; a co-handler "
    "or a member gets a 403 naming why (they finish their own part with POST .../steps). "
    "The outcome: resolved or partly_resolved (the difficulty is resolved), rejected (out "
    "of scope, `reason` required) or escalated (beyond provincial authority, `reason` "
    "required: the router passes it to the central ministry). `done` says what was done "
    "and `legal_basis` the document cited (\"Công văn 123/UBND-KT\"); `public_answer` is "
    "what the business reads on its tracking page, `note` stays internal. Closing while "
    "co-handlers' parts are neither done nor declined is a 409 naming "
    "`waive_open_parts_reason`: give it to close without them; the parts waived and the "
    "reason are recorded. A difficulty already resolved or rejected: 409.",
)
async def post_resolution(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                          body: ResolutionIn) -> Any:
    accepted = await usecases.post_resolution(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/difficulties/{difficulty_id}/ministry-answer",
    status_code=202,
    response_model=ResolutionAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Record the central ministry's answer to an escalated difficulty",
    description="The province's permanent deputy only (403 otherwise), for a difficulty a "
    "central ministry holds after an escalation (409 otherwise). The ministry's letter "
    "(`letter_number`, `letter_date`, not in the future) is cited in the resolution; "
    "`public_answer` is the ministry's answer as the business reads it on its tracking "
    "page. `outcome` resolved (default), partly_resolved or rejected closes the difficulty "
    "and stops the reminders to chase the ministry.",
)
async def post_ministry_answer(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                               body: MinistryAnswerIn) -> Any:
    accepted = await usecases.record_ministry_answer(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/difficulties/{difficulty_id}/correction",
    status_code=202,
    response_model=StatusAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Correct the zone type, category or province of a difficulty in triage",
    description="The permanent deputy of the difficulty's task force only (its triage "
    "agency's token; 403 otherwise). What is given replaces the difficulty's own, the "
    "rest stays; nothing different is a 422 naming `correction`, a province without a "
    "task force a 422 naming `province`. Only a difficulty waiting in triage and still "
    "open is corrected (409 otherwise). The correction is a status event "
    "(difficulty.status.v1, status null, `correction`): the router routes the corrected "
    "difficulty again (to the task force of a new province, if it differs), and the "
    "reporting pages show the corrected values.",
)
async def post_correction(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                          body: CorrectionIn) -> Any:
    accepted = await usecases.correct_difficulty(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/difficulties/{difficulty_id}/merge",
    status_code=202,
    response_model=MergeAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Merge a duplicate into the difficulty that carries on",
    description="The permanent deputy of the difficulty's task force only (403 "
    "otherwise). The difficulty closes with status merged and `merged_into` the kept one "
    "(`into`: its tracking code or id, of the same task force and not itself merged; a "
    "422 naming `into` otherwise); the kept one records the duplicate (`duplicate`, "
    "status unchanged). The duplicate's business reads on its tracking page that it was "
    "merged, with the kept difficulty's progress and answer. A closed difficulty: 409.",
)
async def post_merge(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                     body: MergeIn) -> Any:
    accepted = await usecases.merge_duplicate(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/bottlenecks",
    status_code=202,
    response_model=BottleneckAccepted,
    responses=responses(401, 403, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Merge recommendations many businesses share into one policy bottleneck",
    description="The province's permanent deputy only (403 otherwise). The items "
    "(`difficulty_ids`, 2 to 500, open, of the deputy's task force: 422 naming one that is "
    "not) become one policy bottleneck escalated to the central ministry `ministry_id` as "
    "one item (policy.bottleneck.v1), with the number of businesses and what each item is "
    "about, never who raised it. An item closed or already in a bottleneck: 409 naming it. "
    "The same `Idempotency-Key` merges once and answers the same.",
)
async def post_bottleneck(ix: Service, who: Caller, body: BottleneckIn,
                          idempotency_key: IdempotencyKey = None) -> Any:
    accepted = await bottlenecks.merge(ix, who, body, idempotency_key or str(uuid.uuid4()))
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/bottlenecks/{bottleneck_id}/ministry-answer",
    status_code=202,
    response_model=BottleneckAnswered,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Record the central ministry's answer to a policy bottleneck",
    description="The province's permanent deputy only (403 otherwise); the body is that "
    "of `/v1/difficulties/{id}/ministry-answer`. Every member item still open is closed "
    "with the ministry's letter cited and `public_answer`, which each business reads on "
    "its tracking page; members closed meanwhile are left as they are. Answered once: "
    "409 after.",
)
async def post_bottleneck_answer(ix: Service, who: Caller, bottleneck_id: uuid.UUID,
                                 body: MinistryAnswerIn) -> Any:
    answered = await bottlenecks.answer(ix, who, bottleneck_id, body)
    return JSONResponse(answered.model_dump(mode="json"), status_code=202)


@api.post(
    "/v1/difficulties/{difficulty_id}/letter",
    status_code=202,
    response_model=StatusAccepted,
    responses=responses(401, 403, 404, 409, 413, 422, 429),
    tags=["agencies"],
    summary="Register the number and date of the letter to the ministry",
    description="The province's permanent deputy registers the letter (công văn) passing "
    "an escalated difficulty to the central ministry once signed: its number and symbol "
    "and its date, printed in the letter reporting renders and shown on the difficulty's "
    "page. Registering again corrects it. 403 for anyone else, 409 when no ministry holds "
    "the difficulty.",
)
async def post_letter(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                      body: LetterIn) -> Any:
    accepted = await usecases.register_letter(ix, who, difficulty_id, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@api.get(
    "/v1/difficulties/{difficulty_id}",
    response_model=DifficultyOut,
    responses=responses(401, 403, 404, 429),
    tags=["agencies"],
    summary="Read a difficulty assigned to the caller",
    description="Authenticated by an agency's, member's or operator's bearer token. Who "
    "reads it: the agencies and the member it is assigned to, the province's permanent "
    "deputy, and an operator of its province. The business's contact person (name, "
    "phone, e-mail) is shown to the lead agency and the permanent deputy only; the "
    "others get `contact: null`, as in their tasks on the agency topics.",
)
async def read_difficulty(ix: Service, who: Caller, difficulty_id: uuid.UUID) -> Any:
    found = await usecases.read_difficulty(ix, who, difficulty_id)
    return JSONResponse(found.model_dump(mode="json"))


@api.post(
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
async def post_member_report(ix: Service, who: Caller, body: MemberReportIn) -> Any:
    accepted = await usecases.submit_member_report(ix, who, body)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


IMPORT_DESCRIPTION = """\
For the task force entering difficulties collected at a conference or by phone: a
member's or an operator's bearer token is required (anonymous import would be a spam
vector; agencies answer, they do not file). The body is a CSV file, UTF-8 (a BOM is
tolerated), either as the whole `text/csv` request body or as the `file` field of a
multipart upload; at most THAOGO_INTAKE_MAX_IMPORT_ROWS data rows (10,000 by default)
and the import size limit (THAOGO_INTAKE_MAX_IMPORT_BYTES, 20 MiB by default; 413 above
either).

The header row names the columns: the API's field names (`tax_code`, `contact.name` or
`contact_name`, ...) or their Vietnamese headers (`Mã số thuế`, `Tên doanh nghiệp`,
`Tỉnh/Thành phố`, `Loại khu`, `Tên khu`, `Lĩnh vực`, `Loại phản ánh`, `Tiêu đề`,
`Nội dung`, `Mức độ`, `Người liên hệ`, `Điện thoại`, `Email`, `Số lao động`,
`Ngành nghề`, `Phường/Xã`, `Quận/Huyện`, `Kênh tiếp nhận`), matched without diacritics
or case. Closed-list cells take the code or its label (`KCN` or `Khu công nghiệp`).
An import-only column, `received_on` (`Ngày tiếp nhận`, dd/mm/yyyy or yyyy-mm-dd), dates
a difficulty the task force took in before it was imported (its register kept before
thaogo): it is received at 08:00 local that day, so it is routed and its deadlines run
from then (and it may already be overdue); today's date means now. A date after today or
before the task force took office is refused (field `received_on`).

Each row is validated exactly like a single submission; a member imports for their own
task force (an operator whose token names a province, for that province), and a row of
another province is refused (field `province`). The answer lists every non-blank
row by its spreadsheet number (the header is row 1): accepted with its id and tracking
code, or refused with each field and reason (Vietnamese or English by Accept-Language).
Accepted rows and their events are committed in one transaction before the answer.
A whole-file problem (encoding, unknown or missing column) is a 422 naming `file`, and
nothing is imported.

`Idempotency-Key` is supported: the same key and file answer the same (nothing new is
created); the same key with another file is a 409.
"""


@api.post(
    IMPORT_PATH,
    status_code=200,
    response_model=ImportResult,
    responses=responses(401, 403, 409, 413, 415, 422, 429),
    tags=["members"],
    summary="Import difficulties from a CSV file (task-force members and operators)",
    description=IMPORT_DESCRIPTION,
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }},
    }}},
)
async def import_csv(ix: Service, who: Caller, request: Request,
                     idempotency_key: IdempotencyKey = None) -> Any:
    lang = language(request.headers)
    usecases.check_may_import(ix, who)
    data = await _csv_bytes(request)
    if isinstance(data, Problem):
        ix.metrics.refused(data.field, data.kind)
        return refuse_all([data], lang, 415 if data.field == "Content-Type" else 422)
    outcome = await usecases.import_difficulties(ix, who, data,
                                                 idempotency_key=idempotency_key, lang=lang)
    return answer(outcome, lang)


@api.get(
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
async def member_week(ix: Service, who: Caller, request: Request) -> Any:
    week = await usecases.member_week(ix, who, language(request.headers))
    return JSONResponse(week.model_dump(mode="json"))


ATTACH_DESCRIPTION = """\
For an agency's (or member's) own system: up to THAOGO_INTAKE_MAX_ATTACHMENTS files (5 by
default) in the `files` field of a multipart form, each at most
THAOGO_INTAKE_MAX_ATTACHMENT_BYTES (10 MiB by default; 413 naming `files` above it). Only
PDF documents and PNG, JPEG or WebP images are taken, judged by the file's first bytes,
never by its declared type or name (415 naming `files` otherwise). Whoever is on the case
attaches (its lead, a co-handler, the assigned member, the permanent deputy; 403
otherwise); the files stay with the case, read by the people on it. `public_answer=true`
attaches them to the public answer already given, for the business to read on its
tracking page: the lead or the permanent deputy only, once the difficulty has a
resolution (409 naming `public_answer` before). Recorded in the difficulty's history;
the events carry each file's id, type, size and SHA-256, never its bytes or name.
"""


@api.post(
    "/v1/difficulties/{difficulty_id}/attachments",
    status_code=202,
    response_model=AttachmentsAccepted,
    responses=responses(401, 403, 404, 409, 413, 415, 422, 429),
    tags=["agencies"],
    summary="Attach documents (PDF, images) to a difficulty",
    description=ATTACH_DESCRIPTION,
    openapi_extra={"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["files"],
            "properties": {"files": {"type": "array", "maxItems": 5,
                                     "items": {"type": "string", "format": "binary"}},
                           "public_answer": {"type": "boolean", "default": False}},
        }},
    }}},
)
async def post_attachments(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                           request: Request) -> Any:
    form = await multipart(ix, request)
    files = attachments.check(ix, await attachments.sent_files(
        form, "files", max_bytes=ix.attachment_limits.max_bytes), "files")
    public = form.get("public_answer")
    accepted = await attachments.attach(ix, who, difficulty_id, files,
                                        public_answer=public in ("true", "1", "on"))
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


FILE_TYPES = {t: {"schema": {"type": "string", "format": "binary"}}
              for t in ("application/pdf", "image/png", "image/jpeg", "image/webp")}


@api.get(
    "/v1/difficulties/{difficulty_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"description": "The file, as attached", "content": FILE_TYPES},
               **responses(401, 404, 429)},
    tags=["agencies"],
    summary="Download a document attached to a difficulty",
    description="The file with its checked content type, as an attachment (never shown "
    "inline). For the people on the case only: its lead, co-handlers, the assigned member, "
    "the permanent deputy and the head of its province; anyone else gets the 404 of a "
    "file that does not exist.",
)
async def get_attachment(ix: Service, who: Caller, difficulty_id: uuid.UUID,
                         attachment_id: uuid.UUID) -> Response:
    return file_response(await attachments.download(ix, who, difficulty_id, attachment_id))


def file_response(d: attachments.Download) -> Response:
    """A kept file: its own type, saved rather than shown, never sniffed, never cached
    by a shared cache."""
    return Response(d.content, media_type=d.content_type, headers={
        "Content-Disposition": logic.content_disposition(d.file_name),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


async def multipart(ix: Intake, request: Request, *, fields: int = 10) -> FormData:
    """The multipart form of a request carrying files: one more file than the limit is
    parsed, so that too many are refused by the rule that counts them (naming `files`)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise Refusal(415, "Content-Type", "send the files as multipart/form-data",
                      "gửi tệp dưới dạng multipart/form-data")
    try:
        return await request.form(max_files=ix.attachment_limits.max_files + 1,
                                  max_fields=fields)
    except BodyTooLarge:
        raise
    except MultiPartException as e:
        too_many = "too many files" in str(e).lower()
        ix.metrics.refused("files", "too_many" if too_many else "invalid")
        if too_many:
            n = ix.attachment_limits.max_files
            raise Refusal(422, "files", f"at most {n} files may be attached at once",
                          f"chỉ được đính kèm tối đa {n} tệp mỗi lần") from None
        raise Refusal(422, "files", "the multipart body could not be read",
                      "không đọc được nội dung multipart") from None
    except (StarletteHTTPException, ValueError, KeyError):
        raise Refusal(422, "files", "the multipart body could not be read",
                      "không đọc được nội dung multipart") from None


CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"})


async def _csv_bytes(request: Request) -> bytes | Problem:
    """The CSV file of an import: the body itself, or the `file` part of a multipart form."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in CSV_TYPES:
        return await request.body()
    if ctype != "multipart/form-data":
        return Problem("Content-Type", "content_type",
                       "send the CSV file as text/csv or as the `file` field of "
                       "multipart/form-data",
                       "gửi tệp CSV với Content-Type text/csv hoặc trường `file` của "
                       "multipart/form-data")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except BodyTooLarge:
        raise
    except (StarletteHTTPException, MultiPartException, ValueError, KeyError):
        return Problem("file", "file", "the multipart body could not be read",
                       "không đọc được nội dung multipart")
    upload = form.get("file")
    if isinstance(upload, StarletteUploadFile):
        return await upload.read()
    if isinstance(upload, str) and upload:
        return upload.encode()
    return Problem("file", "missing", "a CSV file is expected in the `file` field",
                   "cần tệp CSV trong trường `file`")
