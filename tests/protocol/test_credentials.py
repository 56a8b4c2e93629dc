"""eddsa-jcs-2022 against the public W3C vector, and against an independent verifier; the
credentials of SPEC §18 built from records and checked, each rule on its own (SPEC §18).

The independent path shares nothing with the implementation but the bytes: JCS by the
`rfc8785` package (the implementation uses guildnode.protocol.canonical), Ed25519 by
`cryptography` (the implementation uses PyNaCl), base58btc by the few lines below (the
implementation uses the `base58` package).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from guildnode.protocol import (
    Identity,
    VerifiedRecord,
    canonicalize,
    parse_timestamp,
    verify_record,
)
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


@dataclass(frozen=True)
class People:
    me: Any  # conftest.Author: the member who exports
    org: Any  # the organisation that vouches, founds a guild and hires the member
    other: Any

    def story(self) -> dict[str, list[VerifiedRecord]]:
        """The evidence of one credential of each type for `me`."""
        me, org = self.me, self.org
        vouch = org.next("vouch", {"subject": me.did, "level": 3, "context": "rust"})
        charter = org.next(
            "guild",
            {
                "name": "Rustaceans",
                "purpose": "Rust work",
                "founders": [org.did],
                "admission": {"vouches_required": 1, "cooling_days": 0},
            },
        )
        applied = me.next("apply", {"guild": charter.id})
        admitted = org.next(
            "vouch", {"subject": me.did, "level": 2, "context": f"guild:{charter.id}"}
        )
        contract = "ef" * 32
        parties = {"contract": contract, "organisation": org.did, "freelancer": me.did}
        receipts = [
            org.next("receipt", {**parties, "outcome": "completed", "payment": "on_time"}),
            me.next("receipt", {**parties, "outcome": "completed", "payment": "on_time"}),
        ]
        said = {"contract": contract, "subject": me.did, "rating": 3, "salt": "A" * 22}
        committed = org.next(
            "commit", {"contract": contract, "subject": me.did, "commitment": commitment(said)}
        )
        revealed = org.next("feedback", said)
        return {
            VOUCH: [vouch],
            MEMBERSHIP: [charter, applied, admitted],
            CONTRACT: [*receipts, committed, revealed],
        }

    def made(self, kind: str) -> dict[str, Any]:
        return credential(kind, self.me.identity, self.story()[kind], NOW)


@pytest.fixture
def people(author: Callable[[int], Any]) -> People:
    return People(author(1), author(2), author(3))


@pytest.mark.parametrize("kind", [VOUCH, MEMBERSHIP, CONTRACT])
def test_each_credential_verifies_here_and_independently(kind: str, people: People) -> None:
    records = people.story()[kind]
    secured = credential(kind, people.me.identity, records, NOW)
    me = people.me.did
    assert verify_credential(secured, NOW) == me
    assert independent_verify(secured)
    assert secured["type"] == ["VerifiableCredential", kind]
    assert secured["issuer"] == me and secured["credentialSubject"]["id"] == me
    for item, record in zip(secured["evidence"], records, strict=True):
        assert item["record"] == record.to_wire()


def test_the_claims_say_what_the_records_say(people: People) -> None:
    me, org = people.me.did, people.org.did
    assert people.made(VOUCH)["credentialSubject"] == {
        "id": me,
        "vouchedBy": org,
        "level": 3,
        "context": "rust",
    }
    member = people.made(MEMBERSHIP)["credentialSubject"]
    assert member["vouchedInBy"] == [org] and member["founder"] is False
    work = people.made(CONTRACT)["credentialSubject"]
    assert work["role"] == "freelancer" and work["counterparty"] == org
    assert work["feedback"] == [{"rating": 3}] and work["payment"] == "on_time"


def test_an_organisation_exports_its_side_of_a_contract(people: People) -> None:
    receipts = people.story()[CONTRACT][:2]
    secured = credential(CONTRACT, people.org.identity, receipts, NOW)
    work = secured["credentialSubject"]
    assert (work["role"], work["counterparty"], work["feedback"]) == (
        "organisation",
        people.me.did,
        [],
    )
    assert verify_credential(secured, NOW) == people.org.did and independent_verify(secured)
    with pytest.raises(CredentialError) as caught:  # a stranger cannot present it as theirs
        credential(CONTRACT, people.other.identity, receipts, NOW)
    assert caught.value.code == "evidence_mismatch"


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _leaves(child, (*path, key))]
    if isinstance(value, list):
        return [p for i, child in enumerate(value) for p in _leaves(child, (*path, i))]
    return [path]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("A" if value[-1:] != "A" else "B")
    return "x"


@pytest.mark.parametrize("kind", [VOUCH, MEMBERSHIP, CONTRACT])
def test_every_value_of_a_credential_is_covered(kind: str, people: People) -> None:
    """Change any one value anywhere in a credential — a claim, a date, the proof, a byte of
    an embedded record — and it no longer verifies, here or independently."""
    secured = people.made(kind)
    paths = _leaves(secured)
    assert len(paths) > 20
    for path in paths:
        broken = copy.deepcopy(secured)
        holder = broken
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] = _changed(holder[path[-1]])
        with pytest.raises(CredentialError):
            verify_credential(broken, NOW)
        assert not _independently_ok(broken), path


def _independently_ok(secured: dict[str, Any]) -> bool:
    try:
        return independent_verify(secured)
    except (AssertionError, ValueError):
        return False


def test_a_vouch_for_someone_else_makes_no_credential(people: People) -> None:
    elsewhere = people.org.next("vouch", {"subject": people.other.did, "level": 3})
    with pytest.raises(CredentialError) as caught:
        credential(VOUCH, people.me.identity, [elsewhere], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_a_membership_without_enough_vouches_makes_no_credential(people: People) -> None:
    charter, applied, _ = people.story()[MEMBERSHIP]
    with pytest.raises(CredentialError) as caught:
        credential(MEMBERSHIP, people.me.identity, [charter, applied], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_feedback_that_is_not_what_was_committed_makes_no_credential(people: People) -> None:
    receipts = people.story()[CONTRACT][:2]
    me, org = people.me.did, people.org
    contract = receipts[0].body["contract"]
    said = {"contract": contract, "subject": me, "rating": 1, "salt": "B" * 22}
    committed = org.next("commit", {"contract": contract, "subject": me, "commitment": "0" * 64})
    revealed = org.next("feedback", said)
    with pytest.raises(CredentialError) as caught:
        credential(CONTRACT, people.me.identity, [*receipts, committed, revealed], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_a_vouch_credential_ends_when_the_vouch_stops_counting(people: People) -> None:
    body = {"subject": people.me.did, "level": 1}
    vouch = people.org.next("vouch", body, expires_at=NOW + 100)
    secured = credential(VOUCH, people.me.identity, [vouch], NOW)
    assert secured["validUntil"] == "2027-01-15T08:01:40Z"
    assert verify_credential(secured, NOW + 100) == people.me.did
    with pytest.raises(CredentialError) as caught:
        verify_credential(secured, NOW + 101)
    assert caught.value.code == "credential_expired"


def test_a_file_reports_every_credential(people: People) -> None:
    file = presentation(people.me.did, [people.made(VOUCH), people.made(CONTRACT)])
    report = verify_file(json.dumps(file).encode(), NOW)
    assert report.ok and report.holder == people.me.did
    assert [c.type for c in report.credentials] == [VOUCH, CONTRACT]


def test_a_credential_on_an_earlier_key_carries_the_links(
    people: People, author: Callable[[int], Any]
) -> None:
    old, new = people.me, author(4)
    vouch = people.org.next("vouch", {"subject": old.did, "level": 2})
    rotate = old.next("rotate", {"successor": new.did})
    succeed = new.next("succeed", {"predecessor": old.did, "via": rotate.id})
    secured = credential(VOUCH, new.identity, [vouch, rotate, succeed], NOW)
    assert secured["issuer"] == new.did
    assert secured["credentialSubject"]["keys"] == [old.did, new.did]
    assert verify_credential(secured, NOW) == new.did
    assert independent_verify(secured)
    with pytest.raises(CredentialError) as caught:  # without the links, nothing to claim
        credential(VOUCH, new.identity, [vouch], NOW)
    assert caught.value.code == "evidence_mismatch"


def test_links_that_do_not_lead_to_the_issuer_make_no_credential(
    people: People, author: Callable[[int], Any]
) -> None:
    old, new, thief = people.me, author(4), author(5)
    vouch = people.org.next("vouch", {"subject": old.did, "level": 2})
    rotate = old.next("rotate", {"successor": new.did})
    succeed = new.next("succeed", {"predecessor": old.did, "via": rotate.id})
    claimed = thief.next("succeed", {"predecessor": old.did, "via": rotate.id})
    for links in ([rotate], [succeed, rotate], [rotate, claimed]):
        with pytest.raises(CredentialError) as caught:
            credential(VOUCH, new.identity, [vouch, *links], NOW)
        assert caught.value.code == "evidence_mismatch"
    with pytest.raises(CredentialError) as caught:  # the thief cannot use the rotation
        credential(VOUCH, thief.identity, [vouch, rotate, claimed], NOW)
    assert caught.value.code == "evidence_mismatch"


CREDENTIALS: dict[str, Any] = json.loads(
    (REPO / "protocol" / "vectors" / "credentials.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CREDENTIALS["valid"], ids=lambda case: case["name"])
def test_valid_credential_vectors_verify(case: dict[str, Any]) -> None:
    now = parse_timestamp(CREDENTIALS["now"])
    item = case["credential"]
    assert verify_credential(item, now) == item["issuer"]
    assert independent_verify(item)
    # Built again from records.json's records with the issuer's seed: the same bytes.
    stored = json.loads((REPO / "protocol" / "vectors" / "records.json").read_text("utf-8"))
    seeds = {i["name"]: bytes.fromhex(i["seed"]) for i in stored["identities"]}
    records = {v["name"]: verify_record(v["record"]) for v in stored["valid"]}
    evidence = [records[name] for name in case["evidence"]]
    issuer = Identity(seeds[case["issuer"]])
    assert credential(item["type"][1], issuer, evidence, now) == item


@pytest.mark.parametrize("case", CREDENTIALS["invalid"], ids=lambda case: case["name"])
def test_invalid_credential_vectors_fail_with_their_code(case: dict[str, Any]) -> None:
    with pytest.raises(CredentialError) as caught:
        verify_credential(case["credential"], parse_timestamp(case["now"]))
    assert caught.value.code == case["error"]


def test_the_credential_vectors_cover_every_credential_code() -> None:
    covered = {case["error"] for case in CREDENTIALS["invalid"]}
    # The file-level codes are about a whole file, not one credential.
    assert covered == set(CREDENTIAL_CODES) - {"malformed_json", "malformed_presentation"}
    kinds = {case["credential"]["type"][1] for case in CREDENTIALS["valid"]}
    assert kinds == {VOUCH, MEMBERSHIP, CONTRACT}


def test_every_code_is_in_spec_section_19() -> None:
    spec = (REPO / "protocol" / "SPEC.md").read_text(encoding="utf-8")
    chapter = spec[spec.index("## §18 ") :]
    table = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", chapter, re.MULTILINE))
    assert table == CREDENTIAL_CODES


# --- governance and disputes in the evidence (SPEC §18.4, §12.5, §17.5) ----------------------


def _decision(people: People, contract: str, **body: Any) -> VerifiedRecord:
    dispute = "cd" * 32
    return people.other.next(
        "outcome", {"dispute": dispute, "contract": contract, "guild": "ab" * 32,
                    "finding": "Found", **body}
    )  # fmt: skip


def test_an_outcome_in_the_evidence_replaces_the_payment_and_voids_feedback(
    people: People,
) -> None:
    receipts = people.story()[CONTRACT][:2]
    contract = receipts[0].body["contract"]
    outcome = _decision(people, contract, payment="late")
    secured = credential(CONTRACT, people.me.identity, [*receipts, outcome], NOW)
    work = secured["credentialSubject"]
    assert work["payment"] == "late" and work["decision"] == f"urn:guildnode:record:{outcome.id}"
    assert verify_credential(secured, NOW) == people.me.did and independent_verify(secured)

    story = people.story()[CONTRACT]
    voiding = _decision(people, contract, void_feedback=[people.org.did])
    with pytest.raises(CredentialError) as caught:  # voided feedback makes no claim
        credential(CONTRACT, people.me.identity, [*story[:2], voiding, *story[2:]], NOW)
    assert caught.value.code == "evidence_mismatch"
    kept = credential(CONTRACT, people.me.identity, [*story[:2], voiding], NOW)
    assert kept["credentialSubject"]["feedback"] == []
    assert kept["credentialSubject"]["payment"] == "on_time"  # no payment found: the receipts'


def test_an_outcome_not_by_a_mediator_of_this_contract_makes_no_credential(
    people: People,
) -> None:
    receipts = people.story()[CONTRACT][:2]
    contract = receipts[0].body["contract"]
    by_a_party = people.org.next(
        "outcome", {"dispute": "cd" * 32, "contract": contract, "guild": "ab" * 32,
                    "finding": "Mine", "payment": "on_time"}
    )  # fmt: skip
    for outcome in (
        _decision(people, "12" * 32, payment="unpaid"),  # another contract
        by_a_party,
        _decision(people, contract, void_feedback=[people.other.did]),  # no party
    ):
        with pytest.raises(CredentialError) as caught:
            credential(CONTRACT, people.me.identity, [*receipts, outcome], NOW)
        assert caught.value.code == "evidence_mismatch"


def test_adopted_amendments_in_the_evidence_set_the_guilds_claims(people: People) -> None:
    me, org, other = people.me, people.org, people.other
    charter = org.next("guild", {
        "name": "Rustaceans", "purpose": "Rust work", "founders": [org.did, other.did],
        "admission": {"vouches_required": 2, "cooling_days": 0},
    })  # fmt: skip
    g = charter.id
    applied = me.next("apply", {"guild": g})
    admitted = org.next("vouch", {"subject": me.did, "level": 2, "context": f"guild:{g}"})
    lower = org.next("motion", {"guild": g, "action": "amend",
                                "changes": {"name": "Crabs", "vouches_required": 1}})  # fmt: skip
    yes = other.next("vote", {"guild": g, "motion": lower.id, "choice": "yes"})
    with pytest.raises(CredentialError):  # two vouches needed by the charter as published
        credential(MEMBERSHIP, me.identity, [charter, applied, admitted], NOW)
    secured = credential(MEMBERSHIP, me.identity, [charter, lower, yes, applied, admitted], NOW)
    assert secured["credentialSubject"]["memberOf"]["name"] == "Crabs"
    assert verify_credential(secured, NOW) == me.did and independent_verify(secured)

    no = other.next("vote", {"guild": g, "motion": lower.id, "choice": "no"})
    own = org.next("vote", {"guild": g, "motion": lower.id, "choice": "yes"})
    removal = org.next("motion", {"guild": g, "action": "remove", "member": other.did})
    elsewhere = org.next("motion", {"guild": "12" * 32, "action": "amend",
                                    "changes": {"vouches_required": 1}})  # fmt: skip
    for amendments in ([lower, no], [lower, own], [lower, yes, yes], [removal], [elsewhere]):
        with pytest.raises(CredentialError) as caught:
            credential(MEMBERSHIP, me.identity, [charter, *amendments, applied, admitted], NOW)
        assert caught.value.code == "evidence_mismatch", amendments
