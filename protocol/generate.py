"""Write the protocol's generated files: the JSON Schemas and the record test vectors.

    uv run python protocol/generate.py          # rewrite the files
    uv run python protocol/generate.py --check  # exit 1, naming the files that would change

Everything is built from fixed seeds and fixed times, never the clock or randomness, so the
output is the same byte for byte on every run (Ed25519 signatures are deterministic). The body
schemas come from `guildnode.protocol.kinds`, the single source of truth; the envelope schema
and the vectors are built here. `tests/protocol/test_spec.py` checks that the files on disk
equal `build_files()` and that every vector is judged as it says.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guildnode.protocol import (
    BODY_SCHEMAS,
    MAX_RECORD_BYTES,
    PROTOCOL_VERSION,
    Identity,
    VerifiedRecord,
    canonical_bytes,
    encode_sig,
    format_timestamp,
    parse_timestamp,
    schema_document,
    sign_record,
    verify_record,
)
from guildnode.protocol.canonical import MAX_SAFE_INTEGER
from guildnode.protocol.kinds import DEFS, SCHEMA_DIALECT

PROTOCOL_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = PROTOCOL_DIR / "schemas"
VECTORS_DIR = PROTOCOL_DIR / "vectors"
SCHEMA_BASE = "https://guildnode.dev/protocol/schemas/"

Wire = dict[str, Any]


# --- schemas -------------------------------------------------------------------------------


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of the record envelope (SPEC §3).

    What a schema cannot say — `expires` later than `created`, the re-encoding rules of §1,
    §2 and §4, the size limit — is in SPEC.md. The `format`s are defined in SPEC §6.
    """
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_BASE + "envelope.json",
        "title": "a signed Guildnode record (envelope, protocol version 1)",
        "description": (
            "SPEC.md §3 is normative; it adds rules this schema cannot express: expires > created, "
            "sig and author re-encode to themselves, the canonical-JSON profile (§2) and the "
            "16,384-byte limit (§8). The body is checked against the schema of its kind (§6)."
        ),
        "type": "object",
        "properties": {
            "v": {"type": "integer", "const": PROTOCOL_VERSION},
            "kind": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"},
            "author": {"$ref": "#/$defs/did"},
            "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
            "prev": {"type": ["null", "string"], "pattern": "^[0-9a-f]{64}$"},
            "created": {"$ref": "#/$defs/timestamp"},
            "expires": {"$ref": "#/$defs/timestamp"},
            "body": {"type": "object"},
            "sig": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$"},
        },
        "required": ["v", "kind", "author", "seq", "prev", "created", "body", "sig"],
        "additionalProperties": False,
        # SPEC §3.2: prev is null exactly when seq is 1.
        "if": {"properties": {"seq": {"const": 1}}, "required": ["seq"]},
        "then": {"properties": {"prev": {"type": "null"}}},
        "else": {"properties": {"prev": {"type": "string"}}},
        "$defs": {name: DEFS[name] for name in ("did", "timestamp")},
    }


def _json_file(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=False) + "\n").encode("ascii")


def schema_files() -> dict[Path, bytes]:
    """protocol/schemas/: the envelope and one file per known kind."""
    files = {SCHEMAS_DIR / "envelope.json": _json_file(envelope_schema())}
    for kind in sorted(BODY_SCHEMAS):
        files[SCHEMAS_DIR / f"{kind}.json"] = _json_file(schema_document(kind))
    return files


# --- vectors -------------------------------------------------------------------------------

NOW = parse_timestamp("2025-06-01T12:00:00Z")
DAY = 86_400
T0 = NOW - 30 * DAY  # the first record of every valid chain

SEEDS: dict[str, bytes] = {
    "alice": bytes([1]) * 32,
    "bob": bytes([2]) * 32,
    "acme": bytes([3]) * 32,
    "carol": bytes([4]) * 32,
}
ALICE, BOB, ACME, CAROL = (Identity(SEEDS[name]) for name in ("alice", "bob", "acme", "carol"))

# An X25519 key's did:key (multicodec 0xec01), from protocol/vectors/did-key-ed25519.json.
X25519_DID = "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F"


def _sign(
    identity: Identity,
    kind: str,
    body: Wire,
    seq: int = 1,
    prev: str | None = None,
    created_at: int = T0,
    expires_at: int | None = None,
) -> VerifiedRecord:
    return sign_record(
        identity,
        kind=kind,
        body=body,
        seq=seq,
        prev=prev,
        created_at=created_at,
        expires_at=expires_at,
    )


