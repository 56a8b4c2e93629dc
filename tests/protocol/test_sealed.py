"""Sealed bodies (SPEC §6.9): parties read, others and forgers do not."""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import nacl.public
import nacl.secret
import nacl.signing
import pytest

from guildnode.protocol import (
    Identity,
    ProtocolError,
    canonical_bytes,
    did_from_public_key,
    sign_record,
    validate_body,
)
from guildnode.protocol.keys import x25519_public_key
from guildnode.protocol.sealed import (
    _encode_b64,
    _encrypt,
    _envelope,
    _plaintext,
    _seal_to,
    open_sealed,
    recipients,
    seal,
)

ALICE = Identity(bytes([1]) * 32)
BOB = Identity(bytes([2]) * 32)
CAROL = Identity(bytes([3]) * 32)
MALLORY = Identity(bytes([4]) * 32)
OFFER_ID = hashlib.sha256(b"an offer").hexdigest()
ACCEPT = {"offer": OFFER_ID}
# 32 bytes that are no Ed25519 point, hence have no X25519 form.
NOT_A_POINT_DID = did_from_public_key(bytes([2]) * 32)


def fixed_random(label: bytes = b"sealed vector") -> Callable[[int], bytes]:
    """A reproducible stand-in for `nacl.utils.random`."""
    counter = itertools.count()
    return lambda size: hashlib.shake_256(label + next(counter).to_bytes(4, "big")).digest(size)


def _flip(encoded: str, index: int) -> str:
    """`encoded` with one byte changed, still canonical base64url."""
    raw = bytearray(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    raw[index] ^= 0x01
    return _encode_b64(bytes(raw))


def _key_of(body: dict[str, Any], did: str) -> str:
    (key,) = (entry["key"] for entry in body["keys"] if entry["to"] == did)
    return str(key)


def _with_key(body: dict[str, Any], did: str, key: str) -> dict[str, Any]:
    keys = [{**entry, "key": key} if entry["to"] == did else entry for entry in body["keys"]]
    return {**body, "keys": keys}


def _unreadable(
    identity: Identity, body: dict[str, Any], *, author: str = ALICE.did, kind: str = "accept"
) -> str:
    with pytest.raises(ProtocolError) as caught:
        open_sealed(identity, author, kind, body)
    assert caught.value.code == "unreadable"
    return caught.value.detail


def _craft(
    plaintext: dict[str, Any] | bytes,
    *,
    box_key: bytes,
    sealed: dict[str, bytes],
    parties: tuple[Identity, ...] = (ALICE, BOB, CAROL),
) -> dict[str, Any]:
    """A sealed body made by hand: `plaintext` boxed under `box_key`, and `sealed[did]` (else
    `box_key`) sealed to each party."""
    draw = fixed_random(b"craft")
    nonce = draw(24)
    data = plaintext if isinstance(plaintext, bytes) else canonical_bytes(plaintext)
    box = _encrypt(box_key, nonce, data)
    keys = {
        p.did: _seal_to(x25519_public_key(p.did), sealed.get(p.did, box_key), draw(32))
        for p in parties
    }
    return _envelope(nonce, box, keys)


K1 = hashlib.sha256(b"content key 1").digest()
K2 = hashlib.sha256(b"content key 2").digest()
PARTIES = sorted(p.did for p in (ALICE, BOB, CAROL))


# --- sealing and opening ------------------------------------------------------------------


def test_author_and_each_recipient_open_the_inner_body() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did, CAROL.did])
    validate_body("accept", body)
    for party in (ALICE, BOB, CAROL):
        assert open_sealed(party, ALICE.did, "accept", body) == ACCEPT


def test_the_author_is_always_a_party_and_keys_are_sorted_and_distinct() -> None:
    body = seal(BOB, "accept", ACCEPT, [CAROL.did, CAROL.did, BOB.did])
    assert [entry["to"] for entry in body["keys"]] == sorted([BOB.did, CAROL.did])
    assert recipients(body) == sorted([BOB.did, CAROL.did])
    assert open_sealed(BOB, BOB.did, "accept", body) == ACCEPT


def test_the_public_body_has_exactly_the_specified_shape() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    assert set(body) == {"nonce", "box", "keys"}
    assert len(body["nonce"]) == 32
    assert all(set(entry) == {"to", "key"} and len(entry["key"]) == 107 for entry in body["keys"])


