"""eddsa-jcs-2022 against the public W3C vector, and against an independent verifier; the
credentials of SPEC §19 built from records and checked, each rule on its own (SPEC §19).

The independent path shares nothing with the implementation but the bytes: JCS by the
`rfc8785` package (the implementation uses guildnode.protocol.canonical), Ed25519 by
`cryptography` (the implementation uses PyNaCl), base58btc by the few lines below (the
implementation uses the `base58` package).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from guildnode.protocol import Identity, VerifiedRecord, canonicalize, sign_record
from guildnode.protocol.credentials import (
    CONTRACT,
    MEMBERSHIP,
    VOUCH,
    commitment,
    credential,
    presentation,
    verify_credential,
    verify_file,
)
from guildnode.protocol.dataintegrity import (
    CREDENTIAL_CODES,
    CredentialError,
    add_proof,
    hash_data,
    proof_config,
    verify_proof,
)

REPO = Path(__file__).parents[2]
VECTOR: dict[str, Any] = json.loads(
    (REPO / "protocol" / "vectors" / "eddsa-jcs-2022.json").read_text(encoding="utf-8")
)
SHARED = REPO.parent / "shared" / "vectors" / "eddsa-jcs-2022.json"

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    """base58btc, written here from the alphabet (not the `base58` package)."""
    number = 0
    for char in text:
        number = number * 58 + ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


def independent_verify(secured: dict[str, Any]) -> bool:
    """eddsa-jcs-2022 verification (vc-di-eddsa §3.3.2) with rfc8785 and cryptography."""
    proof = dict(secured["proof"])
    value = proof.pop("proofValue")
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-jcs-2022"
    document = {k: v for k, v in secured.items() if k != "proof"}
    if "@context" in proof:
        document["@context"] = proof["@context"]
    data = (
        hashlib.sha256(rfc8785.dumps(proof)).digest()
        + hashlib.sha256(rfc8785.dumps(document)).digest()
    )
    did, _, fragment = proof["verificationMethod"].partition("#")
    multicodec = b58decode(did.removeprefix("did:key:z"))
    assert multicodec[:2] == b"\xed\x01" and fragment == did.removeprefix("did:key:")
    key = Ed25519PublicKey.from_public_bytes(multicodec[2:])
    assert value.startswith("z")
    try:
        key.verify(b58decode(value[1:]), data)
    except InvalidSignature:
        return False
    return True


# --- the public vector --------------------------------------------------------------------


def test_the_vector_is_the_shared_one_with_its_source() -> None:
    assert VECTOR["source"].strip()
    if SHARED.exists():  # in a clone without shared/, the copy stands on its own
        assert json.loads(SHARED.read_text(encoding="utf-8")) == VECTOR


def test_the_vector_canonical_forms_and_hashes() -> None:
    identity = Identity(bytes.fromhex(VECTOR["secretKeySeedHex"]))
    assert identity.public_key.hex() == VECTOR["publicKeyHex"]
    assert identity.did == "did:key:" + VECTOR["publicKeyMultibase"]
    document = VECTOR["unsignedDocument"]
    config = proof_config(document, identity.did, VECTOR["proofOptions"]["created"])
    assert config == VECTOR["proofOptions"]
    assert canonicalize(document) == VECTOR["canonicalDocument"].encode()
    assert canonicalize(config) == VECTOR["canonicalProofConfig"].encode()
    data = hash_data(document, config)
    assert data.hex() == VECTOR["hashDataHex"]
    assert data[:32].hex() == VECTOR["proofConfigHashHex"]
    assert data[32:].hex() == VECTOR["docHashHex"]


def test_the_vector_signature_and_proof_value() -> None:
    identity = Identity(bytes.fromhex(VECTOR["secretKeySeedHex"]))
    secured = add_proof(VECTOR["unsignedDocument"], identity, VECTOR["proofOptions"]["created"])
    assert secured["proof"]["proofValue"] == VECTOR["proofValue"]
    assert b58decode(VECTOR["proofValue"][1:]).hex() == VECTOR["signatureHex"]
    assert {k: v for k, v in secured.items() if k != "proof"} == VECTOR["unsignedDocument"]
    assert verify_proof(secured) == identity.did
    assert independent_verify(secured)


def test_the_vector_proof_verifies_as_published() -> None:
    """The vector's document with its proof (options + proofValue) as the W3C gives it."""
    secured = {
        **VECTOR["unsignedDocument"],
        "proof": {**VECTOR["proofOptions"], "proofValue": VECTOR["proofValue"]},
    }
    assert verify_proof(secured) == "did:key:" + VECTOR["publicKeyMultibase"]
    changed = {**secured, "name": "Alumni Credential!"}
    with pytest.raises(CredentialError) as caught:
        verify_proof(changed)
    assert caught.value.code == "bad_proof"
    assert not independent_verify(changed)


def test_a_proof_made_by_the_independent_signer_verifies_here() -> None:
    seed = bytes(range(32))
    key = Ed25519PrivateKey.from_private_bytes(seed)
    identity = Identity(seed)
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "é ✓ 𝄞", "n": 7}
    config = proof_config(document, identity.did, "2026-01-02T03:04:05Z")
    data = (
        hashlib.sha256(rfc8785.dumps(config)).digest()
        + hashlib.sha256(rfc8785.dumps(document)).digest()
    )
    signature = key.sign(data)
    alphabet_value = _b58encode(signature)
    secured = {**document, "proof": {**config, "proofValue": "z" + alphabet_value}}
    assert verify_proof(secured) == identity.did


