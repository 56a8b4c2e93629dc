"""Who may see the web UI: the owner, through a single-use login link and then a session.

`guildnode run` prints a login link; `guildnode ui` asks the running node for a fresh one
(`POST /api/ui/login-link`, with the owner's token). The link's token is good once, for
10 minutes; redeeming it sets a session cookie (HttpOnly, SameSite=Strict). Sessions are
kept in the node's SQLite, hashed, with their expiry (12 hours), so a restart of the node
does not sign the owner out; signing out or expiry ends them.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..store import Store

Clock = Callable[[], float]

LINK_SECONDS = 600  # DESIGN "Owner-only surfaces": a login link expires in 10 minutes
SESSION_SECONDS = 12 * 3600
MAX_LINKS = 16  # outstanding links; the oldest is dropped first
MAX_SESSIONS = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginLinks:
    """Single-use tokens for login links. Only their hashes are kept."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._expiry = {k: t for k, t in self._expiry.items() if t > now}
            while len(self._expiry) >= MAX_LINKS:
                del self._expiry[next(iter(self._expiry))]
            self._expiry[_digest(token)] = now + LINK_SECONDS
        return token

    def redeem(self, token: str) -> bool:
        """True once for a token issued less than 10 minutes ago; False ever after."""
        with self._lock:
            expires = self._expiry.pop(_digest(token), None)
            return expires is not None and self._clock() < expires


@dataclass
class Session:
    id: str
    expires_at: float
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)

    def say(self, message: str, kind: str = "ok") -> None:
        """A confirmation (or error) to show on the next page the owner sees."""
        self.flash.append((kind, message))

    def take_flash(self) -> list[tuple[str, str]]:
        messages, self.flash = self.flash, []
        return messages


class Sessions:
    """The owner's sessions. Each lives in the node's SQLite as the sha256 of its cookie
    value with its expiry, so it outlasts a restart; flash messages live in memory only."""

    def __init__(self, clock: Clock, store: Callable[[], Store]) -> None:
        self._clock = clock
        self._store = store
        self._live: dict[str, Session] = {}  # digest → session, for its flash messages
        self._lock = threading.Lock()

    def create(self) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), now + SESSION_SECONDS)
        digest = _digest(session.id)
        self._store().save_session(digest, session.expires_at, now, MAX_SESSIONS)
        with self._lock:
            self._live = {k: s for k, s in self._live.items() if s.expires_at > now}
            while len(self._live) >= MAX_SESSIONS:
                del self._live[next(iter(self._live))]
            self._live[digest] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The session whose cookie value is `session_id`, or None if there is none or it
        has expired (an expired one is forgotten)."""
        if not session_id:
            return None
        digest = _digest(session_id)
        expires_at = self._store().session_expiry(digest)
        with self._lock:
            if expires_at is None or expires_at <= self._clock():
                self._live.pop(digest, None)
                session = None
            else:
                session = self._live.setdefault(digest, Session(session_id, expires_at))
        if session is None and expires_at is not None:
            self._store().end_session(digest)
        return session

    def end(self, session_id: str) -> None:
        digest = _digest(session_id)
        self._store().end_session(digest)
        with self._lock:
            self._live.pop(digest, None)


class UiAuth:
    """The UI's access state for one node: links, sessions, and the cookie names.

    Cookies are per host, not per port, so several nodes on 127.0.0.1 (the demo) would
    overwrite each other's cookies; the port in the names keeps them apart."""

    def __init__(
        self, *, port: int, local_url: str, clock: Clock, store: Callable[[], Store]
    ) -> None:
        self.links = LoginLinks(clock)
        self.sessions = Sessions(clock, store)
        self.local_url = local_url
        self.session_cookie = f"guildnode_session_{port}"
        self.csrf_cookie = f"guildnode_csrf_{port}"

    def login_url(self) -> str:
        return f"{self.local_url}/login?token={self.links.issue()}"


def ui_auth(request: Request) -> UiAuth:
    auth: UiAuth = request.app.state.ui_auth
    return auth


class LoginRequired(Exception):
    """A UI request came without a valid session."""


def require_session(request: Request) -> Session:
    auth = ui_auth(request)
    session = auth.sessions.get(request.cookies.get(auth.session_cookie, ""))
    if session is None:
        raise LoginRequired
    request.state.session = session
    return session


SessionDep = Annotated[Session, Depends(require_session)]


def login_required_response(request: Request) -> Response:
    """A page request goes to the login page; anything else is refused outright."""
    if request.method in {"GET", "HEAD"}:
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse(
        "<!doctype html><title>Sign in first</title><p>Your session has ended. Open a new "
        "login link: run <code>guildnode ui</code>.</p>",
        status_code=403,
    )
