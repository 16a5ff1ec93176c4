"""Security headers on every answer of every service.

The pages (intake's web form, reporting's reports) are server-rendered HTML with no
script at all, their charts inline SVG, their style one inline <style> block per
template. So the Content-Security-Policy allows no script, no plugin, no connection,
styles only by the hashes of those blocks, forms posting back to the same origin, and
no framing (clickjacking). The API docs (/docs, /redoc: Swagger UI and ReDoc load
their script from a CDN) keep everything but the script rules.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = ("/docs", "/redoc")
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def inline_styles(templates: Path) -> list[str]:
    """The text of every <style> block in a template folder (static text: Jinja leaves it
    as it is), for the policy's hashes."""
    return [m.group(1) for f in sorted(templates.glob("*.html"))
            for m in _STYLE.finditer(f.read_text(encoding="utf-8"))]


def style_hash(css: str) -> str:
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def page_policy(styles: Iterable[str], form_targets: Iterable[str] = ()) -> str:
    """`form_targets`: other origins the pages' forms post to (the workspace's pages,
    served by reporting, post to intake, the command side, when it has its own origin)."""
    hashes = " ".join(sorted({style_hash(s) for s in styles})) or "'none'"
    targets = "".join(f" {t}" for t in sorted(set(form_targets)) if t)
    return ("default-src 'none'; script-src 'none'; object-src 'none'; "
            f"style-src {hashes}; img-src 'self' data:; form-action 'self'{targets}; "
            "frame-ancestors 'none'; base-uri 'none'")


DOCS_POLICY = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"


class SecurityHeaders:
    """Adds the headers to every HTTP answer (a route's own value of one wins)."""

    def __init__(self, app: ASGIApp, styles: Iterable[str] = (),
                 form_targets: Iterable[str] = ()) -> None:
        self.app = app
        self.policy = page_policy(styles, form_targets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else self.policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                # Report links carry their signature in the query: never in a Referer.
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, send_with_headers)
