"""Who may do what: every HTTP endpoint of the four services, asked by every role, against
the four services running as real processes on one shared token registry.

The table below is the access policy. It must name every endpoint: one that appears in a
service (in its OpenAPI document or among its routes, e.g. an HTML page) without a row
here fails the test, so a new endpoint cannot ship without a decision about who may call
it. Each request carries a valid body, so that what is checked is the decision about the
caller and not the body's validation.

The roles include those inside one difficulty (its lead, a co-handler, the member made
responsible, the permanent deputy), callers of another province (whose reads and writes
stop at their own task force), and tokens that ended: revoked, expired, or held by a
member set `active: false` in the hot-reloaded configuration. STATUSES says which
status each role may post on a difficulty.
"""

from __future__ import annotations

import csv
import io
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute

from shared import auth
from shared.calendar import week_window
from shared.events import ZoneType
from shared.provinces import ConfigHolder, default_config_dir
from tests.conftest import ServiceProcess, Stack, stack_env, wait_until
from tests.intake.conftest import submission
from thaogo.embedded import free_port

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.e2e, pytest.mark.timeout(240)]


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    BUSINESS = "business"  # its own tracking code and tax code
    BUSINESS_OTHER = "business-other"  # its tax code with someone else's tracking code
    MEMBER = "member"  # a task-force member with no assignment on the difficulty
    ASSIGNED_MEMBER = "assigned-member"  # the member the router made responsible
    AGENCY = "agency"  # the agency the difficulty is assigned to (lead)
    CO_HANDLER = "co-handler"  # an agency co-handling it (phối hợp)
    OTHER_AGENCY = "other-agency"  # of the same province, with no part in it
    OTHER_PROVINCE_AGENCY = "other-province-agency"
    OTHER_PROVINCE_MEMBER = "other-province-member"  # a Thanh Hóa member
    PERMANENT_DEPUTY = "permanent-deputy"  # the province's triage agency (rules.triage)
    OPERATOR = "operator"
    SCOPED_OPERATOR = "scoped-operator"  # an operator whose token names Thanh Hóa
    REVOKED = "revoked"  # a member's token, revoked
    FORGED = "forged"  # a valid prefix, never issued
    EXPIRED = "expired"  # a member's token past its expiry
    LEFT = "left"  # a member's token; the member is then set `active: false`


ROLES = tuple(Role)
NO_TOKEN = (Role.ANONYMOUS, Role.BUSINESS, Role.BUSINESS_OTHER)
BAD_TOKEN = (*NO_TOKEN, Role.REVOKED, Role.FORGED, Role.EXPIRED, Role.LEFT)
# Readers of the reports and lists: Bình Dương's own, and those of another province
# (let in, but only to their own province: a 403 on Bình Dương's).
READERS = (Role.MEMBER, Role.ASSIGNED_MEMBER, Role.OPERATOR)
# The reports are addressed to the head and compiled by the permanent deputy: they read
# them too (by their agencies, rules.head and rules.triage), and what the lists hold.
REPORT_READERS = (*READERS, Role.PERMANENT_DEPUTY)
OUT_OF_SCOPE_READERS = (Role.OTHER_PROVINCE_MEMBER, Role.SCOPED_OPERATOR)
MEMBERS = (Role.MEMBER, Role.ASSIGNED_MEMBER, Role.OTHER_PROVINCE_MEMBER)


def everyone(status: int) -> dict[Role, int]:
    return dict.fromkeys(ROLES, status)


def only(allowed: dict[Role, int], *, others: int = 403) -> dict[Role, int]:
    """`allowed` answer as given; callers without a valid token 401; the rest `others`."""
    return {r: allowed.get(r, 401 if r in BAD_TOKEN else others) for r in ROLES}


BD_READERS = only(dict.fromkeys(REPORT_READERS, 200))
# Importers of another province are let in; their Bình Dương row is refused (field
# `province`, tests/intake/test_import_api.py), the file answered 200.
IMPORTERS = only(dict.fromkeys((*READERS, *OUT_OF_SCOPE_READERS), 200))
READERS_ELSE_SIGN_IN = {r: 200 if r in (*REPORT_READERS, *OUT_OF_SCOPE_READERS) else 401
                        for r in ROLES}
BD_PAGE = {r: 200 if r in REPORT_READERS else 403 if r in OUT_OF_SCOPE_READERS else 401
           for r in ROLES}
DOCS = {("GET", "/openapi.json"): everyone(200), ("GET", "/docs"): everyone(200),
        ("GET", "/docs/oauth2-redirect"): everyone(200), ("GET", "/redoc"): everyone(200)}
OPS = {("GET", "/healthz"): everyone(200), ("GET", "/readyz"): everyone(200),
       ("GET", "/metrics"): everyone(200)}

# The smallest file intake takes for a PDF: it reads the type from the first bytes.
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

