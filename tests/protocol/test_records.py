"""Records: envelope, encodings, size, body schemas, signature and id (SPEC §3–§6)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.protocol import (
    KNOWN_KINDS,
    MAX_RECORD_BYTES,
    Identity,
    ProtocolError,
    VerifiedRecord,
    canonical_bytes,
    canonicalize,
    did_from_public_key,
    encode_sig,
    format_timestamp,
    parse_json,
    record_id,
    sign_record,
    verify_record,
)

T0 = 1_790_000_000
ALICE = Identity(bytes([1]) * 32)
BOB = Identity(bytes([2]) * 32)
CAROL = Identity(bytes([3]) * 32)
X25519_DID = "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F"
GUILD_ID = hashlib.sha256(b"a guild charter").hexdigest()
OTHER_ID = hashlib.sha256(b"another record").hexdigest()
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _sealed(recipients: int, box: int = 24) -> dict[str, Any]:
    """A sealed body's public shape (SPEC §6.9); its contents do not matter for validity."""
    return {
        "nonce": "N" * 32,
        "box": "b" * box,
        "keys": [
            {"to": Identity(bytes([n]) * 32).did, "key": "k" * 107}
            for n in range(40, 40 + recipients)
        ],
    }


SEALED = (
    "proposal", "offer", "accept", "decline", "milestone", "payment", "complete", "cancel",
    "dispute", "disclosure", "message",
)  # fmt: skip
COMMITMENT = hashlib.sha256(b"a feedback").hexdigest()
ATTACHMENT = {
    "name": "notes.txt",
    "media_type": "text/plain",
    "size": 5,
    "sha256": hashlib.sha256(b"notes").hexdigest(),
    "data": "bm90ZXM",
}


# --- helpers ------------------------------------------------------------------------------


def unsigned(
    kind: str,
    body: Any,
    *,
    author: Identity = ALICE,
    seq: int = 1,
    prev: str | None = None,
    created: int = T0,
    expires: int | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": 1,
        "kind": kind,
        "author": author.did,
        "seq": seq,
        "prev": prev,
        "created": format_timestamp(created),
        "body": body,
    }
    if expires is not None:
        record["expires"] = format_timestamp(expires)
    return record


def sign_wire(record: dict[str, Any], identity: Identity = ALICE) -> dict[str, Any]:
    """`record` with a genuine signature over everything but `sig`, verified by nobody."""
    rest = {key: value for key, value in record.items() if key != "sig"}
    return {**rest, "sig": encode_sig(identity.sign(canonical_bytes(rest)))}


def wire(kind: str, body: Any, **fields: Any) -> dict[str, Any]:
    return sign_wire(unsigned(kind, body, **fields))


def refused(value: Any, expected_id: str | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        verify_record(value, expected_id=expected_id)
    assert caught.value.detail
    return caught.value


def over_the_wire(record: dict[str, Any]) -> Any:
    """The record as a receiver parses it from its canonical bytes."""
    return parse_json(canonical_bytes(record))


def strictly_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(strictly_equal, a, b))
    return bool(a == b)


# --- valid bodies of every known kind -----------------------------------------------------

FULL_BODIES: dict[str, dict[str, Any]] = {
    "profile": {
        "name": "Ada Lovelace",
        "kind": "person",
        "skills": ["python", "c++", "c#", "data.eng", "ml_ops-2"],
        "bio": "Analytical engines, poetic science. Zoë € 😀 ж",
        "endpoints": ["https://ada.example/", "http://10.0.0.1:8080/node"],
    },
    "vouch": {
        "subject": BOB.did,
        "level": 2,
        "context": "python",
        "statement": "Shipped a data pipeline with her — careful, fast.",
        "evidence": OTHER_ID,
    },
    "revoke": {"target": OTHER_ID, "reason": "Made in error."},
    "guild": {
        "name": "Rust Freelancers",
        "purpose": "Find and vet Rust work together.",
        "founders": [ALICE.did, BOB.did, CAROL.did],
        "admission": {"vouches_required": 2, "skills": ["rust"], "cooling_days": 7},
    },
    "apply": {"guild": GUILD_ID, "note": "I write Rust daily."},
    "leave": {"guild": GUILD_ID, "reason": "Moving on."},
    "brief": {
        "guilds": [GUILD_ID, OTHER_ID],
        "title": "Port a parser to Rust",
        "description": "A streaming JSON parser, with tests.",
        "acceptance_criteria": ["All tests pass", "No unsafe"],
        "budget": {"min": 100_000, "max": 250_000, "currency": "EUR"},
        "engagement": "fixed",
        "skills": ["rust", "parsing"],
        "deadline": "2026-12-31T23:59:59Z",
        "organisation": CAROL.did,
    },
    **{kind: _sealed(3, 400) for kind in SEALED},
    "commit": {"contract": OTHER_ID, "subject": BOB.did, "commitment": COMMITMENT},
    "feedback": {
        "contract": OTHER_ID,
        "subject": BOB.did,
        "rating": 3,
        "dimensions": {
            "quality": 3,
            "communication": 2,
            "timeliness": 1,
            "scope_clarity": 3,
            "payment_promptness": 3,
        },
        "statement": "Clear brief, paid on the day.",
        "skills": ["rust"],
        "salt": "A" * 21 + "w",
    },
    "receipt": {
        "contract": OTHER_ID,
        "organisation": ALICE.did,
        "freelancer": BOB.did,
        "outcome": "completed",
        "payment": "on_time",
        "decision": GUILD_ID,
    },
    "rotate": {"successor": BOB.did, "reason": "New laptop."},
    "succeed": {"predecessor": ALICE.did, "via": OTHER_ID},
    "recovery": {"keys": [ALICE.did, BOB.did], "threshold": 2},
    "compromise": {"key": ALICE.did, "from_seq": 3, "successor": BOB.did, "reason": "Stolen."},
    "delegate": {"delegate": BOB.did, "scope": ["briefs", "offers"], "note": "Bob, sales."},
    "undelegate": {"delegate": BOB.did, "from_seq": 4, "reason": "Left the company."},
    "outcome": {
        "dispute": OTHER_ID,
        "contract": OTHER_ID,
        "guild": GUILD_ID,
        "finding": "The work was delivered; it was not paid.",
        "payment": "unpaid",
        "void_feedback": [ALICE.did],
    },
    "motion": {
        "guild": OTHER_ID,
        "action": "amend",
        "changes": {
            "name": "N",
            "purpose": "P",
            "vouches_required": 2,
            "listing": {"description": "D", "skills": ["python"], "apply": "Ask."},
            "unlist": "yes",
        },
        "member": BOB.did,
        "reason": "Why.",
    },
    "vote": {"guild": OTHER_ID, "motion": OTHER_ID, "choice": "no"},
    "answer": {
        "brief": OTHER_ID,
        "question": "Is the CLI in scope?",
        "thread": GUILD_ID,
        "text": "Yes — the CLI too. 😀",
        "attachments": [ATTACHMENT],
    },
}

