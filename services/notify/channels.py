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

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any, Protocol

import aiosmtplib
import asyncpg
import httpx

from services.notify import store
from services.notify.logic import tracking_id

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


# --- Zalo Notification Service (template messages to businesses) ------------------------

# ZNS answers that heal with a new access token (expired or revoked): refreshed and tried
# again once. Those that will not heal by trying again: an invalid phone or template, or a
# phone without a Zalo account.
ZNS_TOKEN_ERRORS = frozenset({-124, -216})
ZNS_PERMANENT_ERRORS = frozenset({-108, -109, -111, -112, -118})


class ZaloAuthError(Exception):
    """Zalo refused to refresh the OA's token; the message says why (no token in it)."""


@dataclass
class ZnsTokens:
    """The Zalo OA's access token, from Zalo's OAuth v4 refresh flow: POST app_id,
    grant_type=refresh_token and the refresh token (form-encoded), the app's secret key in
    the `secret_key` header; the answer holds a new access token (with its lifetime) and a
    new refresh token, the old one spent. Both are written to notify's database
    (`zalo_tokens`) in the refresh's transaction, under the row's lock, so that replicas
    and restarts share them and never spend a refresh token twice; the configured refresh
    token only seeds the row. Should Zalo answer and that transaction fail, the new refresh
    token is lost with it: an operator authorises the app again and deletes the row."""

    client: httpx.AsyncClient
    pool: asyncpg.Pool
    oauth_url: str
    app_id: str | None
    secret_key: str | None
    seed_refresh_token: str | None
    timeout_s: float = 15.0
    # A token is used while it has more than this left; else it is refreshed first.
    margin: timedelta = timedelta(minutes=5)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def of(cls, s: Any, *, client: httpx.AsyncClient, pool: asyncpg.Pool) -> ZnsTokens:
        """From notify's settings."""
        return cls(client=client, pool=pool, oauth_url=s.zalo_oauth_url,
                   app_id=s.zalo_app_id,
                   secret_key=s.zalo_secret_key.get_secret_value() if s.zalo_secret_key
                   else None,
                   seed_refresh_token=s.zalo_refresh_token.get_secret_value()
                   if s.zalo_refresh_token else None, timeout_s=s.zalo_timeout_s)

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.secret_key and self.seed_refresh_token)

    async def access_token(self) -> str:
        assert self.app_id and self.seed_refresh_token
        async with self.pool.acquire() as conn:
            t = await store.zalo_tokens(conn, app_id=self.app_id,
                                        seed_refresh_token=self.seed_refresh_token)
        if t.access_token and t.expires_at and t.expires_at > self.now() + self.margin:
            return t.access_token
        return await self.refresh(stale=t.access_token)

    async def refresh(self, *, stale: str | None) -> str:
        """A new access token, unless another dispatcher refreshed since `stale` was read
        (then its token: a second refresh would spend the refresh token it just got)."""
        assert self.app_id and self.seed_refresh_token and self.secret_key
        async with self._lock, self.pool.acquire() as conn, conn.transaction():
            t = await store.zalo_tokens(conn, app_id=self.app_id,
                                        seed_refresh_token=self.seed_refresh_token, lock=True)
            if (t.access_token and t.access_token != stale and t.expires_at
                    and t.expires_at > self.now()):
                return t.access_token
            r = await self.client.post(
                self.oauth_url, timeout=self.timeout_s, headers={"secret_key": self.secret_key},
                data={"app_id": self.app_id, "grant_type": "refresh_token",
                      "refresh_token": t.refresh_token})
            try:
                body = r.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict) or not body.get("access_token"):
                what = body.get("error") if isinstance(body, dict) else None
                raise ZaloAuthError(f"zalo oauth {r.status_code} error {what}")
            try:
                lifetime = timedelta(seconds=int(body.get("expires_in") or 0))
            except (TypeError, ValueError):
                lifetime = timedelta(0)  # unknown: refreshed again before the next use
            await store.store_zalo_tokens(conn, app_id=self.app_id, tokens=store.ZaloTokens(
                access_token=str(body["access_token"]),
                refresh_token=str(body.get("refresh_token") or t.refresh_token),
                expires_at=self.now() + lifetime))
            return str(body["access_token"])


@dataclass
class ZnsChannel:
    """A ZNS template message (POST {phone, template_id, template_data, tracking_id},
    the OA's access token in the `access_token` header); the template and its data are in
    the message's payload (logic.business_messages). An access token Zalo says is invalid
    or expired is refreshed and the message tried once more."""

    client: httpx.AsyncClient
    api_url: str
    tokens: ZnsTokens
    timeout_s: float = 15.0
    name: str = "zns"

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if not self.tokens.configured:
            return DeliveryResult.failed("no Zalo app configured for ZNS", retryable=False)
        body = {"phone": message.address, "template_id": message.data.get("template_id"),
                "template_data": message.data.get("template_data") or {},
                "tracking_id": tracking_id(message.key)}
        try:
            token = await self.tokens.access_token()
            result, expired = await self._post(body, token)
            if expired:
                result, _ = await self._post(body, await self.tokens.refresh(stale=token))
        except ZaloAuthError as e:
            return DeliveryResult.failed(str(e))
        except httpx.HTTPError as e:
            return DeliveryResult.failed(f"zns: {type(e).__name__}")
        return result

    async def _post(self, body: dict[str, Any], token: str) -> tuple[DeliveryResult, bool]:
        """The result, and whether the access token was refused."""
        r = await self.client.post(self.api_url, json=body, headers={"access_token": token},
                                   timeout=self.timeout_s)
        if not 200 <= r.status_code < 300:
            return _http_result(r.status_code, "zns"), False
        try:
            error = int(r.json().get("error", 0))
        except (ValueError, AttributeError, TypeError):
            return DeliveryResult.failed("zns: unreadable answer"), False
        if error == 0:
            return DeliveryResult.sent("zns 0"), False
        return (DeliveryResult.failed(f"zns error {error}",
                                      retryable=error not in ZNS_PERMANENT_ERRORS),
                error in ZNS_TOKEN_ERRORS)


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
    "ZaloAuthError",
    "ZaloChannel",
    "ZnsChannel",
    "ZnsTokens",
    "build_email",
    "sign",
    "verify_signature",
]
