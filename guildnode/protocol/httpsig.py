"""HTTP Message Signatures between nodes: Guildnode's profile of RFC 9421 (SPEC §9.6).

A node signs every request it sends to another node, and the receiver learns from the
signature which key speaks, so it can rate-limit and refuse per key. The profile:

- exactly one signature per request, under any label;
- covered components at least `"@method"` and `"@target-uri"`, and `"content-digest"`
  (RFC 9530, sha-256 or sha-512) whenever the request has a body;
- parameters `created` and `expires` (integers, `expires - created` ≤ 300 s), `keyid` (the
  sender's did:key) and, optionally, `alg="ed25519"`; 60 s of clock skew are tolerated;
- a (keyid, signature) seen before within its validity is a replay.

Sans-IO like the rest of `guildnode.protocol`: bytes, strings and `now` (Unix seconds) in;
header values, a did or a `SignatureError` out. The one piece of state, `ReplayCache`, is
owned by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import nacl.exceptions
from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item

from .errors import ProtocolError
from .keys import Identity, verify_key

MAX_LIFETIME = 300  # SPEC §9.6: expires - created, seconds
CLOCK_SKEW = 60  # SPEC §9.6: tolerated either side of the receiver's clock, seconds
DEFAULT_LIFETIME = 60
ALGORITHM = "ed25519"
SIGNATURE_BYTES = 64

# SPEC §9.6: every code verification can produce, with the sentence SPEC.md gives it.
SIGNATURE_CODES: dict[str, str] = {
    "signature_missing": "The request has no Signature or no Signature-Input header.",
    "signature_malformed": (
        "Signature or Signature-Input is not one RFC 8941 dictionary member under the same "
        "label, a covered component or parameter has the wrong form or type, alg is not "
        "ed25519, the signature is not 64 bytes, or a covered header is absent."
    ),
    "signature_incomplete": (
        "The covered components lack @method, @target-uri, or, for a request with a body, "
        "content-digest."
    ),
    "signature_expired": (
        "created or expires is missing, expires is before created or more than 300 s after "
        "it, expires is over 60 s in the past, or created is over 60 s in the future."
    ),
    "digest_mismatch": (
        "Content-Digest is missing or unparseable, has no sha-256 or sha-512 member, or does "
        "not match the body."
    ),
    "signature_invalid": "keyid is not a valid did:key, or the Ed25519 signature does not verify.",
    "signature_replayed": "The same (keyid, signature) was already accepted within its validity.",
    "server_busy": "The replay cache is full; try again shortly.",
}


class SignatureError(Exception):
    """A request's HTTP signature was refused (SPEC §9.6).

    `code` is one of `SIGNATURE_CODES` and travels on the wire; `detail` is a sentence for
    people. Neither holds secret material. No HTTP status lives here.
    """

    code: str
    detail: str

    def __init__(self, code: str, detail: str) -> None:
        if code not in SIGNATURE_CODES:
            raise ValueError(f"unknown signature error code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def as_dict(self) -> dict[str, str]:
        """The wire form of the error: `{"code", "detail"}`."""
        return {"code": self.code, "detail": self.detail}


_DIGESTS = {"sha-256": "sha256", "sha-512": "sha512"}  # RFC 9530 name -> hashlib name
_DERIVED = frozenset({"@method", "@target-uri", "@authority", "@scheme", "@path", "@query"})
_FIELD_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 token, lower case
_LABEL = re.compile(r"[a-z*][a-z0-9_.*-]*")  # RFC 8941 key
_METHOD = re.compile(r"[A-Z0-9!#$%&'*+.^_`|~-]+")
_BASE_VALUE = re.compile(r"[\x20-\x7e\t]*")  # what a signature base line may hold (ASCII)


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


def verify_request(
    *,
    method: str,
    target_uri: str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    replay: ReplayCache,
) -> str:
    """The did:key that signed this request, or a `SignatureError` saying why not (SPEC §9.6).

    `target_uri` is what the receiver computes: its own public URL plus the request's path
    and query; the signed `"@target-uri"` must equal it exactly. `headers` may be any mapping
    (names are compared case-insensitively; repeated names are joined with ", ").
    `method` is used as received (RFC 9421 §2.2.1: no case change).

    Checks, in this order, raising the first failure:
    `signature_missing` → `signature_malformed` → `signature_incomplete` →
    `signature_expired` → `digest_mismatch` → `signature_invalid` → `signature_replayed`;
    the replay cache records the signature only once it has verified, and may refuse it with
    `server_busy` when full.
    """
    fields = _lower_headers(headers)
    # SPEC §9.6: a request without a signature is refused, never treated as anonymous.
    signature_input = fields.get("signature-input", "")
    signature_field = fields.get("signature", "")
    if not signature_input or not signature_field:
        raise SignatureError(
            "signature_missing", "The request needs Signature and Signature-Input headers."
        )
    signed = _parse_signature(signature_input, signature_field)
    values = _component_values(signed.components, method, target_uri, fields)

    # SPEC §9.6: what must be covered.
    missing = [name for name in ("@method", "@target-uri") if name not in signed.components]
    if body and "content-digest" not in signed.components:
        missing.append("content-digest")
    if missing:
        raise SignatureError(
            "signature_incomplete",
            f"The signature must cover {', '.join(missing)}; it covers "
            f"{', '.join(signed.components) or 'nothing'}.",
        )

    created, expires = _check_window(signed.created, signed.expires, now)

    # SPEC §9.6: a covered digest is always checked; a body always has a covered digest.
    if "content-digest" in signed.components:
        _check_digest(fields.get("content-digest"), body)

    try:
        key = verify_key(signed.keyid)
    except ProtocolError as exc:
        raise SignatureError("signature_invalid", f"keyid: {exc.detail}") from None
    base = _signature_base([(n, v) for n, v in values if v is not None], signed.params)
    try:
        key.verify(base, signed.signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureError(
            "signature_invalid",
            "The signature does not verify with the keyid's key over this request.",
        ) from None

    # SPEC §9.6: replay protection, recorded only for signatures that verified.
    if replay.seen(signed.keyid, signed.signature, expires, now):
        raise SignatureError(
            "signature_replayed", f"This signature (created {created}) was already used."
        )
    return signed.keyid


class ReplayCache:
    """The (keyid, signature) pairs accepted and still within their validity (SPEC §9.6).

    Memory is bounded: an entry is forgotten once `expires + 60 s` has passed (after which
    `verify_request` refuses the signature as expired anyway), and at most `capacity` entries
    are held, at most `per_key` of them per keyid. When a new entry would break a bound even
    after forgetting expired ones, `seen` fails closed with `server_busy` rather than
    evicting live entries (which would let their replays through). Safe to share between
    threads.
    """

    def __init__(self, capacity: int = 100_000, per_key: int = 10_000) -> None:
        if capacity < 1 or per_key < 1:
            raise ValueError("capacity and per_key must be positive")
        self.capacity = capacity
        self.per_key = per_key
        self._lock = threading.Lock()
        self._forget_at: dict[tuple[str, bytes], int] = {}
        self._heap: list[tuple[int, str, bytes]] = []  # (forget_at, keyid, signature)
        self._per_key: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._forget_at)

    def seen(self, keyid: str, signature: bytes, expires: int, now: int) -> bool:
        """True if (keyid, signature) was recorded before; otherwise record it, False.

        Forgets entries whose `expires + 60` is before `now` first. Raises
        `SignatureError("server_busy")` instead of recording when the cache holds `capacity`
        live entries, or `per_key` live entries for this keyid.
        """
        entry = (keyid, signature)
        with self._lock:
            self._forget(now)
            if entry in self._forget_at:
                return True
            if len(self._forget_at) >= self.capacity:
                raise SignatureError(
                    "server_busy", "Too many recent signatures to remember; retry shortly."
                )
            held = self._per_key.get(keyid, 0)
            if held >= self.per_key:
                raise SignatureError(
                    "server_busy", "Too many recent signatures by this key; retry shortly."
                )
            keyid = sys.intern(keyid)  # one copy per key, however many entries
            forget_at = expires + CLOCK_SKEW
            self._forget_at[(keyid, signature)] = forget_at
            heapq.heappush(self._heap, (forget_at, keyid, signature))
            self._per_key[keyid] = held + 1
            return False

    def _forget(self, now: int) -> None:
        while self._heap and self._heap[0][0] < now:
            _, keyid, signature = heapq.heappop(self._heap)
            del self._forget_at[(keyid, signature)]
            left = self._per_key[keyid] - 1
            if left:
                self._per_key[keyid] = left
            else:
                del self._per_key[keyid]


@dataclass(frozen=True)
class _Signed:
    """One parsed, well-formed (not yet verified) signature."""

    label: str
    components: tuple[str, ...]
    params: str  # the "@signature-params" value: the inner list, re-serialised (RFC 9421 §2.3)
    created: int | None
    expires: int | None
    keyid: str
    signature: bytes


def _malformed(detail: str) -> SignatureError:
    return SignatureError("signature_malformed", detail)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased; values trimmed; repeats joined by ", " (RFC 9421 §2.1)."""
    fields: dict[str, str] = {}
    for name, value in headers.items():
        key, value = name.lower(), value.strip(" \t")
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    return fields