MINIMAL_BODIES: dict[str, dict[str, Any]] = {
    "profile": {"name": "A", "kind": "organisation"},
    "vouch": {"subject": BOB.did, "level": 1},
    "revoke": {"target": OTHER_ID},
    "guild": {
        "name": "G",
        "purpose": "P",
        "founders": [ALICE.did],
        "admission": {"vouches_required": 1},
    },
    "apply": {"guild": GUILD_ID},
    "leave": {"guild": GUILD_ID},
    "brief": {
        "guilds": [GUILD_ID],
        "title": "T",
        "description": "D",
        "acceptance_criteria": ["C"],
        "budget": {"min": 0, "max": 0, "currency": "USD"},
        "engagement": "hourly",
    },
    **{kind: _sealed(2) for kind in SEALED},
    "commit": {"contract": OTHER_ID, "subject": BOB.did, "commitment": COMMITMENT},
    "feedback": {"contract": OTHER_ID, "subject": BOB.did, "rating": 1, "salt": "_" * 22},
    "receipt": {
        "contract": OTHER_ID,
        "organisation": ALICE.did,
        "freelancer": BOB.did,
        "outcome": "cancelled",
        "payment": "none_due",
    },
    "rotate": {"successor": BOB.did},
    "succeed": {"predecessor": ALICE.did, "via": OTHER_ID},
    "recovery": {"keys": [BOB.did], "threshold": 1},
    "compromise": {"key": ALICE.did, "from_seq": 1},
    "delegate": {"delegate": BOB.did, "scope": ["pay"]},
    "undelegate": {"delegate": BOB.did, "from_seq": 1},
    "outcome": {"dispute": OTHER_ID, "contract": OTHER_ID, "guild": GUILD_ID, "finding": "F"},
    "motion": {"guild": OTHER_ID, "action": "remove"},
    "vote": {"guild": OTHER_ID, "motion": OTHER_ID, "choice": "yes"},
    "answer": {"brief": OTHER_ID, "text": "Y"},
}

# The largest values each schema allows.
BOUNDARY_BODIES: dict[str, dict[str, Any]] = {
    "profile": {
        "name": "n" * 100,
        "kind": "person",
        "skills": [f"s{i}" for i in range(50)],
        "bio": "€" * 2000,
        "endpoints": ["https://" + "e" * 191 + str(i) for i in range(5)],
    },
    "vouch": {
        "subject": BOB.did,
        "level": 3,
        "context": "guild:" + GUILD_ID,
        "statement": "s" * 1000,
    },
    "revoke": {"target": OTHER_ID, "reason": "r" * 500},
    "guild": {
        "name": "n" * 100,
        "purpose": "p" * 2000,
        "founders": [Identity(bytes([n]) * 32).did for n in range(10, 30)],
        "admission": {"vouches_required": 20, "cooling_days": 365, "skills": ["a" * 40]},
    },
    "apply": {"guild": GUILD_ID, "note": "n" * 1000},
    "leave": {"guild": GUILD_ID, "reason": "r" * 500},
    "brief": {
        "guilds": [hashlib.sha256(bytes([n])).hexdigest() for n in range(10)],
        "title": "t" * 200,
        "description": "d" * 5000,
        "acceptance_criteria": ["c" * 500] * 20,
        "budget": {"min": 2**53 - 1, "max": 2**53 - 1, "currency": "JPY"},
        "engagement": "fixed",
    },
    # 10 keys and a 12,000-character box stay under the record limit of 16 KiB.
    **{kind: _sealed(10, 12_000) for kind in SEALED},
    "commit": {"contract": OTHER_ID, "subject": BOB.did, "commitment": "f" * 64},
    "feedback": {
        "contract": OTHER_ID,
        "subject": BOB.did,
        "rating": 3,
        "dimensions": {"quality": 3},
        "statement": "s" * 1000,
        "skills": [f"s{i}" for i in range(10)],
        "salt": "-" * 22,
    },
    "receipt": {
        "contract": OTHER_ID,
        "organisation": ALICE.did,
        "freelancer": BOB.did,
        "outcome": "completed",
        "payment": "unpaid",
    },
    "rotate": {"successor": BOB.did, "reason": "r" * 500},
    "succeed": {"predecessor": ALICE.did, "via": OTHER_ID},
    "recovery": {"keys": [Identity(bytes([n]) * 32).did for n in range(10, 20)], "threshold": 10},
    "compromise": {
        "key": ALICE.did,
        "from_seq": 2**53 - 1,
        "successor": BOB.did,
        "reason": "r" * 500,
    },
    "delegate": {
        "delegate": BOB.did,
        "scope": ["briefs", "offers", "approve", "pay"],
        "note": "n" * 500,
    },
    "undelegate": {"delegate": BOB.did, "from_seq": 2**53 - 1, "reason": "r" * 500},
    "outcome": {
        "dispute": OTHER_ID,
        "contract": OTHER_ID,
        "guild": GUILD_ID,
        "finding": "f" * 5000,
        "payment": "none_due",
        "void_feedback": [ALICE.did, BOB.did],
    },
    "motion": {
        "guild": OTHER_ID,
        "action": "amend",
        "changes": {
            "name": "n" * 100,
            "purpose": "p" * 2000,
            "vouches_required": 20,
            "listing": {"description": "d" * 2000, "apply": "a" * 1000},
        },
        "reason": "r" * 1000,
    },
    "vote": {"guild": OTHER_ID, "motion": OTHER_ID, "choice": "no"},
    "answer": {
        "brief": OTHER_ID,
        "question": "q" * 1000,
        "text": "t" * 4000,
        # One attachment at its limit: four would not fit in a record (SPEC §6.23, §8).
        "attachments": [{**ATTACHMENT, "name": "n" * 100, "size": 4096, "data": "A" * 5462}],
    },
}


def test_every_known_kind_has_valid_bodies_here() -> None:
    assert set(FULL_BODIES) == set(KNOWN_KINDS)
    assert set(MINIMAL_BODIES) == set(KNOWN_KINDS)
    assert set(BOUNDARY_BODIES) == set(KNOWN_KINDS)


VALID_CASES = [
    pytest.param(kind, body, id=f"{kind}-{label}")
    for label, bodies in (
        ("full", FULL_BODIES),
        ("minimal", MINIMAL_BODIES),
        ("boundary", BOUNDARY_BODIES),
    )
    for kind, body in bodies.items()
] + [
    pytest.param(
        "contract_note", {"anything": [1, {"x": None}], "n": -5, "note": "é ok"}, id="unknown"
    ),
    pytest.param("x", {}, id="unknown-empty"),
]


def _check_round_trip(record: VerifiedRecord, kind: str, body: dict[str, Any]) -> None:
    assert record.kind == kind
    assert record.author == ALICE.did
    assert strictly_equal(record.body, body)
    assert record.canonical == canonicalize(record.to_wire())
    assert record.id == hashlib.sha256(record.canonical).hexdigest()
    assert record.id == record_id(record.canonical)
    again = verify_record(parse_json(record.canonical))
    assert again.id == record.id
    assert again.canonical == record.canonical
    assert strictly_equal(again.to_wire(), record.to_wire())
    assert verify_record(record.to_wire(), expected_id=record.id).id == record.id