# (service, method, path template) -> expected status per role.
POLICY: dict[tuple[str, str, str], dict[Role, int]] = {
    **{("intake", m, p): v for (m, p), v in {
        **DOCS, **OPS,
        ("GET", "/v1/vocabulary"): everyone(200),
        # Businesses file without an account; a token neither helps nor hurts.
        ("POST", "/v1/difficulties"): everyone(202),
        ("GET", "/"): everyone(200),
        ("POST", "/"): everyone(422),  # the form page, posted empty: the same for all
        # in_progress; STATUSES below has every status.
        ("POST", "/v1/difficulties/{difficulty_id}/status"): only(
            {Role.AGENCY: 202, Role.CO_HANDLER: 202, Role.ASSIGNED_MEMBER: 202,
             Role.PERMANENT_DEPUTY: 202}),
        # Everyone on the difficulty reads it, and an operator of its province; the
        # contact person only the lead and the permanent deputy (tests/intake).
        ("GET", "/v1/difficulties/{difficulty_id}"): only(
            {Role.AGENCY: 200, Role.CO_HANDLER: 200, Role.ASSIGNED_MEMBER: 200,
             Role.PERMANENT_DEPUTY: 200, Role.OPERATOR: 200}),
        # Who vouches that an urgent item is urgent: the lead, the permanent deputy and
        # the task force's members. The world's difficulty is not urgent, so those let
        # in are answered 409 (field `urgency`, tests/e2e/test_urgency.py confirms one).
        ("POST", "/v1/difficulties/{difficulty_id}/urgency"): only(
            {Role.AGENCY: 409, Role.PERMANENT_DEPUTY: 409, Role.ASSIGNED_MEMBER: 409,
             Role.MEMBER: 409}),
        # A member reports on, and sees, their own task force's week.
        ("POST", "/v1/member-reports"): only(dict.fromkeys(MEMBERS, 202)),
        ("GET", "/v1/members/me/week"): only(dict.fromkeys(MEMBERS, 200)),
        ("POST", "/v1/difficulties/import"): IMPORTERS,
        # The workspace's forms act for a browser's sign-in session only: a bearer token
        # is no session (401), whoever holds it.
        ("POST", "/workspace/act/difficulties/{difficulty_id}/status"): everyone(401),
        ("POST", "/workspace/act/difficulties/{difficulty_id}/step"): everyone(401),
        ("POST", "/workspace/act/difficulties/{difficulty_id}/resolution"): everyone(401),
        ("POST", "/workspace/act/acknowledge"): everyone(401),
        # The contact person, for the lead's and the deputy's signed-in page only.
        ("GET", "/workspace/act/difficulties/{difficulty_id}/contact"): everyone(401),
        ("POST", "/workspace/act/member-report"): everyone(401),
        ("POST", "/workspace/act/triage/{difficulty_id}"): everyone(401),
        ("POST", "/workspace/act/remind"): everyone(401),
        ("POST", "/workspace/act/direction"): everyone(401),
        ("POST", "/workspace/act/direction-progress/{direction_id}"): everyone(401),
        ("POST", "/workspace/act/compilation"): everyone(401),
        # The business's answer on its tracking page (#20 item 4): the two codes in the
        # form are its credentials, not a token or a session; every caller is sent back to
        # /track, told what became of it (here the one neutral refusal: nothing waits).
        ("POST", "/track/answer"): everyone(303),
        # Its rating of a closed difficulty (#20 item 6), by the same two codes.
        ("POST", "/track/feedback"): everyone(303),
        # Each moves its own part (#20 item 1): the permanent deputy holds none here.
        ("POST", "/v1/difficulties/{difficulty_id}/steps"): only(
            {Role.AGENCY: 202, Role.CO_HANDLER: 202, Role.ASSIGNED_MEMBER: 202}),
        # Documents (#20 item 10): the people on the case attach them, others are refused
        # (403, field difficulty_id) ...
        ("POST", "/v1/difficulties/{difficulty_id}/attachments"): only(
            {Role.AGENCY: 202, Role.CO_HANDLER: 202, Role.ASSIGNED_MEMBER: 202,
             Role.PERMANENT_DEPUTY: 202}),
        # ... and read them: a file that is not there is one 404 for everybody, as a file
        # of a case one is not on is (who reads a real one is tests/casework's).
        ("GET", "/v1/difficulties/{difficulty_id}/attachments/{attachment_id}"): only(
            {}, others=404),
        ("GET", "/workspace/act/difficulties/{difficulty_id}/attachments/{attachment_id}"):
            everyone(401),
        # The business's download from /track: its two codes in the body, no token.
        ("POST", "/track/attachments"): everyone(404),
        # Only the lead and the permanent deputy close or pass up (#20 item 2). Last of
        # intake's rows: the lead's escalation moves the difficulty to central level.
        ("POST", "/v1/difficulties/{difficulty_id}/resolution"): only(
            {Role.AGENCY: 202, Role.PERMANENT_DEPUTY: 202}),
        ("POST", "/workspace/act/difficulties/{difficulty_id}/letter"): everyone(401),
        ("POST", "/workspace/act/difficulties/{difficulty_id}/ministry-answer"): everyone(401),
        # At central level (CENTRAL_PATHS: asked of a second difficulty of the same lead,
        # escalated once to its ministry) only the permanent deputy deals with the
        # ministry: registers the letter, then records its answer, which closes it.
        ("POST", "/v1/difficulties/{difficulty_id}/letter"): only({Role.PERMANENT_DEPUTY: 202}),
        ("POST", "/v1/difficulties/{difficulty_id}/ministry-answer"): only(
            {Role.PERMANENT_DEPUTY: 202}),
        # Policy bottlenecks (#25 item 1): the permanent deputy's alone. Let in, the
        # deputy is answered on the request itself: two items of no task force (422,
        # `difficulty_ids`), the answer to a bottleneck that does not exist (404); the
        # merge and the answer are tests/casework/test_bottleneck_e2e.py's.
        ("POST", "/v1/bottlenecks"): only({Role.PERMANENT_DEPUTY: 422}),
        ("POST", "/v1/bottlenecks/{bottleneck_id}/ministry-answer"): only(
            {Role.PERMANENT_DEPUTY: 404}),
        # The permanent deputy's triage (#20 item 3): its alone. Let in, the deputy is
        # answered on the difficulty itself: not waiting in triage (409), no difficulty
        # with the kept code (422, `into`); both flows are tests/casework's.
        ("POST", "/v1/difficulties/{difficulty_id}/correction"): only(
            {Role.PERMANENT_DEPUTY: 409}),
        ("POST", "/v1/difficulties/{difficulty_id}/merge"): only({Role.PERMANENT_DEPUTY: 422}),
        ("POST", "/workspace/act/bottleneck"): everyone(401),
        ("POST", "/workspace/act/bottleneck/{bottleneck_id}/ministry-answer"): everyone(401),
    }.items()},
    **{("reporting", m, p): v for (m, p), v in {
        **DOCS, **OPS,
        # The tracking code and the tax code are the business's credentials; a bearer
        # token does not stand in for the tax code.
        ("GET", "/v1/track"): {**everyone(404), Role.BUSINESS: 200},
        # The tracking page: the form for all, the case for the pair of codes only.
        ("GET", "/track"): everyone(200),
        ("POST", "/track"): {**everyone(404), Role.BUSINESS: 200},
        # The public view: no sign-in, the same answer for everybody. The stack's
        # publisher catches up the last closed week at start (the test waits for it).
        ("GET", "/public/{province}"): everyone(200),
        ("GET", "/public/{province}.json"): everyone(200),
        # Bình Dương's: its members and unscoped operators only.
        ("GET", "/v1/reports/{province}/{week_label}.json"): BD_READERS,
        ("GET", "/v1/reports/{province}/{week_label}.csv"): BD_READERS,
        ("GET", "/v1/reports/{province}/{week_label}.pdf"): BD_READERS,
        ("GET", "/v1/reports/{province}/{week_label}.docx"): BD_READERS,
        ("GET", "/v1/reports/{province}/{week_label}.xlsx"): BD_READERS,
        # A task force still in office has no final report: 404 once let in.
        ("GET", "/v1/reports/{province}/final/handed-over.csv"): only(
            dict.fromkeys(REPORT_READERS, 404)),
        # Asked with province=binh-duong. An agency lists its own queue there, whatever
        # it asks for: the items it holds a part of, never another's (tests/reporting).
        ("GET", "/v1/difficulties"): only({
            **dict.fromkeys(REPORT_READERS, 200), Role.AGENCY: 200, Role.CO_HANDLER: 200,
            Role.OTHER_AGENCY: 200, Role.OTHER_PROVINCE_AGENCY: 200}),
        # The letter to the ministry: the permanent deputy, the head and the case's lead.
        ("GET", "/v1/difficulties/{difficulty_id}/letter.pdf"): only(
            {Role.AGENCY: 200, Role.PERMANENT_DEPUTY: 200}),
        ("GET", "/v1/difficulties/{difficulty_id}/letter.docx"): only(
            {Role.AGENCY: 200, Role.PERMANENT_DEPUTY: 200}),
        # The pages: a member's or operator's token (bearer here; a browser signs in for
        # a cookie), or a signed link (tests/reporting); anyone else gets the sign-in form.
        ("GET", "/reports"): READERS_ELSE_SIGN_IN,
        ("GET", "/reports/{province}/{week_label}"): BD_PAGE,
        ("GET", "/reports/login"): everyone(200),
        ("POST", "/reports/login"): {
            r: 303 if r in (*REPORT_READERS, *OUT_OF_SCOPE_READERS) else 401 for r in ROLES},
        ("POST", "/reports/logout"): everyone(303),
        # Signing in by e-mail: the same answer for every address; links unknown here.
        ("GET", "/workspace/sign-in"): everyone(200),
        ("POST", "/workspace/sign-in"): everyone(200),
        ("GET", "/workspace/sign-in/link"): everyone(404),
        ("POST", "/workspace/sign-in/link"): everyone(404),
        ("GET", "/workspace/enter"): everyone(404),
        ("POST", "/workspace/enter"): everyone(404),
        # The workspace is for sessions: a bearer token gets the sign-in page.
        ("GET", "/workspace"): everyone(307),
        ("GET", "/workspace/"): everyone(303),
        ("POST", "/workspace/sign-out"): everyone(303),
        **{("GET", f"/workspace/{page}"): everyone(303)
           for page in ("my-week", "triage", "compilation", "zone", "head", "queue", "shared",
                        "queue.csv", "queue.xlsx", "difficulties/{difficulty_id}")},
    }.items()},
    **{("router", m, p): v for (m, p), v in {**DOCS, **OPS}.items()},
    **{("notify", m, p): v for (m, p), v in {**DOCS, **OPS}.items()},
}
SERVICES = ("intake", "router", "reporting", "notify")
# Rows asked of a difficulty a central ministry holds: the world's own is escalated twice
# by the resolution row (the lead's, then the permanent deputy's: up to the head), so these
# get one of their own, escalated once by its lead (World.central_id).
CENTRAL_PATHS = {"/v1/difficulties/{difficulty_id}/letter",
                 "/v1/difficulties/{difficulty_id}/ministry-answer",
                 "/v1/difficulties/{difficulty_id}/letter.pdf",
                 "/v1/difficulties/{difficulty_id}/letter.docx"}

