"""Write the protocol's generated files: the JSON Schemas and the test vectors.

    uv run python protocol/generate.py          # rewrite the files
    uv run python protocol/generate.py --check  # exit 1, naming the files that would change

Everything is built from fixed seeds and fixed times, never the clock or randomness, so the
output is the same byte for byte on every run (Ed25519 signatures are deterministic; sealed
bodies draw their random bytes from `fixed_random`, a SHAKE-256 stream of a fixed label). The
body schemas, public and sealed, come from `guildnode.protocol.schemas`, the single source
of truth; the envelope schema and the vectors are built here. `tests/protocol/test_spec.py`
checks that the files on disk equal `build_files()` and that every vector is judged as it says.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.secret

from guildnode.protocol import (
    BODY_SCHEMAS,
    MAX_RECORD_BYTES,
    PROTOCOL_VERSION,
    Identity,
    VerifiedRecord,
    canonical_bytes,
    encode_sig,
    format_timestamp,
    content_key,
    open_sealed,
    parse_timestamp,
    schema_document,
    seal,
    sign_record,
    verify_record,
    x25519_public_key,
)
from guildnode.protocol.canonical import MAX_SAFE_INTEGER
from guildnode.protocol.credentials import CONTRACT, MEMBERSHIP, VOUCH, credential
from guildnode.protocol.dataintegrity import add_proof
from guildnode.protocol.kinds import DEFS, INNER_SCHEMAS, SCHEMA_DIALECT

PROTOCOL_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = PROTOCOL_DIR / "schemas"
SEALED_SCHEMAS_DIR = SCHEMAS_DIR / "sealed"
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
    """protocol/schemas/: the envelope, one file per known kind (a sealed kind's is its public
    body, SPEC §6.9) and, in schemas/sealed/, the body inside each sealed kind (SPEC §6.10)."""
    files = {SCHEMAS_DIR / "envelope.json": _json_file(envelope_schema())}
    for kind in sorted(BODY_SCHEMAS):
        files[SCHEMAS_DIR / f"{kind}.json"] = _json_file(schema_document(kind))
    for kind in sorted(INNER_SCHEMAS):
        files[SEALED_SCHEMAS_DIR / f"{kind}.json"] = _json_file(schema_document(kind, inner=True))
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
    "dora": bytes([5]) * 32,
    "dora_new": bytes([6]) * 32,
    "dora_paper": bytes([7]) * 32,
    "erin": bytes([8]) * 32,
}
ALICE, BOB, ACME, CAROL = (Identity(SEEDS[name]) for name in ("alice", "bob", "acme", "carol"))
DORA, DORA_NEW, DORA_PAPER = (Identity(SEEDS[n]) for n in ("dora", "dora_new", "dora_paper"))
ERIN = Identity(SEEDS["erin"])  # Acme's staff member, its delegate (SPEC §15)

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


def fixed_random(label: str) -> Callable[[int], bytes]:
    """The random source of the sealed vectors: draw n returns the first `size` bytes of
    SHAKE-256("guildnode vectors " + label + " " + n), n = 0, 1, 2 … (SPEC §6.9 says what each
    draw is for)."""
    counter = itertools.count()

    def draw(size: int) -> bytes:
        message = f"guildnode vectors {label} {next(counter)}".encode("ascii")
        return hashlib.shake_256(message).digest(size)

    return draw


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _sealed(
    identity: Identity,
    kind: str,
    inner: Wire,
    to: Sequence[Identity],
    label: str,
    seq: int,
    prev: str | None,
    created_at: int,
    expires_at: int | None = None,
) -> VerifiedRecord:
    """A sealed record of `kind` by `identity` for the parties `to` (and the author)."""
    body = seal(identity, kind, inner, [p.did for p in to], random=fixed_random(label))
    return _sign(identity, kind, body, seq, prev, created_at, expires_at)


HOUR = 3_600
C0 = NOW - DAY  # the brief of the contract story; its records follow, hour by hour


def commitment(body: Wire) -> str:
    """SPEC §12.4: the commitment to a feedback body, sha256 of its canonical bytes."""
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def _contract_records(
    brief: VerifiedRecord, heads: dict[str, VerifiedRecord]
) -> list[tuple[str, VerifiedRecord]]:
    """The contract story of the valid vectors (SPEC §12.3, §12.4), as chains after `brief`
    (Acme's seq 1) and the `heads` of Alice, Bob and Carol.

    Thread A: Alice proposes, Acme offers, Alice accepts; one milestone submitted, approved,
    paid and received; Acme completes; both publish receipts, commitments and feedback.
    Thread B: Acme offers to Bob, Bob counters, Acme declines the counter. Thread C: Acme
    offers to Carol, Carol accepts, then cancels.
    """
    heads = {**heads, "acme": brief}
    people = {"acme": ACME, "alice": ALICE, "bob": BOB, "carol": CAROL}
    out: list[tuple[str, VerifiedRecord]] = []

    def head(name: str) -> tuple[int, str | None]:
        return heads[name].seq + 1, heads[name].id

    def sealed(
        name: str, author: str, kind: str, inner: Wire, to: str, at: int, expires: int | None = None
    ) -> VerifiedRecord:
        seq, prev = head(author)
        record = _sealed(people[author], kind, inner, [people[to]], name, seq, prev, at, expires)
        heads[author] = record
        out.append((name, record))
        return record

    def public(name: str, author: str, kind: str, body: Wire, at: int) -> VerifiedRecord:
        seq, prev = head(author)
        record = _sign(people[author], kind, body, seq, prev, at)
        heads[author] = record
        out.append((name, record))
        return record

    def terms(freelancer: Identity, amounts: Sequence[int], starts: int, days: int) -> Wire:
        return {
            "brief": brief.id,
            "organisation": ACME.did,
            "freelancer": freelancer.did,
            "scope": "Upgrade to Python 3.12, fix the deprecations, keep the suite green.",
            "acceptance_criteria": ["All tests pass on 3.12", "No new runtime dependency"],
            "price": {"amount": sum(amounts), "currency": "EUR"},
            "milestones": [
                {
                    "title": f"Milestone {i + 1}",
                    "amount": amount,
                    "due": format_timestamp(starts + (i + 1) * days * DAY // len(amounts)),
                }
                for i, amount in enumerate(amounts)
            ],
            "starts": format_timestamp(starts),
            "ends": format_timestamp(starts + days * DAY),
        }

    proposal = sealed(
        "proposal",
        "alice",
        "proposal",
        {
            "brief": brief.id,
            "pitch": "I have moved three services to 3.12; two weeks, fixed price.",
            "price": {"amount": 240_000, "currency": "EUR"},
            "duration_days": 14,
            "available_from": format_timestamp(C0 + 3 * HOUR),
        },
        "acme",
        C0 + HOUR,
    )
    offer_a = sealed(
        "offer",
        "acme",
        "offer",
        {**terms(ALICE, [240_000], C0 + 3 * HOUR, 14), "proposal": proposal.id},
        "alice",
        C0 + 2 * HOUR,
        C0 + 2 * HOUR + 5 * DAY,
    )
    offer_b = sealed(
        "offer_to_bob", "acme", "offer", terms(BOB, [100_000, 50_000], C0 + 3 * HOUR, 30), "bob",
        C0 + 2 * HOUR + 60,
    )  # fmt: skip
    offer_c = sealed(
        "offer_to_carol", "acme", "offer", terms(CAROL, [90_000], C0 + 3 * HOUR, 10), "carol",
        C0 + 2 * HOUR + 120,
    )  # fmt: skip
    contract = offer_a.id
    sealed("accept", "alice", "accept", {"offer": offer_a.id}, "acme", C0 + 3 * HOUR)
    counter = sealed(
        "counter_offer_from_bob",
        "bob",
        "offer",
        {**terms(BOB, [120_000, 60_000], C0 + 3 * HOUR, 30), "answers": offer_b.id},
        "acme",
        C0 + 3 * HOUR,
        C0 + 3 * HOUR + 2 * DAY,
    )
    sealed("accept_by_carol", "carol", "accept", {"offer": offer_c.id}, "acme", C0 + 3 * HOUR)
    cancel_c = sealed(
        "cancel", "carol", "cancel",
        {"contract": offer_c.id, "reason": "A family matter: I cannot start this month."},
        "acme", C0 + 4 * HOUR,
    )  # fmt: skip
    # SPEC §17: Carol disputes the cancelled contract, naming Bob as mediator; she discloses
    # her cancel to him (its content key), and Bob publishes the outcome. (Validity only: who
    # qualifies as a mediator is a rule of effect, §17.4.)
    guild = brief.body["guilds"][0]
    seq, prev = head("carol")
    dispute = _sealed(
        CAROL, "dispute",
        {"contract": offer_c.id, "guild": guild, "mediators": [BOB.did],
         "statement": "Acme changed the scope after I accepted; I cancelled for that reason."},
        [ACME, BOB], "dispute", seq, prev, C0 + 4 * HOUR + 60,
    )  # fmt: skip
    heads["carol"] = dispute
    out.append(("dispute", dispute))
    cancel_key = content_key(CAROL, CAROL.did, "cancel", cancel_c.body)
    seq, prev = head("carol")
    disclosure = _sealed(
        CAROL, "disclosure",
        {"dispute": dispute.id, "records": [{"record": cancel_c.id,
                                               "key": _b64(cancel_key)}]},
        [BOB], "disclosure", seq, prev, C0 + 4 * HOUR + 120,
    )  # fmt: skip
    heads["carol"] = disclosure
    out.append(("disclosure", disclosure))
    public(
        "outcome", "bob", "outcome",
        {"dispute": dispute.id, "contract": offer_c.id, "guild": guild,
         "finding": "The cancellation was for a change of scope; no payment was due.",
         "payment": "none_due"},
        C0 + 5 * HOUR,
    )  # fmt: skip
    sealed(
        "decline", "acme", "decline",
        {"offer": counter.id, "reason": "Above our budget for this brief."},
        "bob", C0 + 4 * HOUR,
    )  # fmt: skip
    sealed(
        "milestone", "alice", "milestone",
        {"contract": contract, "index": 0, "action": "submitted", "note": "Merged; CI green."},
        "acme", C0 + 5 * HOUR,
    )  # fmt: skip
    sealed(
        "milestone_approved", "acme", "milestone",
        {"contract": contract, "index": 0, "action": "approved"},
        "alice", C0 + 6 * HOUR,
    )  # fmt: skip
    money = {"amount": 240_000, "currency": "EUR"}
    sealed(
        "payment", "acme", "payment",
        {"contract": contract, "index": 0, "amount": money, "action": "paid"},
        "alice", C0 + 7 * HOUR,
    )  # fmt: skip
    sealed(
        "payment_received", "alice", "payment",
        {"contract": contract, "index": 0, "amount": money, "action": "received"},
        "acme", C0 + 8 * HOUR,
    )  # fmt: skip
    sealed(
        "complete", "acme", "complete", {"contract": contract, "note": "Thank you, Alice."},
        "alice", C0 + 9 * HOUR,
    )  # fmt: skip
    receipt = {
        "contract": contract,
        "organisation": ACME.did,
        "freelancer": ALICE.did,
        "outcome": "completed",
        "payment": "on_time",
    }
    public("receipt", "alice", "receipt", receipt, C0 + 10 * HOUR)
    public("receipt_by_acme", "acme", "receipt", receipt, C0 + 10 * HOUR)
    bodies = feedback_bodies(contract)
    for name in ("alice", "acme"):
        body = bodies[name]
        subject = {"contract": contract, "subject": body["subject"]}
        label = "commit" if name == "alice" else "commit_by_acme"
        public(label, name, "commit", {**subject, "commitment": commitment(body)}, C0 + 11 * HOUR)
    public("feedback", "alice", "feedback", bodies["alice"], C0 + 12 * HOUR)
    public("feedback_by_acme", "acme", "feedback", bodies["acme"], C0 + 12 * HOUR)
    # SPEC §16: Bob asks about the brief (sealed to Acme), Acme answers him and then publishes
    # its answer to all; Alice writes on the contract with a small attachment.
    question = sealed(
        "message", "bob", "message",
        {"about": "brief", "on": brief.id, "text": "Is the 3.12 upgrade also for the CLI tools?"},
        "acme", C0 + 13 * HOUR,
    )  # fmt: skip
    answer_text = "Yes: the CLI tools are part of the service and in scope."
    sealed(
        "message_reply", "acme", "message",
        {"about": "brief", "on": brief.id, "thread": question.id, "text": answer_text},
        "bob", C0 + 14 * HOUR,
    )  # fmt: skip
    public(
        "answer", "acme", "answer",
        {"brief": brief.id, "question": "Are the CLI tools in scope?", "thread": question.id,
         "text": answer_text},
        C0 + 14 * HOUR,
    )  # fmt: skip
    notes = b"python_requires = '>=3.12'\n"
    sealed(
        "message_on_contract", "alice", "message",
        {"about": "contract", "on": contract, "text": "The release notes, for the record.",
         "attachments": [{"name": "setup.cfg", "media_type": "text/plain", "size": len(notes),
                          "sha256": hashlib.sha256(notes).hexdigest(), "data": _b64(notes)}]},
        "acme", C0 + 15 * HOUR,
    )  # fmt: skip
    return out


def feedback_bodies(contract: str) -> dict[str, Wire]:
    """The feedback of each party of the story's thread A, by author name."""
    salts = fixed_random("feedback salts")
    return {
        "alice": {
            "contract": contract,
            "subject": ACME.did,
            "rating": 3,
            "dimensions": {"communication": 3, "scope_clarity": 2, "payment_promptness": 3},
            "statement": "Clear brief, paid within the hour.",
            "salt": _b64(salts(16)),
        },
        "acme": {
            "contract": contract,
            "subject": ALICE.did,
            "rating": 3,
            "dimensions": {"quality": 3, "communication": 3, "timeliness": 3},
            "statement": "Careful work, ahead of time.",
            "skills": ["python"],
            "salt": _b64(salts(16)),
        },
    }


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
    heads = {"alice": alice_revoke, "bob": bob_leave, "carol": at_limit}
    contract_story = _contract_records(acme_brief, heads)
    bob_head = [bob_leave, *(r for _, r in contract_story if r.author == BOB.did)][-1]
    bob_listed_guild = _sign(
        BOB,
        "guild",
        {
            "name": "Rust Embedded Guild",
            "purpose": "Freelancers who write firmware in Rust and review each other's drivers.",
            "founders": [BOB.did],
            "admission": {"vouches_required": 1, "skills": ["rust", "embedded"]},
            "listing": {
                "description": "Firmware and drivers in Rust, for boards from ESP32 to STM32.",
                "skills": ["rust", "embedded"],
                "apply": "Ask a member to vouch for you in the guild's context, then apply.",
            },
        },
        seq=bob_head.seq + 1,
        prev=bob_head.id,
        created_at=bob_head.created_at + 60,
    )
    bob_motion = _sign(
        BOB,
        "motion",
        {
            "guild": bob_listed_guild.id,
            "action": "amend",
            "changes": {"name": "Rust Embedded Cooperative", "vouches_required": 1},
            "reason": "We are a cooperative now.",
        },
        seq=bob_listed_guild.seq + 1,
        prev=bob_listed_guild.id,
        created_at=bob_listed_guild.created_at + 60,
    )
    carol_head = [at_limit, *(r for _, r in contract_story if r.author == CAROL.did)][-1]
    carol_vote = _sign(
        CAROL,
        "vote",
        {"guild": bob_listed_guild.id, "motion": bob_motion.id, "choice": "yes"},
        seq=carol_head.seq + 1,
        prev=carol_head.id,
        created_at=max(bob_motion.created_at, carol_head.created_at) + 60,
    )
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
        *contract_story,
        ("listed_guild", bob_listed_guild),
        ("motion", bob_motion),
        ("vote_by_a_non_member", carol_vote),
        *_identity_records(),
        *_delegation_records(
            [acme_brief, *(r for _, r in contract_story if r.author == ACME.did)][-1],
            acme_brief.body["guilds"],
        ),
    ]