def test_a_sealed_record_signs_verifies_and_opens() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    record = sign_record(
        ALICE, kind="accept", body=body, seq=1, prev=None, created_at=1_790_000_000
    )
    assert recipients(record.body) == sorted([ALICE.did, BOB.did])
    assert open_sealed(BOB, record.author, record.kind, record.body) == ACCEPT


def test_each_seal_is_fresh() -> None:
    first = seal(ALICE, "accept", ACCEPT, [BOB.did])
    second = seal(ALICE, "accept", ACCEPT, [BOB.did])
    assert first["nonce"] != second["nonce"] and first["box"] != second["box"]


def test_sealing_with_a_fixed_random_is_deterministic_and_libsodium_opens_it() -> None:
    first = seal(ALICE, "accept", ACCEPT, [BOB.did, CAROL.did], random=fixed_random())
    second = seal(ALICE, "accept", ACCEPT, [BOB.did, CAROL.did], random=fixed_random())
    assert canonical_bytes(first) == canonical_bytes(second)

    draw = fixed_random()
    key, nonce = draw(32), draw(24)
    assert first["nonce"] == _encode_b64(nonce)
    for party in (ALICE, BOB, CAROL):
        private = nacl.signing.SigningKey(party.secret_seed()).to_curve25519_private_key()
        sealed_key = base64.urlsafe_b64decode(_key_of(first, party.did) + "=")
        assert nacl.public.SealedBox(private).decrypt(sealed_key) == key
    box = base64.urlsafe_b64decode(first["box"] + "=" * (-len(first["box"]) % 4))
    plaintext = nacl.secret.SecretBox(key).decrypt(box, nonce)
    assert plaintext == canonical_bytes(
        {
            "author": ALICE.did,
            "kind": "accept",
            "recipients": PARTIES,
            "key_hash": hashlib.sha256(key).hexdigest(),
            "body": ACCEPT,
        }
    )


def test_unseal_opens_what_libsodium_sealed_and_refuses_the_rest() -> None:
    public = nacl.public.PublicKey(x25519_public_key(BOB.did))
    sealed = nacl.public.SealedBox(public).encrypt(b"a content key")
    assert BOB.unseal(sealed) == b"a content key"
    with pytest.raises(nacl.exceptions.CryptoError):
        CAROL.unseal(sealed)
    with pytest.raises(nacl.exceptions.CryptoError):
        BOB.unseal(sealed[:40])


def test_x25519_public_key_is_libsodiums_conversion_and_refuses_non_points() -> None:
    expected = bytes(nacl.signing.VerifyKey(BOB.public_key).to_curve25519_public_key())
    assert x25519_public_key(BOB.did) == expected
    for bad in (NOT_A_POINT_DID, "did:web:example.org", 7):
        with pytest.raises(ProtocolError) as caught:
            x25519_public_key(bad)  # type: ignore[arg-type]
        assert caught.value.code == "invalid_did"


@pytest.mark.parametrize("seed", [bytes([n]) * 32 for n in (1, 2, 0xAB)], ids=["1", "2", "ab"])
def test_identity_still_hides_its_keys_after_unsealing(seed: bytes) -> None:
    identity = Identity(seed)
    body = seal(identity, "accept", ACCEPT, [CAROL.did])
    open_sealed(identity, identity.did, "accept", body)
    private = bytes(nacl.signing.SigningKey(seed).to_curve25519_private_key())
    for text in (str(identity), repr(identity), f"{identity!r}"):
        assert text == f"Identity({identity.did!r})"
        for secret in (seed, private):
            assert secret.hex() not in text and _encode_b64(secret) not in text
    assert not hasattr(identity, "__dict__")


# --- what sealing refuses -----------------------------------------------------------------


def test_seal_refuses_too_few_or_too_many_parties() -> None:
    for others in ([], [ALICE.did], [Identity(bytes([n]) * 32).did for n in range(10, 20)]):
        with pytest.raises(ProtocolError) as caught:
            seal(ALICE, "accept", ACCEPT, others)
        assert caught.value.code == "invalid_body"
    nine_others = [Identity(bytes([n]) * 32).did for n in range(10, 19)]
    assert len(seal(ALICE, "accept", ACCEPT, nine_others)["keys"]) == 10


