"""What the API and the pages both stand on: the read side main.py builds, its loaders of
published reports, the path parameters, the reader's dependencies and refusals."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, Path, Request, Response

from services.reporting import access, logic, store, usecases
from shared import auth
from shared.calendar import Clock, check_date, parse_week_label
from shared.errors import Refusal
from shared.events import (
    WeeklyReport,
)
from shared.identity import SignedIn
from shared.provinces import ConfigHolder, ProvinceConfig

MAX_SEARCH_WORDS = 8
WEEK_PATTERN = r"^[0-9]{4}-W[0-9]{2}$"
# A report path names a week, or "final": the mandate report of a dissolved task force.
REPORT_PATTERN = r"^([0-9]{4}-W[0-9]{2}|final)$"
PROVINCE_PATTERN = r"^[a-z0-9-]{1,60}$"
ProvincePath = Annotated[str, Path(pattern=PROVINCE_PATTERN,
                                   description="Province slug (binh-duong) or code (74)")]
ReportPath = Annotated[str, Path(pattern=REPORT_PATTERN,
                                 description='ISO week, e.g. 2026-W48, or "final"')]


@dataclass
class ReadSide:
    """What the read routes need; built once in main."""

    db: Callable[[], asyncpg.Pool]
    config: ConfigHolder
    clock: Clock
    base_url: str
    # Signs the page links in reports; None leaves them unsigned (tests of other things).
    links: access.LinkSigner | None = None
    # The local mailbox of `thaogo up`, named on the page that says a link was mailed.
    mailbox_url: str | None = None
    # Where the workspace's forms post (intake's public URL); "" for the same origin.
    intake_url: str = ""

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    def page_url(self, slug: str, week_label: str, *,
                 token_id: uuid.UUID | None = None) -> str:
        """The page's signed link: unbound (the one mailed), or bound to `token_id` for a
        link handed to that token's holder."""
        path = f"/reports/{slug}/{week_label}"
        if self.links is None:
            return self.base_url + path
        return self.links.url(self.base_url, path, now=self.now(), token_id=token_id)

    @property
    def secure_cookies(self) -> bool:
        """Served over HTTPS (behind the ingress, whose TLS the app does not see): the
        sign-in cookie must then never travel in clear."""
        return self.base_url.startswith("https://")


async def load_report(
    side: ReadSide, province: str, week_label: str, *, who: auth.Principal | None
) -> tuple[ProvinceConfig, WeeklyReport, bool] | None:
    """(config, report, published): the stored report, or for a week not yet closed (or
    whose report was not published yet) a preview computed as of now; None if unknown.
    A week label outside the accepted weeks is refused (InvalidField, a 422); a reader
    (`who`; None for a signed link, which opens its own page) of another province gets
    a 403, before anything is computed."""
    cfg = logic.resolve_province(side.config.current, province)
    if cfg is None:
        return None
    if who is not None and not access.may_read(who, cfg.slug):
        raise access.out_of_scope()
    if week_label == usecases.FINAL:
        return await load_final(side, cfg)
    window = parse_week_label(week_label, "week_label")
    async with side.db().acquire() as conn:
        stored = await store.stored_report(conn, task_force=cfg.slug, week_label=window.label)
        if stored is not None:
            return cfg, WeeklyReport.model_validate(stored), True
        now = side.now()
        if window.start >= now:
            return None  # a week that has not started has nothing to say
        report = await usecases.compose(
            conn, cfg=cfg, window=window, as_of=now, generated_at=now,
            page_url=side.page_url(cfg.slug, window.label))
    return cfg, report, False


