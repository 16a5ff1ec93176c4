"""The workspace's door: signing in by e-mail (a one-time link mailed through notify), the
demo links of `thaogo up`, and a landing page per role."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import access, store, usecases
from services.reporting.api import ReadSide, Side
from services.reporting.pages import people
from services.reporting.pages.agency import words
from services.reporting.pages.common import (
    PAGE,
    TEXT,
    CsrfField,
    FormLang,
    Lang,
    check_csrf,
    env,
    fmt,
    signed_out,
    start_session,
    with_csrf,
)
from shared import auth, identity, outbox, vn
from shared.calendar import TZ
from shared.errors import responses
from shared.events import SignInLink, new_envelope
from shared.provinces import email_key

router = APIRouter(tags=["pages"])

log = logging.getLogger("thaogo.reporting.pages")
EMAIL = Annotated[str, Form(max_length=254, description="The address in the configuration")]
WORKSPACE = "/workspace/"
LINK_PATH = "/workspace/sign-in/link"
ENTER_PATH = "/workspace/enter"


def describe(who: auth.Principal, configs: Any, lang: str) -> tuple[str, str, str]:
    """(who, role, province) as the landing page says them."""
    t, en = TEXT[lang], lang == "en"
    role = access.role_of(who, configs) or "agency"
    cfg = configs.get(who.province) if who.province else None
    province = (cfg.province.name_en if en else cfg.province.name_vi) if cfg else ""
    name = who.subject_id
    if cfg is not None:
        tf = cfg.task_force
        person = {"head": tf.head, "permanent_deputy": tf.permanent_deputy}.get(role) or (
            cfg.person(who.subject_id) if role in ("member", "deputy") else None)
        if person is not None:
            name = f"{person.name} — {person.title}"
        elif (agency := cfg.agency(who.subject_id)) is not None:
            name = agency.name_en if en else agency.name_vi
    return name, t[f"role_{role}"], province


def signin_page(request: Request, side: ReadSide, lang: str, mode: str, *,
                status: int = 200, switch: str | None = None, **extra: Any) -> HTMLResponse:
    t = TEXT[lang]
    other = "en" if lang == "vi" else "vi"
    return with_csrf(request, side, lambda csrf: HTMLResponse(
        env.get_template("signin.html").render(
            t=t, lang=lang, mode=mode, csrf=csrf, mailbox=side.mailbox_url,
            switch=switch or f"/workspace/sign-in?lang={other}", **extra),
        status_code=status))

def dead_link(request: Request, side: ReadSide, lang: str, row: Any) -> HTMLResponse:
    t = TEXT[lang]
    if row is None:
        return signin_page(request, side, lang, "problem", status=404, problem=t["ws_unknown"])
    if row["used_at"] is not None:
        return signin_page(request, side, lang, "problem", status=410, problem=t["ws_used"])
    return signin_page(request, side, lang, "problem", status=410, problem=t["ws_expired"])

@router.get("/workspace/sign-in", response_class=Response, responses=PAGE,
            summary="Ask for a sign-in link by e-mail")
async def ask_form(
    side: Side, request: Request, lang: Lang = "vi") -> HTMLResponse:
    return signin_page(request, side, lang, "ask")

@router.post("/workspace/sign-in", response_class=Response,
             responses={**PAGE, **responses(403)},
             summary="Mail a one-time sign-in link to a person of the configuration")
async def ask(
    side: Side, request: Request, email: EMAIL, csrf_token: CsrfField = "",
              lang: FormLang = "vi") -> HTMLResponse:
    """The same answer whether or not the address is known (nobody learns who is in
    the configuration from it). A known address gets one link per role it holds,
    through notify's mail channel."""
    check_csrf(request, csrf_token)
    address = email.strip()
    if not access.looks_like_email(address):
        raise vn.InvalidField("email", "not an e-mail address",
                              "không phải địa chỉ thư điện tử")
    now = side.now()
    found = access.identities_for(side.config.current, address,
                                  today=now.astimezone(TZ).date())
    events = []
    async with side.db().acquire() as conn, conn.transaction():
        for who in found:
            code, rid = access.sign_in_code(), uuid.uuid4()
            await store.open_sign_in_link(
                conn, link_hash=auth.session_hash(code), request_id=rid,
                kind=who.kind.value, subject_id=who.subject_id,
                recipient_id=who.recipient_id, role=who.role, province=who.province,
                now=now, expires_at=now + access.SIGN_IN_TTL)
            events.append(new_envelope(SignInLink(
                request_id=rid, recipient_id=who.recipient_id, role=who.role,
                province=who.province, address_sha256=email_key(address),
                url=f"{side.base_url}{LINK_PATH}?{urlencode({'code': code})}",
                expires_at=now + access.SIGN_IN_TTL, lang=lang,
            ), source=usecases.SOURCE, event_id=str(rid)))
        if events:
            await outbox.enqueue(conn, schema=usecases.SCHEMA, events=events)
    log.info("sign-in link asked for", extra={"links": len(events)})
    return signin_page(request, side, lang, "sent")

