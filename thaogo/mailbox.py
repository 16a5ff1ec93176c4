"""The local mailbox of the embedded default: an SMTP server (aiosmtpd) that keeps every
message it is sent in a Maildir, and a page listing them, newest first, so that what
notify mails on a machine without a mail server (sign-in links, reminders, the Friday
report) can be read. `thaogo up` starts it and points notify at it; nothing leaves the
machine. The Maildir (`<data dir>/mailbox`) is the standard format: any mail client
reads it too (`mutt -f .thaogo/mailbox`).

Development only: it accepts mail for any address from anyone who can reach
127.0.0.1, and shows it to anyone who can open the page.
"""

from __future__ import annotations

import html
import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from shared.calendar import TZ
from shared.headers import SecurityHeaders

KEY_PATTERN = r"^[A-Za-z0-9._,=:-]{1,200}$"
MAX_LISTED = 500
_URL = re.compile(r"https?://[^\s<>\"']+")


def _box(folder: Path) -> mailbox.Maildir:
    # Maildir(create=True) makes tmp/, new/ and cur/ only when the folder itself is new.
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(folder, create=False)


class Delivery:
    """aiosmtpd's handler: each accepted message goes into the Maildir whole, with the
    envelope's recipients in a Delivered-To header (the To header may name others)."""

    def __init__(self, folder: Path) -> None:
        self.box = _box(folder)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        prefix = "".join(f"Delivered-To: {r}\r\n" for r in envelope.rcpt_tos).encode()
        self.box.add(prefix + data)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Letter:
    key: str
    sender: str
    to: str
    subject: str
    date: datetime | None
    text: str

    @classmethod
    def parse(cls, key: str, raw: bytes) -> Letter:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        try:
            when = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
        except (TypeError, ValueError):
            when = None
        to = ", ".join(msg.get_all("Delivered-To") or []) or str(msg["To"] or "")
        return cls(key, str(msg["From"] or ""), to, str(msg["Subject"] or ""), when, text)

    @property
    def shown_date(self) -> str:
        return self.date.astimezone(TZ).strftime("%d/%m/%Y %H:%M:%S") if self.date else ""


def letters(folder: Path) -> list[Letter]:
    """Every message kept, newest first (by Date, then by the order they arrived)."""
    box = _box(folder)
    found = [Letter.parse(k, box.get_bytes(k)) for k in box.iterkeys()]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda x: (x.date or epoch, x.key), reverse=True)


def letter(folder: Path, key: str) -> Letter | None:
    box = _box(folder)
    try:
        return Letter.parse(key, box.get_bytes(key))
    except KeyError:
        return None


TEXT = {
    "vi": {"title": "Hộp thư thử nghiệm", "why": "Thư thaogo gửi đi trên máy này (không thư "
           "nào rời khỏi máy). Mới nhất ở trên.", "from": "Người gửi", "to": "Người nhận",
           "subject": "Tiêu đề", "date": "Thời gian", "empty": "Chưa có thư nào.",
           "back": "← Tất cả thư", "other": "English", "other_lang": "en", "count": "thư"},
    "en": {"title": "Local mailbox", "why": "Mail thaogo sent on this machine (none leaves "
           "it). Newest first.", "from": "From", "to": "To", "subject": "Subject",
           "date": "Date", "empty": "No mail yet.", "back": "← All mail",
           "other": "Tiếng Việt", "other_lang": "vi", "count": "messages"},
}
STYLE = """
body { font-family: system-ui, "Segoe UI", Roboto, sans-serif; margin: 1.5rem;
  color: #1f2328; max-width: 60rem; overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; }
ol { list-style: none; padding: 0; }
li { border-bottom: 1px solid #d0d7de; padding: .6rem 0; }
li a { font-weight: 600; }
.meta { color: #57606a; font-size: .9rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; }
dt { font-weight: 600; }
pre { white-space: pre-wrap; background: #f6f8fa; padding: .8rem; border-radius: 6px; }
@media (max-width: 40rem) { body { margin: .75rem; } }
"""


def _page(lang: str, title: str, body: str, switch: str) -> str:
    t = TEXT[lang]
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f'<nav><a href="{switch}" lang="{t["other_lang"]}">{t["other"]}</a></nav>'
            f"<main>{body}</main></body></html>")


def _linked(text: str) -> str:
    """The text escaped, its links made links (a sign-in link must open in one click)."""
    out, at = [], 0
    for m in _URL.finditer(text):
        out.append(html.escape(text[at:m.start()]))
        url = html.escape(m.group(0), quote=True)
        out.append(f'<a href="{url}">{url}</a>')
        at = m.end()
    out.append(html.escape(text[at:]))
    return "".join(out)


Lang = Annotated[str, Query(pattern=r"^(vi|en)$")]


def app(folder: Path) -> FastAPI:
    api = FastAPI(title="thaogo local mailbox", docs_url=None, redoc_url=None,
                  openapi_url=None)
    api.add_middleware(SecurityHeaders, styles=[STYLE])

    @api.get("/", response_class=HTMLResponse)
    async def index(lang: Lang = "vi") -> str:
        t = TEXT[lang]
        kept = letters(folder)[:MAX_LISTED]
        items = "".join(
            f'<li><a href="/messages/{html.escape(x.key)}?lang={lang}">'
            f"{html.escape(x.subject) or '—'}</a><div class=\"meta\">"
            f"{t['to']}: {html.escape(x.to)} · {html.escape(x.shown_date)}</div></li>"
            for x in kept)
        body = (f"<h1>{t['title']}</h1><p>{t['why']}</p><p>{len(kept)} {t['count']}</p>"
                + (f'<ol id="messages">{items}</ol>' if kept else f"<p>{t['empty']}</p>"))
        return _page(lang, t["title"], body, f"/?lang={t['other_lang']}")

    @api.get("/messages/{key}", response_class=HTMLResponse)
    async def one(key: Annotated[str, PathParam(pattern=KEY_PATTERN)],
                  lang: Lang = "vi") -> str:
        t = TEXT[lang]
        x = letter(folder, key)
        if x is None:
            raise HTTPException(404, "no such message")
        body = (f'<p><a href="/?lang={lang}">{t["back"]}</a></p>'
                f"<h1>{html.escape(x.subject) or '—'}</h1><dl>"
                f"<dt>{t['from']}</dt><dd>{html.escape(x.sender)}</dd>"
                f"<dt>{t['to']}</dt><dd>{html.escape(x.to)}</dd>"
                f"<dt>{t['date']}</dt><dd>{html.escape(x.shown_date)}</dd></dl>"
                f'<pre id="body">{_linked(x.text)}</pre>')
        return _page(lang, x.subject or t["title"], body,
                     f"/messages/{html.escape(key)}?lang={t['other_lang']}")

    @api.get("/messages.json")
    async def listing() -> list[dict[str, Any]]:
        """The same list for scripts: newest first."""
        return [{"key": x.key, "from": x.sender, "to": x.to, "subject": x.subject,
                 "date": x.date.isoformat() if x.date else None, "text": x.text}
                for x in letters(folder)[:MAX_LISTED]]

    return api


def serve(folder: Path, *, smtp_port: int, http_port: int, host: str = "127.0.0.1") -> None:
    """Run the SMTP server and the page until SIGINT or SIGTERM."""
    import uvicorn
    from aiosmtpd.controller import Controller

    _box(folder)
    smtp = Controller(Delivery(folder), hostname=host, port=smtp_port)
    smtp.start()
    try:
        uvicorn.run(app(folder), host=host, port=http_port, log_level="warning",
                    access_log=False)
    finally:
        smtp.stop()
