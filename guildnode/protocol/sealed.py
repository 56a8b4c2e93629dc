"""Sealed bodies: terms that only a record's parties can read (SPEC §6.9).

A sealed body is public about whom it is for and private about what it says:

    {"nonce": b64, "box": b64, "keys": [{"to": did, "key": b64}, ...]}

`box` is the secretbox of the canonical plaintext under a fresh content key; each `key` is
that content key in a libsodium sealed box (`crypto_box_seal`) for one party's X25519 key.
The plaintext commits to the author, kind, parties and the content key's hash, so one
ciphertext cannot show two parties two different sets of terms.

`seal` builds a body, `recipients` reads the parties without opening anything, and
`open_sealed` gives a party the inner body or says why it is `unreadable`. Every random byte
comes from the `random` argument, so test vectors are reproducible; that is why
`crypto_box_seal` is built here from its parts instead of called through PyNaCl.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.secret
import nacl.utils

from .canonical import canonicalize, loads_canonical
from .errors import ProtocolError
from .keys import Identity, x25519_public_key
from .kinds import SEALED_KINDS, validate_inner

MIN_PARTIES = 2
MAX_PARTIES = 10
MAX_BOX_CHARS = 12_000
KEY_BYTES = 32  # the content key
NONCE_BYTES = 24  # XSalsa20 nonce of the box
SEALED_KEY_BYTES = 80  # ephemeral public key 32 + content key 32 + MAC 16
_PLAINTEXT_FIELDS = frozenset({"author", "kind", "recipients", "key_hash", "body"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def seal(
    identity: Identity,
    kind: str,
    inner: dict[str, Any],
    recipients: Iterable[str],
    *,
    random: Callable[[int], bytes] = nacl.utils.random,
) -> dict[str, Any]:
    """The public body of a sealed record of `kind` by `identity`, readable by its parties.

    The parties are `recipients` plus the author, distinct, and `keys` lists them sorted by
    `to`. `random` is called for the content key (32 bytes), the box nonce (24), then one
    ephemeral X25519 secret (32) per party in `keys` order. Raises `invalid_body` when `kind`
    is not sealed, `inner` is not valid for it, the parties are not 2..10 or the box would
    exceed 12,000 characters; `invalid_did` for a party whose DID has no X25519 key; the
    canonical-profile codes when `inner` lies outside the profile.
    """
    if kind not in SEALED_KINDS:
        raise ProtocolError("invalid_body", f"{kind!r} is not a sealed kind.")
    if isinstance(recipients, str):
        raise TypeError("recipients must be an iterable of DIDs, not one DID")
    validate_inner(kind, inner)
    parties = sorted({identity.did, *recipients})
    if not MIN_PARTIES <= len(parties) <= MAX_PARTIES:
        raise ProtocolError(
            "invalid_body",
            f"A sealed record has {MIN_PARTIES} to {MAX_PARTIES} parties, the author among "
            f"them; this one would have {len(parties)}.",
        )
    public_keys = [x25519_public_key(did) for did in parties]  # raises invalid_did
    key = _draw(random, KEY_BYTES)
    nonce = _draw(random, NONCE_BYTES)
    plaintext = canonicalize(_plaintext(identity.did, kind, parties, key, inner))
    box = _encrypt(key, nonce, plaintext)
    if len(box) > MAX_BOX_CHARS:
        raise ProtocolError(
            "invalid_body",
            f"The sealed box would be {len(box)} characters; the limit is {MAX_BOX_CHARS}.",
        )
    sealed_keys = {
        did: _seal_to(public_key, key, _draw(random, 32))
        for did, public_key in zip(parties, public_keys, strict=True)
    }
    return _envelope(nonce, box, sealed_keys)


def recipients(body: dict[str, Any]) -> list[str]:
    """The parties of a sealed body (its `keys[].to`), sorted; public, nothing is opened.

    `body` must have passed `validate_body` for its kind.
    """
    return sorted(entry["to"] for entry in body["keys"])


def open_sealed(identity: Identity, author: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The inner body of a sealed record, as `identity` (one of its parties) reads it.

    Checks, in order: `kind` is sealed; the body has the sealed shape with distinct parties,
    the author among them; `identity` is a party; `nonce`, its `key` and `box` are canonical
    unpadded base64url of the right lengths; the key unseals and the box decrypts; the
    plaintext is one JSON object within the canonical profile (SPEC §2.3) with exactly
    author, kind, recipients, key_hash and body; these equal the envelope's and the hash of
    the key used; the inner body is valid for `kind`. Any failure raises `unreadable`, whose
    detail names it: the record stays valid, it only has no effect for this party.
    """
    return open_with_key(content_key(identity, author, kind, body), author, kind, body)


