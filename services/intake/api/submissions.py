"""Where difficulties come in: a business's submission, the task force's CSV import, and
the vocabulary both take."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.intake import usecases
from services.intake.api.common import Service, answer
from services.intake.models import (
    Accepted,
    DifficultyIn,
    IdempotencyKey,
    ImportResult,
    Vocabulary,
    vocabulary,
)
from shared.errors import Problem, language, refuse_all, responses
from shared.http import BodyTooLarge
from shared.identity import SignedIn

IMPORT_PATH = "/v1/difficulties/import"

router = APIRouter()


@router.get("/v1/vocabulary", response_model=Vocabulary, tags=["difficulties"],
            summary="Categories, zone types, kinds, urgencies and statuses with vi/en labels",
            responses=responses(429))
async def get_vocabulary() -> Vocabulary:
    return vocabulary()


@router.post(
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


@router.post(
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
async def import_csv(ix: Service, who: SignedIn, request: Request,
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