@router.get(LINK_PATH, response_class=Response,
            responses={**PAGE, 404: {"description": "Unknown link",
                                     "content": {"text/html": {}}},
                       410: {"description": "Used or expired",
                             "content": {"text/html": {}}}},
            summary="A mailed sign-in link: who it signs in as, and the button")
async def open_link(
    side: Side, request: Request, code: Annotated[str, Query(max_length=100)],
                    lang: Lang = "vi") -> HTMLResponse:
    # Opening changes nothing: mail scanners open links before people do, and a
    # single-use link spent by a scanner would never reach its person.
    async with side.db().acquire() as conn:
        row = await store.sign_in_link(conn, link_hash=auth.session_hash(code))
    if row is None or row["used_at"] is not None or row["expires_at"] <= side.now():
        return dead_link(request, side, lang, row)
    who = auth.Principal(uuid.UUID(int=0), auth.TokenKind(row["kind"]), row["subject_id"],
                         row["province"])
    name, role, province = describe(who, side.config.current, lang)
    other = "en" if lang == "vi" else "vi"
    return signin_page(request, side, lang, "confirm", action=LINK_PATH,
                       who=f"{name} ({role}, {province})", hidden=[("code", code)],
                       switch=f"{LINK_PATH}?{urlencode({'code': code, 'lang': other})}")

@router.post(LINK_PATH, response_class=Response,
             responses={**PAGE, 303: {"description": "Signed in: the workspace"},
                        **responses(403)}, response_model=None,
             summary="Use a mailed sign-in link (once)")
async def use_link(
    side: Side, request: Request, code: Annotated[str, Form(max_length=100)],
                   csrf_token: CsrfField = "", lang: FormLang = "vi"
                   ) -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token)
    link_hash = auth.session_hash(code)
    async with side.db().acquire() as conn, conn.transaction():
        row = await store.use_sign_in_link(conn, link_hash=link_hash, now=side.now())
        if row is None:
            return dead_link(request, side, lang,
                             await store.sign_in_link(conn, link_hash=link_hash))
        kind = auth.TokenKind(row["kind"])
        if auth.subject_problem(side.config.current, kind, row["subject_id"]) is not None:
            return signin_page(request, side, lang, "problem", status=410,
                               problem=TEXT[lang]["ws_unknown"])
        # The session's token: never shown, lives a day, and ends with the session's
        # subject like any token (a member set inactive, an agency removed).
        token_id, _ = await auth.insert_token(
            conn, kind=kind, subject_id=row["subject_id"], expires_in_days=1,
            purpose=auth.Purpose.SIGN_IN)
    return await start_session(request, side, token_id, WORKSPACE)

def demo_grant(side: ReadSide, tok: str | None, exp: str | None,
               sig: str | None) -> uuid.UUID | None:
    if side.links is None:
        return None
    grant = side.links.grant(ENTER_PATH, exp, tok, sig, now=side.now())
    return grant.token_id if grant is not None else None