@pytest.mark.parametrize(("kind", "body"), VALID_CASES)
def test_sign_then_verify_round_trip(kind: str, body: dict[str, Any]) -> None:
    record = sign_record(ALICE, kind=kind, body=body, seq=1, prev=None, created_at=T0)
    _check_round_trip(record, kind, body)
    assert record.seq == 1
    assert record.prev is None
    assert record.created == format_timestamp(T0)
    assert record.created_at == T0
    assert record.expires is None
    assert record.expires_at is None
    assert "expires" not in record.to_wire()


@pytest.mark.parametrize(("kind", "body"), VALID_CASES[: len(KNOWN_KINDS)])
def test_later_record_with_expiry_round_trips(kind: str, body: dict[str, Any]) -> None:
    record = sign_record(
        ALICE, kind=kind, body=body, seq=7, prev=OTHER_ID, created_at=T0, expires_at=T0 + 1
    )
    _check_round_trip(record, kind, body)
    assert (record.seq, record.prev) == (7, OTHER_ID)
    assert record.expires == format_timestamp(T0 + 1)
    assert record.expires_at == T0 + 1
    assert record.to_wire()["expires"] == record.expires


def test_hand_signed_wire_record_matches_sign_record() -> None:
    record = verify_record(over_the_wire(wire("vouch", FULL_BODIES["vouch"])))
    signed = sign_record(
        ALICE, kind="vouch", body=FULL_BODIES["vouch"], seq=1, prev=None, created_at=T0
    )
    assert record.id == signed.id  # Ed25519 is deterministic


def test_record_id_is_sha256_of_the_canonical_bytes() -> None:
    record = sign_record(
        ALICE, kind="profile", body=MINIMAL_BODIES["profile"], seq=1, prev=None, created_at=T0
    )
    expected = hashlib.sha256(canonical_bytes(record.to_wire())).hexdigest()
    assert record.id == expected
    assert record.id == record.id.lower()
    assert len(record.id) == 64
    # The id covers the signature: the unsigned bytes hash differently.
    unsigned_form = {k: v for k, v in record.to_wire().items() if k != "sig"}
    assert record.id != hashlib.sha256(canonical_bytes(unsigned_form)).hexdigest()


def test_signature_covers_the_record_without_sig() -> None:
    record = sign_record(
        ALICE, kind="vouch", body=MINIMAL_BODIES["vouch"], seq=1, prev=None, created_at=T0
    )
    message = canonical_bytes({k: v for k, v in record.to_wire().items() if k != "sig"})
    assert base64.urlsafe_b64decode(record.sig + "==") == ALICE.sign(message)


def test_verified_records_compare_by_id() -> None:
    a = sign_record(
        ALICE, kind="vouch", body=MINIMAL_BODIES["vouch"], seq=1, prev=None, created_at=T0
    )
    b = verify_record(a.to_wire())
    c = sign_record(
        ALICE, kind="vouch", body=MINIMAL_BODIES["vouch"], seq=1, prev=None, created_at=T0 + 1
    )
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


# --- rejections: shape and profile --------------------------------------------------------


@pytest.mark.parametrize(
    "value", [[], [wire("vouch", MINIMAL_BODIES["vouch"])], "{}", None, 1, True]
)
def test_non_object_is_malformed_json(value: Any) -> None:
    assert refused(value).code == "malformed_json"


def test_non_object_from_the_wire_is_malformed_json() -> None:
    assert refused(parse_json('"a record"')).code == "malformed_json"
    assert refused(parse_json("[1,2]")).code == "malformed_json"


def _canonical_text() -> str:
    return canonical_bytes(wire("vouch", {"subject": BOB.did, "level": 2})).decode()


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ('"level":2', '"level":2.0', "float_not_allowed"),
        ('"level":2', '"level":2e0', "float_not_allowed"),
        ('"level":2', '"level":2,"level":2', "duplicate_key"),
        ('"seq":1', '"seq":1,"seq":1', "duplicate_key"),
        ('"level":2', '"level":9007199254740992', "integer_out_of_range"),
        ('"level":2', '"level":2,"lév":1', "non_ascii_key"),
        ('"seq":1', '"seq":1.0', "float_not_allowed"),
    ],
)
def test_profile_breach_in_a_record(old: str, new: str, code: str) -> None:
    text = _canonical_text()
    assert old in text
    assert refused(parse_json(text.replace(old, new, 1))).code == code


def test_lone_surrogate_in_a_record_is_invalid_string() -> None:
    record = wire("vouch", {"subject": BOB.did, "level": 1, "statement": "ok"})
    record["body"]["statement"] = "bad \ud800 text"
    assert refused(record).code == "invalid_string"
    text = canonical_bytes(wire("vouch", {"subject": BOB.did, "level": 1, "statement": "ok"}))
    parsed = parse_json(text.decode().replace('"ok"', '"\\udc00"'))
    assert refused(parsed).code == "invalid_string"


@pytest.mark.parametrize("depth", [50, 300, 500, 700, 900, 950, 990, 2000])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_deeply_nested_body_never_crashes_verification(depth: int, shape: str) -> None:
    inner = "[" * depth + "]" * depth if shape == "array" else '{"a":' * depth + "1" + "}" * depth
    text = canonical_bytes(wire("x", {"deep": 0})).decode().replace("0", inner, 1)
    try:
        value = parse_json(text)
    except ProtocolError as error:
        assert error.code == "malformed_json"
        return
    with pytest.raises(ProtocolError):
        verify_record(value)


# --- rejections: envelope fields ----------------------------------------------------------

REQUIRED = ["v", "kind", "author", "seq", "prev", "created", "body", "sig"]


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_field(field: str) -> None:
    record = wire("vouch", MINIMAL_BODIES["vouch"])
    del record[field]
    error = refused(record)
    assert error.code == "missing_field"
    assert field in error.detail


@pytest.mark.parametrize("field", ["id", "extra", "Sig", "expiry", ""])
def test_unexpected_field(field: str) -> None:
    record = sign_wire({**unsigned("vouch", MINIMAL_BODIES["vouch"]), field: 1})
    error = refused(record)
    assert error.code == "unexpected_field"
    assert repr(field)[1:-1] in error.detail


@pytest.mark.parametrize("v", [2, 0, -1, True, "1", None, [1], {"v": 1}])
def test_unsupported_version(v: Any) -> None:
    record = {**wire("vouch", MINIMAL_BODIES["vouch"]), "v": v}
    assert refused(record).code == "unsupported_version"


