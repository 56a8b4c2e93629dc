"""Templates: where they are, how a page is rendered, and the small filters they use.

Templates get plain values (dicts from `views`, strings, numbers), never the node.
Autoescaping is on for every template, so text that people wrote is always shown as text.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from ..notices import Waiting, waiting

PACKAGE = Path(__file__).resolve().parent.parent


def find_web_dir(package: Path = PACKAGE) -> Path:
    """`web/` inside the package (an installed wheel), else beside it (a source checkout)."""
    for candidate in (package / "web", package.parent / "web"):
        if (candidate / "templates").is_dir():
            return candidate
    raise FileNotFoundError(f"no web/templates beside or inside {package}")


def when(timestamp: int | float | None) -> str:
    """A moment as people read it: '2026-11-26 14:05 UTC'."""
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(timestamp: int | float | None, now: float | None = None) -> str:
    if timestamp is None:
        return "never"
    seconds = max(0, int((time.time() if now is None else now) - timestamp))
    for size, unit in ((86_400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def short_did(did: str) -> str:
    return did if len(did) <= 24 else f"{did[:16]}…{did[-6:]}"


def score(value: float) -> str:
    return f"{value:.3f}"


@jinja2.pass_context
def _ago(context: jinja2.runtime.Context, timestamp: int | float | None) -> str:
    return ago(timestamp, context.get("now"))


class Templates:
    def __init__(self, directory: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(when=when, ago=_ago, short_did=short_did, score=score)

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)


class PageError(Exception):
    """A page that cannot be shown (no such guild, not a DID): an error page instead."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page, with what every page needs: the owner, the flash messages, the CSRF token."""
    templates: Templates = request.app.state.ui_templates
    session = getattr(request.state, "session", None)
    node = getattr(request.app.state, "node", None)
    # The header's badges (the event stream keeps the notices' count current), derived once
    # per change, not once per page.
    owed = waiting(node) if node and session else Waiting((), 0)
    base = {
        "request": request,
        "path": request.url.path,
        "flash": session.take_flash() if session is not None else [],
        "signed_in": session is not None,
        "csrf_token": request.scope.get("csrftoken", lambda: ""),
        "me": {"did": node.did, "name": node.name or "You"} if node and session else None,
        "unread_messages": owed.unread,
        "waiting": len(owed.notices),
        "now": node.now() if node else time.time(),
        "errors": {},
        "values": {},
    }
    return HTMLResponse(templates.render(template, base | context), status_code=status)