def _parse_dictionary(name: str, value: str) -> Dictionary:
    parsed = Dictionary()
    try:
        parsed.parse(value.encode("ascii"))
    except (ValueError, IndexError, UnicodeError):
        raise _malformed(f"{name} is not a structured-field dictionary (RFC 8941).") from None
    return parsed


def _parse_signature(signature_input: str, signature: str) -> _Signed:
    """Signature-Input and Signature, checked for the profile's shape and types.

    SPEC §9.6: exactly one member in each, under the same label; the covered components are
    distinct strings without parameters naming a supported derived component or a lower-case
    header; created/expires are integers, keyid a string (required), alg the string
    "ed25519" if present (other parameters are allowed and signed); the signature is a byte
    sequence of 64 bytes. Raises `signature_malformed`.
    """
    inputs = _parse_dictionary("Signature-Input", signature_input)
    signatures = _parse_dictionary("Signature", signature)
    if len(inputs) != 1 or len(signatures) != 1:
        raise _malformed(
            f"Exactly one signature is allowed; Signature-Input has {len(inputs)} members "
            f"and Signature {len(signatures)}."
        )
    label, member = next(iter(inputs.items()))
    if label not in signatures:
        raise _malformed(f"Signature has no member labelled {label!r}, as Signature-Input has.")
    if not isinstance(member, InnerList):
        raise _malformed(f"Signature-Input {label!r} is not an inner list of components.")

    components: list[str] = []
    for item in member:
        name = item.value if isinstance(item, Item) else None
        if type(name) is not str or item.params:
            raise _malformed("A covered component is not a plain string without parameters.")
        if name not in _DERIVED and not _FIELD_NAME.fullmatch(name):
            raise _malformed(f"{name!r} is not a supported covered component.")
        if name in components:
            raise _malformed(f"{name!r} is covered twice.")
        components.append(name)

    params = member.params
    for param in ("created", "expires"):
        if param in params and type(params[param]) is not int:
            raise _malformed(f"The {param} parameter is not an integer.")
    keyid = params.get("keyid")
    if type(keyid) is not str:
        raise _malformed("The keyid parameter is missing or not a string.")
    if "alg" in params and (type(params["alg"]) is not str or params["alg"] != ALGORITHM):
        raise _malformed(f"alg {params['alg']!r} is not the string {ALGORITHM!r}.")

    value = signatures[label]
    raw = value.value if isinstance(value, Item) else None
    if type(raw) is not bytes or value.params:
        raise _malformed("The Signature member is not a byte sequence without parameters.")
    if len(raw) != SIGNATURE_BYTES:
        raise _malformed(f"The signature is {len(raw)} bytes, not {SIGNATURE_BYTES}.")
    try:
        serialised = str(member)
    except ValueError:
        raise _malformed("Signature-Input cannot be re-serialised.") from None
    return _Signed(
        label=label,
        components=tuple(components),
        params=serialised,
        created=params.get("created"),
        expires=params.get("expires"),
        keyid=keyid,
        signature=raw,
    )