@pytest.mark.parametrize("v", [2, True])
def test_unsupported_version_even_when_signed(v: Any) -> None:
    record = sign_wire({**unsigned("vouch", MINIMAL_BODIES["vouch"]), "v": v})
    assert refused(over_the_wire(record)).code == "unsupported_version"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"kind": "Vouch"}, "`kind`"),
        ({"kind": ""}, "`kind`"),
        ({"kind": "1vouch"}, "`kind`"),
        ({"kind": "_vouch"}, "`kind`"),
        ({"kind": "vo-uch"}, "`kind`"),
        ({"kind": "a" * 33}, "`kind`"),
        ({"kind": "vouch\n"}, "`kind`"),
        ({"kind": 5}, "`kind`"),
        ({"kind": None}, "`kind`"),
        ({"seq": 0}, "`seq`"),
        ({"seq": -1}, "`seq`"),
        ({"seq": "2", "prev": OTHER_ID}, "`seq`"),
        ({"seq": True}, "`seq`"),
        ({"seq": None}, "`seq`"),
        ({"prev": OTHER_ID}, "`prev` must be null"),
        ({"prev": ""}, "`prev` must be null"),
        ({"seq": 2, "prev": None}, "`prev`"),
        ({"seq": 2, "prev": OTHER_ID.upper()}, "`prev`"),
        ({"seq": 2, "prev": OTHER_ID[:63]}, "`prev`"),
        ({"seq": 2, "prev": OTHER_ID + "0"}, "`prev`"),
        ({"seq": 2, "prev": OTHER_ID[:63] + "g"}, "`prev`"),
        ({"seq": 2, "prev": OTHER_ID + "\n"}, "`prev`"),
        ({"seq": 2, "prev": 12}, "`prev`"),
        ({"expires": format_timestamp(T0)}, "`expires`"),
        ({"expires": format_timestamp(T0 - 1)}, "`expires`"),
        ({"body": []}, "`body`"),
        ({"body": "text"}, "`body`"),
        ({"body": None}, "`body`"),
        ({"body": 1}, "`body`"),
    ],
)
def test_invalid_field(changes: dict[str, Any], fragment: str) -> None:
    record = sign_wire({**unsigned("vouch", MINIMAL_BODIES["vouch"]), **changes})
    error = refused(record)
    assert error.code == "invalid_field"
    assert fragment in error.detail


def test_seq_at_the_largest_safe_integer_is_fine() -> None:
    record = verify_record(wire("vouch", MINIMAL_BODIES["vouch"], seq=2**53 - 1, prev=OTHER_ID))
    assert record.seq == 2**53 - 1


@pytest.mark.parametrize(
    "author",
    [
        "did:web:example.com",
        X25519_DID,
        ALICE.did[:-1],
        ALICE.did + "1",
        ALICE.did.replace("did:key:z", "did:key:f"),
        "",
        None,
        5,
    ],
)
def test_invalid_did_author(author: Any) -> None:
    record = {**wire("vouch", MINIMAL_BODIES["vouch"]), "author": author}
    assert refused(record).code == "invalid_did"


@pytest.mark.parametrize("author", [[ALICE.did], {"did": ALICE.did}])
def test_unhashable_author_is_invalid_did(author: Any) -> None:
    # A JSON array or object as `author` is a defect of the record, not a crash.
    record = {**wire("vouch", MINIMAL_BODIES["vouch"]), "author": author}
    assert refused(record).code == "invalid_did"


BAD_TIMESTAMPS = [
    "2026-11-27T10:00:00+00:00",
    "2026-02-30T00:00:00Z",
    "2026-11-27T10:00:00.5Z",
    "2026-11-27T10:00:00.000Z",
    "2026-11-27T10:00:00z",
    "2026-11-27t10:00:00Z",
    "2026-11-27 10:00:00Z",
    "2026-11-27T10:00Z",
    "2026-11-27T10:00:00",
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-11-27T24:00:00Z",
    "2026-11-27T23:60:00Z",
    "2026-12-31T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "+2026-11-27T10:00:00Z",
    "2026-11-27T10:00:00Z\n",
    "２０２６-11-27T10:00:00Z",
    "",
    1_790_000_000,
    None,
]


@pytest.mark.parametrize("created", BAD_TIMESTAMPS)
def test_invalid_created_timestamp(created: Any) -> None:
    record = sign_wire({**unsigned("vouch", MINIMAL_BODIES["vouch"]), "created": created})
    error = refused(record)
    assert error.code == "invalid_timestamp"
    assert "`created`" in error.detail


@pytest.mark.parametrize("expires", BAD_TIMESTAMPS)
def test_invalid_expires_timestamp(expires: Any) -> None:
    record = sign_wire({**unsigned("vouch", MINIMAL_BODIES["vouch"]), "expires": expires})
    error = refused(record)
    assert error.code == "invalid_timestamp"
    assert "`expires`" in error.detail


def test_leap_day_is_a_real_time() -> None:
    record = sign_wire(
        {**unsigned("vouch", MINIMAL_BODIES["vouch"]), "created": "2028-02-29T00:00:00Z"}
    )
    assert verify_record(record).created == "2028-02-29T00:00:00Z"
    bad = sign_wire(
        {**unsigned("vouch", MINIMAL_BODIES["vouch"]), "created": "2027-02-29T00:00:00Z"}
    )
    assert refused(bad).code == "invalid_timestamp"


# --- rejections: signature encoding -------------------------------------------------------


def _signed() -> dict[str, Any]:
    return wire("vouch", MINIMAL_BODIES["vouch"])


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: s[:-1], id="85-chars"),
        pytest.param(lambda s: s + "A", id="87-chars"),
        pytest.param(lambda s: s + "==", id="padded"),
        pytest.param(lambda s: s[:-1] + "=", id="pad-char-inside"),
        pytest.param(lambda s: s[:-2] + "==", id="padded-86"),
        pytest.param(lambda s: "+" + s[1:], id="standard-alphabet-plus"),
        pytest.param(lambda s: "/" + s[1:], id="standard-alphabet-slash"),
        pytest.param(lambda s: " " + s[1:], id="space"),
        pytest.param(lambda s: s + "\n", id="newline"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: base64.urlsafe_b64decode(s + "==").hex(), id="hex"),
        pytest.param(lambda s: None, id="null"),
        pytest.param(lambda s: 5, id="number"),
        pytest.param(lambda s: [s], id="array"),
    ],
)
def test_malformed_signature(mangle: Any) -> None:
    record = _signed()
    record["sig"] = mangle(record["sig"])
    assert refused(record).code == "malformed_signature"


def test_signature_of_wrong_byte_length_is_malformed() -> None:
    record = _signed()
    raw = base64.urlsafe_b64decode(record["sig"] + "==")
    for length in (63, 65, 32, 0):
        record["sig"] = encode_sig((raw * 2)[:length])
        assert refused(record).code == "malformed_signature"


def _trailing_bit_variants(sig: str) -> list[str]:
    """Every other spelling of `sig` that a lax base64url decoder maps to the same bytes."""
    index = B64URL.index(sig[-1])
    assert index % 16 == 0, "64 bytes leave 4 unused bits in the last character"
    return [sig[:-1] + B64URL[index + low] for low in range(1, 16)]


def test_signature_with_stray_trailing_bits_is_refused() -> None:
    # The relay-forgery case: a relay flips unused bits of the last character, producing the
    # same signature bytes, the same signed content, and a new record id.
    record = _signed()
    original = verify_record(record)
    raw = base64.urlsafe_b64decode(record["sig"] + "==")
    variants = _trailing_bit_variants(record["sig"])
    assert len(variants) == 15
    for forged_sig in variants:
        assert base64.urlsafe_b64decode(forged_sig + "==") == raw
        forged = {**record, "sig": forged_sig}
        assert record_id(canonical_bytes(forged)) != original.id
        error = refused(forged)
        assert error.code == "malformed_signature"
        assert "re-encode" in error.detail
        assert refused(over_the_wire(forged)).code == "malformed_signature"