# Who may post which status on one difficulty (202); every other role with a valid
# token gets a 403 naming why, those without one a 401. Only the lead and the permanent
# deputy close, reject, escalate or hand it on; a co-handler reports on its own part.
ACTING = ("acknowledged", "in_progress", "resolved", "escalated", "rejected",
          "reassign_requested")
MAY_POST: dict[Role, tuple[str, ...]] = {
    Role.AGENCY: ACTING, Role.PERMANENT_DEPUTY: ACTING,
    Role.CO_HANDLER: ("acknowledged", "in_progress", "reassign_requested"),
    Role.ASSIGNED_MEMBER: ("acknowledged", "in_progress"),
}
STATUSES: dict[str, dict[Role, int]] = {
    status: only({r: 202 for r, allowed in MAY_POST.items() if status in allowed})
    for status in ACTING
}


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
    left_member: str
    tokens: dict[Role, str] = field(default_factory=dict)
    central_id: str | None = None  # escalated to its ministry, for CENTRAL_PATHS

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
    did = world.central_id if path in CENTRAL_PATHS and world.central_id else world.difficulty_id
    concrete = (path.replace("{difficulty_id}", did)
                .replace("{direction_id}", world.difficulty_id)  # none such: 401 first
                .replace("{bottleneck_id}", str(uuid.uuid4()))  # none such
                .replace("{attachment_id}", str(uuid.uuid4()))  # none such
                .replace("{province}", "binh-duong").replace("{week_label}", world.week_label))
    req: dict[str, Any] = {"method": method, "url": concrete, "headers": world.headers(role)}
    if path == "/v1/difficulties" and method == "GET":
        req["params"] = {"province": "binh-duong"}
    elif path in ("/v1/track", "/track") and not (path == "/track" and method == "GET"):
        code, tax = {Role.BUSINESS: (world.tracking_code, world.tax_code),
                     Role.BUSINESS_OTHER: (world.other_tracking_code, world.tax_code)}.get(
            role, (world.tracking_code, "0000000000"))
        req["params" if method == "GET" else "data"] = {"code": code, "tax_code": tax}
    elif path == "/track/feedback":
        code, tax = {Role.BUSINESS: (world.tracking_code, world.tax_code)}.get(
            role, (world.tracking_code, "0000000000"))
        req["data"] = {"code": code, "tax_code": tax, "rating": "4"}
    elif path == "/track/attachments":
        code, tax = {Role.BUSINESS: (world.tracking_code, world.tax_code)}.get(
            role, (world.tracking_code, "0000000000"))
        req["data"] = {"code": code, "tax_code": tax, "attachment_id": str(uuid.uuid4())}
    elif path == "/v1/difficulties/{difficulty_id}/attachments" and method == "POST":
        req["files"] = {"files": ("scan.pdf", PDF, "application/pdf")}
    elif path == "/track/answer":
        code, tax = {Role.BUSINESS: (world.tracking_code, world.tax_code)}.get(
            role, (world.tracking_code, "0000000000"))
        req["data"] = {"code": code, "tax_code": tax, "assignment_id": str(uuid.uuid4()),
                       "answer": "Đã gửi bản sao."}
    elif path == "/v1/difficulties" and method == "POST":
        req["json"] = submission(100 + n)
    elif path.startswith("/v1/") and path.endswith("/status"):
        req["json"] = {"status": "in_progress", "note": "đang xử lý"}
    elif path.startswith("/v1/") and path.endswith("/urgency"):
        req["json"] = {"note": "không thể chờ"}
    elif path.startswith("/v1/") and path.endswith("/steps"):
        req["json"] = {"step": "in_progress", "note": "đang xử lý"}
    elif path.startswith("/v1/") and path.endswith("/resolution"):
        req["json"] = {"outcome": "escalated", "done": "Đã làm việc với các sở",
                       "public_answer": "Đã kiến nghị Bộ Công Thương.",
                       "reason": "Vượt thẩm quyền của tỉnh"}
    elif path.startswith("/v1/") and path.endswith("/correction"):
        req["json"] = {"zone_type": "CCN"}
    elif path.startswith("/v1/") and path.endswith("/merge"):
        req["json"] = {"into": "ZZ-0000-0000"}
    elif path == "/v1/bottlenecks":
        req["json"] = {"title": "Hóa đơn điện tử", "ministry_id": "central.bo-tai-chinh",
                       "difficulty_ids": [str(uuid.uuid4()), str(uuid.uuid4())]}
    elif path == "/workspace/act/bottleneck":
        req["data"] = {"title": "Hóa đơn điện tử", "ministry_id": "central.bo-tai-chinh",
                       "difficulty_id": [str(uuid.uuid4()), str(uuid.uuid4())]}
    elif path.endswith(("/letter", "/ministry-answer")):
        today = datetime.now(UTC).date().isoformat()
        req["json" if path.startswith("/v1/") else "data"] = {
            "letter_number": "125/TCT-KT", "letter_date": today,
            **({"public_answer": "Bộ Công Thương đã hướng dẫn."}
               if path.endswith("/ministry-answer") else {})}
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
    elif path == "/workspace/act/difficulties/{difficulty_id}/step":
        req["data"] = {"step": "in_progress", "note": "đang xử lý"}
    elif path == "/workspace/act/difficulties/{difficulty_id}/resolution":
        req["data"] = {"outcome": "resolved", "done": "Đã cấp phép",
                       "public_answer": "Đã giải quyết"}
    elif path == "/workspace/act/acknowledge":
        req["data"] = {"difficulty_id": world.difficulty_id}
    elif path == "/workspace/act/difficulties/{difficulty_id}/status":
        req["data"] = {"status": "in_progress", "note": "đang xử lý"}
    elif path == "/workspace/sign-in" and method == "POST":
        req["data"] = {"email": "nobody@example.invalid"}
    elif path == "/workspace/sign-in/link":
        req["params" if method == "GET" else "data"] = {"code": "unknown-link"}
    elif path == "/workspace/enter" and method == "POST":
        req["data"] = {"tok": str(uuid.uuid4()), "exp": "9999999999", "sig": "forged"}
    elif path == "/workspace/act/triage/{difficulty_id}":
        req["data"] = {"action": "dispatch", "target_agency_id": "binh-duong.so-cong-thuong"}
    elif path == "/workspace/act/remind":
        req["data"] = {"member_id": "binh-duong.m02"}
    elif path == "/workspace/act/member-report":
        req["data"] = {"received_summary": "Tiếp nhận 2", "solutions": "Đã làm việc",
                       "recommendations": "Không"}
    elif path == "/workspace/act/direction":
        req["data"] = {"direction": "Rà soát, báo cáo.",
                       "assignee_id": "binh-duong.so-cong-thuong", "due_on": "2031-01-02"}
    elif path == "/workspace/act/direction-progress/{direction_id}":
        req["data"] = {"state": "in_progress", "note": "Đang làm"}
    elif path == "/workspace/act/compilation":
        req["data"] = {"compiled_text": "I. Tình hình tiếp nhận", "action": "save"}
    if method == "POST" and path.startswith(("/reports/log", "/workspace/")):
        # A browser's form: its CSRF value in the cookie and in the form alike.
        req["data"] = {**req.get("data", {}), "csrf_token": CSRF_VALUE}
        req["headers"] = {**req["headers"], "Cookie": f"thaogo_csrf={CSRF_VALUE}"}
    return req


