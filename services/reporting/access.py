"""Who may open the report pages.

A browser cannot send a bearer token, and the head forwards the weekly report by
e-mail, so a page opens with any one of:
- a signed link: the path with `exp` (unix time) and `sig` (HMAC-SHA256 of path and
  expiry under the reporting link secret). It is what notify mails to the head and the
  permanent deputy; it opens that one page until it expires, whoever holds it;
- a session cookie, set by signing in at /reports/login with a member or operator token
  (the cookie holds the token, so a revoked token signs its sessions out at once);
- a bearer token, for scripts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from shared import auth
from shared.provinces import ConfigSet

log = logging.getLogger("thaogo.reporting.access")

COOKIE = "thaogo_reports"
COOKIE_MAX_AGE_S = 8 * 3600  # a working day; the token itself stays valid longer
READERS = frozenset({auth.TokenKind.MEMBER, auth.TokenKind.OPERATOR})


@dataclass(frozen=True)
class LinkSigner:
    """Signs and checks page links. One secret for every replica, or links made by one
    replica would not open on another."""

    secret: bytes
    ttl: timedelta

    @classmethod
    def create(cls, secret: str | None, *, ttl_days: int) -> LinkSigner:
        if not secret:
            log.warning("no THAOGO_REPORTING_LINK_SECRET: report links are signed with a key of "
                        "this process only, so they stop opening at restart and on other "
                        "replicas")
            secret = secrets.token_urlsafe(32)
        return cls(secret.encode(), timedelta(days=ttl_days))

    def _sig(self, path: str, expires: int) -> str:
        mac = hmac.new(self.secret, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def query(self, path: str, *, now: datetime) -> dict[str, str]:
        expires = int((now + self.ttl).timestamp())
        return {"exp": str(expires), "sig": self._sig(path, expires)}

    def url(self, base_url: str, path: str, *, now: datetime) -> str:
        return f"{base_url}{path}?{urlencode(self.query(path, now=now))}"

    def valid(self, path: str, exp: str | None, sig: str | None, *, now: datetime) -> bool:
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            return False
        expires = int(exp)
        if expires < now.timestamp():
            return False
        return hmac.compare_digest(self._sig(path, expires), sig)


# Provinces are public (the index lists them) and difficulty ids unguessable, so a 403
# that says why leaks nothing a 404 would hide, and tells a member what went wrong.
OUT_OF_SCOPE = ("this belongs to another province's task force / nội dung này thuộc Tổ công "
                "tác của tỉnh, thành phố khác")


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
