"""Who a request speaks for: the one authentication dependency of every service's routes,
and the same look-ups for its pages.

A script or an agency's own system names itself with a bearer token; a person in a
browser with the sign-in session's cookie (`auth.SESSION_COOKIE`), which every service of
the site receives. The cookie counts for reads only (GET, HEAD): a browser sends it with
any request another site makes it send, so a change through the API needs the bearer
token, and a change through a page needs the page's CSRF value beside the cookie
(`person_at_form`). Every look-up reads the registry and the live province
configuration (`shared.auth`), so a revoked token, an ended session or a member who left
is refused on the next request.

main.py puts an `Identities` on `app.state.identities`; routes take `who: SignedIn`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared import auth
from shared.errors import unauthorized
from shared.provinces import ConfigSet

# Reads that a signed-in browser may make with its cookie alone.
SAFE_METHODS = frozenset({"GET", "HEAD"})

BEARER = HTTPBearer(
    auto_error=False,
    description="An agency token (tga_...), a task-force member token (tgm_...) or an "
    "operator token (tgo_...), from `thaogo token create`; a page's links may use the "
    "browser's sign-in session instead, for reads",
)


def _uncounted(reason: str) -> None:
    del reason


@dataclass(frozen=True)
class Identities:
    """Where a service looks up who is asking: its pool (which holds the `auth` schema),
    the live province configuration, its clock (sessions expire by it), and the counter
    of refusals by reason (intake's metric; nothing elsewhere)."""

    db: Callable[[], asyncpg.Pool]
    configs: Callable[[], ConfigSet]
    now: Callable[[], datetime]
    refused: Callable[[str], None] = _uncounted

    async def by_token(self, token: str | None) -> auth.Principal | None:
        async with self.db().acquire() as conn:
            return await auth.principal_for(conn, token, configs=self.configs())

    async def by_session(self, sid: str | None) -> auth.Principal | None:
        async with self.db().acquire() as conn:
            return await auth.session_principal(conn, sid, now=self.now(),
                                                configs=self.configs())

    async def by_token_id(self, token_id: uuid.UUID) -> auth.Principal | None:
        """The holder of a token named by id (a bound report link's), while it lives."""
        async with self.db().acquire() as conn:
            return await auth.principal_by_id(conn, token_id, self.configs())


def identities(request: Request) -> Identities:
    """The look-ups main.py built for this app."""
    found: Identities = request.app.state.identities
    return found


async def _holder(request: Request, credentials: HTTPAuthorizationCredentials | None
                  ) -> tuple[auth.Principal | None, str]:
    """Whoever the bearer token names; without one, for a read, the browser's session;
    with why nobody is, when nobody is."""
    if credentials is not None:
        return await identities(request).by_token(credentials.credentials), "no_valid_token"
    if request.method in SAFE_METHODS:
        return await browser_person(request), "no_session"
    return None, "no_valid_token"


async def asking(request: Request) -> auth.Principal | None:
    """Who is asking (see `_holder`), for a page that answers nobody by itself."""
    who, _ = await _holder(request, await BEARER(request))
    return who


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> auth.Principal:
    """Who is asking (see `_holder`); a 401, counted by why, when nobody is."""
    who, why = await _holder(request, credentials)
    if who is None:
        identities(request).refused(why)
        raise unauthorized()
    return who


SignedIn = Annotated[auth.Principal, Depends(signed_in)]


async def browser_person(request: Request) -> auth.Principal | None:
    """The signed-in person of a browser's session cookie, or None."""
    return await identities(request).by_session(request.cookies.get(auth.SESSION_COOKIE))


async def person(request: Request) -> auth.Principal:
    """The signed-in person of a workspace page; a 401 without one."""
    who = await browser_person(request)
    if who is None:
        identities(request).refused("no_session")
        raise unauthorized()
    return who


async def person_at_form(request: Request, csrf_token: str) -> auth.Principal:
    """The signed-in person posting a page's form, which must carry the page's CSRF value
    (see `auth.csrf_ok`); a 403 without it, a 401 without a session."""
    if not auth.csrf_ok(request.cookies.get(auth.CSRF_COOKIE), csrf_token):
        raise auth.csrf_refused()
    return await person(request)