def _identity_records() -> list[tuple[str, VerifiedRecord]]:
    """SPEC §6.14–§6.17, §14: Dora names a paper key, rotates to a new key that accepts, and the
    paper key marks the old key compromised from the record after the rotation."""
    recovery = _sign(DORA, "recovery", {"keys": [DORA_PAPER.did], "threshold": 1})
    rotate = _sign(
        DORA,
        "rotate",
        {"successor": DORA_NEW.did, "reason": "New laptop."},
        seq=2,
        prev=recovery.id,
        created_at=T0 + DAY,
    )
    succeed = _sign(
        DORA_NEW,
        "succeed",
        {"predecessor": DORA.did, "via": rotate.id},
        created_at=T0 + DAY + 60,
    )
    compromise = _sign(
        DORA_PAPER,
        "compromise",
        {"key": DORA.did, "from_seq": 3, "reason": "The old laptop was stolen."},
        created_at=T0 + 2 * DAY,
    )
    return [
        ("recovery", recovery),
        ("rotate", rotate),
        ("succeed", succeed),
        ("compromise", compromise),
    ]


def _delegation_records(
    acme_head: VerifiedRecord, guilds: list[str]
) -> list[tuple[str, VerifiedRecord]]:
    """SPEC §6.18, §6.19, §15: Acme delegates posting briefs to Erin's key for 30 days, Erin
    posts a brief for Acme, and Acme revokes the delegation from Erin's next record on; all of
    it after Acme's last record and before the vectors' `now`."""
    at = acme_head.created_at + 3600
    assert at + 2 * 3600 < NOW
    delegate = _sign(
        ACME,
        "delegate",
        {"delegate": ERIN.did, "scope": ["briefs"], "note": "Erin, recruiting."},
        seq=acme_head.seq + 1,
        prev=acme_head.id,
        created_at=at,
        expires_at=at + 30 * DAY,
    )
    brief = _sign(
        ERIN,
        "brief",
        {
            "guilds": guilds,
            "title": "Review our Rust firmware",
            "description": "A week of review of the sensor board's drivers.",
            "acceptance_criteria": ["A written review of every driver"],
            "budget": {"min": 100_000, "max": 200_000, "currency": "EUR"},
            "engagement": "fixed",
            "organisation": ACME.did,
        },
        created_at=at + 1800,
        expires_at=at + 1800 + 14 * DAY,
    )
    undelegate = _sign(
        ACME,
        "undelegate",
        {"delegate": ERIN.did, "from_seq": 2, "reason": "Erin moved to another team."},
        seq=delegate.seq + 1,
        prev=delegate.id,
        created_at=at + 2 * 3600,
    )
    return [("delegate", delegate), ("delegated_brief", brief), ("undelegate", undelegate)]