# --- rejections: size ---------------------------------------------------------------------


def _brief_of_size(size: int) -> dict[str, Any]:
    """A validly signed brief whose canonical bytes number exactly `size`."""
    body = copy.deepcopy(MINIMAL_BODIES["brief"])
    base = len(canonical_bytes(wire("brief", body))) - len(body["description"])
    emoji, rest = divmod(size - base, 4)
    body["description"] = "😀" * emoji + "d" * rest
    assert len(body["description"]) <= 5000
    record = wire("brief", body)
    assert len(canonical_bytes(record)) == size
    return record


def test_record_of_exactly_the_limit_is_accepted() -> None:
    record = verify_record(over_the_wire(_brief_of_size(MAX_RECORD_BYTES)))
    assert len(record.canonical) == MAX_RECORD_BYTES == 16_384


def test_record_one_byte_over_the_limit_is_refused() -> None:
    record = _brief_of_size(MAX_RECORD_BYTES + 1)
    error = refused(over_the_wire(record))
    assert error.code == "record_too_large"
    assert "16385" in error.detail
    assert "16384" in error.detail
    with pytest.raises(ProtocolError) as caught:
        sign_record(ALICE, kind="brief", body=record["body"], seq=1, prev=None, created_at=T0)
    assert caught.value.code == "record_too_large"


def test_size_limit_counts_canonical_bytes_not_the_bytes_received() -> None:
    record = _brief_of_size(MAX_RECORD_BYTES)
    # Escaped and indented, the received text is far larger than its canonical form.
    loose = json.dumps(record, indent=4, ensure_ascii=True).encode()
    assert len(loose) > 2 * MAX_RECORD_BYTES
    assert len(verify_record(parse_json(loose)).canonical) == MAX_RECORD_BYTES


def test_size_limit_counts_canonical_escapes() -> None:
    # A control character is one character but six canonical bytes (\u001f).
    body = {"note": "\x1f" * 2700}
    record = wire("x", body)
    assert len(body["note"].encode("utf-8")) == 2700
    assert len(canonical_bytes(record)) > MAX_RECORD_BYTES
    assert refused(record).code == "record_too_large"


def test_unknown_kind_padded_to_the_limit() -> None:
    base = len(canonical_bytes(wire("x", {"pad": ""})))
    at_limit = wire("x", {"pad": "p" * (MAX_RECORD_BYTES - base)})
    assert len(verify_record(at_limit).canonical) == MAX_RECORD_BYTES
    over = wire("x", {"pad": "p" * (MAX_RECORD_BYTES - base + 1)})
    assert refused(over).code == "record_too_large"


# --- rejections: body schemas -------------------------------------------------------------