CSRF_VALUE = "c" * 43


async def _lead_and_members(database_url: str, difficulty_id: str) -> Any:
    """The active assignments once the router has made them all (lead, co-handler,
    member: decided together, learnt by intake in one transaction)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT assignment_id, agency_id, member_id, role FROM intake.assignments"
            " WHERE difficulty_id = $1 AND active", uuid.UUID(difficulty_id))
        return rows if {"lead", "co_handler", "member"} <= {r["role"] for r in rows} else []
    finally:
        await conn.close()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped province files, which the test edits (a member leaves)."""
    folder = tmp_path / "provinces"
    shutil.copytree(default_config_dir(), folder)
    return folder


@pytest.fixture
async def stack(topics_ready: str, database_url: str, tmp_path: Path,
                config_dir: Path) -> AsyncIterator[Stack]:
    """tests.conftest's stack, on the copy of the province files."""
    ports = {n: free_port() for n in SERVICES}
    env = stack_env(topics_ready, database_url, THAOGO_CONFIG_DIR=str(config_dir),
                    THAOGO_ROUTER_INTAKE_PUBLIC_URL=f"http://127.0.0.1:{ports['intake']}")
    s = Stack({n: ServiceProcess(n, p, env, tmp_path / f"{n}.log") for n, p in ports.items()})
    try:
        yield s
    finally:
        s.stop()


