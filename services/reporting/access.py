"""Who may open the report pages.

A browser cannot send a bearer token, and the head forwards the weekly report by
e-mail, so a page opens with any one of:
- a signed link: the path with `exp` (unix time), optionally `tok` (a token id) and
  `sig` (HMAC-SHA256 of all three under the reporting link secret). The one the
  publisher puts in the report notify mails to the head and the permanent deputy is
  unbound and lives long (`link_ttl_days`); the one a JSON answer hands to a reader is
  bound to the reader's token, so revoking the token closes it, and lives
  `link_json_ttl_hours`;
- a session cookie, set by signing in at /reports/login with a member or operator token.
  The cookie holds a random session id, never the token; the session (table
  `reporting.sessions`) names the token, so a revoked token ends its sessions at once,
  and it ends at sign-out or after COOKIE_MAX_AGE_S;
- a bearer token, for scripts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from shared import auth
from shared.errors import Refusal
from shared.provinces import ConfigSet

log = logging.getLogger("thaogo.reporting.access")

COOKIE = "thaogo_reports"
COOKIE_MAX_AGE_S = 8 * 3600  # a session lasts a working day; the token stays valid longer
READERS = frozenset({auth.TokenKind.MEMBER, auth.TokenKind.OPERATOR})


# Placeholders shipped in examples and documentation, refused as link secrets.
PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "change_me", "secret", "password",
                                 "example", "test", "todo", "xxx", "replace-me"})
MIN_SECRET_LENGTH = 32
MAKE_A_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class WeakSecret(ValueError):
    """The link secret would let others sign report links."""


def check_secret(secret: str) -> None:
    """WeakSecret for a placeholder or a secret shorter than MIN_SECRET_LENGTH characters:
    whoever knows or guesses it can sign a link to any report."""
    if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        raise WeakSecret(
            "THAOGO_REPORTING_LINK_SECRET is a placeholder or shorter than "
            f"{MIN_SECRET_LENGTH} characters, so anyone could sign report links; set it to "
            f"a random value, made with:  {MAKE_A_SECRET}")


@dataclass(frozen=True)
class Grant:
    """A valid signed link: unbound (the mailed link), or bound to the token whose holder
    was handed it (valid only while that token is)."""

    token_id: uuid.UUID | None


@dataclass(frozen=True)
class LinkSigner:
    """Signs and checks page links. One secret for every replica, or links made by one
    replica would not open on another."""

    secret: bytes
    ttl: timedelta
    bound_ttl: timedelta = timedelta(hours=24)

    @classmethod
    def create(cls, secret: str | None, *, ttl_days: int, bound_ttl_hours: int = 24
               ) -> LinkSigner:
        """WeakSecret for a placeholder or short secret, at start-up rather than when a
        forged link is already out."""
        if not secret:
            log.warning("no THAOGO_REPORTING_LINK_SECRET: report links are signed with a key of "
                        "this process only, so they stop opening at restart and on other "
                        "replicas")
            secret = secrets.token_urlsafe(32)
        check_secret(secret)
        return cls(secret.encode(), timedelta(days=ttl_days), timedelta(hours=bound_ttl_hours))

    def _sig(self, path: str, expires: int, token_id: str) -> str:
        message = f"{path}\n{expires}\n{token_id}".encode()
        mac = hmac.new(self.secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def query(self, path: str, *, now: datetime,
              token_id: uuid.UUID | None = None) -> dict[str, str]:
        ttl = self.ttl if token_id is None else self.bound_ttl
        expires = int((now + ttl).timestamp())
        tok = "" if token_id is None else str(token_id)
        return {"exp": str(expires), **({"tok": tok} if tok else {}),
                "sig": self._sig(path, expires, tok)}

    def url(self, base_url: str, path: str, *, now: datetime,
            token_id: uuid.UUID | None = None) -> str:
        """The mailed link (unbound, `ttl`), or with `token_id` one handed to that token's
        holder (`bound_ttl`, and closed with the token)."""
        return f"{base_url}{path}?{urlencode(self.query(path, now=now, token_id=token_id))}"

    def grant(self, path: str, exp: str | None, tok: str | None, sig: str | None, *,
              now: datetime) -> Grant | None:
        """The grant of a signed link to `path`, or None: unsigned, altered or expired.
        A bound grant still needs its token checked against the registry."""
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            return None
        expires = int(exp)
        if expires < now.timestamp():
            return None
        token_id: uuid.UUID | None = None
        if tok:
            try:
                token_id = uuid.UUID(tok)
            except ValueError:
                return None
        if not hmac.compare_digest(self._sig(path, expires, tok or ""), sig):
            return None
        return Grant(token_id)


def session_id() -> str:
    """A new sign-in session's id, for the cookie; only its hash is stored."""
    return secrets.token_urlsafe(32)


def session_hash(sid: str) -> bytes:
    return hashlib.sha256(sid.encode()).digest()


# Provinces are public (the index lists them) and difficulty ids unguessable, so a 403
# that says why leaks nothing a 404 would hide, and tells a member what went wrong.
def out_of_scope() -> Refusal:
    """A reader of one province asking for another's: a 403 that says why."""
    return Refusal(403, "province", "this belongs to another province's task force",
                   "nội dung này thuộc Tổ công tác của tỉnh, thành phố khác")


def reader_ok(who: auth.Principal | None, configs: ConfigSet) -> bool:
    """An operator, or a member still active in a task force's configuration
    (`auth.principal_for` has checked it against `configs` already; checked again here
    because a principal may outlive a reload within one request)."""
    if who is None or who.kind not in READERS:
        return False
    if who.kind == auth.TokenKind.OPERATOR:
        return who.province is None or who.province in configs
    found = auth.find_member(configs, who.subject_id)
    return found is not None and found[1].active


def may_read(who: auth.Principal, slug: str) -> bool:
    """Whether a reader may see the task force `slug`: a member their own, an operator
    every one unless the token names a province."""
    return who.province is None or who.province == slug


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only back into the report pages (no open redirect)."""
    if target and target.startswith("/reports") and "//" not in target and "\\" not in target:
        return target
    return "/reports"
