"""ZNS template messages against a fake Zalo of the test's own (a double of the external
service, over real HTTP), the OA's tokens in a real PostgreSQL: the access token comes from
the OAuth v4 refresh flow, each refresh token works once and the new one is kept, and an
access token Zalo refuses is refreshed and the message tried once more."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.notify import store
from services.notify.channels import OutgoingMessage, ZnsChannel, ZnsTokens
from shared import db
from shared.service import migrations_dir
from tests.notify.receivers import serving

pytestmark = [pytest.mark.db]

APP_ID, SECRET, SEED = "1234567890", "app-secret-key", "refresh-0"


@dataclass
class FakeZalo:
    """Zalo's OAuth v4 token endpoint and ZNS's template endpoint, as documented."""

    refresh_tokens: set[str] = field(default_factory=lambda: {SEED})
    access_tokens: set[str] = field(default_factory=set)
    refreshes: list[dict[str, str]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # refresh tokens presented again
    n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def oauth(self, request: Request) -> JSONResponse:
        form = dict(await request.form())
        self.refreshes.append({k: str(v) for k, v in form.items()})
        assert request.headers.get("secret_key") == SECRET
        assert form.get("app_id") == APP_ID and form.get("grant_type") == "refresh_token"
        token = str(form.get("refresh_token"))
        if token not in self.refresh_tokens:
            self.refused.append(token)
            return JSONResponse({"error": -14014, "error_name": "Invalid refresh token"})
        self.refresh_tokens.discard(token)  # single-use
        i = next(self.n)
        self.access_tokens.add(f"access-{i}")
        self.refresh_tokens.add(f"refresh-{i}")
        return JSONResponse({"access_token": f"access-{i}", "refresh_token": f"refresh-{i}",
                             "expires_in": "90000"})

    async def template(self, request: Request) -> JSONResponse:
        if request.headers.get("access_token") not in self.access_tokens:
            return JSONResponse({"error": -124, "message": "Access token invalid"})
        self.sent.append(await request.json())
        return JSONResponse({"error": 0, "message": "Success", "data": {"msg_id": "m1"}})

    def expire(self) -> None:
        self.access_tokens.clear()


@contextlib.asynccontextmanager
async def fake_zalo() -> AsyncIterator[tuple[FakeZalo, str]]:
    fake = FakeZalo()
    app = Starlette(routes=[Route("/v4/oa/access_token", fake.oauth, methods=["POST"]),
                            Route("/message/template", fake.template, methods=["POST"])])
    async with serving(app) as base:
        yield fake, base


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[db.Pool]:
    p = await db.create_pool(database_url, schema="notify", max_size=4)
    async with p.acquire() as conn:
        await db.migrate(conn, schema="notify", folder=migrations_dir("notify"))
        await conn.execute("DELETE FROM zalo_tokens")
    try:
        yield p
    finally:
        await p.close()


def channel(client: httpx.AsyncClient, pool: db.Pool, base: str, *,
            seed: str = SEED) -> ZnsChannel:
    tokens = ZnsTokens(client=client, pool=pool, oauth_url=base + "/v4/oa/access_token",
                       app_id=APP_ID, secret_key=SECRET, seed_refresh_token=seed)
    return ZnsChannel(client=client, api_url=base + "/message/template", tokens=tokens)


def message(key: str = "business_resolved:d:s:zns") -> OutgoingMessage:
    return OutgoingMessage(
        key=key, kind="business_resolved", recipient_id="business", address="84912345678",
        subject="s", text="t", html="h",
        data={"template_id": "123456", "template_data": {"tracking_code": "TG-1"}})


async def stored(pool: db.Pool) -> tuple[str | None, str]:
    async with pool.acquire() as conn:
        t = await store.zalo_tokens(conn, app_id=APP_ID, seed_refresh_token="unused")
    return t.access_token, t.refresh_token


async def test_the_refresh_flow_gets_a_token_keeps_the_new_refresh_token_and_retries_once(
    pool: db.Pool,
) -> None:
    async with fake_zalo() as (fake, base), httpx.AsyncClient() as client:
        zns = channel(client, pool, base)
        r = await zns.send(message())
        assert r.ok, r.detail
        assert [x["refresh_token"] for x in fake.refreshes] == [SEED]
        assert await stored(pool) == ("access-1", "refresh-1")
        (body,) = fake.sent
        assert body["phone"] == "84912345678" and body["template_id"] == "123456"
        assert body["template_data"] == {"tracking_code": "TG-1"}
        assert body["tracking_id"] and len(body["tracking_id"]) <= 48

        # A token still valid is reused: no refresh.
        assert (await zns.send(message("k2"))).ok
        assert len(fake.refreshes) == 1

        # Zalo says the access token is no longer valid: refreshed with the kept refresh
        # token (the seed is spent), and the message tried once more.
        fake.expire()
        assert (await zns.send(message("k3"))).ok
        assert [x["refresh_token"] for x in fake.refreshes] == [SEED, "refresh-1"]
        assert await stored(pool) == ("access-2", "refresh-2")
        assert len(fake.sent) == 3 and fake.refused == []

        # A restart (a new channel, the settings' seed unchanged) uses the kept token; when
        # it must refresh, it spends the kept refresh token, never the seed again.
        again = channel(client, pool, base)
        fake.expire()
        assert (await again.send(message("k4"))).ok
        assert fake.refreshes[-1]["refresh_token"] == "refresh-2" and fake.refused == []

        # The spent refresh tokens are refused by Zalo, as the flow says.
        async with pool.acquire() as conn:
            await conn.execute("UPDATE zalo_tokens SET refresh_token = $1, access_token = NULL",
                               SEED)
        r = await again.send(message("k5"))
        assert not r.ok and r.retryable and "-14014" in r.detail
        assert SEED not in r.detail and "access-" not in r.detail
        assert fake.refused == [SEED]


async def test_two_dispatchers_refreshing_at_once_spend_the_refresh_token_once(
    pool: db.Pool,
) -> None:
    async with fake_zalo() as (fake, base), httpx.AsyncClient() as client:
        a, b = channel(client, pool, base), channel(client, pool, base)
        results = await asyncio.gather(a.send(message("a")), b.send(message("b")))
        assert all(r.ok for r in results), [r.detail for r in results]
        assert len(fake.refreshes) == 1 and fake.refused == []
        fake.expire()
        results = await asyncio.gather(a.send(message("c")), b.send(message("d")))
        assert all(r.ok for r in results), [r.detail for r in results]
        assert len(fake.refreshes) == 2 and fake.refused == []


async def test_without_the_app_configured_zns_fails_without_retrying(
    pool: db.Pool,
) -> None:
    async with fake_zalo() as (_, base), httpx.AsyncClient() as client:
        zns = channel(client, pool, base)
        zns.tokens.app_id = None
        r = await zns.send(message())
        assert not r.ok and not r.retryable