def member_leaves(config_dir: Path, member_id: str) -> None:
    """What an operator does when a member leaves: `active: false` in the file."""
    path = config_dir / f"{member_id.split('.')[0]}.yaml"
    text = path.read_text(encoding="utf-8")
    line = f"    - id: {member_id}\n"
    assert text.count(line) == 1
    path.write_text(text.replace(line, line + "      active: false\n"), encoding="utf-8")


async def build_world(stack: Stack, database_url: str, config_dir: Path) -> World:
    configs = ConfigHolder(config_dir).current
    intake, reporting = stack["intake"].url, stack["reporting"].url
    async with httpx.AsyncClient(timeout=10) as c:
        mine = (await c.post(intake + "/v1/difficulties", json=submission(1))).json()
        other = (await c.post(intake + "/v1/difficulties", json=submission(2))).json()
        # The router assigns it; intake learns the assignment, reporting projects it.
        rows = await wait_until(lambda: _lead_and_members(database_url, mine["difficulty_id"]),
                                timeout=60)
        lead = next(r["agency_id"] for r in rows if r["role"] == "lead")
        co_handler = next(r["agency_id"] for r in rows if r["role"] == "co_handler")
        assigned_member = next(r["member_id"] for r in rows if r["role"] == "member")
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
    deputy = cfg.rules.triage
    member, left = [m.id for m in cfg.task_force.members if m.active and m.id not in held][:2]
    # An agency with no part in it and no role in the task force (the head's agency reads
    # the reports).
    other_agency = next(a.id for a in cfg.agencies
                        if a.id not in held | {deputy, cfg.rules.head})
    th = configs["thanh-hoa"]
    world = World(difficulty_id=mine["difficulty_id"], tracking_code=mine["tracking_code"],
                  tax_code=tax, other_tracking_code=other["tracking_code"],
                  week_label=week_window(datetime.now(UTC)).label, left_member=left)
    issue: dict[Role, tuple[auth.TokenKind, str, str | None]] = {
        Role.MEMBER: (auth.TokenKind.MEMBER, member, None),
        Role.ASSIGNED_MEMBER: (auth.TokenKind.MEMBER, assigned_member, None),
        Role.AGENCY: (auth.TokenKind.AGENCY, lead, None),
        Role.CO_HANDLER: (auth.TokenKind.AGENCY, co_handler, None),
        Role.OTHER_AGENCY: (auth.TokenKind.AGENCY, other_agency, None),
        Role.OTHER_PROVINCE_AGENCY: (auth.TokenKind.AGENCY, th.rules.lead_by_zone_type[
            ZoneType.KCN], None),
        Role.OTHER_PROVINCE_MEMBER: (auth.TokenKind.MEMBER, th.task_force.active_members()[0].id,
                                     None),
        Role.PERMANENT_DEPUTY: (auth.TokenKind.AGENCY, deputy, None),
        Role.OPERATOR: (auth.TokenKind.OPERATOR, "ops-desk", None),
        Role.SCOPED_OPERATOR: (auth.TokenKind.OPERATOR, "th-desk", "thanh-hoa"),
        Role.REVOKED: (auth.TokenKind.MEMBER, member, None),
        Role.EXPIRED: (auth.TokenKind.MEMBER, member, None),
        Role.LEFT: (auth.TokenKind.MEMBER, left, None)}
    for role, (kind, subject, province) in issue.items():
        token_id, world.tokens[role] = await auth.create(
            database_url, configs=configs, kind=kind, subject_id=subject, province=province)
        if role == Role.REVOKED:
            assert await auth.revoke(database_url, token_id)
        if role == Role.EXPIRED:
            await _expire(database_url, token_id)
    world.tokens[Role.FORGED] = "tgm_" + secrets.token_urlsafe(32)
    await membership_ends_access_at_once(stack, world, config_dir)
    return world


