"""Delivery channels, each behind one interface: `async def send(message) -> DeliveryResult`.

A channel never raises for a delivery problem: it answers with a result that
says whether trying again may help (`retryable`), so the dispatcher alone
decides about retries and records every attempt. Results and logs carry no
address, token or secret: `detail` is safe to store and to log.

Webhook signatures (for receivers)
----------------------------------
Each webhook POST carries::

    X-Thaogo-Timestamp: <unix seconds>
    X-Thaogo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
    Idempotency-Key: <message key>

where the HMAC is computed with the shared secret over the bytes
``f"{t}.".encode() + body`` (the raw request body, exactly as received). To
verify: take ``t`` and ``v1`` from the signature header, recompute the HMAC
over ``t + "." + raw body``, compare in constant time, and refuse a timestamp
more than a few minutes away from your clock (replay protection). Then use
Idempotency-Key to ignore a message you already processed: delivery is at
least once. `verify_signature` below does exactly this and may be copied.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any, Protocol

import aiosmtplib
import httpx

log = logging.getLogger("thaogo.notify.channels")

SIGNATURE_HEADER = "X-Thaogo-Signature"
TIMESTAMP_HEADER = "X-Thaogo-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_S = 300


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One rendered message for one contact. `address` is personal data: never log it."""

    key: str
    kind: str
    recipient_id: str
    address: str
    subject: str
    text: str
    html: str
    secret_env: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    retryable: bool = True
    detail: str = ""  # safe to store and log: no address, no secret

    @classmethod
    def sent(cls, detail: str = "") -> DeliveryResult:
        return cls(ok=True, retryable=False, detail=detail)

    @classmethod
    def failed(cls, detail: str, *, retryable: bool = True) -> DeliveryResult:
        return cls(ok=False, retryable=retryable, detail=detail[:500])


class Channel(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> DeliveryResult: ...


# --- e-mail -------------------------------------------------------------------------


def message_id(key: str, domain: str = "thaogo.invalid") -> str:
    """A Message-ID derived from the message key: a resend after a crash carries the
    same id, so mail clients and archives can recognise the duplicate."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(message: OutgoingMessage, *, sender: str) -> EmailMessage:
    # The SMTP policy with utf8=False encodes a Vietnamese subject as RFC 2047
    # encoded-words, which every server and client accepts; bodies go as UTF-8.
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    msg["To"] = Address(addr_spec=message.address)
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(message.key)
    msg["X-Thaogo-Key"] = message.key
    msg.set_content(message.text, charset="utf-8")
    msg.add_alternative(message.html, subtype="html", charset="utf-8")
    return msg


@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool | None = None  # None: when offered
    timeout_s: float = 30.0
    name: str = "email"

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        msg = build_email(message, sender=self.sender)
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            # A refused address will be refused again: fix the configuration instead.
            codes = sorted({r.code for r in e.recipients})
            return DeliveryResult.failed(f"recipient refused ({codes})", retryable=False)
        except aiosmtplib.SMTPResponseException as e:
            return DeliveryResult.failed(f"smtp {e.code}", retryable=e.code < 500 or e.code >= 600)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            return DeliveryResult.failed(f"smtp: {type(e).__name__}")
        return DeliveryResult.sent()


# --- webhook ------------------------------------------------------------------------


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The X-Thaogo-Signature value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: bytes | str,
    signature_header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True if `signature_header` (X-Thaogo-Signature) signs the raw `body` with `secret`
    and its timestamp is within `tolerance_s` of `now` (default: the current time)."""
    key = secret.encode() if isinstance(secret, str) else secret
    parts: dict[str, str] = {}
    for item in signature_header.split(","):
        k, sep, v = item.strip().partition("=")
        if sep:
            parts.setdefault(k, v)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or not v1:
        return False
    current = time.time() if now is None else now
    if abs(current - int(t)) > tolerance_s:
        return False
    expected = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


def webhook_body(message: OutgoingMessage) -> bytes:
    return json.dumps(
        {
            "key": message.key,
            "kind": message.kind,
            "recipient_id": message.recipient_id,
            "subject": message.subject,
            "text": message.text,
            "data": dict(message.data),
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def _http_result(status: int, what: str) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult.sent(f"{what} {status}")
    # 408, 425, 429 and 5xx are the receiver's passing trouble; other 4xx will not heal.
    retryable = status >= 500 or status in (408, 425, 429)
    return DeliveryResult.failed(f"{what} {status}", retryable=retryable)


@dataclass
class WebhookChannel:
    client: httpx.AsyncClient
    default_secret: str | None = None
    env: Callable[[str], str | None] = os.environ.get
    clock: Callable[[], float] = time.time
    timeout_s: float = 15.0
    name: str = "webhook"

    def secret_for(self, message: OutgoingMessage) -> str | None:
        if message.secret_env:
            return self.env(message.secret_env) or None
        return self.default_secret

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        secret = self.secret_for(message)
        if not secret:
            # Never send unsigned: the receiver could not tell us from anyone else.
            return DeliveryResult.failed(
                f"no webhook secret (env {message.secret_env or 'THAOGO_NOTIFY_WEBHOOK_SECRET'})",
                retryable=False,
            )
        body = webhook_body(message)
        t = int(self.clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(secret.encode(), t, body),
            TIMESTAMP_HEADER: str(t),
            IDEMPOTENCY_HEADER: message.key,
        }
        try:
            r = await self.client.post(
                message.address, content=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.HTTPError as e:
            return DeliveryResult.failed(f"webhook: {type(e).__name__}")
        return _http_result(r.status_code, "webhook")


# --- Zalo Official Account -------------------------------------------------------------


@dataclass
class ZaloChannel:
    client: httpx.AsyncClient
    api_url: str
    access_token: str | None
    timeout_s: float = 15.0
    name: str = "zalo"

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if not self.access_token:
            return DeliveryResult.failed("no Zalo access token configured", retryable=False)
        # Zalo text messages are plain text; the subject leads so it shows in previews.
        body = {
            "recipient": {"user_id": message.address},
            "message": {"text": f"{message.subject}\n\n{message.text}"[:2000]},
        }
        try:
            r = await self.client.post(
                self.api_url,
                json=body,
                headers={"access_token": self.access_token},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as e:
            return DeliveryResult.failed(f"zalo: {type(e).__name__}")
        if not 200 <= r.status_code < 300:
            return _http_result(r.status_code, "zalo")
        # The OA API answers 200 with {"error": <code>, "message": ...}; 0 is success.
        try:
            error = int(r.json().get("error", 0))
        except (ValueError, AttributeError, TypeError):
            return DeliveryResult.failed("zalo: unreadable answer")
        if error != 0:
            # Token expiry and rate limits heal with time or an operator: keep trying
            # until the attempt limit.
            return DeliveryResult.failed(f"zalo error {error}")
        return DeliveryResult.sent("zalo 0")


# --- log --------------------------------------------------------------------------------


@dataclass
class LogChannel:
    """For recipients without another contact, and for development: a log line."""

    name: str = "log"

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        log.info(
            "notification",
            extra={"message_key": message.key, "kind": message.kind,
                   "recipient_id": message.recipient_id, "subject": message.subject},
        )
        return DeliveryResult.sent()


__all__ = [
    "Channel",
    "DeliveryResult",
    "EmailChannel",
    "LogChannel",
    "OutgoingMessage",
    "WebhookChannel",
    "ZaloChannel",
    "build_email",
    "sign",
    "verify_signature",
]