def test_seal_refuses_a_public_kind_an_invalid_inner_body_and_a_party_without_x25519() -> None:
    for kind, inner, others, code in (
        ("vouch", ACCEPT, [BOB.did], "invalid_body"),
        ("accept", {"offer": "not an id"}, [BOB.did], "invalid_body"),
        ("accept", {**ACCEPT, "extra": 1}, [BOB.did], "invalid_body"),
        ("accept", ACCEPT, [NOT_A_POINT_DID], "invalid_did"),
        ("accept", ACCEPT, ["did:key:nonsense"], "invalid_did"),
    ):
        with pytest.raises(ProtocolError) as caught:
            seal(ALICE, kind, inner, others)
        assert caught.value.code == code, (kind, inner, others)
    with pytest.raises(TypeError):
        seal(ALICE, "accept", ACCEPT, BOB.did)


def test_seal_refuses_a_box_over_12000_characters() -> None:
    proposal = {
        "brief": OFFER_ID,
        "pitch": "é" * 5000,  # 10,000 bytes of UTF-8
        "price": {"amount": 100, "currency": "EUR"},
        "duration_days": 10,
        "available_from": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(ProtocolError) as caught:
        seal(ALICE, "proposal", proposal, [BOB.did])
    assert caught.value.code == "invalid_body" and "12000" in caught.value.detail
    body = seal(ALICE, "proposal", {**proposal, "pitch": "e" * 5000}, [BOB.did])
    assert open_sealed(BOB, ALICE.did, "proposal", body)["pitch"] == "e" * 5000


# --- what a party cannot read -------------------------------------------------------------


def test_a_non_recipient_cannot_read() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    assert MALLORY.did in _unreadable(MALLORY, body)


def test_a_key_sealed_to_someone_else_does_not_unseal() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did, CAROL.did])
    swapped = _with_key(body, BOB.did, _key_of(body, CAROL.did))
    assert "does not unseal" in _unreadable(BOB, swapped)
    assert open_sealed(CAROL, ALICE.did, "accept", swapped) == ACCEPT


@pytest.mark.parametrize("index", [0, 31, 32, 47, 48, 79])
def test_a_tampered_sealed_key_is_unreadable(index: int) -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    tampered = _with_key(body, BOB.did, _flip(_key_of(body, BOB.did), index))
    assert "does not unseal" in _unreadable(BOB, tampered)
    assert open_sealed(ALICE, ALICE.did, "accept", tampered) == ACCEPT


@pytest.mark.parametrize("field", ["box", "nonce"])
@pytest.mark.parametrize("index", [0, 15, 23])
def test_a_tampered_box_or_nonce_is_unreadable(field: str, index: int) -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    tampered = {**body, field: _flip(body[field], index)}
    for party in (ALICE, BOB):
        assert "does not decrypt" in _unreadable(party, tampered)


def test_one_ciphertext_cannot_show_two_parties_two_sets_of_terms() -> None:
    # The author boxes terms under K1 but seals K2 to Carol: Carol is locked out, she is not
    # shown other terms.
    plaintext = _plaintext(ALICE.did, "accept", PARTIES, K1, ACCEPT)
    body = _craft(plaintext, box_key=K1, sealed={CAROL.did: K2})
    assert open_sealed(BOB, ALICE.did, "accept", body) == ACCEPT
    assert "does not decrypt" in _unreadable(CAROL, body)

    # Committing to the key the box is not under locks out the ones who hold the box key.
    plaintext = _plaintext(ALICE.did, "accept", PARTIES, K2, ACCEPT)
    body = _craft(plaintext, box_key=K1, sealed={CAROL.did: K2})
    assert "key_hash" in _unreadable(BOB, body)
    assert "does not decrypt" in _unreadable(CAROL, body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("author", BOB.did),
        ("kind", "decline"),
        ("recipients", sorted([ALICE.did, BOB.did])),
        ("recipients", list(reversed(PARTIES))),
        ("recipients", [*PARTIES, MALLORY.did]),
        ("key_hash", hashlib.sha256(K2).hexdigest()),
        ("key_hash", hashlib.sha256(K1).hexdigest().upper()),
    ],
)
def test_a_plaintext_that_disagrees_with_the_envelope_is_unreadable(field: str, value: Any) -> None:
    plaintext = {**_plaintext(ALICE.did, "accept", PARTIES, K1, ACCEPT), field: value}
    body = _craft(plaintext, box_key=K1, sealed={})
    for party in (ALICE, BOB, CAROL):
        assert field in _unreadable(party, body)


