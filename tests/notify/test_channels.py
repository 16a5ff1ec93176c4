"""Channels against real servers: an SMTP server and an HTTP server started here."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import pytest

from services.notify.channels import (
    EmailChannel,
    OutgoingMessage,
    WebhookChannel,
    ZaloChannel,
    verify_signature,
)
from services.notify.logic import ASSIGNMENT, render
from tests.notify.receivers import http_server, smtp_server

pytestmark = [pytest.mark.e2e]

SUBJECT = "[thaogo] Giao xử lý hồ sơ TG-ĐẶC-BIỆT: nguyên liệu, Khu công nghiệp"


def message(address: str, *, secret_env: str | None = None) -> OutgoingMessage:
    r = render(ASSIGNMENT, {"tracking_code": "TG-ABC123", "role": "lead",
                            "category": "raw_materials", "reason": "Khu công nghiệp → Ban QL"})
    return OutgoingMessage(key="assignment:a1:binh-duong.bql-kcn:email", kind=ASSIGNMENT,
                           recipient_id="binh-duong.bql-kcn", address=address, subject=SUBJECT,
                           text=r.text, html=r.html, secret_env=secret_env,
                           data={"tracking_code": "TG-ABC123"})


async def test_email_arrives_with_vietnamese_subject_text_and_html() -> None:
    async with smtp_server() as (sink, port):
        ch = EmailChannel(host="127.0.0.1", port=port, sender="Tổ công tác <tct@example.vn>",
                          starttls=False)
        result = await ch.send(message("bql-kcn@example.vn"))
        assert result.ok, result.detail
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert got["Subject"] == SUBJECT  # decoded back from RFC 2047
    head = sink.raw[0].split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head  # RFC 2047 encoded-words on the wire
    assert sink.envelopes[0][1] == ["bql-kcn@example.vn"]
    plain = got.get_body(("plain",))
    html = got.get_body(("html",))
    assert plain is not None and "TG-ABC123" in plain.get_content()
    assert html is not None and "Khu công nghiệp" in html.get_content()
    assert got["Message-ID"].startswith("<")


async def test_email_to_a_closed_port_is_a_retryable_failure() -> None:
    from thaogo.embedded import free_port

    ch = EmailChannel(host="127.0.0.1", port=free_port(), sender="t@example.vn", timeout_s=2)
    result = await ch.send(message("x@example.vn"))
    assert not result.ok and result.retryable
    assert "x@example.vn" not in result.detail


async def test_webhook_is_signed_and_receivers_can_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THAOGO_TEST_HOOK_SECRET", "s3cret-per-agency")
    async with http_server() as (sink, base), httpx.AsyncClient() as client:
        ch = WebhookChannel(client=client, default_secret="global")
        result = await ch.send(message(base + "/hook/bql", secret_env="THAOGO_TEST_HOOK_SECRET"))
        assert result.ok, result.detail
    req = sink.requests[0]
    assert req.headers["idempotency-key"] == "assignment:a1:binh-duong.bql-kcn:email"
    sig = req.headers["x-thaogo-signature"]
    t = req.headers["x-thaogo-timestamp"]
    assert sig.startswith(f"t={t},v1=")
    # The recipe of the docstring, by hand.
    expected = hmac.new(b"s3cret-per-agency", f"{t}.".encode() + req.body,
                        hashlib.sha256).hexdigest()
    assert sig.endswith(expected)
    assert verify_signature("s3cret-per-agency", sig, req.body)
    assert not verify_signature("global", sig, req.body)
    assert not verify_signature("s3cret-per-agency", sig, req.body + b" ")
    assert not verify_signature("s3cret-per-agency", sig, req.body, now=time.time() + 3600)
    assert req.json()["subject"] == SUBJECT


async def test_webhook_without_a_secret_is_not_sent_and_not_retried() -> None:
    async with http_server() as (sink, base), httpx.AsyncClient() as client:
        ch = WebhookChannel(client=client, default_secret=None)
        result = await ch.send(message(base + "/hook/x"))
    assert not result.ok and not result.retryable
    assert sink.requests == []


async def test_webhook_5xx_retryable_4xx_not() -> None:
    async with http_server() as (sink, base), httpx.AsyncClient() as client:
        sink.fail_first = {"/a": [503], "/b": [404]}
        ch = WebhookChannel(client=client, default_secret="k")
        r503 = await ch.send(message(base + "/a"))
        r404 = await ch.send(message(base + "/b"))
    assert not r503.ok and r503.retryable
    assert not r404.ok and not r404.retryable


async def test_zalo_posts_the_oa_message_with_the_access_token() -> None:
    async with http_server() as (sink, base), httpx.AsyncClient() as client:
        ch = ZaloChannel(client=client, api_url=base + "/zalo/v3.0/oa/message/cs",
                         access_token="tok-123")
        ok = await ch.send(message("zl-user-1"))
        sink.zalo_answer = {"error": -216, "message": "Access token is invalid"}
        bad = await ch.send(message("zl-user-1"))
    assert ok.ok and not bad.ok and bad.retryable
    req = sink.requests[0]
    assert req.headers["access_token"] == "tok-123"
    body = req.json()
    assert body["recipient"] == {"user_id": "zl-user-1"}
    assert body["message"]["text"].startswith(SUBJECT)
