"""Identities: Ed25519 keys and their did:key names (SPEC §1).

`Identity` holds a private key and never shows it: `str()` and `repr()` give the did:key.
`verify_key` turns a did:key back into a public key, or says exactly what is wrong.
`x25519_public_key` gives the encryption key of a did:key, and `Identity.unseal` opens what
was sealed to it (SPEC §6.9), again without showing the secret.
"""

from __future__ import annotations

from functools import lru_cache

import base58
import nacl.exceptions
import nacl.public
import nacl.signing

from .errors import ProtocolError

DID_PREFIX = "did:key:"
ED25519_MULTICODEC = b"\xed\x01"
_BASE58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def did_from_public_key(public_key: bytes) -> str:
    """did:key of a 32-byte Ed25519 public key (SPEC §1.1)."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return DID_PREFIX + "z" + base58.b58encode(ED25519_MULTICODEC + public_key).decode("ascii")


def public_key_from_did(did: str) -> bytes:
    """The 32-byte public key a did:key names (SPEC §1.2); see `_decode_did`."""
    if not isinstance(did, str):
        raise ProtocolError("invalid_did", "A DID must be a string.")
    return _decode_did(did)


@lru_cache(maxsize=16384)
def _decode_did(did: str) -> bytes:
    """The 32-byte public key a did:key names (SPEC §1.2).

    Raises `invalid_did` with a detail naming the defect: not a string, not `did:key:`, a
    multibase prefix other than `z`, a character outside base58btc, a multicodec other than
    Ed25519 (0xed01), a key that is not 32 bytes, or a form that does not re-encode to itself.
    Cached: identities recur in every record and base58 is slow in pure Python.
    """
    if not did.startswith(DID_PREFIX):
        raise ProtocolError("invalid_did", f"{_short(did)} is not a did:key.")
    encoded = did[len(DID_PREFIX) :]
    if not encoded.startswith("z"):
        raise ProtocolError(
            "invalid_did", f"{_short(did)}: the multibase prefix is not 'z' (base58btc)."
        )
    bad = next((ch for ch in encoded[1:] if ch not in _BASE58_ALPHABET), None)
    if bad is not None or len(encoded) < 2:
        raise ProtocolError(
            "invalid_did",
            f"{_short(did)}: {bad!r} is not a base58btc character."
            if bad is not None
            else f"{_short(did)}: the key part is empty.",
        )
    raw = base58.b58decode(encoded[1:])
    if raw[:2] != ED25519_MULTICODEC:
        raise ProtocolError(
            "invalid_did",
            f"{_short(did)}: multicodec 0x{raw[:2].hex()} is not an Ed25519 public key (0xed01).",
        )
    if len(raw) != 34:
        raise ProtocolError(
            "invalid_did",
            f"{_short(did)}: the key is {len(raw) - 2} bytes after the 0xed01 prefix, not 32.",
        )
    if did_from_public_key(raw[2:]) != did:
        raise ProtocolError("invalid_did", f"{_short(did)} does not re-encode to itself.")
    return raw[2:]


def verify_key(did: str) -> nacl.signing.VerifyKey:
    """The verifying key of a did:key; raises `invalid_did` as `public_key_from_did`."""
    if not isinstance(did, str):
        raise ProtocolError("invalid_did", "A DID must be a string.")
    return _verify_key(did)


@lru_cache(maxsize=16384)
def _verify_key(did: str) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(_decode_did(did))


def x25519_public_key(did: str) -> bytes:
    """The 32-byte X25519 public key of a did:key: its Ed25519 key converted as libsodium's
    `crypto_sign_ed25519_pk_to_curve25519` (sealed kinds).

    Raises `invalid_did` as `public_key_from_did`, and also when the 32 bytes are not an
    Ed25519 point that converts (a did:key may name any 32 bytes; most are no point at all).
    """
    if not isinstance(did, str):
        raise ProtocolError("invalid_did", "A DID must be a string.")
    return _x25519_public_key(did)


@lru_cache(maxsize=16384)
def _x25519_public_key(did: str) -> bytes:
    try:
        return bytes(_verify_key(did).to_curve25519_public_key())
    except nacl.exceptions.CryptoError as exc:
        raise ProtocolError(
            "invalid_did", f"{_short(did)}: the key is not an Ed25519 point with an X25519 form."
        ) from exc


def verify_signature(did: str, message: bytes, signature: bytes) -> bool:
    """True when `signature` is the author's Ed25519 signature of `message` (strict)."""
    try:
        verify_key(did).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def _short(did: str) -> str:
    return repr(did if len(did) <= 80 else did[:77] + "...")


class Identity:
    """An Ed25519 signing identity. Shows only its did:key, never its secret."""

    __slots__ = ("__key", "did")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self.__key = nacl.signing.SigningKey(seed)
        self.did = did_from_public_key(bytes(self.__key.verify_key))

    @classmethod
    def generate(cls) -> Identity:
        """A new identity from the operating system's random source."""
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def public_key(self) -> bytes:
        return bytes(self.__key.verify_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message`."""
        return self.__key.sign(message).signature

    def unseal(self, sealed: bytes) -> bytes:
        """The plaintext of an anonymous sealed box (libsodium `crypto_box_seal`) addressed to
        this identity's X25519 key, the one `x25519_public_key(self.did)` names.

        Raises `nacl.exceptions.CryptoError` when `sealed` is not such a box for this key
        (too short, or it fails to authenticate). The private key never leaves this method.
        """
        return nacl.public.SealedBox(self.__key.to_curve25519_private_key()).decrypt(sealed)

    def secret_seed(self) -> bytes:
        """The 32-byte private seed, for writing the key file or an export. Handle with care."""
        return bytes(self.__key)

    def __repr__(self) -> str:
        return f"Identity({self.did!r})"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("an Identity is not picklable: its secret stays in the key file")
