"""Records: the signed envelope, its canonical bytes, id and signature (SPEC §3–§5).

`verify_record` is the only maker of `VerifiedRecord`, and the store accepts nothing else,
so an unverified value cannot be stored by mistake. `sign_record` builds a record for an
identity and returns it verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from .canonical import canonical_bytes, check_profile
from .errors import ProtocolError
from .keys import Identity, verify_key
from .kinds import validate_body
from .timestamps import format_timestamp, parse_timestamp

PROTOCOL_VERSION = 1
MAX_RECORD_BYTES = 16_384
ENVELOPE_FIELDS = ("v", "kind", "author", "seq", "prev", "created", "expires", "body", "sig")
REQUIRED_FIELDS = frozenset(ENVELOPE_FIELDS) - {"expires"}
_ALLOWED_FIELDS = frozenset(ENVELOPE_FIELDS)
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_RECORD_ID = re.compile(r"[0-9a-f]{64}")
_SIG = re.compile(r"[A-Za-z0-9_-]{86}")
_V_TAIL = b',"v":1}'


@dataclass(frozen=True, slots=True, eq=False)
class VerifiedRecord:
    """A record whose envelope, encodings, size, body schema and signature all verified.

    Only `verify_record` makes one. `canonical` is the RFC 8785 form of the whole signed
    record, and `id` its SHA-256 in lowercase hex. `created_at` and `expires_at` are the
    timestamps in Unix seconds. `body` must be treated as read-only.
    """

    id: str
    kind: str
    author: str
    seq: int
    prev: str | None
    created: str
    expires: str | None
    body: dict[str, Any]
    sig: str
    canonical: bytes
    created_at: int
    expires_at: int | None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifiedRecord) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def to_wire(self) -> dict[str, Any]:
        """The record as a JSON object, exactly as signed."""
        wire: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "kind": self.kind,
            "author": self.author,
            "seq": self.seq,
            "prev": self.prev,
            "created": self.created,
            "body": self.body,
            "sig": self.sig,
        }
        if self.expires is not None:
            wire["expires"] = self.expires
        return wire


def record_id(canonical: bytes) -> str:
    """SPEC §5: the lowercase hex SHA-256 of the signed record's canonical bytes."""
    return hashlib.sha256(canonical).hexdigest()


def encode_sig(signature: bytes) -> str:
    """SPEC §4: unpadded base64url."""
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def decode_sig(sig: object) -> bytes:
    """The 64 signature bytes of `sig`; raises `malformed_signature` unless it is exactly the
    unpadded base64url of 64 bytes and re-encodes to itself (SPEC §4.1)."""
    if not isinstance(sig, str) or not _SIG.fullmatch(sig):
        raise ProtocolError(
            "malformed_signature", "`sig` must be 86 characters of unpadded base64url."
        )
    try:
        raw = base64.urlsafe_b64decode(sig + "==")
    except binascii.Error as exc:  # pragma: no cover - the pattern admits only valid input
        raise ProtocolError("malformed_signature", "`sig` is not base64url.") from exc
    # 86 characters hold 516 bits for 512: the last one carries 2 bits of the signature and
    # must leave its other 4 at zero, i.e. be A, Q, g or w — else the same 64 bytes have other
    # spellings, and a relay could mint a new record id for the same signature.
    if sig[-1] not in "AQgw":
        raise ProtocolError(
            "malformed_signature", "`sig` has stray trailing bits: it does not re-encode to itself."
        )
    return raw


def _bad_signature() -> ProtocolError:
    return ProtocolError("bad_signature", "The signature does not verify with the author's key.")


def verify_record(unverified: Any, expected_id: str | None = None) -> VerifiedRecord:
    """Check everything about one record that does not depend on other records.

    In order (SPEC §3.5), the first failure wins: a JSON object (`malformed_json`); the
    canonical profile (`duplicate_key`, `float_not_allowed`, `integer_out_of_range`,
    `non_ascii_key`); exactly the envelope fields (`missing_field`, `unexpected_field`);
    `v` is 1 (`unsupported_version`); each field's form (`invalid_field`, `invalid_did`,
    `invalid_timestamp`, `malformed_signature`); lone surrogates (`invalid_string`); size
    (`record_too_large`); the body's schema (`invalid_body`); the signature
    (`bad_signature`); and, when given, the expected id (`id_mismatch`). Chain rules and
    expiry are not checked here.
    """
    return check_record(unverified).verify(expected_id)