def _b58encode(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = ALPHABET[digit] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


# --- credentials built from records --------------------------------------------------------

NOW = 1_800_000_000
ME = Identity(b"\x01" * 32)
ORG = Identity(b"\x02" * 32)
OTHER = Identity(b"\x03" * 32)


class Chain:
    def __init__(self, identity: Identity) -> None:
        self.identity, self.records = identity, list[VerifiedRecord]()

    def add(self, kind: str, body: dict[str, Any], **extra: Any) -> VerifiedRecord:
        head = self.records[-1] if self.records else None
        record = sign_record(
            self.identity,
            kind=kind,
            body=body,
            seq=len(self.records) + 1,
            prev=head.id if head else None,
            created_at=NOW - 10_000 + len(self.records),
            **extra,
        )
        self.records.append(record)
        return record


def story() -> dict[str, list[VerifiedRecord]]:
    """The evidence of one credential of each type for ME."""
    org, me = Chain(ORG), Chain(ME)
    vouch = org.add("vouch", {"subject": ME.did, "level": 3, "context": "rust"})
    charter = org.add(
        "guild",
        {
            "name": "Rustaceans",
            "purpose": "Rust work",
            "founders": [ORG.did],
            "admission": {"vouches_required": 1, "cooling_days": 0},
        },
    )
    applied = me.add("apply", {"guild": charter.id})
    admitted = org.add("vouch", {"subject": ME.did, "level": 2, "context": f"guild:{charter.id}"})
    contract = "ef" * 32
    parties = {"contract": contract, "organisation": ORG.did, "freelancer": ME.did}
    receipts = [
        org.add("receipt", {**parties, "outcome": "completed", "payment": "on_time"}),
        me.add("receipt", {**parties, "outcome": "completed", "payment": "on_time"}),
    ]
    said = {"contract": contract, "subject": ME.did, "rating": 3, "salt": "A" * 22}
    committed = org.add(
        "commit", {"contract": contract, "subject": ME.did, "commitment": commitment(said)}
    )
    revealed = org.add("feedback", said)
    return {
        VOUCH: [vouch],
        MEMBERSHIP: [charter, applied, admitted],
        CONTRACT: [*receipts, committed, revealed],
    }


def made(kind: str) -> dict[str, Any]:
    return credential(kind, ME, story()[kind], NOW)


@pytest.mark.parametrize("kind", [VOUCH, MEMBERSHIP, CONTRACT])
def test_each_credential_verifies_here_and_independently(kind: str) -> None:
    secured = made(kind)
    assert verify_credential(secured, NOW) == ME.did
    assert independent_verify(secured)
    assert secured["type"] == ["VerifiableCredential", kind]
    assert secured["issuer"] == ME.did and secured["credentialSubject"]["id"] == ME.did
    for item, record in zip(secured["evidence"], story()[kind], strict=True):
        assert item["record"] == record.to_wire()


def test_the_claims_say_what_the_records_say() -> None:
    assert made(VOUCH)["credentialSubject"] == {
        "id": ME.did,
        "vouchedBy": ORG.did,
        "level": 3,
        "context": "rust",
    }
    member = made(MEMBERSHIP)["credentialSubject"]
    assert member["vouchedInBy"] == [ORG.did] and member["founder"] is False
    work = made(CONTRACT)["credentialSubject"]
    assert work["role"] == "freelancer" and work["counterparty"] == ORG.did
    assert work["feedback"] == [{"rating": 3}] and work["payment"] == "on_time"


def test_a_vouch_for_someone_else_makes_no_credential() -> None:
    org = Chain(ORG)
    elsewhere = org.add("vouch", {"subject": OTHER.did, "level": 3})
    with pytest.raises(CredentialError) as caught:
        credential(VOUCH, ME, [elsewhere], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_a_membership_without_enough_vouches_makes_no_credential() -> None:
    charter, applied, _ = story()[MEMBERSHIP]
    with pytest.raises(CredentialError) as caught:
        credential(MEMBERSHIP, ME, [charter, applied], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_feedback_that_is_not_what_was_committed_makes_no_credential() -> None:
    receipts = story()[CONTRACT][:2]
    org = Chain(ORG)
    contract = receipts[0].body["contract"]
    said = {"contract": contract, "subject": ME.did, "rating": 1, "salt": "B" * 22}
    committed = org.add("commit", {"contract": contract, "subject": ME.did, "commitment": "0" * 64})
    revealed = org.add("feedback", said)
    with pytest.raises(CredentialError) as caught:
        credential(CONTRACT, ME, [*receipts, committed, revealed], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_a_vouch_credential_ends_when_the_vouch_stops_counting() -> None:
    org = Chain(ORG)
    vouch = org.add("vouch", {"subject": ME.did, "level": 1}, expires_at=NOW + 100)
    secured = credential(VOUCH, ME, [vouch], NOW)
    assert secured["validUntil"] == "2027-01-15T08:01:40Z"
    assert verify_credential(secured, NOW + 100) == ME.did
    with pytest.raises(CredentialError) as caught:
        verify_credential(secured, NOW + 101)
    assert caught.value.code == "credential_expired"


def test_a_file_reports_every_credential() -> None:
    file = presentation(ME.did, [made(VOUCH), made(CONTRACT)])
    report = verify_file(json.dumps(file).encode(), NOW)
    assert report.ok and report.holder == ME.did
    assert [c.type for c in report.credentials] == [VOUCH, CONTRACT]


def test_every_code_is_in_spec_section_19() -> None:
    spec = (REPO / "protocol" / "SPEC.md").read_text(encoding="utf-8")
    chapter = spec[spec.index("## §19 ") :]
    table = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", chapter, re.MULTILINE))
    assert table == CREDENTIAL_CODES