def _component_values(
    components: Sequence[str], method: str, target_uri: str, fields: Mapping[str, str]
) -> list[tuple[str, str | None]]:
    """Each covered component's value in this request (RFC 9421 §2.1, §2.2).

    Derived components come from `method` and the receiver's `target_uri`; header values are
    trimmed and joined. A covered Content-Digest that is absent gives None (refused later as
    `digest_mismatch`); any other absent header, or a value that cannot be a line of the
    signature base, raises `signature_malformed`.
    """
    values: list[tuple[str, str | None]] = []
    for name in components:
        value: str | None
        if name == "@method":
            value = method
        elif name == "@target-uri":
            value = target_uri
        elif name.startswith("@"):
            value = _derived_from_uri(name, target_uri)
        else:
            value = fields.get(name)
            if value is None and name != "content-digest":
                raise _malformed(f"The covered header {name!r} is absent.")
        if value is not None and not _BASE_VALUE.fullmatch(value):
            raise _malformed(f"The value of {name!r} is not printable ASCII.")
        values.append((name, value))
    return values


def _derived_from_uri(name: str, target_uri: str) -> str:
    """@scheme, @authority, @path or @query of the target URI (RFC 9421 §2.2.4–2.2.7)."""
    try:
        parts = urlsplit(target_uri)
        port = parts.port
    except ValueError:
        raise _malformed("The target URI cannot be split into its parts.") from None
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@authority":
        authority = parts.netloc.lower()
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        if port is not None and port == default:
            authority = authority.rsplit(":", 1)[0]
        return authority
    if name == "@path":
        return parts.path or "/"
    return f"?{parts.query}"  # "@query"