# --- sealed vectors (SPEC §6.9) ------------------------------------------------------------


def _raw_sealed_body(
    label: str, plaintext: Callable[[bytes], bytes], keys_for: Sequence[tuple[str, str]]
) -> Wire:
    """A sealed body built from its parts, independently of `seal`, so that it can hold the
    defects `seal` never makes. `plaintext(content_key)` gives the bytes in the box;
    `keys_for` is (to, DID whose X25519 key the content key is sealed to), in order. The draws
    are those of `seal`: content key, nonce, then one ephemeral secret per entry."""
    draw = fixed_random(label)
    key, nonce = draw(32), draw(24)
    box = nacl.secret.SecretBox(key).encrypt(plaintext(key), nonce).ciphertext
    keys = []
    for to, sealed_to in keys_for:
        public = x25519_public_key(sealed_to)
        secret = draw(32)
        ephemeral = nacl.bindings.crypto_scalarmult_base(secret)
        box_nonce = hashlib.blake2b(ephemeral + public, digest_size=24).digest()
        sealed_key = ephemeral + nacl.bindings.crypto_box(key, box_nonce, public, secret)
        keys.append({"to": to, "key": _b64(sealed_key)})
    return {"nonce": _b64(nonce), "box": _b64(box), "keys": keys}


def _plaintext(
    author: str, kind: str, recipients: Sequence[str], inner: Wire, *, key_hash: str | None = None
) -> Callable[[bytes], bytes]:
    def build(key: bytes) -> bytes:
        return canonical_bytes(
            {
                "author": author,
                "kind": kind,
                "recipients": sorted(recipients),
                "key_hash": key_hash or hashlib.sha256(key).hexdigest(),
                "body": inner,
            }
        )

    return build