async def _expire(database_url: str, token_id: uuid.UUID) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE auth.tokens SET expires_at = now() - interval '1 second'"
                           " WHERE token_id = $1", token_id)
    finally:
        await conn.close()


async def openapi_routes(stack: Stack) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    async with httpx.AsyncClient(timeout=10) as c:
        for s in SERVICES:
            doc = (await c.get(stack[s].url + "/openapi.json")).json()
            out |= {(s, m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    return out


async def test_every_endpoint_answers_each_role_as_the_table_says_and_revocation_is_immediate(
    stack: Stack, database_url: str, config_dir: Path
) -> None:
    # The table asks intake some 800 times from this one address, beyond a client's
    # default allowance (600 a minute): the answers must be the table's, not 429s. The
    # limits have their own tests.
    stack["intake"].env.update(THAOGO_INTAKE_RATE_LIMIT_PER_MINUTE="100000",
                               THAOGO_INTAKE_RATE_LIMIT_BURST="100000")
    await stack.start()
    # The running services' documents, too: a route mounted at start-up would not show
    # in the in-process listing of test_the_table_names_every_route_of_every_service.
    documented = await openapi_routes(stack)
    assert sorted(documented - POLICY.keys()) == [], "documented endpoints with no row"
    world = await build_world(stack, database_url, config_dir)
    await last_week_published(database_url)

    wrong: list[str] = []
    n = 0
    async with httpx.AsyncClient(timeout=30) as c:
        for key, expected in POLICY.items():
            if key[2] in CENTRAL_PATHS and world.central_id is None:
                world.central_id = await escalated_to_a_ministry(stack, database_url, world)
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
    await out_of_scope_lists_show_nothing_of_another_province(stack, world)


async def last_week_published(database_url: str) -> None:
    """The publisher's catch-up at start (the last closed week of every task force) has
    run: the public view then has a week to show."""
    conn = await asyncpg.connect(database_url)
    try:
        async def published() -> bool:
            return bool(await conn.fetchval(
                "SELECT count(*) FROM reporting.weekly_reports WHERE task_force = 'binh-duong'"
                " AND week_label <> 'final'"))

        await wait_until(published, timeout=60)
    finally:
        await conn.close()


async def escalated_to_a_ministry(stack: Stack, database_url: str, world: World) -> str:
    """A difficulty of the world's lead, escalated by it once: its ministry holds it, as
    intake and reporting both know."""
    async with httpx.AsyncClient(timeout=30) as c:
        did = (await c.post(stack["intake"].url + "/v1/difficulties",
                            json=submission(300))).json()["difficulty_id"]
        await wait_until(lambda: _lead_and_members(database_url, did), timeout=60)
        r = await c.post(stack["intake"].url + f"/v1/difficulties/{did}/resolution",
                         headers=world.headers(Role.AGENCY),
                         json={"outcome": "escalated", "done": "Đã làm việc với các sở",
                               "public_answer": "Đã kiến nghị Bộ Công Thương.",
                               "reason": "Vượt thẩm quyền của tỉnh"})
        assert r.status_code == 202, r.text
    await wait_until(lambda: at_central_level(database_url, did), timeout=60)
    return str(did)


async def at_central_level(database_url: str, difficulty_id: str) -> bool:
    """Whether intake and reporting both know the ministry holds the difficulty."""
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM intake.assignments WHERE difficulty_id = $1"
            "   AND active AND role = 'escalation' AND agency_id LIKE 'central.%')"
            " AND EXISTS (SELECT 1 FROM reporting.assignments WHERE difficulty_id = $1"
            "   AND active AND role = 'escalation' AND agency_level = 'central')",
            uuid.UUID(difficulty_id)))
    finally:
        await conn.close()


