"""Identities and did:key (SPEC §1): the secret never shows, every bad DID says why."""

from __future__ import annotations

import base64
import copy
import pickle

import base58
import pytest

from guildnode.protocol import (
    Identity,
    ProtocolError,
    did_from_public_key,
    public_key_from_did,
    verify_key,
)

SEEDS = [bytes([n]) * 32 for n in (1, 2, 0x7F, 0xAB)] + [bytes(range(32))]


def _encodings(seed: bytes) -> list[str]:
    """The seed written every way it could plausibly leak."""
    return [
        seed.hex(),
        seed.hex().upper(),
        base64.b64encode(seed).decode(),
        base64.b64encode(seed).decode().rstrip("="),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
        base58.b58encode(seed).decode(),
        repr(seed),
        repr(seed)[2:-1],  # the escaped bytes without b'...'
        str(list(seed)),
        # the 64-byte libsodium secret key is seed || public key
        bytes(seed).hex()[:32],
    ]


def _leaks(text: str, seed: bytes) -> list[str]:
    return [encoded for encoded in _encodings(seed) if encoded in text]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s[:2].hex())
def test_identity_text_forms_show_the_did_not_the_seed(seed: bytes) -> None:
    identity = Identity(seed)
    shown = [
        str(identity),
        repr(identity),
        f"{identity}",
        f"{identity!r}",
        f"{identity!s}",
        format(identity),
        format(identity, ""),
        "%s" % identity,  # noqa: UP031 - the %-operator is one of the forms under test
        "%r" % identity,  # noqa: UP031
        str([identity]),
        repr({"who": identity}),
    ]
    for text in shown:
        assert identity.did in text
        assert not _leaks(text, seed), text


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s[:2].hex())
def test_identity_is_not_picklable_and_the_refusal_leaks_nothing(seed: bytes) -> None:
    identity = Identity(seed)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError) as caught:
            pickle.dumps(identity, protocol=protocol)
        assert not _leaks(str(caught.value), seed)
        assert not _leaks(repr(caught.value), seed)
    for clone in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            clone(identity)


def test_identity_has_no_instance_dict_to_dump() -> None:
    identity = Identity(SEEDS[0])
    with pytest.raises(TypeError):
        vars(identity)


def test_identity_seed_is_only_given_on_request() -> None:
    identity = Identity(SEEDS[0])
    assert identity.secret_seed() == SEEDS[0]
    assert Identity(identity.secret_seed()).did == identity.did


def test_identity_from_fixed_seed_is_stable() -> None:
    a, b = Identity(bytes([1]) * 32), Identity(bytes([1]) * 32)
    assert a.did == b.did
    assert a.public_key == b.public_key
    assert a.did == did_from_public_key(a.public_key)
    assert a.did.startswith("did:key:z6Mk")
    assert a.did != Identity(bytes([2]) * 32).did


def test_identity_signs_for_its_did() -> None:
    identity = Identity(bytes([3]) * 32)
    signature = identity.sign(b"hello")
    assert len(signature) == 64
    verify_key(identity.did).verify(b"hello", signature)


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33)])
def test_identity_refuses_a_seed_of_the_wrong_length(seed: bytes) -> None:
    with pytest.raises(ValueError):
        Identity(seed)


def test_generate_gives_distinct_identities() -> None:
    identities = [Identity.generate() for _ in range(8)]
    dids = {identity.did for identity in identities}
    assert len(dids) == len(identities)
    for identity in identities:
        assert public_key_from_did(identity.did) == identity.public_key
        assert Identity(identity.secret_seed()).did == identity.did


# --- did:key decoding ---------------------------------------------------------------------

VALID_DID = Identity(bytes([1]) * 32).did
PUBLIC_KEY = Identity(bytes([1]) * 32).public_key


def _did_of(raw: bytes) -> str:
    return "did:key:z" + base58.b58encode(raw).decode()


@pytest.mark.parametrize(
    ("did", "fragment"),
    [
        ("did:web:example.com", "is not a did:key"),
        ("", "is not a did:key"),
        ("did:key", "is not a did:key"),
        ("DID:KEY:" + VALID_DID[8:], "is not a did:key"),
        (" " + VALID_DID, "is not a did:key"),
        ("did:key:" + VALID_DID[9:], "multibase prefix is not 'z'"),
        ("did:key:Z" + VALID_DID[9:], "multibase prefix is not 'z'"),
        ("did:key:", "multibase prefix is not 'z'"),
        ("did:key:z", "the key part is empty"),
        (VALID_DID[:-1] + "0", "'0' is not a base58btc character"),
        (VALID_DID[:-1] + "O", "'O' is not a base58btc character"),
        (VALID_DID[:-1] + "I", "'I' is not a base58btc character"),
        (VALID_DID[:-1] + "l", "'l' is not a base58btc character"),
        (VALID_DID + "\n", "'\\n' is not a base58btc character"),
        (VALID_DID[:20] + "é" + VALID_DID[21:], "'é' is not a base58btc character"),
        (_did_of(b"\xec\x01" + PUBLIC_KEY), "multicodec 0xec01"),
        (_did_of(b"\x12\x20" + PUBLIC_KEY), "multicodec 0x1220"),
        (_did_of(b"\xed"), "multicodec 0xed"),
        (_did_of(b"\xed\x01" + PUBLIC_KEY[:31]), "31 bytes after the 0xed01 prefix"),
        (_did_of(b"\xed\x01" + PUBLIC_KEY + b"\x00"), "33 bytes after the 0xed01 prefix"),
        (_did_of(b"\xed\x01"), "0 bytes after the 0xed01 prefix"),
        ("did:key:z1" + VALID_DID[9:], "multicodec 0x00"),  # a leading zero byte
    ],
)
def test_did_defects_are_named(did: str, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        public_key_from_did(did)
    assert caught.value.code == "invalid_did"
    assert fragment in caught.value.detail
    with pytest.raises(ProtocolError) as again:
        verify_key(did)
    assert again.value.code == "invalid_did"


def test_long_did_is_shortened_in_the_detail() -> None:
    did = "did:web:" + "x" * 10_000
    with pytest.raises(ProtocolError) as caught:
        public_key_from_did(did)
    assert caught.value.code == "invalid_did"
    assert len(caught.value.detail) < 200


@pytest.mark.parametrize(
    "did", [None, 5, b"did:key:z6Mk", VALID_DID.encode(), ["did:key:z6Mk"], {"did": "x"}, 1.5]
)
def test_non_string_did_refused(did: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        public_key_from_did(did)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_did"
    assert "must be a string" in caught.value.detail


@pytest.mark.parametrize(
    "did", [None, 5, VALID_DID.encode(), [VALID_DID], {"did": VALID_DID}, {VALID_DID}]
)
def test_verify_key_refuses_non_string_did_as_invalid_did(did: object) -> None:
    # verify_key promises the same refusals as public_key_from_did, whatever it is given.
    with pytest.raises(ProtocolError) as caught:
        verify_key(did)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_did"


def test_did_round_trips_through_the_public_key() -> None:
    for seed in SEEDS:
        identity = Identity(seed)
        assert public_key_from_did(identity.did) == identity.public_key
        assert did_from_public_key(public_key_from_did(identity.did)) == identity.did
        assert bytes(verify_key(identity.did)) == identity.public_key


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_did_from_public_key_refuses_the_wrong_length(length: int) -> None:
    with pytest.raises(ValueError):
        did_from_public_key(bytes(length))
