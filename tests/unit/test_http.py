"""What every service's HTTP app shares (shared/http.py, shared/errors.py): the client
address rule behind proxies, the bounded body, and the one error format."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel

from services.router.settings import RouterSettings
from shared.http import RateRule, TokenBuckets, client_address, create_app, parse_networks
from shared.metrics import new_registry

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.7")


def scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"type": "http", "client": (peer, 40000), "headers": headers}


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    # Not from a proxy: whatever the header says is the client's own invention.
    assert client_address(scope("203.0.113.9", "198.51.100.1"), PROXIES) == "203.0.113.9"
    # Nothing trusted (the default): the header is never read.
    assert client_address(scope("10.1.2.3", "198.51.100.1"), ()) == "10.1.2.3"
    # From the ingress: the address it appended.
    assert client_address(scope("10.1.2.3", "198.51.100.1"), PROXIES) == "198.51.100.1"


def test_spoofed_left_most_entries_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1, 2.2.2.2"; the ingress appended what it saw.
    assert client_address(scope("10.1.2.3", "1.1.1.1, 2.2.2.2, 198.51.100.1"),
                          PROXIES) == "198.51.100.1"
    # Two proxies of ours in a row (a load balancer, then the ingress): skip both.
    assert client_address(scope("10.1.2.3", "6.6.6.6, 198.51.100.1, 192.168.1.7, 10.9.9.9"),
                          PROXIES) == "198.51.100.1"
    # Junk the client wrote is never reached past a real hop, and never used as a key.
    assert client_address(scope("10.1.2.3", "junk, 198.51.100.1"), PROXIES) == "198.51.100.1"
    assert client_address(scope("10.1.2.3", "10.0.0.5, not-an-ip"), PROXIES) == "10.1.2.3"
    # Only trusted hops: the furthest one.
    assert client_address(scope("10.1.2.3", "10.0.0.5"), PROXIES) == "10.0.0.5"
    # A trusted proxy that sent no header at all.
    assert client_address(scope("10.1.2.3"), PROXIES) == "10.1.2.3"
    # IPv6 clients, normalised so one client has one bucket.
    assert client_address(scope("10.1.2.3", "2001:DB8::0:1"), PROXIES) == "2001:db8::1"


def test_trusted_proxies_are_networks_refused_at_start_up() -> None:
    assert (ipaddress.ip_network("10.0.0.0/8"),
                       ipaddress.ip_network("192.168.1.7/32")) == PROXIES
    assert RouterSettings(trusted_proxies="").trusted_proxy_networks() == ()
    with pytest.raises(ValueError, match="ingress"):
        RouterSettings(trusted_proxies="10.0.0.0/8, ingress")


class Item(BaseModel):
    name: str


@contextlib.asynccontextmanager
async def _no_lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


async def _ready() -> dict[str, bool]:
    return {"database": True}


def app(**kw: Any) -> FastAPI:
    a = create_app(service="t", registry=new_registry("t"), lifespan=_no_lifespan,
                   readiness=_ready, title="t", max_body_bytes=4096, **kw)

    @a.post("/items")
    async def post_item(item: Item) -> Item:
        return item

    @a.get("/find")
    async def find(name: str = Query(max_length=10)) -> dict[str, str]:
        return {"name": name}

    return a


def client(a: FastAPI, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=a, client=(peer, 1234)),
                             base_url="http://t")


async def test_every_app_bounds_its_body_declared_or_chunked() -> None:
    async with client(app()) as c:
        r = await c.post("/items", content=b"x" * 5000, headers={"Accept-Language": "en"})
        assert r.status_code == 413
        assert r.json() == {"errors": [{"field": "body", "reason":
                                        "the request body is too large: at most 4096 bytes"}]}

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length
            for _ in range(100):
                yield b" " * 1024

        r = await c.post("/items", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "quá lớn" in r.json()["errors"][0]["reason"]
        assert len(r.content) < 300
        assert (await c.post("/items", json={"name": "ok"})).json() == {"name": "ok"}


async def test_refusals_never_echo_the_input() -> None:
    big = "x" * 3000
    async with client(app()) as c:
        for r in (await c.get("/find", params={"name": big}),
                  await c.post("/items", json={"name": 1, big: 1}),
                  await c.post("/items", content=big.encode(),
                               headers={"Content-Type": "application/json"})):
            assert r.status_code == 422
            assert len(r.content) < 1000, r.text[:200]
            assert "x" * 200 not in r.text
            assert set(r.json()) == {"errors"}
            assert all(set(e) == {"field", "reason"} for e in r.json()["errors"])


async def test_one_error_format_in_the_request_language() -> None:
    async with client(app()) as c:
        vi = await c.get("/nowhere")
        en = await c.get("/nowhere", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert vi.status_code == en.status_code == 404
        assert vi.json() == {"errors": [{"field": "path", "reason": "không tìm thấy"}]}
        assert en.json() == {"errors": [{"field": "path", "reason": "no such resource"}]}
        r = await c.get("/find", headers={"Accept-Language": "en"})
        assert r.status_code == 422
        assert r.json() == {"errors": [{"field": "name", "reason": "Field required"}]}
        r = await c.delete("/items")
        assert r.status_code == 405 and r.json()["errors"][0]["field"] == "method"


async def test_rate_rules_limit_by_client_address_behind_a_trusted_proxy() -> None:
    a = app(rate_limits=[RateRule("/items", TokenBuckets(60, 2), methods=frozenset({"POST"}))],
            trusted_proxies=PROXIES)
    async with client(a, peer="10.0.0.2") as ingress:
        def post(forwarded: str) -> Any:
            return ingress.post("/items", json={"name": "a"},
                                headers={"X-Forwarded-For": forwarded, "Accept-Language": "en"})

        assert [(await post("198.51.100.1")).status_code for _ in range(2)] == [200, 200]
        # Forging a left-most entry does not give the same client a fresh bucket.
        r = await post("9.9.9.9, 198.51.100.1")
        assert r.status_code == 429 and r.json()["errors"][0]["field"] == "client"
        assert int(r.headers["Retry-After"]) >= 1
        # Another client behind the same ingress has its own bucket.
        assert (await post("198.51.100.2")).status_code == 200
        # Routes and methods outside the rule, and probes, are not limited.
        assert (await ingress.get("/find", params={"name": "a"},
                                  headers={"X-Forwarded-For": "198.51.100.1"})).status_code == 200
        assert (await ingress.get("/healthz",
                                  headers={"X-Forwarded-For": "198.51.100.1"})).status_code == 200
