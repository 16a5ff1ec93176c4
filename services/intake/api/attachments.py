"""Attachments (#20 item 10): documents attached to a difficulty and downloaded by the
people on it; the reading of a multipart form with files and the answer of a kept file,
which the workspace's pages use as well."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.intake import logic
from services.intake.api.common import Service
from services.intake.models import AttachmentsAccepted
from services.intake.usecases import Intake, attachments
from shared.errors import Refusal, responses
from shared.http import BodyTooLarge
from shared.identity import SignedIn

# The requests that may carry files (#20 item 10), whose bodies may be as large as their
# files (the body limit refuses anything larger before reading it).
ATTACHMENT_PATHS = (r"/v1/difficulties/[^/]+/attachments", r"/",
                    r"/workspace/act/difficulties/[^/]+/(resolution|step)", r"/track/answer")

router = APIRouter()

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


@router.post(
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
async def post_attachments(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
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


@router.get(
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
async def get_attachment(ix: Service, who: SignedIn, difficulty_id: uuid.UUID,
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
