"""Signing a request to another node (SPEC §9.6): the Content-Digest, Signature-Input and
Signature headers, from an `Identity`, the request and `now`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from http_sfv.item import InnerList

from ..keys import Identity
from .fields import _signature_base
from .profile import ALGORITHM, DEFAULT_LIFETIME, MAX_LIFETIME

_LABEL = re.compile(r"[a-z*][a-z0-9_.*-]*")  # RFC 8941 key
_METHOD = re.compile(r"[A-Z0-9!#$%&'*+.^_`|~-]+")


def content_digest(body: bytes) -> str:
    """The Content-Digest header value of `body`: `sha-256=:<base64>:` (RFC 9530)."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def sign_request(
    identity: Identity,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    lifetime: int = DEFAULT_LIFETIME,
    label: str = "gn",
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign a request to another node (SPEC §9.6).

    Returns `Content-Digest` (only for a non-empty body), `Signature-Input` and `Signature`.
    The signature covers `"@method"` (upper-cased, as httpx sends it), `"@target-uri"` (`url`
    exactly as given, so pass it as it goes on the wire, e.g. `str(httpx.URL(url))`:
    `scheme://authority/path?query`, lower-case host, no default port, no fragment)
    and, with a body, `"content-digest"`; its parameters are `created=now`,
    `expires=now+lifetime`, `keyid=<did>`, `alg="ed25519"` and, when given, `nonce`.

    Ed25519 is deterministic: the same request signed twice in the same second gets the same
    signature, and the receiver refuses the second as a replay. A caller that may repeat a
    request (a retry, a second identical GET) passes a fresh random `nonce` to tell them apart.

    Raises `ValueError` for a `now` that is not an int, a lifetime outside 1..300 s, a label
    that is not an RFC 8941 key, a nonce that is not printable ASCII, a method that is not a
    token, a URL that is not absolute http(s) in printable ASCII with a path and no fragment,
    or `headers` that already hold Content-Digest, Signature or Signature-Input (this
    function writes them; a second copy would make the request unverifiable).
    """
    if type(now) is not int:
        raise ValueError(f"now is whole Unix seconds, not {now!r}")
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1..{MAX_LIFETIME} seconds, not {lifetime}")
    if not _LABEL.fullmatch(label):
        raise ValueError(f"{label!r} is not a structured-field key")
    if nonce is not None and not _printable(nonce):
        raise ValueError("a nonce is printable ASCII without spaces")
    method = method.upper()
    if not _METHOD.fullmatch(method):
        raise ValueError(f"{method!r} is not an HTTP method")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not _printable(url):
        raise ValueError(f"{url!r} is not an absolute http(s) URL in printable ASCII")
    if not parts.path.startswith("/") or "#" in url:
        # The receiver rebuilds the URI from the request line, which has a path, never a fragment.
        raise ValueError(f"{url!r} must have a path and no fragment")
    clash = {name.lower() for name in headers} & {"content-digest", "signature", "signature-input"}
    if clash:
        raise ValueError(f"headers already hold {', '.join(sorted(clash))}")

    added: dict[str, str] = {}
    values = [("@method", method), ("@target-uri", url)]
    if body:
        added["Content-Digest"] = content_digest(body)
        values.append(("content-digest", added["Content-Digest"]))
    inner = InnerList([name for name, _ in values])
    inner.params["created"] = now
    inner.params["expires"] = now + lifetime
    inner.params["keyid"] = identity.did
    inner.params["alg"] = ALGORITHM
    if nonce is not None:
        inner.params["nonce"] = nonce
    params = str(inner)
    signature = identity.sign(_signature_base(values, params))
    added["Signature-Input"] = f"{label}={params}"
    added["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return added


def _printable(text: str) -> bool:
    return bool(re.fullmatch(r"[\x21-\x7e]+", text))
