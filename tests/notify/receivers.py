"""Real receivers for notify's tests: an SMTP server (aiosmtpd) and an HTTP server
(uvicorn + starlette) on free local ports, recording what actually arrived."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from thaogo.embedded import free_port


@dataclass
class SmtpSink:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.raw.append(bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    """An SMTP server on a free port (aiosmtpd runs it in a thread of its own)."""
    sink = SmtpSink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield sink, port
    finally:
        ctl.stop()


@contextlib.asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[SmtpSink, int]]:
    with smtp_sink() as served:
        yield served


@dataclass
class HttpRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    requests: list[HttpRequest] = field(default_factory=list)
    # path -> status codes to answer first (then 200): to make deliveries fail
    fail_first: dict[str, list[int]] = field(default_factory=dict)
    zalo_answer: dict[str, Any] = field(default_factory=lambda: {"error": 0, "message": "Success"})

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        queue = self.fail_first.get(path)
        if queue:
            return Response(status_code=queue.pop(0))
        self.requests.append(HttpRequest(path, {k.lower(): v for k, v in request.headers.items()},
                                         body))
        if path.startswith("/zalo"):
            return JSONResponse(self.zalo_answer)
        return JSONResponse({"ok": True})


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free local port, in this event loop: its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event for "listening"; poll its flag
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[tuple[HttpSink, str]]:
    sink = HttpSink()
    async with serving(Starlette(routes=[Route("/{path:path}", sink.endpoint,
                                               methods=["POST"])])) as base:
        yield sink, base
