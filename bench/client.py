"""The steady-rate generators' HTTP client (#24 items 3 and 4): HTTP/1.1 over asyncio's
streams, keep-alive, a connection an answer in flight.

httpx was the bound of the steady-rate runs, not the stack. py-spy on the generator at
100/s offered (2026-12-07): 53% of its samples in httpcore's
`AsyncConnectionPool._assign_requests_to_connections`, which on every request and every
answer walks every connection of the pool (`has_expired` asks the socket for its peer
each time) and every queued request; and a few % in `current_async_library`, which tries
`import sniffio` on every lock and event it sets up and, sniffio not being installed,
searches the import path each time. The generator fell behind its schedule (32/s of
the 100 asked, sends up to 64 s late), its queue grew, and the walk with it.

Here a request takes an idle connection or opens one: it never waits for a connection
(the offer stays open-loop), and what it costs is one write, one read of the head and
one of the body. It speaks only what the services answer: a status line, headers, and a
body of Content-Length bytes or chunked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

# Uvicorn closes a connection idle for 5 s (its keep-alive timeout): one idle for longer
# than this is dropped rather than reused, so that a request never meets one being closed.
IDLE_S = 2.0


class NoAnswer(Exception):
    """The connection failed or timed out before a whole answer came."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class Client:
    """Requests to one `base_url` (http://host:port)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._head = f"Host: {parts.netloc}\r\n"
        self._idle: list[_Connection] = []
        self.opened = 0  # connections opened in all: what an open loop needed

    async def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None
                   ) -> Answer:
        return await self.request("POST", path, body, headers)

    async def get(self, path: str, params: Mapping[str, str] | None = None,
                  headers: Mapping[str, str] | None = None) -> Answer:
        return await self.request("GET", f"{path}?{urlencode(params)}" if params else path,
                                  b"", headers)

    async def request(self, method: str, target: str, body: bytes = b"",
                      headers: Mapping[str, str] | None = None) -> Answer:
        head = (f"{method} {target} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n"
                "Content-Type: application/json\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n")
        conn = await self._connection()
        try:
            async with asyncio.timeout(self.timeout):
                conn.writer.write(head.encode() + body)
                answer, keep = await _read(conn.reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError, ValueError) as e:
            conn.close()
            raise NoAnswer(f"{method} {target}: {type(e).__name__}") from e
        if keep:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return answer

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # the most recently used: warm, and the rest expire
            if now - conn.idle_since < IDLE_S:
                return conn
            conn.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout)
        except (OSError, TimeoutError) as e:
            raise NoAnswer(f"connect: {type(e).__name__}") from e
        self.opened += 1
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """One answer; and whether the connection may carry another."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    fields = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # no trailers are sent: the empty line
        body = b"".join(chunks)
    else:
        body = b""
    return Answer(status, body), fields.get("connection", "").lower() != "close"