def forge(identity: Identity, unsigned: Wire) -> Wire:
    """Sign any envelope, even one a receiver refuses: sig over the canonical bytes of the
    record without `sig` (SPEC §4), with no check of the content."""
    return {**unsigned, "sig": encode_sig(identity.sign(canonical_bytes(unsigned)))}


def unsigned(
    identity: Identity,
    kind: str,
    body: Wire,
    seq: int = 1,
    prev: str | None = None,
    created_at: int = T0,
) -> Wire:
    return {
        "v": PROTOCOL_VERSION,
        "kind": kind,
        "author": identity.did,
        "seq": seq,
        "prev": prev,
        "created": format_timestamp(created_at),
        "body": body,
    }


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"{old!r} occurs {text.count(old)} times in {text!r}")
    return text.replace(old, new)


def _padded(identity: Identity, kind: str, total: int, seq: int, prev: str | None) -> Wire:
    """A correctly signed record whose canonical bytes are exactly `total` long."""
    base = forge(identity, unsigned(identity, kind, {"data": ""}, seq, prev, T0))
    fill = total - len(canonical_bytes(base))
    record = forge(identity, unsigned(identity, kind, {"data": "x" * fill}, seq, prev, T0))
    if len(canonical_bytes(record)) != total:
        raise AssertionError("padding missed its size")
    return record


def _valid_records() -> list[tuple[str, VerifiedRecord]]:
    alice_profile = _sign(
        ALICE,
        "profile",
        {
            "name": "Alice Ødegård",
            "kind": "person",
            "skills": ["python", "rust", "c++"],
            "bio": 'Backend developer.\nFormerly at a bank; now freelance — "small, careful" work.',
            "endpoints": ["https://alice.example/guildnode"],
        },
    )
    alice_guild = _sign(
        ALICE,
        "guild",
        {
            "name": "Python Cooperative",
            "purpose": "Freelance Python developers who review each other's work.",
            "founders": [ALICE.did, BOB.did],
            "admission": {"vouches_required": 2, "skills": ["python"], "cooling_days": 0},
        },
        seq=2,
        prev=alice_profile.id,
        created_at=T0 + 60,
    )
    alice_vouch = _sign(
        ALICE,
        "vouch",
        {
            "subject": BOB.did,
            "level": 3,
            "context": "python",
            "statement": "Shipped a payment service with me, on time. 👍",
        },
        seq=3,
        prev=alice_guild.id,
        created_at=T0 + 60,
    )
    alice_revoke = _sign(
        ALICE,
        "revoke",
        {
            "target": alice_vouch.id,
            "reason": "Published with the wrong context.",
        },
        seq=4,
        prev=alice_vouch.id,
        created_at=T0 + DAY,
    )
    bob_apply = _sign(
        BOB,
        "apply",
        {
            "guild": alice_guild.id,
            "note": "Cofounder: I consent to the charter.",
        },
        created_at=T0 + 2 * DAY,
    )
    bob_leave = _sign(
        BOB, "leave", {"guild": alice_guild.id}, seq=2, prev=bob_apply.id, created_at=T0 + 20 * DAY
    )
    acme_brief = _sign(
        ACME,
        "brief",
        {
            "guilds": [alice_guild.id],
            "title": "Migrate a billing service to Python 3.12",
            "description": "Upgrade, fix deprecations, keep the test suite green.",
            "acceptance_criteria": ["All tests pass on 3.12", "No new runtime dependency"],
            "budget": {"min": 150_000, "max": 300_000, "currency": "EUR"},
            "engagement": "fixed",
            "skills": ["python"],
            "deadline": format_timestamp(NOW + 20 * DAY),
        },
        created_at=NOW - DAY,
        expires_at=NOW + 13 * DAY,
    )
    carol_unknown = _sign(
        CAROL,
        "endorsement_v2",
        {
            "subject": ALICE.did,
            "weights": [3, -2, 0],
            "extra": {"nested": True, "nothing": None, "Zebra": "upper-case keys sort first"},
            "escapes": "tab\there, bell\u0007, del\u007f, slash /, line sep\u2028.",
        },
    )
    at_limit = verify_record(_padded(CAROL, "attachment", MAX_RECORD_BYTES, 2, carol_unknown.id))
    return [
        ("profile", alice_profile),
        ("guild", alice_guild),
        ("vouch", alice_vouch),
        ("revoke", alice_revoke),
        ("apply", bob_apply),
        ("leave", bob_leave),
        ("brief", acme_brief),
        ("unknown_kind", carol_unknown),
        ("unknown_kind_at_size_limit", at_limit),
    ]