async def membership_ends_access_at_once(stack: Stack, world: World, config_dir: Path) -> None:
    """The member's token works; the member is set `active: false`; as soon as each
    service has reloaded its files, the token is refused — no revocation needed."""
    bearer = {"Authorization": f"Bearer {world.tokens[Role.LEFT]}"}
    week = stack["intake"].url + "/v1/members/me/week"
    listing = stack["reporting"].url + "/v1/difficulties"
    async with httpx.AsyncClient(timeout=30) as c:
        assert (await c.get(week, headers=bearer)).status_code == 200
        assert (await c.get(listing, headers=bearer)).status_code == 200
        member_leaves(config_dir, world.left_member)

        async def refused() -> bool:
            return ((await c.get(week, headers=bearer)).status_code
                    == (await c.get(listing, headers=bearer)).status_code == 401)

        await wait_until(refused, timeout=30)


async def out_of_scope_lists_show_nothing_of_another_province(stack: Stack,
                                                              world: World) -> None:
    async with httpx.AsyncClient(timeout=30) as c:
        for role in OUT_OF_SCOPE_READERS:
            r = await c.get(stack["reporting"].url + "/v1/difficulties",
                            headers=world.headers(role))
            assert r.status_code == 200
            assert world.difficulty_id not in r.text and "binh-duong" not in r.text, role


async def _new_difficulties(stack: Stack, database_url: str, n: int) -> list[dict[str, Any]]:
    """n difficulties routed as the table's (lead, co-handler, member), each with the
    ids of its active assignments by role."""
    async with httpx.AsyncClient(timeout=30) as c:
        ids = [(await c.post(stack["intake"].url + "/v1/difficulties",
                             json=submission(400 + i))).json()["difficulty_id"]
               for i in range(n)]
    out = []
    for did in ids:
        rows = await wait_until(lambda did=did: _lead_and_members(database_url, did),
                                timeout=60)
        out.append({"id": did, **{r["role"]: r["assignment_id"] for r in rows}})
    return out


async def _active(database_url: str, assignment_id: uuid.UUID) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval(
            "SELECT active FROM intake.assignments WHERE assignment_id = $1", assignment_id))
    finally:
        await conn.close()


async def test_each_role_posts_only_its_statuses_and_the_router_moves_only_its_part(
    stack: Stack, database_url: str, config_dir: Path, topics_ready: str
) -> None:
    """Every status, asked by every role, on a difficulty of Bình Dương: a refusal on
    the shared one (a refusal changes nothing), each allowed post on a fresh one (the
    final statuses and the hand-overs would change it for the next role). Then, on the
    real router: a co-handler's reassignment request replaces its own part and leaves
    the lead's assignment active."""
    await stack.start()
    world = await build_world(stack, database_url, config_dir)
    allowed = [(status, role) for status, row in STATUSES.items()
               for role, code in row.items() if code == 202]
    made = await _new_difficulties(stack, database_url, len(allowed) + 1)
    rogue, fresh = made[0], iter(made[1:])
    wrong: list[str] = []
    moved: dict[tuple[str, Role], dict[str, Any]] = {}
    url = stack["intake"].url + "/v1/difficulties/{}/status"
    async with httpx.AsyncClient(timeout=30) as c:
        for status, row in STATUSES.items():
            for role, expected in row.items():
                did = world.difficulty_id
                if expected == 202:
                    d = next(fresh)
                    did, moved[status, role] = d["id"], d
                    if status in ("resolved", "rejected"):
                        # The lead closes once the co-handler's part is done (#20 item 2).
                        part = await c.post(url.format(did).replace("/status", "/steps"),
                                            headers=world.headers(Role.CO_HANDLER),
                                            json={"step": "done", "note": "đã xong / done"})
                        if part.status_code != 202:
                            wrong.append(f"co-handler's part before {status}: "
                                         f"{part.status_code} {part.text[:160]!r}")
                r = await c.post(url.format(did), headers=world.headers(role),
                                 json={"status": status, "note": "lý do / reason"})
                if r.status_code != expected:
                    wrong.append(f"{status} as {role}: {r.status_code}, expected {expected} "
                                 f"({r.text[:160]!r})")
                elif expected == 403 and role in (Role.CO_HANDLER, Role.ASSIGNED_MEMBER):
                    # The reason names who may: in English here (Accept-Language: en).
                    reason = r.json()["errors"][0]["reason"]
                    if "lead agency or the permanent deputy" not in reason:
                        wrong.append(f"{status} as {role}: reason {reason!r}")
    assert wrong == [], "\n".join(wrong)

    co = moved["reassign_requested", Role.CO_HANDLER]
    lead = moved["reassign_requested", Role.AGENCY]

    async def router_acted() -> bool:
        return not (await _active(database_url, co["co_handler"])
                    or await _active(database_url, lead["lead"]))

    await wait_until(router_acted, timeout=60)
    # Its own part went to triage; the lead still holds the difficulty.
    assert await _active(database_url, co["lead"])
    assert await _active(database_url, co["member"])
    await the_deputy_dispatches_from_triage(stack, database_url, topics_ready, world, lead)
    await the_router_ignores_what_intake_would_refuse(stack, database_url, topics_ready,
                                                      world, rogue)


