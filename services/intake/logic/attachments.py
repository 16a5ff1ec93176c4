"""Attachments (#20 item 10): which files are taken, and who reads them. Pure rules.

A file's type is what its first bytes say it is (PDF, PNG, JPEG, WebP), never the type a
browser declared nor the end of its name: a renamed executable stays refused, and the
type served back with it is the one checked here."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from services.intake.logic.status import Acting, Standing
from shared.events import AttachmentRef

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg", WEBP: ".webp"}
FILE_NAME_MAX = 120


def sniff(data: bytes) -> str | None:
    """The content type the file's magic bytes name, or None for any other file."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


class AttachmentRefused(Exception):
    """A file (or the number of them) the rules refuse: its field, status and reasons."""

    def __init__(self, status: int, field: str, kind: str, en: str, vi: str) -> None:
        super().__init__(en)
        self.status = status
        self.field = field
        self.kind = kind  # the metric's reason label: too_many, too_large, content_type
        self.en = en
        self.vi = vi


@dataclass(frozen=True, slots=True)
class Sent:
    """One file as a request carried it: its name and its bytes (read up to one byte past
    the limit, so that a larger file is known to be larger without being read whole)."""

    file_name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class CheckedFile:
    attachment_id: uuid.UUID
    file_name: str
    content_type: str
    size: int
    sha256: str
    content: bytes

    def ref(self, *, public: bool) -> AttachmentRef:
        return AttachmentRef(attachment_id=self.attachment_id, content_type=self.content_type,
                             size=self.size, sha256=self.sha256, public=public)


def check_files(sent: Sequence[Sent], *, field: str, max_files: int, max_bytes: int
                ) -> list[CheckedFile]:
    """The files of one request (a submission, an answer, a resolution) as they will be
    kept; AttachmentRefused naming `field` for too many, one too large, empty or of a type
    not taken. A part with neither name nor bytes is a file input left empty: skipped."""
    given = [s for s in sent if s.content or s.file_name]
    if len(given) > max_files:
        raise AttachmentRefused(
            422, field, "too_many", f"at most {max_files} files may be attached at once",
            f"chỉ được đính kèm tối đa {max_files} tệp mỗi lần")
    out = []
    for s in given:
        if len(s.content) > max_bytes:
            raise AttachmentRefused(
                413, field, "too_large",
                f"a file is too large: at most {max_bytes // (1024 * 1024)} MB each",
                f"tệp quá lớn: tối đa {max_bytes // (1024 * 1024)} MB mỗi tệp")
        content_type = sniff(s.content)
        if content_type is None:
            raise AttachmentRefused(
                415, field, "content_type",
                "only PDF documents and PNG, JPEG or WebP images are taken (read from "
                "the file's content, not its name)",
                "chỉ nhận tài liệu PDF và ảnh PNG, JPEG hoặc WebP (xác định theo nội dung "
                "tệp, không theo tên tệp)")
        out.append(CheckedFile(
            attachment_id=uuid.uuid4(), file_name=clean_file_name(s.file_name, content_type),
            content_type=content_type, size=len(s.content),
            sha256=hashlib.sha256(s.content).hexdigest(), content=s.content))
    return out


def clean_file_name(name: str, content_type: str) -> str:
    """The name kept and offered back: its last path segment, without control characters,
    cut to FILE_NAME_MAX, ending as its checked type does (so a saved copy opens as what
    it is)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] != "C").strip(" .")
    ext = EXTENSIONS[content_type]
    stem = base[:-len(ext)] if base.lower().endswith(ext) else base
    if content_type == JPEG and stem.lower().endswith(".jpeg"):
        stem = stem[:-5]
    stem = stem[:FILE_NAME_MAX - len(ext)] or "tep-dinh-kem"
    return stem + ext


def content_disposition(file_name: str) -> str:
    """`attachment` with an ASCII fallback name and the UTF-8 one (RFC 6266, 5987)."""
    ascii_name = "".join(c for c in unicodedata.normalize("NFKD", file_name)
                         if c.isascii() and (c.isalnum() or c in "._- ")) or "file"
    return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(file_name)}'


# Who reads a case's files: the people on it. A member of the task force who is not
# assigned it, an operator, an agency of another case: as if the file did not exist.
ON_THE_CASE = frozenset({Standing.LEAD, Standing.CO_HANDLER, Standing.MEMBER,
                         Standing.PERMANENT_DEPUTY})


def may_download(acting: Acting, *, head_of_its_province: bool) -> bool:
    return acting.standing in ON_THE_CASE or head_of_its_province


def business_may_download(*, public: bool, by_business: bool) -> bool:
    """The business reads its own files and the agency's files of the public answer (a
    file is made public only with the answer or once it is given)."""
    return by_business or public