def test_the_envelope_author_and_kind_must_match_the_record() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    assert "author" in _unreadable(BOB, body, author=BOB.did)
    assert "kind" in _unreadable(BOB, body, kind="decline")
    assert "not a sealed kind" in _unreadable(BOB, body, kind="vouch")
    body = seal(BOB, "accept", ACCEPT, [CAROL.did])
    assert "author is not among" in _unreadable(BOB, body, author=ALICE.did)


@pytest.mark.parametrize(
    "plaintext",
    [
        b'{"author":1,"author":2}',
        b'{"body":{"offer":1.0}}',
        b"not json",
        b"\xff",
        b"[]",
    ],
)
def test_a_plaintext_outside_the_profile_or_shape_is_unreadable(plaintext: bytes) -> None:
    body = _craft(plaintext, box_key=K1, sealed={})
    assert "plaintext" in _unreadable(BOB, body)


def test_a_plaintext_with_an_extra_or_missing_field_is_unreadable() -> None:
    full = _plaintext(ALICE.did, "accept", PARTIES, K1, ACCEPT)
    for plaintext in ({**full, "extra": True}, {k: v for k, v in full.items() if k != "body"}):
        assert "exactly" in _unreadable(BOB, _craft(plaintext, box_key=K1, sealed={}))


def test_an_invalid_inner_body_is_unreadable() -> None:
    inners: list[dict[str, Any]] = [{"offer": "short"}, {}, {**ACCEPT, "reason": "x"}]
    for inner in inners:
        plaintext = _plaintext(ALICE.did, "accept", PARTIES, K1, inner)
        detail = _unreadable(BOB, _craft(plaintext, box_key=K1, sealed={}))
        assert detail.startswith("The inner body is invalid")


def test_a_body_of_the_wrong_shape_is_unreadable() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    doubled = {**body, "keys": [*body["keys"], body["keys"][1]]}
    bad: Any
    for bad in (
        {**body, "extra": 1},
        {**body, "keys": "x"},
        {**body, "keys": [{"to": BOB.did}]},
        doubled,
        {**body, "keys": body["keys"][:1]},
        [],
    ):
        _unreadable(BOB, bad)


# --- strict base64url ---------------------------------------------------------------------


def test_a_non_canonical_sealed_key_is_refused() -> None:
    body = seal(ALICE, "accept", ACCEPT, [BOB.did])
    key = _key_of(body, BOB.did)  # 107 characters for 80 bytes: 2 bits spare, kept zero
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray = alphabet[alphabet.index(key[-1]) ^ 0x01]
    same_bytes = key[:-1] + stray
    assert base64.urlsafe_b64decode(same_bytes + "=") == base64.urlsafe_b64decode(key + "=")
    assert "re-encode" in _unreadable(BOB, _with_key(body, BOB.did, same_bytes))
    for bad in (key + "=", "+" + key[1:], key[:-1], key + "A"):
        _unreadable(BOB, _with_key(body, BOB.did, bad))


def test_a_non_canonical_box_or_short_nonce_is_refused() -> None:
    # A box whose length leaves spare bits in its last character.
    body = next(
        candidate
        for n in range(3)
        if len((candidate := seal(ALICE, "accept", ACCEPT, [BOB.did, *PARTIES[: n + 1]]))["box"])
        % 4
    )
    box = body["box"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray = box[:-1] + alphabet[alphabet.index(box[-1]) ^ 0x01]
    assert "re-encode" in _unreadable(BOB, {**body, "box": stray})
    assert "`box`" in _unreadable(BOB, {**body, "box": "A" * 12_004})
    assert "24" in _unreadable(BOB, {**body, "nonce": body["nonce"][:-4]})
    assert "base64url" in _unreadable(BOB, {**body, "nonce": body["nonce"][:-1] + "/"})
