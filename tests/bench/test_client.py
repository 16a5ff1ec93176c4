"""bench/client.py, the steady-rate generators' HTTP client, against uvicorn serving a
small Starlette app: what it sends arrives whole, answers of either framing come back,
connections are reused while they may be, and a failure is a NoAnswer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bench.client import Client, NoAnswer
from tests.notify.receivers import serving
from thaogo.embedded import free_port

peers: list[tuple[str, int]] = []


async def echo(request: Request) -> Response:
    if request.client is not None:
        peers.append((request.client.host, request.client.port))
    return JSONResponse({"method": request.method, "query": dict(request.query_params),
                         "body": (await request.body()).decode(),
                         "token": request.headers.get("authorization")}, status_code=202)


async def chunked(_: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b'{"a": ', b"1}"):
            yield part

    return StreamingResponse(parts(), media_type="application/json")


async def closing(_: Request) -> Response:
    return JSONResponse({"ok": True}, headers={"Connection": "close"})


APP = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"]),
                        Route("/chunked", chunked), Route("/closing", closing)])


async def test_requests_arrive_whole_and_answers_come_back() -> None:
    peers.clear()
    async with serving(APP) as url, Client(url) as client:
        r = await client.post("/echo", "Hà Nội".encode(), {"Authorization": "Bearer x"})
        assert r.status == 202
        assert r.json() == {"method": "POST", "query": {}, "body": "Hà Nội",
                            "token": "Bearer x"}
        r = await client.get("/echo", {"code": "TG-1 2", "tax_code": "0101"})
        assert r.json()["query"] == {"code": "TG-1 2", "tax_code": "0101"}
        assert (await client.get("/chunked")).json() == {"a": 1}
        # One after another: one connection, kept alive.
        assert client.opened == 1 and len(set(peers)) == 1
        assert (await client.get("/closing")).json() == {"ok": True}
        await client.get("/echo")
        assert client.opened == 2  # the server closed the other after its answer


async def test_concurrent_requests_each_take_a_connection_of_their_own() -> None:
    async with serving(APP) as url, Client(url) as client:
        answers = await asyncio.gather(*(client.post("/echo", str(i).encode())
                                         for i in range(20)))
        assert sorted(int(a.json()["body"]) for a in answers) == list(range(20))
        assert client.opened == 20
        await client.get("/echo")
        assert client.opened == 20  # an idle one reused


async def test_no_server_is_no_answer() -> None:
    async with Client(f"http://127.0.0.1:{free_port()}", timeout=5) as client:
        with pytest.raises(NoAnswer):
            await client.get("/echo")