@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """A record that passed every check of SPEC §3.5 but the signature, which `verify`
    makes. Splitting the two lets a batch do the Python work on one thread and then the
    signature checks (which release the GIL) on several."""

    fields: dict[str, Any]
    key: nacl.signing.VerifyKey
    message: bytes
    signature: bytes
    canonical: bytes
    created_at: int
    expires_at: int | None

    def verify(self, expected_id: str | None = None) -> VerifiedRecord:
        """Raises `bad_signature`, or `id_mismatch` when `expected_id` differs."""
        try:
            self.key.verify(self.message, self.signature)
        except nacl.exceptions.BadSignatureError as exc:
            raise _bad_signature() from exc
        return self._verified(expected_id)

    def judged(self, verified: bool) -> VerifiedRecord:
        """The record once libsodium has judged its signature elsewhere (the verifying
        process, `guildnode.verifier`, makes the same call `verify` does); raises
        `bad_signature` when it did not verify."""
        if not verified:
            raise _bad_signature()
        return self._verified(None)

    def _verified(self, expected_id: str | None) -> VerifiedRecord:
        rid = record_id(self.canonical)
        if expected_id is not None and rid != expected_id:
            raise ProtocolError("id_mismatch", f"The record's id is {rid}, not {expected_id}.")
        f = self.fields
        return VerifiedRecord(
            id=rid,
            kind=f["kind"],
            author=f["author"],
            seq=f["seq"],
            prev=f["prev"],
            created=f["created"],
            expires=f.get("expires"),
            body=f["body"],
            sig=f["sig"],
            canonical=self.canonical,
            created_at=self.created_at,
            expires_at=self.expires_at,
        )


def check_record(unverified: Any) -> CheckedRecord:
    """Every check of `verify_record` but the signature (SPEC §3.5, in the same order)."""
    if not isinstance(unverified, dict):
        raise ProtocolError("malformed_json", "A record must be a JSON object.")
    check_profile(unverified)
    fields = unverified.keys()
    if fields != REQUIRED_FIELDS and fields != _ALLOWED_FIELDS:  # else both checks pass
        missing = REQUIRED_FIELDS.difference(unverified)
        if missing:
            raise ProtocolError("missing_field", f"The record lacks {', '.join(sorted(missing))}.")
        extra = set(unverified).difference(_ALLOWED_FIELDS)
        if extra:
            raise ProtocolError(
                "unexpected_field",
                f"The record has fields the envelope does not define: {', '.join(sorted(extra))}.",
            )
    if unverified["v"] != PROTOCOL_VERSION or type(unverified["v"]) is not int:
        raise ProtocolError("unsupported_version", "Only records with `v` = 1 are understood.")
    kind, author, seq, prev = (unverified[k] for k in ("kind", "author", "seq", "prev"))
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ProtocolError("invalid_field", "`kind` must match [a-z][a-z0-9_]{0,31}.")
    key = verify_key(author)  # raises invalid_did
    if type(seq) is not int or seq < 1:
        raise ProtocolError("invalid_field", "`seq` must be an integer of at least 1.")
    if seq == 1:
        if prev is not None:
            raise ProtocolError("invalid_field", "`prev` must be null when `seq` is 1.")
    elif not isinstance(prev, str) or not _RECORD_ID.fullmatch(prev):
        raise ProtocolError(
            "invalid_field", "`prev` must be the 64-hex-digit id of the previous record."
        )
    created_at = parse_timestamp(unverified["created"], "created")
    expires_at = None
    if "expires" in unverified:
        expires_at = parse_timestamp(unverified["expires"], "expires")
        if expires_at <= created_at:
            raise ProtocolError("invalid_field", "`expires` must be later than `created`.")
    body = unverified["body"]
    if not isinstance(body, dict):
        raise ProtocolError("invalid_field", "`body` must be a JSON object.")
    signature = decode_sig(unverified["sig"])

    unsigned = dict(unverified)
    del unsigned["sig"]
    message = canonical_bytes(unsigned)  # raises invalid_string
    # `v` is the last key in canonical order and always 1, so the signed record's bytes
    # are the unsigned ones with `sig` spliced in before it.
    canonical = b'%s,"sig":"%s"%s' % (message[: -len(_V_TAIL)], unverified["sig"].encode(), _V_TAIL)
    if len(canonical) > MAX_RECORD_BYTES:
        raise ProtocolError(
            "record_too_large",
            f"The record is {len(canonical)} canonical bytes; the limit is {MAX_RECORD_BYTES}.",
        )
    validate_body(kind, body)
    return CheckedRecord(unverified, key, message, signature, canonical, created_at, expires_at)


def sign_record(
    identity: Identity,
    *,
    kind: str,
    body: dict[str, Any],
    seq: int,
    prev: str | None,
    created_at: int,
    expires_at: int | None = None,
) -> VerifiedRecord:
    """Build and sign a record, then verify it as any receiver would.

    Raises the same `ProtocolError`s as `verify_record` when the result would be refused.
    """
    unsigned: dict[str, Any] = {
        "v": PROTOCOL_VERSION,
        "kind": kind,
        "author": identity.did,
        "seq": seq,
        "prev": prev,
        "created": format_timestamp(created_at),
        "body": body,
    }
    if expires_at is not None:
        unsigned["expires"] = format_timestamp(expires_at)
    check_profile(unsigned)
    signature = identity.sign(canonical_bytes(unsigned))
    return verify_record({**unsigned, "sig": encode_sig(signature)})