@router.get(ENTER_PATH, response_class=Response,
            responses={**PAGE, 404: {"description": "Not a valid link",
                                     "content": {"text/html": {}}}},
            summary="A sign-in link bound to a token (the demo links of `thaogo up`)")
async def enter_form(
    side: Side, request: Request, lang: Lang = "vi",
    tok: Annotated[str | None, Query(max_length=36)] = None,
    exp: Annotated[str | None, Query(max_length=12)] = None,
    sig: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    token_id = demo_grant(side, tok, exp, sig)
    who = (None if token_id is None
           else await identity.identities(request).by_token_id(token_id))
    if who is None:
        return signin_page(request, side, lang, "problem", status=404,
                           problem=TEXT[lang]["ws_unknown"])
    name, role, province = describe(who, side.config.current, lang)
    other = "en" if lang == "vi" else "vi"
    query = {"tok": tok or "", "exp": exp or "", "sig": sig or ""}
    return signin_page(request, side, lang, "confirm", action=ENTER_PATH,
                       who=f"{name} ({role}{', ' + province if province else ''})",
                       hidden=list(query.items()),
                       switch=f"{ENTER_PATH}?{urlencode({**query, 'lang': other})}")

@router.post(ENTER_PATH, response_class=Response, response_model=None,
             responses={**PAGE, 303: {"description": "Signed in: the workspace"},
                        **responses(403)},
             summary="Sign in with a link bound to a token")
async def enter(
    side: Side, request: Request, tok: Annotated[str, Form(max_length=36)],
    exp: Annotated[str, Form(max_length=12)], sig: Annotated[str, Form(max_length=100)],
    csrf_token: CsrfField = "", lang: FormLang = "vi",
) -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token)
    token_id = demo_grant(side, tok, exp, sig)
    if token_id is None or await identity.identities(request).by_token_id(token_id) is None:
        return signin_page(request, side, lang, "problem", status=404,
                           problem=TEXT[lang]["ws_unknown"])
    return await start_session(request, side, token_id, WORKSPACE)

@router.get("/workspace", include_in_schema=False)
async def workspace_bare(lang: Lang = "vi") -> RedirectResponse:
    return RedirectResponse(f"{WORKSPACE}?lang={lang}", status_code=307)

@router.get(WORKSPACE, response_class=Response, response_model=None,
            responses={**PAGE, 303: {"description": "Not signed in: the sign-in page"}},
            summary="Who you are signed in as, and what there is for you")
async def workspace(
    side: Side, request: Request, lang: Lang = "vi") -> HTMLResponse | RedirectResponse:
    who = await identity.browser_person(request)
    if who is None:
        return RedirectResponse(f"/workspace/sign-in?lang={lang}", status_code=303)
    configs = side.config.current
    t = TEXT[lang]
    name, role, province = describe(who, configs, lang)
    links = people.links_for(access.role_of(who, configs), lang)
    links += [(f"/reports?lang={lang}", t["ws_reports"])] if access.reader_ok(
        who, configs) else []
    if who.kind is auth.TokenKind.AGENCY:  # officers, the permanent deputy, the head
        links.insert(0, (f"/workspace/queue?lang={lang}", words(lang)["ws_queue"]))
    links.append(("/docs", t["ws_api"]))
    directions = await people.my_directions(side, who, lang)
    q = request.query_params
    said = people.WORDS[lang].get(f"done_{q.get('done')}") if q.get("done") else None
    return with_csrf(request, side, lambda csrf: HTMLResponse(
        env.get_template("workspace.html").render(
            t=t, w=people.WORDS[lang], lang=lang, who=name, role=role, province=province,
            links=links, csrf=csrf, directions=directions, act=side.intake_url, fmt=fmt,
            done=said, refused=q.get("refused"))))

@router.post("/workspace/sign-out", status_code=303, response_class=RedirectResponse,
             responses=responses(403), summary="Sign out (ends the session)")
async def sign_out(
    side: Side, request: Request, csrf_token: CsrfField = "",
                   lang: FormLang = "vi") -> RedirectResponse:
    check_csrf(request, csrf_token)
    return await signed_out(request, side, f"/workspace/sign-in?lang={lang}")