def content_key(identity: Identity, author: str, kind: str, body: dict[str, Any]) -> bytes:
    """The content key of a sealed record, unsealed by `identity` (one of its parties):
    steps 1–3 of opening (SPEC §6.9). Raises `unreadable`. A party may disclose it (a
    dispute's `disclosure`, SPEC §17.3) so that a mediator can open the record too."""
    if kind not in SEALED_KINDS:
        raise _unreadable(f"{kind!r} is not a sealed kind.")
    parties = _parties(body)
    if author not in parties:
        raise _unreadable("The author is not among the record's parties.")
    if identity.did not in parties:
        raise _unreadable(f"{identity.did} is not among the record's parties.")
    (mine,) = (entry["key"] for entry in body["keys"] if entry["to"] == identity.did)
    sealed_key = _decode_b64(mine, "The sealed key", size=SEALED_KEY_BYTES)
    try:
        return identity.unseal(sealed_key)
    except nacl.exceptions.CryptoError as exc:
        raise _unreadable(f"The content key sealed to {identity.did} does not unseal.") from exc


def open_with_key(key: bytes, author: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The inner body of a sealed record opened with its content key `key`: steps 2 and
    4–9 of opening (SPEC §6.9), by a party or by anyone the key was disclosed to. As the
    plaintext commits to the key (its `key_hash`), a key that opens the record shows what
    every party reads. Raises `unreadable`."""
    if kind not in SEALED_KINDS:
        raise _unreadable(f"{kind!r} is not a sealed kind.")
    parties = _parties(body)
    if author not in parties:
        raise _unreadable("The author is not among the record's parties.")
    nonce = _decode_b64(body["nonce"], "`nonce`", size=NONCE_BYTES)
    if not isinstance(body["box"], str) or len(body["box"]) > MAX_BOX_CHARS:
        raise _unreadable(f"`box` is not a string of at most {MAX_BOX_CHARS} characters.")
    box = _decode_b64(body["box"], "`box`")
    try:
        plaintext = nacl.secret.SecretBox(key).decrypt(box, nonce)
    except (nacl.exceptions.CryptoError, TypeError, ValueError) as exc:
        raise _unreadable("The box does not decrypt with the content key.") from exc
    try:
        opened = loads_canonical(plaintext)
    except ProtocolError as exc:
        raise _unreadable(f"The plaintext is not canonical JSON: {exc.detail}") from exc

    if not isinstance(opened, dict) or set(opened) != _PLAINTEXT_FIELDS:
        raise _unreadable(
            "The plaintext is not an object of exactly author, kind, recipients, key_hash, body."
        )
    for field, expected in (("author", author), ("kind", kind), ("recipients", parties)):
        if opened[field] != expected:
            raise _unreadable(f"The plaintext's {field} differs from the envelope's.")
    if opened["key_hash"] != hashlib.sha256(key).hexdigest():
        raise _unreadable("The plaintext's key_hash is not the hash of the content key.")
    inner = opened["body"]
    try:
        validate_inner(kind, inner)
    except ProtocolError as exc:
        raise _unreadable(f"The inner body is invalid: {exc.detail}") from exc
    return inner  # type: ignore[no-any-return]


# --- the construction, in parts ------------------------------------------------------------


def _plaintext(
    author: str, kind: str, parties: list[str], key: bytes, inner: dict[str, Any]
) -> dict[str, Any]:
    """The value whose canonical bytes are sealed: it commits to the content key."""
    return {
        "author": author,
        "kind": kind,
        "recipients": sorted(parties),
        "key_hash": hashlib.sha256(key).hexdigest(),
        "body": inner,
    }


def _encrypt(key: bytes, nonce: bytes, plaintext: bytes) -> str:
    """`box`: XSalsa20-Poly1305 secretbox of `plaintext` (MAC first, no nonce prefix)."""
    return _encode_b64(nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext)


def _seal_to(public_key: bytes, message: bytes, ephemeral_secret: bytes) -> bytes:
    """libsodium's `crypto_box_seal` of `message` for X25519 `public_key`, with the given
    ephemeral secret: epk ‖ crypto_box(message, blake2b-24(epk ‖ pk), pk, esk)."""
    ephemeral_public = nacl.bindings.crypto_scalarmult_base(ephemeral_secret)
    nonce = hashlib.blake2b(ephemeral_public + public_key, digest_size=24).digest()
    return ephemeral_public + nacl.bindings.crypto_box(message, nonce, public_key, ephemeral_secret)


def _envelope(nonce: bytes, box: str, sealed_keys: dict[str, bytes]) -> dict[str, Any]:
    """The public body, `keys` sorted by `to`."""
    return {
        "nonce": _encode_b64(nonce),
        "box": box,
        "keys": [{"to": did, "key": _encode_b64(sealed_keys[did])} for did in sorted(sealed_keys)],
    }


def _parties(body: Any) -> list[str]:
    """The sorted, distinct `to` values of a body of the sealed shape, or `unreadable`."""
    shaped = (
        isinstance(body, dict)
        and set(body) == {"nonce", "box", "keys"}
        and isinstance(body["keys"], list)
        and all(
            isinstance(entry, dict) and set(entry) == {"to", "key"} and isinstance(entry["to"], str)
            for entry in body["keys"]
        )
    )
    if not shaped:
        raise _unreadable("The body does not have the sealed shape {nonce, box, keys[to, key]}.")
    parties = sorted(entry["to"] for entry in body["keys"])
    if len(set(parties)) != len(parties):
        raise _unreadable("The body names a party twice.")
    if not MIN_PARTIES <= len(parties) <= MAX_PARTIES:
        raise _unreadable(
            f"The body has {len(parties)} parties, not {MIN_PARTIES} to {MAX_PARTIES}."
        )
    return parties


def _encode_b64(raw: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_b64(value: object, name: str, *, size: int | None = None) -> bytes:
    """The bytes of canonical unpadded base64url (it re-encodes to itself, like `sig` in SPEC
    §4.1), of exactly `size` bytes when given; else `unreadable`."""
    if not isinstance(value, str) or not _B64URL.fullmatch(value) or len(value) % 4 == 1:
        raise _unreadable(f"{name} is not unpadded base64url.")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above admit only valid input
        raise _unreadable(f"{name} is not unpadded base64url.") from exc
    if _encode_b64(raw) != value:
        raise _unreadable(f"{name} has stray trailing bits: it does not re-encode to itself.")
    if size is not None and len(raw) != size:
        raise _unreadable(f"{name} is {len(raw)} bytes, not {size}.")
    return raw


def _draw(random: Callable[[int], bytes], size: int) -> bytes:
    raw = random(size)
    if not isinstance(raw, bytes) or len(raw) != size:
        raise ValueError(f"random({size}) must return {size} bytes")
    return raw


def _unreadable(detail: str) -> ProtocolError:
    return ProtocolError("unreadable", detail)