def _flip_b64(encoded: str, index: int) -> str:
    """`encoded` with byte `index` changed, still canonical unpadded base64url."""
    raw = bytearray(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    raw[index] ^= 0x01
    return _b64(bytes(raw))


def _twice(text: bytes, member: bytes) -> bytes:
    """`text` with one object member written twice (a duplicate key, SPEC §2.2)."""
    if text.count(member) != 1:
        raise AssertionError(f"{member!r} occurs {text.count(member)} times")
    return text.replace(member, member + b"," + member)


OFFER_ID = hashlib.sha256(b"an offer of the sealed vectors").hexdigest()


def _unreadable_records() -> list[tuple[str, str, str, Wire]]:
    """(name, reader, reason, record): valid records that the reader cannot open, each for
    one reason of SPEC §6.9. Each record is alone in its author's chain (seq 1)."""
    a, m, b = ALICE.did, ACME.did, BOB.did
    accept = {"offer": OFFER_ID}
    both = [(a, a), (m, m)]

    def record(label: str, kind: str, body: Wire, at: int = T0) -> Wire:
        return forge(ALICE, unsigned(ALICE, kind, body, created_at=at))

    good = seal(ALICE, "accept", accept, [m], random=fixed_random("unreadable good"))
    tampered = {**good, "box": _flip_b64(good["box"], 20)}
    trailing = [dict(entry) for entry in good["keys"]]
    index = next(i for i, entry in enumerate(trailing) if entry["to"] == m)
    trailing[index]["key"] = trailing[index]["key"][:-1] + _next_in_group(
        trailing[index]["key"][-1]
    )

    def raw(label: str, plain: Callable[[bytes], bytes], keys: Sequence[tuple[str, str]]) -> Wire:
        return _raw_sealed_body(f"unreadable {label}", plain, keys)

    plain = _plaintext(a, "accept", [a, m], accept)

    cases: list[tuple[str, str, str, Wire]] = [
        ("reader_not_a_party", "bob", "not_a_party", record("a", "accept", good)),
        ("box_tampered", "acme", "box_does_not_decrypt", record("b", "accept", tampered)),
        (
            "key_sealed_to_another_party",
            "acme",
            "key_does_not_unseal",
            record(
                "c",
                "accept",
                raw("c", _plaintext(a, "accept", [a, m], accept), [(a, a), (m, b)]),
            ),
        ),
        (
            "sealed_key_with_trailing_bits",
            "acme",
            "non_canonical_base64url",
            record("d", "accept", {**good, "keys": trailing}),
        ),
        (
            "key_hash_mismatch",
            "acme",
            "key_hash_mismatch",
            record(
                "e",
                "accept",
                raw("e", _plaintext(a, "accept", [a, m], accept, key_hash="0" * 64), both),
            ),
        ),
        (
            "author_not_among_recipients",
            "acme",
            "author_not_a_party",
            record(
                "f", "accept", raw("f", _plaintext(a, "accept", [m, b], accept), [(m, m), (b, b)])
            ),
        ),
        (
            "party_named_twice",
            "acme",
            "duplicate_party",
            record(
                "g", "accept", raw("g", _plaintext(a, "accept", [a, m], accept), [*both, (m, m)])
            ),
        ),
        (
            "recipients_differ_from_keys",
            "bob",
            "recipients_mismatch",
            record(
                "h",
                "accept",
                raw("h", _plaintext(a, "accept", [a, m], accept), [*both, (b, b)]),
            ),
        ),
        (
            "plaintext_of_another_kind",
            "acme",
            "kind_mismatch",
            record("i", "accept", raw("i", _plaintext(a, "decline", [a, m], accept), both)),
        ),
        (
            "plaintext_of_another_author",
            "acme",
            "author_mismatch",
            record("j", "accept", raw("j", _plaintext(m, "accept", [a, m], accept), both)),
        ),
        (
            "inner_body_invalid",
            "acme",
            "invalid_inner_body",
            record(
                "k",
                "accept",
                raw("k", _plaintext(a, "accept", [a, m], {"offer": OFFER_ID.upper()}), both),
            ),
        ),
        (
            "plaintext_with_a_duplicate_key",
            "acme",
            "plaintext_outside_profile",
            record(
                "l", "accept", raw("l", lambda key: _twice(plain(key), b'"kind":"accept"'), both)
            ),
        ),
    ]
    for _, _, _, wire in cases:
        verify_record(wire)  # every one is a valid record (SPEC §6.8): unreadable is not invalid
    return cases


def sealed_vectors() -> dict[str, Any]:
    """The document written to protocol/vectors/sealed.json (format: vectors/README.md)."""
    names = {Identity(seed).did: name for name, seed in SEEDS.items()}
    story = _valid_records()
    valid = [(n, r) for n, r in story if r.kind in INNER_SCHEMAS]
    opens = []
    for name, record in valid:
        for party in sorted(key["to"] for key in record.body["keys"]):
            reader = names[party]
            opens.append(
                {
                    "name": f"{name}_read_by_{reader}",
                    "reader": reader,
                    "record": record.to_wire(),
                    "inner": _open(record, reader),
                }
            )
    seals = []
    for name, record in valid[:2]:
        draw = fixed_random(name)
        parties = sorted(key["to"] for key in record.body["keys"])
        key, nonce = draw(32), draw(24)
        inner = _open(record, names[parties[0]])
        seals.append(
            {
                "name": name,
                "author": names[record.author],
                "kind": record.kind,
                "inner": inner,
                "recipients": parties,
                "content_key": key.hex(),
                "nonce": nonce.hex(),
                "ephemeral_secrets": [draw(32).hex() for _ in parties],
                "plaintext": _plaintext(record.author, record.kind, parties, inner)(key).decode(
                    "utf-8"
                ),
                "body": record.body,
            }
        )
    commitments = []
    for name, body in feedback_bodies(dict(story)["offer"].id).items():
        commitments.append(
            {
                "name": f"feedback_by_{name}",
                "body": body,
                "canonical": canonical_bytes(body).decode("utf-8"),
                "commitment": commitment(body),
            }
        )
    return {
        "source": (
            "Guildnode protocol version 1: generated by protocol/generate.py from fixed seeds "
            "and random draws; format and use in protocol/vectors/README.md; do not edit by hand"
        ),
        "identities": [
            {"name": name, "seed": SEEDS[name].hex(), "did": Identity(SEEDS[name]).did}
            for name in SEEDS
        ],
        "seals": seals,
        "opens": opens,
        "unreadable": [
            {"name": name, "reader": reader, "record": wire, "reason": reason}
            for name, reader, reason, wire in _unreadable_records()
        ],
        "commitments": commitments,
    }


def _open(record: VerifiedRecord, reader: str) -> Wire:
    return open_sealed(Identity(SEEDS[reader]), record.author, record.kind, record.body)


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
        rec(
            "rotate_signed_by_the_successor_not_the_author",
            forge(DORA_NEW, unsigned(DORA, "rotate", {"successor": DORA_NEW.did})),
            "bad_signature",
        ),
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
        *_invalid_new_bodies(),
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


def _invalid_new_bodies() -> list[Wire]:
    """Body defects of the contract kinds (SPEC §6.9, §6.11–§6.13): refused at receipt."""
    contract = "c" * 64
    sealed = seal(ALICE, "accept", {"offer": contract}, [ACME.did], random=fixed_random("invalid"))
    commit = {"contract": contract, "subject": ACME.did, "commitment": "ab" * 32}
    feedback = {"contract": contract, "subject": ACME.did, "rating": 2, "salt": "A" * 22}
    receipt = {
        "contract": contract,
        "organisation": ACME.did,
        "freelancer": ALICE.did,
        "outcome": "completed",
        "payment": "on_time",
    }
    short_key = [sealed["keys"][0], {**sealed["keys"][1], "key": sealed["keys"][1]["key"][:-1]}]
    cases = [
        ("sealed_body_with_one_party", "accept", {**sealed, "keys": sealed["keys"][:1]}),
        ("sealed_key_one_character_short", "accept", {**sealed, "keys": short_key}),
        ("sealed_nonce_of_23_bytes", "offer", {**sealed, "nonce": sealed["nonce"][:-2]}),
        ("sealed_body_in_the_clear", "accept", {**sealed, "offer": contract}),
        ("commit_commitment_upper_case", "commit", {**commit, "commitment": "AB" * 32}),
        ("feedback_rating_0", "feedback", {**feedback, "rating": 0}),
        ("feedback_salt_missing", "feedback", {k: v for k, v in feedback.items() if k != "salt"}),
        ("feedback_unknown_dimension", "feedback", {**feedback, "dimensions": {"price": 3}}),
        ("receipt_with_an_amount", "receipt", {**receipt, "amount": 240_000}),
        ("receipt_payment_partial", "receipt", {**receipt, "payment": "partial"}),
        # SPEC §6.14–§6.17
        ("rotate_successor_not_a_did", "rotate", {"successor": "did:web:example.com"}),
        ("succeed_without_via", "succeed", {"predecessor": BOB.did}),
        ("recovery_without_keys", "recovery", {"keys": [], "threshold": 1}),
        ("recovery_threshold_0", "recovery", {"keys": [BOB.did], "threshold": 0}),
        ("recovery_key_named_twice", "recovery", {"keys": [BOB.did, BOB.did], "threshold": 1}),
        ("compromise_from_seq_0", "compromise", {"key": BOB.did, "from_seq": 0}),
        # SPEC §6.18, §6.19
        ("delegate_unknown_scope", "delegate", {"delegate": BOB.did, "scope": ["sign"]}),
        ("delegate_without_scope", "delegate", {"delegate": BOB.did, "scope": []}),
        ("undelegate_from_seq_0", "undelegate", {"delegate": BOB.did, "from_seq": 0}),
    ]
    return [
        {
            "name": name,
            "held": [],
            "record": forge(ALICE, unsigned(ALICE, kind, body)),
            "error": "invalid_body",
        }
        for name, kind, body in cases
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
    unreadable = {name: verify_record(wire) for name, _, _, wire in _unreadable_records()}
    lone_feedback = _sign(
        BOB,
        "feedback",
        {"contract": "f" * 64, "subject": ACME.did, "rating": 1, "salt": "B" * 22},
    )

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
        case("sealed_box_that_does_not_open", unreadable["box_tampered"], "accepted"),
        case("sealed_body_naming_a_party_twice", unreadable["party_named_twice"], "accepted"),
        case(
            "sealed_body_without_its_author", unreadable["author_not_among_recipients"], "accepted"
        ),
        case("feedback_without_a_commitment_or_contract", lone_feedback, "accepted"),
        # SPEC §14: valid records of no effect; ingest never judges who may rotate or recover.
        case(
            "rotate_to_oneself",
            _sign(DORA, "rotate", {"successor": DORA.did}),
            "accepted",
        ),
        case(
            "succeed_not_at_seq_1",
            _sign(
                CAROL,
                "succeed",
                {"predecessor": DORA.did, "via": "d" * 64},
                seq=2,
                prev=self_vouch.id,
            ),
            "accepted",
            held=[self_vouch],
        ),
        case(
            "recovery_threshold_above_its_keys",
            _sign(BOB, "recovery", {"keys": [CAROL.did], "threshold": 2}),
            "accepted",
        ),
        case(
            "compromise_vote_by_a_stranger",
            _sign(CAROL, "compromise", {"key": DORA.did, "from_seq": 1, "successor": CAROL.did}),
            "accepted",
        ),
        # SPEC §15: a delegation's expiry and delegate are rules of effect, never of validity.
        case(
            "delegate_to_oneself_without_expiry",
            _sign(BOB, "delegate", {"delegate": BOB.did, "scope": ["pay"]}),
            "accepted",
        ),
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


# --- vectors/credentials.json (SPEC §18) ------------------------------------------------------


def _credential_cases() -> list[tuple[str, str, str, list[str]]]:
    """(name, issuer, credential type, evidence record names) built from the valid records."""
    return [
        ("vouch_for_bob", "bob", VOUCH, ["vouch"]),
        ("alice_founded_a_guild", "alice", MEMBERSHIP, ["guild"]),
        # SPEC §18.4: an adopted amendment, the motion (here its author's yes alone: Bob is
        # the only founder), renames the guild in the claims.
        ("bob_founded_a_guild_renamed_by_vote", "bob", MEMBERSHIP, ["listed_guild", "motion"]),
        ("alice_worked_for_acme", "alice", CONTRACT,
         ["receipt_by_acme", "receipt", "commit_by_acme", "feedback_by_acme"]),
        ("acme_hired_alice", "acme", CONTRACT,
         ["receipt_by_acme", "receipt", "commit", "feedback"]),
    ]  # fmt: skip


def _broken_credentials(
    valid: dict[str, Wire], seeds: dict[str, Identity]
) -> list[tuple[str, Wire, str, int]]:
    """(name, credential, error, now) — each a valid credential broken one way (SPEC §18.6)."""
    vouch, work = valid["vouch_for_bob"], valid["alice_worked_for_acme"]
    bob, alice = seeds["bob"], seeds["alice"]

    def changed(base: Wire, change: Callable[[Wire], None], resign: Identity | None) -> Wire:
        broken = copy.deepcopy(base)
        change(broken)
        if resign is not None:
            broken = add_proof(broken, resign, broken["proof"]["created"])
        return broken

    def set_in(*path: Any, value: Any) -> Callable[[Wire], None]:
        def change(item: Wire) -> None:
            for step in path[:-1]:
                item = item[step]
            if value is None:
                del item[path[-1]]
            else:
                item[path[-1]] = value

        return change

    until = parse_timestamp(vouch["validUntil"])
    level = vouch["credentialSubject"]["level"] % 3 + 1  # another level
    return [
        ("claim_changed", changed(vouch, set_in("credentialSubject", "level", value=level), None),
         "bad_proof", NOW),
        ("signed_by_another_key", changed(vouch, lambda _: None, alice), "wrong_key", NOW),
        ("other_cryptosuite", changed(vouch, set_in("proof", "cryptosuite",
         value="eddsa-rdfc-2022"), None), "unknown_cryptosuite", NOW),
        ("no_proof", changed(vouch, set_in("proof", value=None), None), "missing_proof", NOW),
        ("proof_value_not_base58btc", changed(vouch, set_in("proof", "proofValue",
         value="u" + vouch["proof"]["proofValue"][1:]), None), "malformed_proof", NOW),
        ("no_issuer", changed(vouch, set_in("issuer", value=None), None),
         "malformed_credential", NOW),
        ("embedded_record_changed", changed(vouch, set_in("evidence", 0, "record", "body",
         "level", value=level), bob), "record_signature_bad", NOW),
        ("embedded_record_not_v1", changed(vouch, set_in("evidence", 0, "record", "v", value=2),
         bob), "invalid_record", NOW),
        ("claims_beyond_the_records", changed(work, set_in("credentialSubject", "payment",
         value="late"), alice), "evidence_mismatch", NOW),
        ("vouch_no_longer_counts", vouch, "credential_expired", until + 1),
    ]  # fmt: skip


def credential_vectors() -> dict[str, Any]:
    """The document written to protocol/vectors/credentials.json (format: vectors/README.md)."""
    records = dict(_valid_records())
    seeds = {name: Identity(seed) for name, seed in SEEDS.items()}
    valid = {
        name: credential(kind, seeds[issuer], [records[n] for n in evidence], NOW)
        for name, issuer, kind, evidence in _credential_cases()
    }
    return {
        "source": "this project, generated by protocol/generate.py (SPEC §18)",
        "now": format_timestamp(NOW),
        "valid": [
            {"name": name, "issuer": issuer, "evidence": evidence, "credential": valid[name]}
            for name, issuer, _, evidence in _credential_cases()
        ],
        "invalid": [
            {"name": name, "now": format_timestamp(now), "credential": item, "error": error}
            for name, item, error, now in _broken_credentials(valid, seeds)
        ],
    }


def vector_files() -> dict[Path, bytes]:
    """protocol/vectors/records.json, sealed.json and credentials.json, in pure ASCII:
    non-ASCII and invisible characters of the records are JSON escapes in the file, so no
    editor or terminal can alter them."""
    return {
        VECTORS_DIR / "records.json": _json_file(records_vectors()),
        VECTORS_DIR / "sealed.json": _json_file(sealed_vectors()),
        VECTORS_DIR / "credentials.json": _json_file(credential_vectors()),
    }


def build_files() -> dict[Path, bytes]:
    """Every generated file, by absolute path, with its exact bytes."""
    return {**schema_files(), **vector_files()}


def stale_files(files: dict[Path, bytes]) -> list[Path]:
    """The generated files whose bytes on disk differ from `files`, or that are missing."""
    return [path for path, data in files.items() if not path.exists() or path.read_bytes() != data]


def orphaned_files(files: dict[Path, bytes]) -> list[Path]:
    """Schema files on disk that `files` no longer holds (a kind removed or renamed)."""
    on_disk = [*SCHEMAS_DIR.glob("*.json"), *SEALED_SCHEMAS_DIR.glob("*.json")]
    return sorted(path for path in on_disk if path not in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write protocol/schemas and the vectors.")
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
