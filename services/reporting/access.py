"""Who may open the report pages.

A browser cannot send a bearer token, and the head forwards the weekly report by
e-mail, so a page opens with any one of:
- a signed link: the path with `exp` (unix time), optionally `tok` (a token id) and
  `sig` (HMAC-SHA256 of all three under the reporting link secret). The one the
  publisher puts in the report notify mails to the head and the permanent deputy is
  unbound and lives long (`link_ttl_days`); the one a JSON answer hands to a reader is
  bound to the reader's token, so revoking the token closes it, and lives
  `link_json_ttl_hours`;
- a session cookie, set by signing in at /reports/login with a member or operator token,
  by a one-time link mailed to a person of the province configuration (/workspace/
  sign-in), or by a demo link `thaogo up` prints (a signed link bound to a token).
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
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from shared import auth
from shared.errors import Refusal
from shared.provinces import (
    Channel,
    ConfigSet,
    ContactPoint,
    Person,
    ProvinceConfig,
    email_key,
)

log = logging.getLogger("thaogo.reporting.access")

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


# Provinces are public (the index lists them) and difficulty ids unguessable, so a 403
# that says why leaks nothing a 404 would hide, and tells a member what went wrong.
def out_of_scope() -> Refusal:
    """A reader of one province asking for another's: a 403 that says why."""
    return Refusal(403, "province", "this belongs to another province's task force",
                   "nội dung này thuộc Tổ công tác của tỉnh, thành phố khác")


def reader_ok(who: auth.Principal | None, configs: ConfigSet) -> bool:
    """An operator, a member still active in a task force's configuration, or the head or
    the permanent deputy (their agencies: `rules.head`, `rules.triage`), to whom the
    reports are addressed (`auth.principal_for` has checked it against `configs` already;
    checked again here because a principal may outlive a reload within one request)."""
    if who is None:
        return False
    if who.kind == auth.TokenKind.AGENCY:
        return role_of(who, configs) in ("head", "permanent_deputy")
    if who.kind not in READERS:
        return False
    if who.kind == auth.TokenKind.OPERATOR:
        return who.province is None or who.province in configs
    found = auth.find_member(configs, who.subject_id)
    if found is None:
        return auth.find_deputy(configs, who.subject_id) is not None
    return found[1].active


def may_read(who: auth.Principal, slug: str) -> bool:
    """Whether a reader may see the task force `slug`: a member their own, an operator
    every one unless the token names a province."""
    return who.province is None or who.province == slug


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only back into the report pages or the workspace
    (no open redirect)."""
    if (target and target.startswith(("/reports", "/workspace")) and "//" not in target
            and "\\" not in target):
        return target
    return "/reports"


# --- signing in by e-mail --------------------------------------------------------------

SIGN_IN_TTL = timedelta(minutes=15)
Role = Literal["agency", "member", "permanent_deputy", "head", "deputy"]


@dataclass(frozen=True)
class Identity:
    """Whom a sign-in link signs in as: the token kind and subject the session acts as,
    and the person (or agency) the link is mailed to."""

    role: Role
    kind: auth.TokenKind
    subject_id: str
    recipient_id: str
    province: str


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.match(address) is not None


def _has_email(contacts: Iterable[ContactPoint], key: str) -> bool:
    return any(c.channel is Channel.EMAIL and email_key(c.address) == key for c in contacts)


def agency_role(cfg: ProvinceConfig, agency_id: str) -> Role:
    """The head and the permanent deputy act through their task force's agencies."""
    if agency_id == cfg.rules.head:
        return "head"
    return "permanent_deputy" if agency_id == cfg.rules.triage else "agency"


def identities_for(configs: ConfigSet, address: str, *, today: date) -> list[Identity]:
    """Every role whose e-mail contact in the configuration is `address`: the head, the
    permanent deputy and active members by their own contacts, agency officers by their
    agency's, deputies by zone type by theirs. One per role, the person first."""
    key = email_key(address)
    found: dict[tuple[auth.TokenKind, str], Identity] = {}
    for slug in configs:
        cfg = configs[slug]
        tf = cfg.task_force
        if not tf.is_active(today):
            continue
        people: list[tuple[Person, Identity]] = [
            (tf.head, Identity("head", auth.TokenKind.AGENCY, cfg.rules.head, tf.head.id, slug)),
            (tf.permanent_deputy, Identity("permanent_deputy", auth.TokenKind.AGENCY,
                                           cfg.rules.triage, tf.permanent_deputy.id, slug)),
            *((m, Identity("member", auth.TokenKind.MEMBER, m.id, m.id, slug))
              for m in tf.active_members()),
            *((d, Identity("deputy", auth.TokenKind.MEMBER, d.id, d.id, slug))
              for d in tf.deputies),
        ]
        for person, who in people:
            if _has_email(person.contacts, key):
                found.setdefault((who.kind, who.subject_id), who)
        for agency in cfg.agencies:
            if _has_email(agency.contacts, key):
                found.setdefault((auth.TokenKind.AGENCY, agency.id), Identity(
                    agency_role(cfg, agency.id), auth.TokenKind.AGENCY, agency.id, agency.id,
                    slug))
    return list(found.values())


def role_of(who: auth.Principal, configs: ConfigSet) -> Role | Literal["operator"] | None:
    if who.kind == auth.TokenKind.OPERATOR:
        return "operator"
    if who.kind == auth.TokenKind.MEMBER:
        return "deputy" if auth.find_deputy(configs, who.subject_id) is not None else "member"
    if who.province is None or who.province not in configs:
        slug = auth.province_of_agency(configs, who.subject_id)
    else:
        slug = who.province
    return None if slug is None else agency_role(configs[slug], who.subject_id)


def sign_in_code() -> str:
    """The secret of a mailed link; only its hash is stored."""
    return secrets.token_urlsafe(32)