async def the_deputy_dispatches_from_triage(
    stack: Stack, database_url: str, kafka: str, world: World, d: dict[str, Any]
) -> None:
    """#20 item 3: the lead said "not ours" (reassign_requested without a target), so
    the difficulty waits in the permanent deputy's triage queue; the deputy sends it to a
    chosen agency, whose topic gets the task. Nobody else may name a target."""
    from aiokafka import AIOKafkaConsumer

    from shared import topics
    from shared.events import AgencyTask

    target = "binh-duong.so-ke-hoach-dau-tu"
    deputy = world.headers(Role.PERMANENT_DEPUTY)
    url = stack["intake"].url + f"/v1/difficulties/{d['id']}/status"

    async def in_triage() -> bool:
        return "triage" in {r["role"] for r in await _assignments(database_url, d["id"])}

    await wait_until(in_triage, timeout=60)
    async with httpx.AsyncClient(timeout=30) as c:
        for who, body, code, field in (
            (world.headers(Role.CO_HANDLER), {"status": "reassign_requested",
                                              "target_agency_id": target}, 403, None),
            (deputy, {"status": "reassign_requested", "target_agency_id": "binh-duong.nope"},
             422, "target_agency_id"),
            (deputy, {"status": "in_progress", "target_agency_id": target}, 422,
             "target_agency_id"),
        ):
            r = await c.post(url, headers=who, json={**body, "note": "điều phối"})
            assert r.status_code == code, r.text
            if field is not None:
                assert r.json()["errors"][0]["field"] == field
        r = await c.post(url, headers=deputy, json={
            "status": "reassign_requested", "target_agency_id": target,
            "note": "Giao Sở Kế hoạch và Đầu tư chủ trì"})
        assert r.status_code == 202, r.text

    async def dispatched() -> dict[str, Any] | None:
        for row in await _assignments(database_url, d["id"]):
            if row["agency_id"] == target and row["role"] == "lead":
                return dict(row)
        return None

    chosen = await wait_until(dispatched, timeout=60)
    roles = {r["role"] for r in await _assignments(database_url, d["id"])}
    assert "triage" not in roles, roles  # the queue is emptied of it
    consumer = AIOKafkaConsumer(topics.agency_topic(target), bootstrap_servers=kafka,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async def task_arrived() -> bool:
            batch = await consumer.getmany(timeout_ms=500)
            return any(AgencyTask.model_validate_json(rec.value or b"").assignment
                       .assignment_id == chosen["assignment_id"]
                       for recs in batch.values() for rec in recs)

        await wait_until(task_arrived, timeout=60)
    finally:
        await consumer.stop()


async def _assignments(database_url: str, did: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(
            "SELECT assignment_id, role, agency_id FROM intake.assignments"
            " WHERE difficulty_id = $1 AND active", uuid.UUID(did)))
    finally:
        await conn.close()


async def the_router_ignores_what_intake_would_refuse(
    stack: Stack, database_url: str, kafka: str, world: World, d: dict[str, Any]
) -> None:
    """Defence in depth: status events intake now refuses, published straight to the
    topic (an older intake, a replay of old history): a member's reassignment request
    and a co-handler's escalation, each naming its own assignment. The router records
    them and moves nothing; before, the member's took the lead's assignment away."""
    from aiokafka import AIOKafkaProducer

    from shared.events import (
        ActorKind,
        DifficultyStatusChanged,
        Status,
        encode_body,
        encode_headers,
        new_envelope,
    )

    conn = await asyncpg.connect(database_url)
    try:
        before = await conn.fetch(
            "SELECT assignment_id, role, agency_id, member_id FROM intake.assignments"
            " WHERE difficulty_id = $1", uuid.UUID(d["id"]))
        rows = {r["role"]: r for r in before}
    finally:
        await conn.close()
    changes = [
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=uuid.UUID(d["id"]), province_code="79",
            status=status, actor_kind=kind, actor_id=actor, assignment_id=mine, note="x",
            changed_at=datetime.now(UTC))
        for status, kind, actor, mine in (
            (Status.REASSIGN_REQUESTED, ActorKind.MEMBER, rows["member"]["member_id"],
             rows["member"]["assignment_id"]),
            (Status.ESCALATED, ActorKind.AGENCY, rows["co_handler"]["agency_id"],
             rows["co_handler"]["assignment_id"]))]
    envs = [new_envelope(c, source="test/rogue") for c in changes]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(
                env.data.topic, encode_body(env.data), key=env.data.key().encode(),
                headers=[(k, v.encode()) for k, v in encode_headers(env).items()])
    finally:
        await producer.stop()
    conn = await asyncpg.connect(database_url)
    try:
        async def processed() -> bool:
            return int(await conn.fetchval(
                "SELECT count(*) FROM router.processed_events WHERE event_id = ANY($1::text[])",
                [e.id for e in envs])) == len(envs)

        await wait_until(processed, timeout=60)
        # Recorded in the same transaction as any assignment they would have made.
        held = await conn.fetch(
            "SELECT assignment_id, active FROM router.assignments WHERE difficulty_id = $1",
            uuid.UUID(d["id"]))
    finally:
        await conn.close()
    # Nothing new, nothing taken away: the router holds what it decided at first.
    assert {r["assignment_id"] for r in held} == {r["assignment_id"] for r in before}
    assert all(r["active"] for r in held)
    async with httpx.AsyncClient(timeout=30) as c:
        metrics = (await c.get(stack["router"].url + "/metrics")).text
    assert 'thaogo_router_status_ignored_total{reason="not_an_agency"} 1.0' in metrics
    assert 'thaogo_router_status_ignored_total{reason="co_handler_escalation"} 1.0' in metrics


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