def _held(records: Sequence[VerifiedRecord]) -> list[Wire]:
    return [record.to_wire() for record in records]


def _invalid_vectors() -> list[Wire]:
    bob = BOB.did
    good = _sign(ALICE, "vouch", {"subject": bob, "level": 2, "statement": "Reliable."})
    good_wire = good.to_wire()
    good_text = good.canonical.decode("utf-8")

    def raw(name: str, text: str, error: str) -> Wire:
        return {"name": name, "held": [], "raw": text, "error": error}

    def rec(
        name: str, record: Wire, error: str, held: Sequence[VerifiedRecord] = (), **extra: Any
    ) -> Wire:
        return {"name": name, "held": _held(held), **extra, "record": record, "error": error}

    def variant(change: Callable[[Wire], None], identity: Identity = ALICE) -> Wire:
        """The `good` vouch with one change, signed again by `identity`."""
        draft = {k: v for k, v in copy.deepcopy(good_wire).items() if k != "sig"}
        change(draft)
        return forge(identity, draft)

    def without(field: str) -> Wire:
        record = dict(good_wire)
        del record[field]
        return record

    trailing = good_wire["sig"][:-1] + _next_in_group(good_wire["sig"][-1])
    tampered = {**good_wire, "body": {**good_wire["body"], "statement": "Unreliable."}}
    big = _padded(ALICE, "attachment", MAX_RECORD_BYTES + 1, 1, None)

    a1 = good
    a1_fork = _sign(ALICE, "vouch", {"subject": bob, "level": 3})
    a2 = _sign(ALICE, "vouch", {"subject": bob, "level": 1}, seq=2, prev=a1.id, created_at=T0 + 10)
    a2_fork = _sign(
        ALICE, "vouch", {"subject": bob, "level": 3}, seq=2, prev=a1.id, created_at=T0 + 10
    )
    a3 = _sign(ALICE, "revoke", {"target": a2.id}, seq=3, prev=a2.id, created_at=T0 + 20)
    wrong_prev = _sign(
        ALICE, "vouch", {"subject": bob, "level": 1}, seq=2, prev=a1_fork.id, created_at=T0 + 10
    )
    early = _sign(
        ALICE, "vouch", {"subject": bob, "level": 1}, seq=2, prev=a1.id, created_at=T0 - 1
    )
    future = _sign(BOB, "vouch", {"subject": ALICE.did, "level": 1}, created_at=NOW + 301)

    def set_(key: str, value: Any) -> Callable[[Wire], None]:
        return lambda draft: draft.__setitem__(key, value)

    def set_body(key: str, value: Any) -> Callable[[Wire], None]:
        return lambda draft: draft["body"].__setitem__(key, value)

    return [
        # SPEC §2: JSON and the canonical profile (raw text, judged from its exact bytes).
        raw("record_is_an_array", "[" + good_text + "]", "malformed_json"),
        raw("record_is_truncated_json", good_text[:-1], "malformed_json"),
        raw(
            "duplicate_key_in_body",
            _replace_once(good_text, '"level":2,', '"level":3,"level":2,'),
            "duplicate_key",
        ),
        raw(
            "float_with_fraction",
            _replace_once(good_text, '"level":2,', '"level":2.0,'),
            "float_not_allowed",
        ),
        raw(
            "float_with_exponent",
            _replace_once(good_text, '"seq":1,', '"seq":1e0,'),
            "float_not_allowed",
        ),
        raw(
            "float_negative_zero",
            _replace_once(good_text, '"level":2,', '"level":-0.0,'),
            "float_not_allowed",
        ),
        raw(
            "integer_above_2_53_minus_1",
            _replace_once(good_text, '"level":2,', f'"level":{MAX_SAFE_INTEGER + 1},'),
            "integer_out_of_range",
        ),
        raw(
            "integer_below_minus_2_53_plus_1",
            _replace_once(good_text, '"level":2,', f'"level":{-MAX_SAFE_INTEGER - 1},'),
            "integer_out_of_range",
        ),
        rec("non_ascii_key_in_body", variant(set_body("stätement", "Reliable.")), "non_ascii_key"),
        raw(
            "lone_surrogate_in_statement",
            _replace_once(good_text, '"Reliable."', '"Reliable.\\ud800"'),
            "invalid_string",
        ),
        # SPEC §3: the envelope.
        rec("version_2", variant(set_("v", 2)), "unsupported_version"),
        rec("version_as_string", variant(set_("v", "1")), "unsupported_version"),
        rec("version_true", variant(set_("v", True)), "unsupported_version"),
        rec("missing_prev", without("prev"), "missing_field"),
        rec("missing_sig", without("sig"), "missing_field"),
        rec("unexpected_top_level_id", variant(set_("id", good.id)), "unexpected_field"),
        rec("kind_with_upper_case", variant(set_("kind", "Vouch")), "invalid_field"),
        rec("kind_too_long", variant(set_("kind", "k" * 33)), "invalid_field"),
        rec("seq_zero", variant(set_("seq", 0)), "invalid_field"),
        rec("prev_not_null_at_seq_1", variant(set_("prev", a2.id)), "invalid_field"),
        rec("prev_null_at_seq_2", variant(lambda d: d.update(seq=2, prev=None)), "invalid_field"),
        rec(
            "prev_upper_case_hex",
            variant(lambda d: d.update(seq=2, prev=good.id.upper())),
            "invalid_field",
        ),
        rec(
            "expires_equal_to_created",
            variant(set_("expires", good_wire["created"])),
            "invalid_field",
        ),
        rec("body_not_an_object", variant(set_("body", [bob, 2])), "invalid_field"),
        rec("author_is_an_x25519_key", variant(set_("author", X25519_DID)), "invalid_did"),
        rec("author_not_base58", variant(set_("author", ALICE.did[:-1] + "0")), "invalid_did"),
        rec(
            "created_30_february",
            variant(set_("created", "2025-02-30T10:00:00Z")),
            "invalid_timestamp",
        ),
        rec(
            "created_with_fraction",
            variant(set_("created", "2025-05-01T10:00:00.000Z")),
            "invalid_timestamp",
        ),
        rec(
            "created_with_offset",
            variant(set_("created", "2025-05-01T10:00:00+00:00")),
            "invalid_timestamp",
        ),
        rec(
            "expires_second_60",
            variant(set_("expires", "2025-06-30T23:59:60Z")),
            "invalid_timestamp",
        ),
        # SPEC §4: the signature.
        rec("sig_with_trailing_bits", {**good_wire, "sig": trailing}, "malformed_signature"),
        rec(
            "sig_with_padding", {**good_wire, "sig": good_wire["sig"] + "=="}, "malformed_signature"
        ),
        rec("sig_too_short", {**good_wire, "sig": good_wire["sig"][:-1]}, "malformed_signature"),
        rec(
            "sig_standard_base64",
            {**good_wire, "sig": "+/" + good_wire["sig"][2:]},
            "malformed_signature",
        ),
        rec("body_tampered_after_signing", tampered, "bad_signature"),
        rec("signed_by_another_key", variant(lambda d: None, identity=BOB), "bad_signature"),
        # SPEC §8 and §6.
        rec("record_of_16385_bytes", big, "record_too_large"),
        rec("vouch_level_4", variant(set_body("level", 4)), "invalid_body"),
        rec(
            "vouch_subject_not_a_did_key",
            variant(set_body("subject", "did:web:example.com")),
            "invalid_body",
        ),
        rec("vouch_field_not_in_schema", variant(set_body("weight", 2)), "invalid_body"),
        rec("vouch_level_missing", variant(lambda d: d["body"].pop("level")), "invalid_body"),
        # SPEC §5: a record fetched by id.
        rec("fetched_by_another_id", good_wire, "id_mismatch", expected_id=a2.id),
        # SPEC §7: chain rules, against the records the receiver holds.
        rec("seq_2_without_seq_1", a2.to_wire(), "seq_gap"),
        rec("seq_3_after_seq_1", a3.to_wire(), "seq_gap", held=[a1]),
        rec("prev_names_another_record", wrong_prev.to_wire(), "wrong_prev", held=[a1]),
        rec("created_before_previous", early.to_wire(), "created_before_prev", held=[a1]),
        rec("created_301_s_ahead_of_now", future.to_wire(), "created_in_future"),
        rec("second_record_at_seq_1", a1_fork.to_wire(), "fork", held=[a1]),
        rec(
            "after_a_proven_fork",
            a3.to_wire(),
            "chain_frozen",
            held=[a1, a2],
            fork_proof=[a2.to_wire(), a2_fork.to_wire()],
        ),
    ]


