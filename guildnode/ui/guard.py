"""The web UI's perimeter, as one ASGI middleware: Host check, CSRF, security headers.

Only UI paths pass through it; the federation API and the token-protected local API are
left as they are. For a UI path:

- the Host header must be one of the node's own names (127.0.0.1:port, localhost:port, the
  public URL's host), else 400: a page on another site that rebinds its DNS name to
  127.0.0.1 reaches the node under that foreign name and is refused;
- a state-changing request must carry the CSRF token (asgi-csrf, double-submit cookie,
  hidden form field `csrftoken`), else 403;
- every answer gets a strict Content-Security-Policy (no inline script or style) and
  headers that stop framing, sniffing, referrers (login links carry a token) and caching.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import httpx
from asgi_csrf import asgi_csrf_decorator  # type: ignore[import-untyped]
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import Settings

# Paths that are not the UI's: the federation API (SPEC §9, open to peers, its own
# signatures) and the owner's local API and its documentation (the bearer token). Everything
# else is the UI, so a new UI route is guarded without being listed anywhere (fail closed).
NOT_UI_PREFIXES = (
    "/.well-known/",
    "/sync/",
    "/records/",
    "/inbox",
    "/api/",
    "/docs",
    "/redoc",
    "/openapi.json",
)
UI_API_PREFIX = "/api/ui/"  # the UI's own JSON routes (login links), under the local API

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def is_ui_path(path: str) -> bool:
    return path.startswith(UI_API_PREFIX) or not path.startswith(NOT_UI_PREFIXES)


def own_hosts(settings: Settings) -> frozenset[str]:
    """The Host header values under which this node answers its UI."""
    port = settings.port
    names = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    for url in (settings.local_url, settings.url):
        parsed = httpx.URL(url)
        host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
        names.add(f"{host}:{parsed.port}" if parsed.port else host)
        if parsed.port is None:  # the default port may also be spelt out
            names.add(f"{host}:{443 if parsed.scheme == 'https' else 80}")
    return frozenset(name.lower() for name in names)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


async def _plain(
    send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


CSRF_REFUSAL = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Form refused</title>"
    '<link rel=stylesheet href="/static/ui.css"><main class=narrow><h1>Form refused</h1>'
    "<p>This form did not carry its security token, or the token is out of date (it is "
    "renewed when the node restarts). Go back, reload the page, and send the form again.</p>"
    '<p><a href="/">Back to your node</a></p></main>'
)


async def _csrf_refused(scope: Scope, send: Send, message_id: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": CSRF_REFUSAL.encode()})


class UiGuard:
    """Wraps the whole app; acts on UI paths only."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str], csrf_cookie: str) -> None:
        self.app = app
        self.hosts = hosts
        self.protected = asgi_csrf_decorator(
            cookie_name=csrf_cookie,
            form_input="csrftoken",
            signing_secret=secrets.token_urlsafe(32),
            cookie_samesite="Strict",
            send_csrf_failed=_csrf_refused,
        )(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ui_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host").lower()
        if host not in self.hosts:
            await _plain(
                send,
                400,
                f"This node does not answer to the host name {host!r}. Open it at one of "
                "its own addresses, such as the link `guildnode ui` prints.",
                SECURITY_HEADERS,
            )
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers") or []
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers += SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.protected(scope, receive, send_with_headers)
