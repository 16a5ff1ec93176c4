"""Who may do what: every HTTP endpoint of the four services, asked by every role, against
the four services running as real processes on one shared token registry.

The table below is the access policy. It must name every endpoint: one that appears in a
service (in its OpenAPI document or among its routes, e.g. an HTML page) without a row
here fails the test, so a new endpoint cannot ship without a decision about who may call
it. Each request carries a valid body, so that what is checked is the decision about the
caller and not the body's validation.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute

from shared import auth
from shared.calendar import week_window
from shared.provinces import ConfigHolder
from tests.conftest import Stack, wait_until
from tests.intake.conftest import submission

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.e2e, pytest.mark.timeout(240)]


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    BUSINESS = "business"  # its own tracking code and tax code
    BUSINESS_OTHER = "business-other"  # its tax code with someone else's tracking code
    MEMBER = "member"  # a task-force member with no assignment on the difficulty
    AGENCY = "agency"  # the agency the difficulty is assigned to (lead)
    OTHER_AGENCY = "other-agency"
    OPERATOR = "operator"
    REVOKED = "revoked"  # a member's token, revoked
    FORGED = "forged"  # a valid prefix, never issued


ROLES = tuple(Role)
NO_TOKEN = (Role.ANONYMOUS, Role.BUSINESS, Role.BUSINESS_OTHER)
BAD_TOKEN = (*NO_TOKEN, Role.REVOKED, Role.FORGED)


def everyone(status: int) -> dict[Role, int]:
    return dict.fromkeys(ROLES, status)


def only(allowed: dict[Role, int], *, others: int = 403) -> dict[Role, int]:
    """`allowed` answer as given; callers without a valid token 401; the rest `others`."""
    return {r: allowed.get(r, 401 if r in BAD_TOKEN else others) for r in ROLES}


MEMBERS_AND_OPERATORS = only({Role.MEMBER: 200, Role.OPERATOR: 200})
READERS_ELSE_SIGN_IN = {r: 200 if r in (Role.MEMBER, Role.OPERATOR) else 401 for r in ROLES}
DOCS = {("GET", "/openapi.json"): everyone(200), ("GET", "/docs"): everyone(200),
        ("GET", "/docs/oauth2-redirect"): everyone(200), ("GET", "/redoc"): everyone(200)}
OPS = {("GET", "/healthz"): everyone(200), ("GET", "/readyz"): everyone(200),
       ("GET", "/metrics"): everyone(200)}

# (service, method, path template) -> expected status per role.
POLICY: dict[tuple[str, str, str], dict[Role, int]] = {
    **{("intake", m, p): v for (m, p), v in {
        **DOCS, **OPS,
        ("GET", "/v1/vocabulary"): everyone(200),
        # Businesses file without an account; a token neither helps nor hurts.
        ("POST", "/v1/difficulties"): everyone(202),
        ("GET", "/"): everyone(200),
        ("POST", "/"): everyone(422),  # the form page, posted empty: the same for all
        ("POST", "/v1/difficulties/{difficulty_id}/status"): only({Role.AGENCY: 202}),
        ("POST", "/v1/member-reports"): only({Role.MEMBER: 202}),
        ("GET", "/v1/members/me/week"): only({Role.MEMBER: 200}),
        ("POST", "/v1/difficulties/import"): MEMBERS_AND_OPERATORS,
    }.items()},
    **{("reporting", m, p): v for (m, p), v in {
        **DOCS, **OPS,
        # The tracking code and the tax code are the business's credentials; a bearer
        # token does not stand in for the tax code.
        ("GET", "/v1/track"): {**everyone(404), Role.BUSINESS: 200},
        ("GET", "/v1/reports/{province}/{week_label}.json"): MEMBERS_AND_OPERATORS,
        ("GET", "/v1/reports/{province}/{week_label}.csv"): MEMBERS_AND_OPERATORS,
        ("GET", "/v1/reports/{province}/{week_label}.pdf"): MEMBERS_AND_OPERATORS,
        ("GET", "/v1/reports/{province}/{week_label}.docx"): MEMBERS_AND_OPERATORS,
        ("GET", "/v1/reports/{province}/{week_label}.xlsx"): MEMBERS_AND_OPERATORS,
        # A task force still in office has no final report: 404 once let in.
        ("GET", "/v1/reports/{province}/final/handed-over.csv"): only(
            {Role.MEMBER: 404, Role.OPERATOR: 404}),
        ("GET", "/v1/difficulties"): MEMBERS_AND_OPERATORS,
        # The pages: a member's or operator's token (bearer here; a browser signs in for
        # a cookie), or a signed link (tests/reporting); anyone else gets the sign-in form.
        ("GET", "/reports"): READERS_ELSE_SIGN_IN,
        ("GET", "/reports/{province}/{week_label}"): READERS_ELSE_SIGN_IN,
        ("GET", "/reports/login"): everyone(200),
        ("POST", "/reports/login"): {r: 303 if r in (Role.MEMBER, Role.OPERATOR) else 401
                                     for r in ROLES},
        ("POST", "/reports/logout"): everyone(303),
    }.items()},
    **{("router", m, p): v for (m, p), v in {**DOCS, **OPS}.items()},
    **{("notify", m, p): v for (m, p), v in {**DOCS, **OPS}.items()},
}
SERVICES = ("intake", "router", "reporting", "notify")


def _flat(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for r in routes:
        inner = getattr(r, "original_router", None)
        yield from _flat(inner.routes) if inner is not None else (r,)


def routes_of(service: str) -> set[tuple[str, str, str]]:
    """Every (service, method, path) an app serves, in or out of its OpenAPI document.
    Building an app connects nothing."""
    from importlib import import_module

    app: FastAPI = import_module(f"services.{service}.main").build()
    return {(service, m, r.path) for r in _flat(app.routes)  # type: ignore[attr-defined]
            for m in getattr(r, "methods", None) or () if m != "HEAD"}


def test_the_table_names_every_route_of_every_service() -> None:
    served = set().union(*(routes_of(s) for s in SERVICES))
    assert sorted(served - POLICY.keys()) == [], "endpoints with no row in POLICY"
    assert sorted(POLICY.keys() - served) == [], "rows in POLICY for no endpoint"
    for key, row in POLICY.items():
        assert set(row) == set(ROLES), key


# --- against the running services ------------------------------------------------------


@dataclass
class World:
    """What the requests of the table need: the difficulty, the tokens, the week."""

    difficulty_id: str
    tracking_code: str
    tax_code: str
    other_tracking_code: str
    week_label: str
    tokens: dict[Role, str] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}", "Accept-Language": "en"} if token else {}


def csv_of(body: dict[str, Any]) -> bytes:
    flat = {k: v for k, v in body.items() if k != "contact"}
    flat.update({f"contact.{k}": v for k, v in body["contact"].items()})
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(flat))
    w.writeheader()
    w.writerow(flat)
    return out.getvalue().encode()


def request_for(key: tuple[str, str, str], role: Role, world: World,
                n: int) -> dict[str, Any]:
    """The concrete, valid request for one endpoint, as `role` would send it."""
    _, method, path = key
    concrete = (path.replace("{difficulty_id}", world.difficulty_id)
                .replace("{province}", "binh-duong").replace("{week_label}", world.week_label))
    req: dict[str, Any] = {"method": method, "url": concrete, "headers": world.headers(role)}
    if path == "/v1/track":
        code, tax = {Role.BUSINESS: (world.tracking_code, world.tax_code),
                     Role.BUSINESS_OTHER: (world.other_tracking_code, world.tax_code)}.get(
            role, (world.tracking_code, "0000000000"))
        req["params"] = {"code": code, "tax_code": tax}
    elif path == "/v1/difficulties" and method == "POST":
        req["json"] = submission(100 + n)
    elif path.endswith("/status"):
        req["json"] = {"status": "in_progress", "note": "đang xử lý"}
    elif path == "/v1/member-reports":
        req["json"] = {"received_summary": "Tiếp nhận 2 phản ánh", "solutions": "Đã làm việc",
                       "recommendations": "Không"}
    elif path == "/v1/difficulties/import":
        req["content"] = csv_of(submission(200 + n))
        req["headers"] = {**req["headers"], "Content-Type": "text/csv"}
    elif path == "/" and method == "POST":
        req["data"] = {}
    elif path == "/reports/login" and method == "POST":
        # The token goes in the form, as a browser signs in; no header.
        req["data"] = {"token": world.tokens.get(role, "no-token"), "next": "/reports"}
        req["headers"] = {}
    return req


async def _lead_and_members(database_url: str, difficulty_id: str) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT agency_id, member_id, role FROM intake.assignments"
            " WHERE difficulty_id = $1 AND active", uuid.UUID(difficulty_id))
    finally:
        await conn.close()


async def build_world(stack: Stack, database_url: str) -> World:
    configs = ConfigHolder().current
    intake, reporting = stack["intake"].url, stack["reporting"].url
    async with httpx.AsyncClient(timeout=10) as c:
        mine = (await c.post(intake + "/v1/difficulties", json=submission(1))).json()
        other = (await c.post(intake + "/v1/difficulties", json=submission(2))).json()
        # The router assigns it; intake learns the assignment, reporting projects it.
        rows = await wait_until(lambda: _lead_and_members(database_url, mine["difficulty_id"]),
                                timeout=60)
        lead = next(r["agency_id"] for r in rows if r["role"] == "lead")
        tax = submission(1)["tax_code"]

        async def tracked() -> bool:
            r = await c.get(reporting + "/v1/track",
                            params={"code": other["tracking_code"], "tax_code": submission(2)[
                                "tax_code"]})
            s = await c.get(reporting + "/v1/track",
                            params={"code": mine["tracking_code"], "tax_code": tax})
            return r.status_code == s.status_code == 200

        await wait_until(tracked, timeout=60)
    held = {r["agency_id"] for r in rows} | {r["member_id"] for r in rows}
    cfg = configs["binh-duong"]
    member = next(m.id for m in cfg.task_force.members if m.active and m.id not in held)
    other_agency = next(a for a in sorted(configs.agency_ids()) if a not in held)
    world = World(difficulty_id=mine["difficulty_id"], tracking_code=mine["tracking_code"],
                  tax_code=tax, other_tracking_code=other["tracking_code"],
                  week_label=week_window(datetime.now(UTC)).label)
    issue = {Role.MEMBER: (auth.TokenKind.MEMBER, member),
             Role.AGENCY: (auth.TokenKind.AGENCY, lead),
             Role.OTHER_AGENCY: (auth.TokenKind.AGENCY, other_agency),
             Role.OPERATOR: (auth.TokenKind.OPERATOR, "ops-desk"),
             Role.REVOKED: (auth.TokenKind.MEMBER, member)}
    for role, (kind, subject) in issue.items():
        token_id, world.tokens[role] = await auth.create(
            database_url, configs=configs, kind=kind, subject_id=subject)
        if role == Role.REVOKED:
            assert await auth.revoke(database_url, token_id)
    world.tokens[Role.FORGED] = "tgm_" + secrets.token_urlsafe(32)
    return world


async def openapi_routes(stack: Stack) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    async with httpx.AsyncClient(timeout=10) as c:
        for s in SERVICES:
            doc = (await c.get(stack[s].url + "/openapi.json")).json()
            out |= {(s, m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    return out


async def test_every_endpoint_answers_each_role_as_the_table_says_and_revocation_is_immediate(
    stack: Stack, database_url: str
) -> None:
    await stack.start()
    # The running services' documents, too: a route mounted at start-up would not show
    # in the in-process listing of test_the_table_names_every_route_of_every_service.
    documented = await openapi_routes(stack)
    assert sorted(documented - POLICY.keys()) == [], "documented endpoints with no row"
    world = await build_world(stack, database_url)

    wrong: list[str] = []
    n = 0
    async with httpx.AsyncClient(timeout=30) as c:
        for key, expected in POLICY.items():
            for role, status in expected.items():
                n += 1
                req = request_for(key, role, world, n)
                req["url"] = stack[key[0]].url + req["url"]
                r = await c.request(**req)
                if r.status_code != status:
                    wrong.append(f"{key[0]} {key[1]} {key[2]} as {role}: {r.status_code}, "
                                 f"expected {status} ({r.text[:120]!r})")
    assert wrong == [], "\n".join(wrong)
    await revocation_takes_effect_at_once(stack, database_url)


async def revocation_takes_effect_at_once(stack: Stack, database_url: str) -> None:
    token_id, token = await auth.create(database_url, configs=ConfigHolder().current,
                                        kind=auth.TokenKind.OPERATOR, subject_id="night-shift")
    bearer = {"Authorization": f"Bearer {token}"}
    list_url = stack["reporting"].url + "/v1/difficulties"
    import_req: dict[str, Any] = {
        "method": "POST", "url": stack["intake"].url + "/v1/difficulties/import",
        "content": csv_of(submission(300)), "headers": {**bearer, "Content-Type": "text/csv"}}
    async with httpx.AsyncClient(timeout=30) as c:
        assert (await c.get(list_url, headers=bearer)).status_code == 200
        assert (await c.request(**import_req)).status_code == 200
        assert await auth.revoke(database_url, token_id)
        # No cache anywhere: the very next request is refused, by both services.
        assert (await c.get(list_url, headers=bearer)).status_code == 401
        assert (await c.request(**import_req)).status_code == 401