def _accepted_vectors() -> list[Wire]:
    """Chain cases a receiver accepts, including records whose content has no effect (SPEC §6.8)."""
    a1 = _sign(ALICE, "vouch", {"subject": BOB.did, "level": 2})
    same_time = _sign(ALICE, "vouch", {"subject": ACME.did, "level": 1}, seq=2, prev=a1.id)
    at_clock_limit = _sign(BOB, "vouch", {"subject": ALICE.did, "level": 1}, created_at=NOW + 300)
    expired = _sign(
        ACME,
        "brief",
        {
            "guilds": ["0" * 64],
            "title": "Expired, and budget min above max",
            "description": "Stored and passed on; it has no effect.",
            "acceptance_criteria": ["n/a"],
            "budget": {"min": 500, "max": 100, "currency": "USD"},
            "engagement": "hourly",
        },
        created_at=NOW - 90 * DAY,
        expires_at=NOW - 40 * DAY,
    )
    self_vouch = _sign(CAROL, "vouch", {"subject": CAROL.did, "level": 3})
    unknown = _sign(CAROL, "endorsement_v2", {}, seq=2, prev=self_vouch.id)

    def case(
        name: str, record: VerifiedRecord, status: str, held: Sequence[VerifiedRecord] = ()
    ) -> Wire:
        return {"name": name, "held": _held(held), "record": record.to_wire(), "status": status}

    return [
        case("first_record_of_an_author", a1, "accepted"),
        case("created_equal_to_previous", same_time, "accepted", held=[a1]),
        case("created_300_s_ahead_of_now", at_clock_limit, "accepted"),
        case("resent_record_is_a_duplicate", a1, "duplicate", held=[a1]),
        case("expired_brief_with_budget_min_above_max", expired, "accepted"),
        case("vouch_for_oneself", self_vouch, "accepted"),
        case("unknown_kind_with_empty_body", unknown, "accepted", held=[self_vouch]),
    ]


