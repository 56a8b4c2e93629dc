"""Verifying a request from another node (SPEC §9.6): which did:key signed it, or the first
`SignatureError` in the profile's order of checks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import nacl.exceptions
from http_sfv.dictionary import Dictionary
from http_sfv.item import Item

from ..errors import ProtocolError
from ..keys import verify_key
from .fields import _component_values, _lower_headers, _parse_signature, _signature_base
from .profile import CLOCK_SKEW, MAX_LIFETIME, SignatureError
from .replay import ReplayCache

_DIGESTS = {"sha-256": "sha256", "sha-512": "sha512"}  # RFC 9530 name -> hashlib name


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