def _check_window(created: int | None, expires: int | None, now: int) -> tuple[int, int]:
    """SPEC §9.6: created and expires present, at most 300 s apart, valid at `now` ± 60 s.

    Raises `signature_expired`.
    """
    if created is None or expires is None:
        raise SignatureError(
            "signature_expired", "The signature must carry both created and expires."
        )
    if expires < created or expires - created > MAX_LIFETIME:
        raise SignatureError(
            "signature_expired",
            f"expires must be 0..{MAX_LIFETIME} s after created, not {expires - created} s.",
        )
    if created > now + CLOCK_SKEW:
        raise SignatureError(
            "signature_expired", f"created is {created - now} s ahead of this node's clock."
        )
    if expires < now - CLOCK_SKEW:
        raise SignatureError("signature_expired", f"The signature expired {now - expires} s ago.")
    return created, expires


def _check_digest(value: str | None, body: bytes) -> None:
    """SPEC §9.6: Content-Digest present, with a sha-256 or sha-512 member, every such member
    matching `body` (other algorithms are ignored, RFC 9530 §2). Raises `digest_mismatch`."""
    if value is None:
        raise SignatureError(
            "digest_mismatch", "content-digest is covered but the request has no Content-Digest."
        )
    digests = Dictionary()
    try:
        digests.parse(value.encode("ascii"))
    except (ValueError, IndexError, UnicodeError):
        raise SignatureError(
            "digest_mismatch", "Content-Digest is not a structured-field dictionary."
        ) from None
    checked = False
    for algorithm, hash_name in _DIGESTS.items():
        if algorithm not in digests:
            continue
        member = digests[algorithm]
        claimed = member.value if isinstance(member, Item) else None
        actual = hashlib.new(hash_name, body).digest()
        if type(claimed) is not bytes or not hmac.compare_digest(claimed, actual):
            raise SignatureError(
                "digest_mismatch", f"The {algorithm} Content-Digest does not match the body."
            )
        checked = True
    if not checked:
        raise SignatureError("digest_mismatch", "Content-Digest has no sha-256 or sha-512 member.")


def _signature_base(values: Sequence[tuple[str, str]], params: str) -> bytes:
    """The signature base (RFC 9421 §2.5): one `"name": value` line per covered component,
    then the `"@signature-params"` line, joined by LF with no trailing newline."""
    lines = [f'"{name}": {value}' for name, value in values]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("ascii")


def _printable(text: str) -> bool:
    return bool(re.fullmatch(r"[\x21-\x7e]+", text))
