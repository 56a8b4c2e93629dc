"""The public test vectors in protocol/vectors/, run case by case (SPEC §1, §2, §4)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from guildnode.protocol import (
    Identity,
    ProtocolError,
    canonicalize,
    did_from_public_key,
    loads_canonical,
    parse_json,
    public_key_from_did,
    verify_key,
)
from guildnode.protocol.keys import verify_signature

VECTORS = Path(__file__).parents[2] / "protocol" / "vectors"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


RFC8032 = _load("rfc8032-ed25519.json")
DID_KEY = _load("did-key-ed25519.json")
JCS = _load("rfc8785-jcs.json")


def _cases(items: list[dict[str, Any]], label: str) -> list[Any]:
    return [pytest.param(item, id=str(item.get(label, i))) for i, item in enumerate(items)]


def test_vector_files_keep_their_source() -> None:
    for data in (RFC8032, DID_KEY, JCS):
        assert data["source"].strip()
    assert len(RFC8032["vectors"]) == 3
    assert DID_KEY["valid"] and DID_KEY["invalid"]
    assert JCS["protocol"] and JCS["general"] and JCS["protocol_reject"]


# --- RFC 8032 ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(RFC8032["vectors"], "name"))
def test_rfc8032_identity_from_seed(case: dict[str, Any]) -> None:
    identity = Identity(bytes.fromhex(case["secret_key_seed"]))
    public_key = bytes.fromhex(case["public_key"])
    assert identity.public_key == public_key
    assert identity.did == case["did"]
    assert did_from_public_key(public_key) == case["did"]
    assert public_key_from_did(case["did"]) == public_key


@pytest.mark.parametrize("case", _cases(RFC8032["vectors"], "name"))
def test_rfc8032_signature(case: dict[str, Any]) -> None:
    identity = Identity(bytes.fromhex(case["secret_key_seed"]))
    message = bytes.fromhex(case["message"])
    signature = bytes.fromhex(case["signature"])
    # Ed25519 is deterministic: the same seed and message give the vector's signature.
    assert identity.sign(message) == signature
    assert verify_signature(case["did"], message, signature)
    verify_key(case["did"]).verify(message, signature)


@pytest.mark.parametrize("case", _cases(RFC8032["vectors"], "name"))
def test_rfc8032_signature_refused_when_tampered(case: dict[str, Any]) -> None:
    message = bytes.fromhex(case["message"])
    signature = bytearray.fromhex(case["signature"])
    assert not verify_signature(case["did"], message + b"\x00", bytes(signature))
    signature[0] ^= 0x01
    assert not verify_signature(case["did"], message, bytes(signature))
    # Another vector's key does not verify this vector's signature.
    other = next(v for v in RFC8032["vectors"] if v["did"] != case["did"])
    assert not verify_signature(other["did"], message, bytes.fromhex(case["signature"]))


# --- did:key ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(DID_KEY["valid"], "did"))
def test_did_key_valid_round_trip(case: dict[str, Any]) -> None:
    public_key = bytes.fromhex(case["public_key"])
    assert did_from_public_key(public_key) == case["did"]
    assert public_key_from_did(case["did"]) == public_key
    assert Identity(bytes.fromhex(case["secret_key_seed"])).did == case["did"]


def _expected_fragments(error: str) -> list[str]:
    """What the detail must say, derived from the vector's own description of the defect."""
    if match := re.search(r"multicodec (0x[0-9a-f]{4})", error):
        return ["multicodec", match.group(1)]
    if "multibase prefix is not 'z'" in error:
        return ["multibase prefix is not 'z'"]
    if match := re.search(r"\((\d+) bytes after the 0xed01 prefix\)", error):
        return [f"{match.group(1)} bytes after the 0xed01 prefix"]
    if error == "not a did:key":
        return ["is not a did:key"]
    if match := re.fullmatch(r"'(.)' is not a base58btc character", error):
        return [f"'{match.group(1)}' is not a base58btc character"]
    raise AssertionError(f"no rule for the invalid did:key vector {error!r}; add one")


@pytest.mark.parametrize("case", _cases(DID_KEY["invalid"], "error"))
def test_did_key_invalid_refused_with_reason(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        public_key_from_did(case["did"])
    assert caught.value.code == "invalid_did"
    for fragment in _expected_fragments(case["error"]):
        assert fragment in caught.value.detail
    with pytest.raises(ProtocolError) as again:
        verify_key(case["did"])
    assert again.value.code == "invalid_did"


# --- RFC 8785 -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(JCS["protocol"], "name"))
def test_jcs_protocol_case(case: dict[str, Any]) -> None:
    value = parse_json(case["input"])
    expected = case["canonical"].encode("utf-8")
    assert canonicalize(value) == expected
    assert rfc8785.dumps(value) == expected
    assert canonicalize(loads_canonical(case["input"].encode("utf-8"))) == expected
    # The canonical form is a fixed point.
    assert canonicalize(parse_json(expected)) == expected


def _general_code(name: str) -> str:
    if "floats" in name:
        return "float_not_allowed"
    if "non-ASCII keys" in name:
        return "non_ascii_key"
    raise AssertionError(f"no expected code for the general JCS vector {name!r}; add one")


@pytest.mark.parametrize("case", _cases(JCS["general"], "name"))
def test_jcs_general_case_outside_profile_refused(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        loads_canonical(case["input"])
    assert caught.value.code == _general_code(case["name"])


REJECT_CODES = {
    "a float": "float_not_allowed",
    "float syntax even when integral": "float_not_allowed",
    "integer above 2^53-1": "integer_out_of_range",
    "integer below -(2^53-1)": "integer_out_of_range",
    "lone surrogate": "invalid_string",
    "non-ASCII key": "non_ascii_key",
}


def test_every_reject_vector_has_an_expected_code() -> None:
    assert {case["name"] for case in JCS["protocol_reject"]} == set(REJECT_CODES)


@pytest.mark.parametrize("case", _cases(JCS["protocol_reject"], "name"))
def test_jcs_protocol_reject_case(case: dict[str, Any]) -> None:
    for data in (case["input"], case["input"].encode("utf-8")):
        with pytest.raises(ProtocolError) as caught:
            loads_canonical(data)
        assert caught.value.code == REJECT_CODES[case["name"]]
        assert caught.value.detail