def _next_in_group(last: str) -> str:
    """Another base64url character with the same top 2 bits: the 64th byte's last 2 bits are
    the character's top bits, the other 4 are padding (SPEC §4.1)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(last)
    return alphabet[(index & ~0b1111) | ((index + 1) & 0b1111)]


def records_vectors() -> dict[str, Any]:
    """The document written to protocol/vectors/records.json (format: vectors/README.md)."""
    return {
        "source": (
            "Guildnode protocol version 1: generated by protocol/generate.py from fixed seeds "
            "and times; format and use in protocol/vectors/README.md; do not edit by hand"
        ),
        "now": format_timestamp(NOW),
        "identities": [
            {"name": name, "seed": SEEDS[name].hex(), "did": Identity(SEEDS[name]).did}
            for name in SEEDS
        ],
        "valid": [
            {
                "name": name,
                "record": record.to_wire(),
                "id": record.id,
                "canonical": record.canonical.decode("utf-8"),
            }
            for name, record in _valid_records()
        ],
        "accepted": _accepted_vectors(),
        "invalid": _invalid_vectors(),
    }


def vector_files() -> dict[Path, bytes]:
    """protocol/vectors/records.json, in pure ASCII: non-ASCII and invisible characters of the
    records are JSON escapes in the file, so no editor or terminal can alter them."""
    return {VECTORS_DIR / "records.json": _json_file(records_vectors())}


def build_files() -> dict[Path, bytes]:
    """Every generated file, by absolute path, with its exact bytes."""
    return {**schema_files(), **vector_files()}


def stale_files(files: dict[Path, bytes]) -> list[Path]:
    """The generated files whose bytes on disk differ from `files`, or that are missing."""
    return [path for path, data in files.items() if not path.exists() or path.read_bytes() != data]


def orphaned_files(files: dict[Path, bytes]) -> list[Path]:
    """Schema files on disk that `files` no longer holds (a kind removed or renamed)."""
    return sorted(path for path in SCHEMAS_DIR.glob("*.json") if path not in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write protocol/schemas and records.json.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    files = build_files()
    stale, orphaned = stale_files(files), orphaned_files(files)
    root = PROTOCOL_DIR.parent
    if args.check:
        for path in stale:
            print(f"would change: {path.relative_to(root)}")
        for path in orphaned:
            print(f"would remove: {path.relative_to(root)}")
        return 1 if stale or orphaned else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
        print(f"wrote {path.relative_to(root)}")
    for path in orphaned:
        path.unlink()
        print(f"removed {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
