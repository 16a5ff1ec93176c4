"""Attachments' pure rules (#20 item 10): the type read from the bytes, the limits, the
name kept, who reads a file, and the body limit for paths with a parameter."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
from starlette.types import Receive, Scope, Send

from services.intake.api import ATTACHMENT_PATHS
from services.intake.logic import (
    Acting,
    AttachmentRefused,
    Sent,
    Standing,
    business_may_download,
    check_files,
    clean_file_name,
    content_disposition,
    may_download,
    sniff,
)
from shared.events import AttachmentRef, DifficultyReceived
from shared.http import BodyLimit

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20


@pytest.mark.parametrize(("data", "expected"), [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"),
    (b"MZ\x90\x00 an executable", None), (b"<html><script>alert(1)</script>", None),
    (b"PK\x03\x04 a zip or docx", None), (b"%PD", None), (b"RIFF\x00\x00\x00\x00WAVE", None),
    (b"", None),
])
def test_the_type_is_read_from_the_bytes(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def limits(sent: list[Sent]) -> list:  # type: ignore[type-arg]
    return check_files(sent, field="files", max_files=5, max_bytes=1024)


def test_files_within_the_limits_are_kept_with_their_hash_and_checked_type() -> None:
    kept = limits([Sent("hoá đơn.PDF", PDF), Sent("ảnh.png", PNG)])
    assert [(f.file_name, f.content_type, f.size) for f in kept] == [
        ("hoá đơn.pdf", "application/pdf", len(PDF)), ("ảnh.png", "image/png", len(PNG))]
    assert kept[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert kept[0].attachment_id != kept[1].attachment_id
    ref = kept[0].ref(public=True)
    assert ref == AttachmentRef(attachment_id=kept[0].attachment_id,
                                content_type="application/pdf", size=len(PDF),
                                sha256=kept[0].sha256, public=True)


def test_the_declared_name_does_not_make_a_type() -> None:
    # A script named as a PDF is refused; a PDF named as a script is a PDF.
    with pytest.raises(AttachmentRefused) as e:
        limits([Sent("report.pdf", b"#!/bin/sh\nrm -rf /\n")])
    assert (e.value.status, e.value.field, e.value.kind) == (415, "files", "content_type")
    assert limits([Sent("run.sh", PDF)])[0].file_name == "run.sh.pdf"


def test_too_many_files_are_counted_as_sent() -> None:
    with pytest.raises(AttachmentRefused) as e:
        limits([Sent(f"{i}.pdf", PDF) for i in range(6)])
    assert (e.value.status, e.value.field, e.value.kind) == (422, "files", "too_many")
    # An empty file input sends one nameless empty part: not a file.
    assert len(limits([Sent(f"{i}.pdf", PDF) for i in range(5)] + [Sent("", b"")])) == 5
    assert limits([Sent("", b"")]) == []


def test_a_file_over_the_limit_is_refused_by_size() -> None:
    with pytest.raises(AttachmentRefused) as e:
        limits([Sent("big.pdf", PDF + b"0" * 1024)])
    assert (e.value.status, e.value.field, e.value.kind) == (413, "files", "too_large")
    assert limits([Sent("fits.pdf", PDF + b"0" * (1024 - len(PDF)))])[0].size == 1024


def test_an_empty_named_file_is_refused() -> None:
    with pytest.raises(AttachmentRefused):
        limits([Sent("empty.pdf", b"")])


@pytest.mark.parametrize(("name", "ctype", "kept"), [
    ("C:\\Users\\a\\giấy phép.pdf", "application/pdf", "giấy phép.pdf"),
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("ảnh.jpeg", "image/jpeg", "ảnh.jpg"),
    ("a\x00b\r\n.png", "image/png", "ab.png"),
    ("", "image/webp", "tep-dinh-kem.webp"),
    ("x" * 300 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
])
def test_the_name_kept_is_a_plain_name_ending_as_its_type(name: str, ctype: str,
                                                           kept: str) -> None:
    assert clean_file_name(name, ctype) == kept


def test_the_download_is_an_attachment_with_an_ascii_fallback() -> None:
    header = content_disposition('giấy "phép".pdf')
    assert header.startswith('attachment; filename="')
    assert header.isascii() and '"phép"' not in header
    assert "filename*=UTF-8''gi%E1%BA%A5y%20%22ph%C3%A9p%22.pdf" in header


@pytest.mark.parametrize(("standing", "head", "allowed"), [
    (Standing.LEAD, False, True), (Standing.CO_HANDLER, False, True),
    (Standing.MEMBER, False, True), (Standing.PERMANENT_DEPUTY, False, True),
    (Standing.OPERATOR, False, False), (Standing.OUTSIDER, False, False),
    (Standing.OUTSIDER, True, True),
])
def test_the_people_on_the_case_read_its_files(standing: Standing, head: bool,
                                               allowed: bool) -> None:
    assert may_download(Acting(standing, None), head_of_its_province=head) is allowed


def test_the_business_reads_its_own_files_and_the_public_answers() -> None:
    assert business_may_download(public=False, by_business=True)
    assert business_may_download(public=True, by_business=False)
    assert not business_may_download(public=False, by_business=False)


def test_events_before_attachments_still_decode() -> None:
    fields = DifficultyReceived.model_fields
    assert fields["attachments"].default_factory is not None
    with pytest.raises(ValueError):
        AttachmentRef(attachment_id=uuid.uuid4(), content_type="application/pdf", size=1,
                      sha256="not-a-hash")


def test_a_path_with_a_parameter_gets_its_own_body_limit() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not called")

    limit = BodyLimit(inner, default_limit=10, limits={"/v1/difficulties/import": 30},
                      patterns=[(re.compile(p), 20) for p in ATTACHMENT_PATHS])
    d = uuid.uuid4()
    assert limit.limit_for(f"/v1/difficulties/{d}/attachments") == 20
    assert limit.limit_for(f"/workspace/act/difficulties/{d}/resolution") == 20
    assert limit.limit_for(f"/workspace/act/difficulties/{d}/step") == 20
    assert limit.limit_for("/track/answer") == 20
    assert limit.limit_for("/") == 20
    assert limit.limit_for("/v1/difficulties/import") == 30
    # Not the others: a status, a letter, the JSON submission.
    assert limit.limit_for(f"/workspace/act/difficulties/{d}/status") == 10
    assert limit.limit_for(f"/v1/difficulties/{d}/attachments/{d}") == 10
    assert limit.limit_for("/v1/difficulties") == 10