def _with(kind: str, /, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(FULL_BODIES[kind])
    body.update(changes)
    return body


def _without(kind: str, key: str) -> dict[str, Any]:
    body = copy.deepcopy(FULL_BODIES[kind])
    del body[key]
    return body


def _admission(**changes: Any) -> dict[str, Any]:
    return {**FULL_BODIES["guild"]["admission"], **changes}


def _budget(**changes: Any) -> dict[str, Any]:
    return {**FULL_BODIES["brief"]["budget"], **changes}


_ADMISSION_NO_VOUCHES = {"skills": ["rust"]}
_BUDGET_NO_CURRENCY = {"min": 1, "max": 2}

INVALID_BODIES = [
    # profile
    ("profile", _without("profile", "name"), "lacks the required field 'name'"),
    ("profile", _without("profile", "kind"), "lacks the required field 'kind'"),
    ("profile", _with("profile", age=30), "has the field 'age'"),
    ("profile", _with("profile", name=5), "body.name must be a string"),
    ("profile", _with("profile", name=["Ada"]), "body.name must be a string"),
    ("profile", _with("profile", name=""), "body.name must not be empty"),
    ("profile", _with("profile", name="n" * 101), "body.name is longer than 100"),
    ("profile", _with("profile", kind="robot"), "body.kind must be one of"),
    ("profile", _with("profile", kind=None), "body.kind must be one of"),
    ("profile", _with("profile", kind=["person"]), "body.kind must be one of"),
    ("profile", _with("profile", skills="python"), "body.skills must be an array"),
    ("profile", _with("profile", skills=["Python"]), "body.skills[0] does not match"),
    ("profile", _with("profile", skills=["ok", "-x"]), "body.skills[1] does not match"),
    ("profile", _with("profile", skills=["a" * 41]), "body.skills[0] does not match"),
    ("profile", _with("profile", skills=["rust\n"]), "body.skills[0] does not match"),
    ("profile", _with("profile", skills=[1]), "body.skills[0] must be a string"),
    ("profile", _with("profile", skills=["go", "go"]), "body.skills repeats an item"),
    ("profile", _with("profile", skills=[f"s{i}" for i in range(51)]), "more than 50 items"),
    ("profile", _with("profile", bio="b" * 2001), "body.bio is longer than 2000"),
    ("profile", _with("profile", endpoints=["ftp://x.example"]), "body.endpoints[0] does not"),
    ("profile", _with("profile", endpoints=["https://a b"]), "body.endpoints[0] does not"),
    ("profile", _with("profile", endpoints=["https://é.example"]), "body.endpoints[0] does"),
    ("profile", _with("profile", endpoints=["https://x.example\n"]), "body.endpoints[0] does"),
    ("profile", _with("profile", endpoints=["https://" + "e" * 193]), "longer than 200"),
    ("profile", _with("profile", endpoints=["https://a", "https://a"]), "repeats an item"),
    ("profile", _with("profile", endpoints=[f"https://{i}" for i in range(6)]), "more than 5"),
    ("profile", {"name": "A", "kind": "person", "extra": None}, "has the field 'extra'"),
    # vouch
    ("vouch", _without("vouch", "subject"), "lacks the required field 'subject'"),
    ("vouch", _without("vouch", "level"), "lacks the required field 'level'"),
    ("vouch", _with("vouch", weight=1), "has the field 'weight'"),
    ("vouch", _with("vouch", level=0), "body.level must be between 1 and 3"),
    ("vouch", _with("vouch", level=4), "body.level must be between 1 and 3"),
    ("vouch", _with("vouch", level=-1), "body.level must be between 1 and 3"),
    ("vouch", _with("vouch", level="2"), "body.level must be an integer"),
    ("vouch", _with("vouch", level=True), "body.level must be an integer"),
    ("vouch", _with("vouch", level=None), "body.level must be an integer"),
    ("vouch", _with("vouch", subject="did:key:zzz"), "body.subject does not match"),
    ("vouch", _with("vouch", subject="did:web:bob.example"), "body.subject does not match"),
    ("vouch", _with("vouch", subject=X25519_DID), "body.subject is not valid"),
    ("vouch", _with("vouch", subject=BOB.did[:-1] + "0"), "body.subject does not match"),
    ("vouch", _with("vouch", subject=BOB.did + "\n"), "body.subject does not match"),
    ("vouch", _with("vouch", subject=5), "body.subject must be a string"),
    ("vouch", _with("vouch", context="Python"), "body.context does not match"),
    ("vouch", _with("vouch", context="guild:" + GUILD_ID[:63]), "body.context does not"),
    ("vouch", _with("vouch", context="guild:" + GUILD_ID.upper()), "body.context does not"),
    ("vouch", _with("vouch", context=""), "body.context does not match"),
    ("vouch", _with("vouch", statement="s" * 1001), "body.statement is longer than 1000"),
    ("vouch", _with("vouch", statement=None), "body.statement must be a string"),
    ("vouch", _with("vouch", evidence="not-an-id"), "body.evidence does not match"),
    ("vouch", _with("vouch", evidence=GUILD_ID.upper()), "body.evidence does not match"),
    # revoke
    ("revoke", _without("revoke", "target"), "lacks the required field 'target'"),
    ("revoke", _with("revoke", target=GUILD_ID[:-1]), "body.target does not match"),
    ("revoke", _with("revoke", target=GUILD_ID + "\n"), "body.target does not match"),
    ("revoke", _with("revoke", reason="r" * 501), "body.reason is longer than 500"),
    ("revoke", _with("revoke", subject=BOB.did), "has the field 'subject'"),
    # guild
    ("guild", _without("guild", "founders"), "lacks the required field 'founders'"),
    ("guild", _without("guild", "admission"), "lacks the required field 'admission'"),
    ("guild", _with("guild", name=""), "body.name must not be empty"),
    ("guild", _with("guild", purpose=""), "body.purpose must not be empty"),
    ("guild", _with("guild", purpose="p" * 2001), "body.purpose is longer than 2000"),
    ("guild", _with("guild", founders=[]), "body.founders needs at least 1 item"),
    ("guild", _with("guild", founders=[ALICE.did, ALICE.did]), "body.founders repeats"),
    ("guild", _with("guild", founders=[ALICE.did, X25519_DID]), "body.founders[1] is not"),
    ("guild", _with("guild", founders=[ALICE.did, "bob"]), "body.founders[1] does not"),
    (
        "guild",
        _with("guild", founders=[Identity(bytes([n]) * 32).did for n in range(40, 61)]),
        "body.founders has more than 20 items",
    ),
    ("guild", _with("guild", admission=_ADMISSION_NO_VOUCHES), "'vouches_required'"),
    ("guild", _with("guild", admission=_admission(vouches_required=0)), "between 1 and 20"),
    ("guild", _with("guild", admission=_admission(vouches_required=21)), "between 1 and 20"),
    ("guild", _with("guild", admission=_admission(cooling_days=-1)), "between 0 and 365"),
    ("guild", _with("guild", admission=_admission(cooling_days=366)), "between 0 and 365"),
    ("guild", _with("guild", admission=_admission(quorum=2)), "has the field 'quorum'"),
    ("guild", _with("guild", admission=_admission(skills=["x", "x"])), "repeats an item"),
    ("guild", _with("guild", admission=5), "body.admission must be an object"),
    # apply
    ("apply", _without("apply", "guild"), "lacks the required field 'guild'"),
    ("apply", _with("apply", guild="guild-1"), "body.guild does not match"),
    ("apply", _with("apply", guild=None), "body.guild must be a string"),
    ("apply", _with("apply", note="n" * 1001), "body.note is longer than 1000"),
    ("apply", _with("apply", member=ALICE.did), "has the field 'member'"),
    # leave
    ("leave", _without("leave", "guild"), "lacks the required field 'guild'"),
    ("leave", _with("leave", guild=GUILD_ID[:10]), "body.guild does not match"),
    ("leave", _with("leave", reason="r" * 501), "body.reason is longer than 500"),
    ("leave", _with("leave", note="bye"), "has the field 'note'"),
    # brief
    ("brief", _without("brief", "budget"), "lacks the required field 'budget'"),
    ("brief", _without("brief", "engagement"), "lacks the required field 'engagement'"),
    ("brief", _with("brief", guilds=[]), "body.guilds needs at least 1 item"),
    ("brief", _with("brief", guilds=[GUILD_ID, GUILD_ID]), "body.guilds repeats an item"),
    (
        "brief",
        _with("brief", guilds=[hashlib.sha256(bytes([n])).hexdigest() for n in range(11)]),
        "body.guilds has more than 10 items",
    ),
    ("brief", _with("brief", guilds=["g"]), "body.guilds[0] does not match"),
    ("brief", _with("brief", title=""), "body.title must not be empty"),
    ("brief", _with("brief", title="t" * 201), "body.title is longer than 200"),
    ("brief", _with("brief", description="d" * 5001), "body.description is longer than 5000"),
    ("brief", _with("brief", acceptance_criteria=[]), "needs at least 1 item"),
    ("brief", _with("brief", acceptance_criteria=[""]), "acceptance_criteria[0] must not be"),
    ("brief", _with("brief", acceptance_criteria=["c" * 501]), "acceptance_criteria[0] is"),
    ("brief", _with("brief", acceptance_criteria=["c"] * 21), "has more than 20 items"),
    ("brief", _with("brief", budget=_BUDGET_NO_CURRENCY), "'currency'"),
    ("brief", _with("brief", budget=_budget(currency="eur")), "body.budget.currency does"),
    ("brief", _with("brief", budget=_budget(currency="EURO")), "body.budget.currency does"),
    ("brief", _with("brief", budget=_budget(min=-1)), "body.budget.min must be between"),
    ("brief", _with("brief", budget=_budget(max="100")), "body.budget.max must be an integer"),
    ("brief", _with("brief", budget=_budget(tax=0)), "has the field 'tax'"),
    ("brief", _with("brief", engagement="weekly"), "body.engagement must be one of"),
    ("brief", _with("brief", deadline="tomorrow"), "body.deadline does not match"),
    ("brief", _with("brief", deadline="2026-02-30T00:00:00Z"), "body.deadline is not valid"),
    ("brief", _with("brief", skills=["rust", "rust"]), "body.skills repeats an item"),
    # sealed kinds share one public shape (SPEC §6.9)
    *[(kind, _without(kind, "keys"), "lacks the required field 'keys'") for kind in SEALED],
    ("proposal", _with("proposal", nonce="N" * 31), "body.nonce does not match"),
    ("offer", _with("offer", box="b" * 12_001), "body.box is longer than 12000"),
    ("offer", _with("offer", box="b+/=" * 10), "body.box does not match"),
    ("offer", _with("offer", box="b" * 23), "body.box is under 24 long"),
    ("accept", {**_sealed(1)}, "body.keys needs at least 2 items"),
    ("decline", {**_sealed(11)}, "body.keys has more than 10 items"),
    ("milestone", _with("milestone", terms="in the clear"), "has the field 'terms'"),
    (
        "payment",
        {**_sealed(2), "keys": [{"to": BOB.did, "key": "k" * 106}, {"to": ALICE.did, "key": ""}]},
        "body.keys[0].key does not match",
    ),
    (
        "complete",
        {**_sealed(2), "keys": [{"to": X25519_DID, "key": "k" * 107}] * 2},
        "body.keys[0].to is not valid",
    ),
    ("cancel", _with("cancel", nonce=None), "body.nonce must be a string"),
    # commit, feedback, receipt
    ("commit", _without("commit", "commitment"), "lacks the required field 'commitment'"),
    ("commit", _with("commit", commitment="F" * 64), "body.commitment does not match"),
    ("commit", _with("commit", rating=3), "has the field 'rating'"),
    ("feedback", _without("feedback", "salt"), "lacks the required field 'salt'"),
    ("feedback", _with("feedback", rating=0), "body.rating must be between 1 and 3"),
    ("feedback", _with("feedback", rating=4), "body.rating must be between 1 and 3"),
    ("feedback", _with("feedback", salt="short"), "body.salt does not match"),
    ("feedback", _with("feedback", dimensions={"speed": 2}), "has the field 'speed'"),
    ("feedback", _with("feedback", dimensions={"quality": 4}), "between 1 and 3"),
    ("feedback", _with("feedback", skills=[f"s{i}" for i in range(11)]), "more than 10"),
    ("receipt", _without("receipt", "payment"), "lacks the required field 'payment'"),
    ("receipt", _with("receipt", outcome="abandoned"), "body.outcome must be one of"),
    ("receipt", _with("receipt", payment="yes"), "body.payment must be one of"),
    ("receipt", _with("receipt", amount=100), "has the field 'amount'"),
    ("outcome", _without("outcome", "finding"), "lacks the required field 'finding'"),
    ("outcome", _with("outcome", payment="paid"), "body.payment must be one of"),
    ("outcome", _with("outcome", amount=100), "has the field 'amount'"),
    # SPEC §6.14-§6.17: identity over time
    ("rotate", _with("rotate", successor="did:web:x.example"), "body.successor does not match"),
    ("rotate", _without("rotate", "successor"), "lacks the required field 'successor'"),
    ("succeed", _without("succeed", "via"), "lacks the required field 'via'"),
    ("recovery", _with("recovery", keys=[]), "body.keys"),
    ("recovery", _with("recovery", threshold=11), "body.threshold must be between 1 and 10"),
    ("compromise", _with("compromise", from_seq=0), "body.from_seq must be between"),
    # SPEC §6.18-§6.19: organisation delegates
    ("delegate", _with("delegate", scope=["sign"]), "body.scope[0] must be one of"),
    ("delegate", _with("delegate", scope=[]), "body.scope"),
    ("delegate", _with("delegate", scope=["pay", "pay"]), "body.scope"),
    ("delegate", _without("delegate", "delegate"), "lacks the required field 'delegate'"),
    ("undelegate", _with("undelegate", from_seq=0), "body.from_seq must be between"),
    ("brief", _with("brief", organisation="acme"), "body.organisation"),
    ("motion", _with("motion", action="dissolve"), "body.action must be one of"),
    ("motion", _with("motion", changes={"vouches_required": 0}), "body.changes.vouches_required"),
    ("motion", _with("motion", changes={"admission": {}}), "does not define"),
    ("vote", _with("vote", choice="abstain"), "body.choice must be one of"),
    # SPEC §6.22, §6.23: answers and their attachments
    ("answer", _without("answer", "text"), "lacks the required field 'text'"),
    ("answer", _with("answer", text="t" * 4001), "body.text is longer than 4000"),
    ("answer", _with("answer", text=""), "body.text must not be empty"),
    (
        "answer",
        _with("answer", attachments=[{**ATTACHMENT, "size": 4097}]),
        "body.attachments[0].size must be between 0 and 4096",
    ),
    (
        "answer",
        _with("answer", attachments=[{**ATTACHMENT, "data": "A" * 5463}]),
        "body.attachments[0].data is longer than 5462",
    ),
    ("answer", _with("answer", attachments=[ATTACHMENT] * 5), "body.attachments"),
    (
        "answer",
        _with("answer", attachments=[{**ATTACHMENT, "media_type": "Text/Plain"}]),
        "body.attachments[0].media_type does not match",
    ),
]


@pytest.mark.parametrize(
    ("kind", "body", "fragment"),
    [pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(INVALID_BODIES)],
)
def test_invalid_body(kind: str, body: dict[str, Any], fragment: str) -> None:
    record = wire(kind, body)  # genuinely signed: only the body is wrong
    error = refused(record)
    assert error.code == "invalid_body"
    assert fragment in error.detail
    assert refused(over_the_wire(record)).code == "invalid_body"
    with pytest.raises(ProtocolError) as caught:
        sign_record(ALICE, kind=kind, body=body, seq=1, prev=None, created_at=T0)
    assert caught.value.code == "invalid_body"


def test_every_known_kind_has_invalid_body_cases() -> None:
    assert {case[0] for case in INVALID_BODIES} == set(KNOWN_KINDS)


def test_unknown_kind_body_is_only_required_to_be_an_object() -> None:
    record = verify_record(wire("future_kind", {"level": 99, "subject": "not a did"}))
    assert record.kind == "future_kind"
    assert refused(wire("future_kind", ["not", "an", "object"])).code == "invalid_field"


# --- rejections: signature and id ---------------------------------------------------------


def test_tampered_body_with_the_old_signature_is_bad_signature() -> None:
    record = wire("vouch", FULL_BODIES["vouch"])
    verify_record(record)
    tampered = copy.deepcopy(record)
    tampered["body"]["level"] = 3
    error = refused(tampered)
    assert error.code == "bad_signature"
    assert refused(over_the_wire(tampered)).code == "bad_signature"


@pytest.mark.parametrize(
    "changes",
    [
        {"author": BOB.did},
        {"seq": 2, "prev": OTHER_ID},
        {"created": format_timestamp(T0 + 1)},
        {"expires": format_timestamp(T0 + 60)},
        {"kind": "vouches"},
        {"body": {**FULL_BODIES["vouch"], "statement": "Shipped a data pipeline."}},
    ],
)
def test_any_signed_field_changed_is_bad_signature(changes: dict[str, Any]) -> None:
    record = {**wire("vouch", FULL_BODIES["vouch"]), **changes}
    assert refused(record).code == "bad_signature"


def test_signature_by_someone_else_is_bad_signature() -> None:
    record = sign_wire(unsigned("vouch", MINIMAL_BODIES["vouch"]), identity=BOB)
    assert record["author"] == ALICE.did
    assert refused(record).code == "bad_signature"


def test_signature_of_another_record_is_bad_signature() -> None:
    one = wire("vouch", MINIMAL_BODIES["vouch"])
    other = wire("vouch", FULL_BODIES["vouch"])
    assert refused({**one, "sig": other["sig"]}).code == "bad_signature"


# Ed25519's group order: S and S + L satisfy the same equation, so a lax verifier accepts both.
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


def test_malleated_signature_is_bad_signature() -> None:
    # Strict verification (SPEC: libsodium's) refuses a non-canonical S; otherwise a relay
    # could mint a new sig, and so a new record id, for the same signed content.
    record = wire("vouch", MINIMAL_BODIES["vouch"])
    original = verify_record(record)
    raw = base64.urlsafe_b64decode(record["sig"] + "==")
    s = int.from_bytes(raw[32:], "little") + GROUP_ORDER
    malleated = raw[:32] + s.to_bytes(32, "little")
    forged = {**record, "sig": encode_sig(malleated)}
    assert record_id(canonical_bytes(forged)) != original.id
    assert refused(forged).code == "bad_signature"


def test_small_order_key_with_trivial_signature_is_bad_signature() -> None:
    # The identity point as public key, R = identity and S = 0 satisfy the cofactorless
    # equation for every message; strict verification refuses small-order points.
    identity_point = bytes([1]) + bytes(31)
    record = {**unsigned("vouch", MINIMAL_BODIES["vouch"])}
    record["author"] = did_from_public_key(identity_point)
    record["sig"] = encode_sig(identity_point + bytes(32))
    assert refused(record).code == "bad_signature"


def test_id_mismatch() -> None:
    record = wire("vouch", MINIMAL_BODIES["vouch"])
    good = verify_record(record)
    assert verify_record(record, expected_id=good.id).id == good.id
    error = refused(record, expected_id=OTHER_ID)
    assert error.code == "id_mismatch"
    assert good.id in error.detail
    assert OTHER_ID in error.detail
    assert refused(record, expected_id=good.id.upper()).code == "id_mismatch"


def test_sign_record_refuses_what_verify_would() -> None:
    with pytest.raises(ProtocolError) as caught:
        sign_record(ALICE, kind="Bad", body={}, seq=1, prev=None, created_at=T0)
    assert caught.value.code == "invalid_field"
    with pytest.raises(ProtocolError) as caught:
        sign_record(ALICE, kind="x", body={"n": 1.5}, seq=1, prev=None, created_at=T0)
    assert caught.value.code == "float_not_allowed"
    with pytest.raises(ProtocolError) as caught:
        sign_record(ALICE, kind="x", body={}, seq=1, prev=None, created_at=T0, expires_at=T0)
    assert caught.value.code == "invalid_field"


# --- properties ---------------------------------------------------------------------------

PEOPLE = [Identity(bytes([n]) * 32).did for n in range(1, 6)]
TEXT = st.characters(exclude_categories=("Cs",))
SKILL = st.from_regex(r"[a-z0-9][a-z0-9+#._-]{0,39}", fullmatch=True)
RECORD_ID = st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
URL = st.from_regex(r"https?://[!-~]{1,60}", fullmatch=True)

VOUCH_BODIES = st.fixed_dictionaries(
    {"subject": st.sampled_from(PEOPLE), "level": st.integers(1, 3)},
    optional={
        "context": SKILL | RECORD_ID.map(lambda rid: "guild:" + rid),
        "statement": st.text(TEXT, max_size=300),
        "evidence": RECORD_ID,
    },
)
PROFILE_BODIES = st.fixed_dictionaries(
    {
        "name": st.text(TEXT, min_size=1, max_size=100),
        "kind": st.sampled_from(["person", "organisation"]),
    },
    optional={
        "skills": st.lists(SKILL, max_size=8, unique=True),
        "bio": st.text(TEXT, max_size=300),
        "endpoints": st.lists(URL, max_size=5, unique=True),
    },
)
CREATED = st.integers(min_value=0, max_value=253_402_300_799 - 10)  # up to 9999-12-31


@settings(max_examples=120, deadline=None)
@given(
    kind_body=st.tuples(st.just("vouch"), VOUCH_BODIES)
    | st.tuples(st.just("profile"), PROFILE_BODIES),
    seed=st.integers(1, 255),
    seq=st.integers(1, 2**53 - 1),
    prev=RECORD_ID,
    created=CREATED,
    lifetime=st.none() | st.integers(1, 10),
)
def test_sign_then_verify_holds_for_any_valid_body(
    kind_body: tuple[str, dict[str, Any]],
    seed: int,
    seq: int,
    prev: str,
    created: int,
    lifetime: int | None,
) -> None:
    kind, body = kind_body
    identity = Identity(bytes([seed]) * 32)
    record = sign_record(
        identity,
        kind=kind,
        body=body,
        seq=seq,
        prev=None if seq == 1 else prev,
        created_at=created,
        expires_at=None if lifetime is None else created + lifetime,
    )
    again = verify_record(parse_json(record.canonical), expected_id=record.id)
    assert again.canonical == record.canonical
    assert strictly_equal(again.body, body)
    assert again.created_at == created
    assert record.id == hashlib.sha256(record.canonical).hexdigest()


MUTATION_TARGETS = [
    sign_record(
        ALICE,
        kind="vouch",
        body=FULL_BODIES["vouch"],
        seq=3,
        prev=OTHER_ID,
        created_at=T0,
        expires_at=T0 + 86_400,
    ),
    sign_record(
        ALICE, kind="profile", body=FULL_BODIES["profile"], seq=1, prev=None, created_at=T0
    ),
    # Escapes with hex digits: the one place where a byte can change and the value not.
    sign_record(
        BOB,
        kind="x",
        body={"s": '\x1f\x0b\x7f"\\/', "n": [0, -1, True, None]},
        seq=1,
        prev=None,
        created_at=T0,
    ),
]


def _judge_mutation(original: VerifiedRecord, mutated: bytes) -> None:
    """A single changed byte must be refused, unless it leaves the parsed value unchanged."""
    try:
        value = parse_json(mutated)
        result = verify_record(value)
    except ProtocolError:
        return
    # Verification passed. That is only honest if the record is the very same one: the
    # mutation changed how the bytes spell the value (e.g. the case of a hex escape digit),
    # not the value, and the record's canonical bytes and id are the original's.
    assert strictly_equal(value, parse_json(original.canonical)), mutated
    assert result.canonical == original.canonical
    assert result.id == original.id
    assert result.canonical != mutated


@settings(max_examples=400, deadline=None)
@given(
    target=st.sampled_from(MUTATION_TARGETS),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    byte=st.integers(0, 255),
)
def test_any_single_byte_change_is_refused(
    target: VerifiedRecord, position: float, byte: int
) -> None:
    data = bytearray(target.canonical)
    index = int(position * len(data))
    if data[index] == byte:
        byte ^= 0x01
    data[index] = byte
    _judge_mutation(target, bytes(data))


@pytest.mark.parametrize("target", MUTATION_TARGETS, ids=["vouch", "profile", "escapes"])
def test_every_position_changed_is_refused(target: VerifiedRecord) -> None:
    data = target.canonical
    for index, old in enumerate(data):
        for new in {old ^ 0x01, old ^ 0x20, old ^ 0x80, ord(" "), ord("0"), ord('"'), 0x7F}:
            if new != old:
                mutated = bytearray(data)
                mutated[index] = new
                _judge_mutation(target, bytes(mutated))


def test_hex_escape_case_changes_bytes_but_not_the_record() -> None:
    # The honest exception to "any changed byte is refused": \u001f and \u001F are the same
    # string, so the record verifies -- as the original, with the original canonical bytes.
    original = MUTATION_TARGETS[2]
    assert b"\\u001f" in original.canonical
    respelled = original.canonical.replace(b"\\u001f", b"\\u001F")
    record = verify_record(parse_json(respelled))
    assert record.id == original.id
    assert record.canonical == original.canonical != respelled