async def load_final(
    side: ReadSide, cfg: ProvinceConfig
) -> tuple[ProvinceConfig, WeeklyReport, bool] | None:
    """The published final report; between the dissolution and its publication (one
    poll of the publisher), a preview; None for a task force still in office, whose
    mandate-long rollup nobody should be able to make this public route compute."""
    async with side.db().acquire() as conn:
        stored = await store.stored_report(conn, task_force=cfg.slug, week_label=usecases.FINAL)
        if stored is not None:
            return cfg, WeeklyReport.model_validate(stored), True
        now = side.now()
        if not usecases.is_dissolved(cfg, now):
            return None
        report = await usecases.compose_final(
            conn, cfg=cfg, as_of=now, page_url=side.page_url(cfg.slug, usecases.FINAL))
    return cfg, report, False


def not_found() -> Refusal:
    """An unknown province, a week that has not started, a task force still in office."""
    return Refusal(404, "path", "no such report", "không có báo cáo này")


def track_not_found() -> Refusal:
    # The same answer for an unknown code and a tax code that does not match it.
    return Refusal(404, "code", "no difficulty with this tracking code and tax code",
                   "không có hồ sơ với mã hồ sơ và mã số thuế này")


def encode_cursor(received_at: datetime, difficulty_id: uuid.UUID) -> str:
    raw = f"{received_at.isoformat()}|{difficulty_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, did = raw.partition("|")
        t = datetime.fromisoformat(at)
        if t.tzinfo is None:
            raise ValueError("naive")
        check_date(t, "cursor")
        return t, uuid.UUID(did)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refusal(422, "cursor", "not a cursor from this API",
                      "không phải con trỏ trang của API này") from e


def read_side(request: Request) -> ReadSide:
    """The read side main.py built for this app."""
    side: ReadSide = request.app.state.read_side
    return side


Side = Annotated[ReadSide, Depends(read_side)]


async def require_reader(side: Side, who: SignedIn) -> auth.Principal:
    """A task-force member or an operator (see `shared.identity.signed_in`)."""
    if access.reader_ok(who, side.config.current):
        return who
    raise Refusal(403, "Authorization", "only task-force members and operators may read this",
                  "chỉ thành viên Tổ công tác và người vận hành được xem")

Reader = Annotated[auth.Principal, Depends(require_reader)]


async def require_lister(side: Side, who: SignedIn) -> auth.Principal:
    """A reader (as `require_reader`), or an agency, whose list is its own queue."""
    if who.kind is auth.TokenKind.AGENCY or access.reader_ok(who, side.config.current):
        return who
    raise Refusal(403, "Authorization", "only agencies, task-force members and operators may "
                  "list difficulties", "chỉ cơ quan, thành viên Tổ công tác và người vận hành "
                  "được xem danh sách")

Lister = Annotated[auth.Principal, Depends(require_lister)]

def in_scope(who: auth.Principal, cfg: ProvinceConfig) -> None:
    if not access.may_read(who, cfg.slug):
        raise access.out_of_scope()


# The public view is the same for everybody and changes once a week (a new week published)
# or when an escalation is answered: a portal may link to it and proxies may keep it.
PUBLIC_MAX_AGE = 300


def cached(request: Request, body: bytes, media_type: str) -> Response:
    """`body` with a strong ETag of its bytes and public caching; 304 (no body) when the
    client already holds it (If-None-Match, any of a list, or *)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}", "ETag": etag}
    held = request.headers.get("if-none-match", "")
    if held.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in held.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def load_public(side: ReadSide, province: str, week: str | None
                      ) -> tuple[ProvinceConfig, usecases.PublicView]:
    """The public view of a province's week (the last published one by default), or a
    404 naming what is missing."""
    cfg = logic.resolve_province(side.config.current, province)
    if cfg is None:
        raise not_found()
    if week is not None:
        parse_week_label(week, "week")  # a malformed or impossible week: 422 naming it
    async with side.db().acquire() as conn:
        view = await usecases.public_view(conn, cfg=cfg, week_label=week, now=side.now())
    if view is None:
        raise Refusal(404, "week", "no published report for this week",
                      "chưa có báo cáo đã công bố của tuần này")
    return cfg, view
