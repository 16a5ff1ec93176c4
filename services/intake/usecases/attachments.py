"""Attachments (#20 item 10): the files a request carries, checked and kept with the case;
an agency's own upload; a file read back by the people on the case or by its business.

The bytes stay in intake's database. Events carry what a file is (id, type, size, hash,
public) so that the pages can list it; its name and bytes never travel on a topic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from starlette.datastructures import FormData, UploadFile

from services.intake import logic, store
from services.intake.models import AttachmentsAccepted
from services.intake.usecases.context import (
    ACTOR_KINDS,
    NO_SUCH_DIFFICULTY,
    SOURCE,
    Intake,
    standing,
)
from shared import auth, vn
from shared.errors import Refusal
from shared.events import ActorKind, new_envelope

# Whatever is wrong (no such file, another case's, a wrong pair of codes): one answer,
# so that no one learns that a file exists.
NO_SUCH_ATTACHMENT = Refusal(404, "attachment_id", "no such attachment",
                             "không có tệp đính kèm này")


@dataclass(frozen=True, slots=True)
class Download:
    file_name: str
    content_type: str
    content: bytes


async def sent_files(form: FormData, field: str, *, max_bytes: int) -> list[logic.Sent]:
    """The files of a multipart field, each read up to one byte past the limit (the
    body's own limit has bounded the request already)."""
    out = []
    for value in form.getlist(field):
        if isinstance(value, UploadFile):
            out.append(logic.Sent(value.filename or "", await value.read(max_bytes + 1)))
        elif isinstance(value, str) and value:
            # A text where a file belongs is a file of no type we take.
            out.append(logic.Sent("", value.encode()[:max_bytes + 1]))
    return out


def check(ix: Intake, sent: Sequence[logic.Sent], field: str) -> list[logic.CheckedFile]:
    """The files of one request as kept; a Refusal naming `field` otherwise."""
    s = ix.attachment_limits
    try:
        return logic.check_files(sent, field=field, max_files=s.max_files,
                                 max_bytes=s.max_bytes)
    except logic.AttachmentRefused as e:
        ix.metrics.refused(e.field, e.kind)
        raise Refusal(e.status, e.field, e.en, e.vi) from None


async def attach(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                 files: Sequence[logic.CheckedFile], *, public_answer: bool
                 ) -> AttachmentsAccepted:
    """An agency's (or member's) files on a case it is on, recorded as an update of their
    own in the history (no status, no step) so that the audit chain says who attached
    what. `public_answer`: attached to the public answer already given, for the business
    to read; only the lead or the permanent deputy, and only once it is given."""
    if not files:
        ix.metrics.refused("files", "missing")
        raise Refusal(422, "files", "attach at least one file", "cần đính kèm ít nhất một tệp")
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
        if state is None:
            raise NO_SUCH_DIFFICULTY
        _, _, acting = await standing(ix, conn, who, state)
        if acting.standing not in logic.ON_THE_CASE:
            ix.metrics.auth_failures.labels("not_assigned").inc()
            raise Refusal(403, "difficulty_id",
                          "this difficulty is not assigned to your agency or to you",
                          "phản ánh này không được giao cho cơ quan/thành viên của bạn")
        if public_answer:
            try:
                logic.check_may_resolve(acting)
            except logic.StatusForbidden as e:
                ix.metrics.auth_failures.labels("not_allowed_for_role").inc()
                raise Refusal(403, "public_answer", e.en, e.vi) from None
            if not await store.has_public_answer(conn, difficulty_id=difficulty_id):
                ix.metrics.refused("public_answer", "conflict")
                raise Refusal(409, "public_answer",
                              "the difficulty has no public answer yet: attach the files "
                              "with the resolution, or after it",
                              "phản ánh chưa có câu trả lời công khai: đính kèm tệp cùng "
                              "kết quả giải quyết hoặc sau đó")
        now = datetime.now(UTC)
        event = new_envelope(logic.build_status(
            difficulty_id=difficulty_id, province_code=state.province_code, status=None,
            actor_kind=ACTOR_KINDS[who.kind], actor_id=who.subject_id, assignment_id=None,
            note=None, now=now, attachments=[f.ref(public=public_answer) for f in files]),
            source=SOURCE)
        await keep(conn, event.data.difficulty_id, event.data.status_id, files,
                   by_kind=ACTOR_KINDS[who.kind], by_id=who.subject_id,
                   public=public_answer, at=now)
        await store.record_status(conn, event=event)
    return AttachmentsAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                               attachments=[f.ref(public=public_answer) for f in files])


async def keep(conn: asyncpg.Connection, difficulty_id: uuid.UUID, status_id: uuid.UUID | None,
               files: Sequence[logic.CheckedFile], *, by_kind: ActorKind, by_id: str,
               public: bool, at: datetime) -> None:
    if files:
        await store.insert_attachments(conn, difficulty_id=difficulty_id, status_id=status_id,
                                       files=files, by_kind=by_kind.value, by_id=by_id,
                                       public=public, at=at)


async def download(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                   attachment_id: uuid.UUID) -> Download:
    """A file for someone on its case (the lead, co-handlers, the assigned member, the
    permanent deputy, the head of its province); NO_SUCH_ATTACHMENT for anyone else."""
    async with ix.db().acquire() as conn:
        row = await store.attachment(conn, attachment_id=attachment_id)
        if row is None or row["difficulty_id"] != difficulty_id:
            raise NO_SUCH_ATTACHMENT
        found = await store.difficulty(conn, difficulty_id=difficulty_id)
        if found is None:
            raise NO_SUCH_ATTACHMENT
        cfg, _, acting = await standing(ix, conn, who, found[0])
    head = (cfg is not None and who.kind is auth.TokenKind.AGENCY
            and who.subject_id == cfg.rules.head)
    if not logic.may_download(acting, head_of_its_province=head):
        ix.metrics.auth_failures.labels("not_assigned").inc()
        raise NO_SUCH_ATTACHMENT
    return Download(row["file_name"], row["content_type"], bytes(row["content"]))


async def download_tracked(ix: Intake, *, tracking_code: str, tax_code: str,
                           attachment_id: uuid.UUID) -> Download:
    """A file for the business, by its two codes: its own, or one of the public answer."""
    try:
        mst = vn.normalize_tax_code(tax_code)
    except ValueError:
        raise NO_SUCH_ATTACHMENT from None
    async with ix.db().acquire() as conn:
        row = await store.attachment(conn, attachment_id=attachment_id)
    if (row is None or row["tracking_code"] != tracking_code.upper() or row["tax_code"] != mst
            or not logic.business_may_download(
                public=row["public"], by_business=row["attached_by_kind"] == "business")):
        ix.metrics.refused("code", "not_found")
        raise NO_SUCH_ATTACHMENT
    return Download(row["file_name"], row["content_type"], bytes(row["content"]))
