"""Portable credentials: a member's reputation as W3C Verifiable Credentials 2.0 (SPEC §18).

Sans-IO. Each credential is issued by the member's own did:key and secured with an
eddsa-jcs-2022 proof (`dataintegrity`); its `evidence` holds the signed guildnode records the
claims come from, each verifiable against its own author's did:key. The claims
(`credentialSubject`) are a pure function of the issuer and those records (`claims`), so a
verifier recomputes them and compares: a member can bundle and present what others signed,
never state more than it.

`credential` builds one; `presentation` wraps several in an (unsigned) presentation, the file
`guildnode export-credentials` writes; `verify_file` checks such a file offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .canonical import canonical_bytes, check_profile, parse_json
from .dataintegrity import CredentialError, add_proof, verify_proof
from .errors import ProtocolError
from .keys import Identity
from .records import VerifiedRecord, verify_record
from .timestamps import format_timestamp, parse_timestamp

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VOUCH = "GuildnodeVouchCredential"
MEMBERSHIP = "GuildnodeMembershipCredential"
CONTRACT = "GuildnodeContractCredential"
TYPES = (VOUCH, MEMBERSHIP, CONTRACT)
RECORD_EVIDENCE = "GuildnodeSignedRecord"
MAX_VOUCH_SECONDS = 365 * 86_400  # SPEC §6.2: a vouch never counts longer


def _mismatch(detail: str) -> CredentialError:
    return CredentialError("evidence_mismatch", detail)


# --- claims: what the records say about the issuer (SPEC §18.4) -------------------------------


LINK_KINDS = ("rotate", "succeed")


def claims(kind: str, issuer: str, records: Sequence[VerifiedRecord]) -> dict[str, Any]:
    """The `credentialSubject` of a credential of `kind` issued by `issuer` on `records`.

    The records are the claim's evidence, then (when it names an earlier key of the issuer)
    the `rotate` and `succeed` records that link that key to the issuer (`linked_keys`).
    Raises `evidence_mismatch` when the records do not make such a claim about the issuer
    (a vouch for someone else, a receipt of a contract the issuer was not party to, …).
    """
    cut = next((i for i, r in enumerate(records) if r.kind in LINK_KINDS), len(records))
    evidence, links = records[:cut], records[cut:]
    keys = linked_keys(issuer, links)
    if kind == VOUCH:
        subject = _vouch_claims(issuer, set(keys), evidence)
    elif kind == MEMBERSHIP:
        subject = _membership_claims(issuer, set(keys), evidence)
    elif kind == CONTRACT:
        subject = _contract_claims(issuer, set(keys), evidence)
    else:
        raise CredentialError(
            "malformed_credential", f"{kind!r} is not a guildnode credential type."
        )
    if links:
        subject["keys"] = keys
    return subject


def linked_keys(issuer: str, links: Sequence[VerifiedRecord]) -> list[str]:
    """The issuer's keys, root first, as `links` show them (SPEC §18.4): pairs of a `rotate`
    by key P naming K as `successor` and K's `succeed` at seq 1 naming P via that rotate,
    from the issuer back. Raises `evidence_mismatch` unless every link is used, in order."""
    keys = [issuer]
    if len(links) % 2:
        raise _mismatch("Key links come as pairs of a rotate and the successor's succeed.")
    for rotate, succeed in zip(links[::2], links[1::2], strict=True):
        if (
            rotate.kind != "rotate"
            or succeed.kind != "succeed"
            or succeed.author != keys[0]
            or succeed.seq != 1
            or succeed.body["via"] != rotate.id
            or succeed.body["predecessor"] != rotate.author
            or rotate.body["successor"] != succeed.author
            or rotate.author in keys
        ):
            raise _mismatch("The key links do not lead from an earlier key to the issuer.")
        keys.insert(0, rotate.author)
    return keys


def _vouch_claims(issuer: str, keys: set[str], records: Sequence[VerifiedRecord]) -> dict[str, Any]:
    if len(records) != 1 or records[0].kind != "vouch":
        raise _mismatch("A vouch credential holds exactly one vouch record.")
    vouch = records[0]
    body = vouch.body
    if body["subject"] not in keys or vouch.author in keys:
        raise _mismatch("The vouch is not for the credential's issuer by someone else.")
    subject = {"id": issuer, "vouchedBy": vouch.author, "level": body["level"]}
    for name in ("context", "statement"):
        if name in body:
            subject[name] = body[name]
    return subject


def _membership_claims(
    issuer: str, keys: set[str], records: Sequence[VerifiedRecord]
) -> dict[str, Any]:
    if not records or records[0].kind != "guild":
        raise _mismatch("A membership credential starts with the guild's charter record.")
    charter, rest = records[0], records[1:]
    guild = charter.id
    founder = not keys.isdisjoint(charter.body["founders"])
    amended, rest = _amendments(charter, rest)
    applied = False
    vouchers: set[str] = set()
    for record in rest:
        if record.kind == "apply" and record.author in keys and record.body["guild"] == guild:
            applied = True
        elif (
            record.kind == "vouch"
            and record.body["subject"] in keys
            and record.body.get("context") == f"guild:{guild}"
            and record.author not in keys
        ):
            vouchers.add(record.author)
        else:
            raise _mismatch(
                f"Record {record.id} is not the issuer's apply or a vouch in the guild."
            )
    # SPEC §18.4: the founder who wrote the charter needs no apply; everyone else does.
    if not applied and charter.author not in keys:
        raise _mismatch("The evidence holds no apply of the issuer to the guild.")
    required = amended["vouches_required"]
    if not founder and len(vouchers) < required:
        raise _mismatch(
            f"The guild admits with {required} vouches; the evidence holds {len(vouchers)}."
        )
    return {
        "id": issuer,
        "memberOf": {
            "id": f"urn:guildnode:guild:{guild}",
            "name": amended["name"],
            "purpose": amended["purpose"],
        },
        "founder": founder,
        "vouchedInBy": sorted(vouchers),
    }


def _amendments(
    charter: VerifiedRecord, records: Sequence[VerifiedRecord]
) -> tuple[dict[str, Any], Sequence[VerifiedRecord]]:
    """The charter's `name`, `purpose` and `vouches_required` as the adopted amendments at the
    head of `records` leave them (SPEC §18.4, §12.5), and the records after them. Each
    amendment is a `motion` to amend the guild, followed by the `yes` votes on it of other
    members, each voter once; the changes apply in the order given (that of adoption)."""
    fields = {
        "name": charter.body["name"],
        "purpose": charter.body["purpose"],
        "vouches_required": charter.body["admission"]["vouches_required"],
    }
    at = 0
    while at < len(records) and records[at].kind == "motion":
        motion = records[at]
        if motion.body["guild"] != charter.id or motion.body["action"] != "amend":
            raise _mismatch(f"The motion {motion.id} is no amendment of the guild.")
        at += 1
        voters = {motion.author}
        while at < len(records) and records[at].kind == "vote":
            vote = records[at]
            body = vote.body
            if (
                body["motion"] != motion.id
                or body["guild"] != charter.id
                or body["choice"] != "yes"
                or vote.author in voters
            ):
                raise _mismatch(f"The vote {vote.id} is not another member's yes to its motion.")
            voters.add(vote.author)
            at += 1
        changes = motion.body.get("changes", {})
        fields.update((k, changes[k]) for k in fields if k in changes)
    return fields, records[at:]


def commitment(feedback_body: Mapping[str, Any]) -> str:
    """SPEC §12.4: the lowercase hex SHA-256 of a `feedback` body's canonical bytes (§2.1).
    Raises `ProtocolError` (`invalid_string`) when the body holds a lone surrogate."""
    return hashlib.sha256(canonical_bytes(dict(feedback_body))).hexdigest()


def _contract_claims(
    issuer: str, keys: set[str], records: Sequence[VerifiedRecord]
) -> dict[str, Any]:
    receipts = [r for r in records if r.kind == "receipt"]
    if len(receipts) != 2 or records[0].kind != "receipt" or records[1].kind != "receipt":
        raise _mismatch("A contract credential starts with exactly the two parties' receipts.")
    first, second = receipts
    contract, org, freelancer = (first.body[k] for k in ("contract", "organisation", "freelancer"))
    if any(second.body[k] != first.body[k] for k in ("contract", "organisation", "freelancer")):
        raise _mismatch("The two receipts do not name the same contract and parties.")
    if {first.author, second.author} != {org, freelancer} or org == freelancer:
        raise _mismatch("The receipts are not one by each of the contract's two parties.")
    if (org in keys) == (freelancer in keys):
        raise _mismatch("The issuer is not one of the contract's two parties.")
    if first.body["outcome"] != "completed" or second.body["outcome"] != "completed":
        raise _mismatch("The receipts do not both say the contract was completed.")
    other = freelancer if org in keys else org
    payments = {first.body["payment"], second.body["payment"]}
    payment = payments.pop() if len(payments) == 1 else "disputed"
    feedback = []
    rest = records[2:]
    decision = None
    voided: frozenset[str] = frozenset()
    if rest and rest[0].kind == "outcome":
        # SPEC §18.4, §17.5: the outcome that counts on the contract, as the issuer's node
        # derived it: its payment replaces the receipts', its void_feedback voids reveals.
        decision, rest = rest[0], rest[1:]
        body = decision.body
        voided = frozenset(body.get("void_feedback", ()))
        if (
            body["contract"] != contract
            or decision.author in (org, freelancer)
            or not voided <= {org, freelancer}
        ):
            raise _mismatch(
                f"The outcome {decision.id} is no mediator's decision on this contract."
            )
        payment = body.get("payment", payment)
    if len(rest) % 2:
        raise _mismatch("Feedback comes as pairs of a commit and its reveal.")
    for commit, reveal in zip(rest[::2], rest[1::2], strict=True):
        if commit.kind != "commit" or reveal.kind != "feedback":
            raise _mismatch("Feedback comes as pairs of a commit and its reveal.")
        for record in (commit, reveal):
            if (
                record.author != other
                or record.body["contract"] != contract
                or record.body["subject"] not in keys
            ):
                raise _mismatch(f"Record {record.id} is not the other party's on this contract.")
        if commit.body["commitment"] != commitment(reveal.body):
            raise _mismatch(f"The feedback {reveal.id} is not what its commit committed to.")
        if other in voided:
            raise _mismatch(f"The outcome voids the feedback {reveal.id}: it makes no claim.")
        given = {"rating": reveal.body["rating"]}
        for name in ("dimensions", "statement", "skills"):
            if name in reveal.body:
                given[name] = reveal.body[name]
        feedback.append(given)
    subject = {
        "id": issuer,
        "contract": f"urn:guildnode:contract:{contract}",
        "role": "organisation" if org in keys else "freelancer",
        "counterparty": other,
        "outcome": "completed",
        "payment": payment,
        "feedback": feedback,
    }
    if decision is not None:
        subject["decision"] = f"urn:guildnode:record:{decision.id}"
    return subject


# --- building ---------------------------------------------------------------------------------


def _validity(kind: str, records: Sequence[VerifiedRecord], now: int) -> dict[str, str]:
    """SPEC §18.3: a vouch is valid from its `created` until it stops counting; the other
    credentials state what held at the export (`validFrom` = now, no end)."""
    if kind != VOUCH:
        return {"validFrom": format_timestamp(now)}
    vouch = records[0]
    ends = vouch.created_at + MAX_VOUCH_SECONDS
    if vouch.expires_at is not None:
        ends = min(ends, vouch.expires_at)
    return {"validFrom": format_timestamp(vouch.created_at), "validUntil": format_timestamp(ends)}


def credential_id(kind: str, issuer: str, records: Sequence[VerifiedRecord]) -> str:
    """A stable id: the type, the issuer and the evidence's record ids, hashed."""
    text = "\n".join([kind, issuer, *(r.id for r in records)])
    return "urn:guildnode:credential:" + hashlib.sha256(text.encode()).hexdigest()


def credential(
    kind: str, issuer: Identity, records: Sequence[VerifiedRecord], now: int
) -> dict[str, Any]:
    """A credential of `kind` by `issuer` on `records`, secured at `now` (SPEC §18.3).

    Raises `evidence_mismatch` as `claims` when the records make no such claim.
    """
    document = {
        "@context": [VC_CONTEXT],
        "id": credential_id(kind, issuer.did, records),
        "type": ["VerifiableCredential", kind],
        "issuer": issuer.did,
        **_validity(kind, records, now),
        "credentialSubject": claims(kind, issuer.did, records),
        "evidence": [
            {"id": f"urn:guildnode:record:{r.id}", "type": [RECORD_EVIDENCE], "record": r.to_wire()}
            for r in records
        ],
    }
    return add_proof(document, issuer, format_timestamp(now))


def presentation(holder: str, credentials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The export file (SPEC §18.5): an unsigned presentation by `holder` of `credentials`."""
    return {
        "@context": [VC_CONTEXT],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": list(credentials),
    }


# --- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checked:
    """What verifying one credential found: its id and type, and the error if it failed."""

    index: int
    id: str | None
    type: str | None
    error: CredentialError | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "type": self.type,
            "ok": self.error is None,
            "error": None if self.error is None else self.error.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The verdict on a credentials file: its holder and each credential's result."""

    holder: str | None
    credentials: list[Checked] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.error is None for c in self.credentials)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "holder": self.holder,
            "credentials": [c.as_dict() for c in self.credentials],
        }


def load_file(data: bytes) -> tuple[str | None, list[Any]]:
    """The holder and the credentials of an export file, in order.

    Raises `malformed_json` (not one JSON value within SPEC §2.2's profile) or
    `malformed_presentation` (not a presentation with a `verifiableCredential` list).
    """
    try:
        value = parse_json(data)
        check_profile(value)
    except ProtocolError as exc:
        raise CredentialError(
            "malformed_json", f"The file is not usable JSON: {exc.detail}"
        ) from None
    if (
        not isinstance(value, dict)
        or "VerifiablePresentation" not in _types(value.get("type"))
        or not isinstance(value.get("verifiableCredential"), list)
    ):
        raise CredentialError(
            "malformed_presentation",
            "The file is not a VerifiablePresentation with a verifiableCredential list.",
        )
    return _text(value.get("holder")), value["verifiableCredential"]


def verify_file(data: bytes, now: int) -> Report:
    """Check every credential of an export file at time `now` (SPEC §18.6).

    Raises `CredentialError` as `load_file` when the file itself is unusable; otherwise each
    credential's result is in the report, a failure never hiding the others'.
    """
    holder, items = load_file(data)
    results = []
    for index, item in enumerate(items):
        cid = item.get("id") if isinstance(item, dict) else None
        kind = _our_type(item) if isinstance(item, dict) else None
        try:
            verify_credential(item, now)
        except CredentialError as exc:
            results.append(Checked(index, _text(cid), kind, exc))
        else:
            results.append(Checked(index, _text(cid), kind))
    return Report(holder, results)


def verify_credential(unverified: Any, now: int) -> str:
    """Check one credential and return its issuer. In order, the first failure wins:

    its shape (`malformed_credential`); the proof (`missing_proof`, `unknown_cryptosuite`,
    `malformed_proof`, `bad_proof`) and that the issuer made it (`wrong_key`); every embedded
    record (`record_signature_bad`, `invalid_record`); the claims against the records
    (`evidence_mismatch`); and the validity period (`credential_expired`).
    """
    kind, issuer = _shape(unverified)
    signer = verify_proof(unverified)
    if signer != issuer:
        raise CredentialError(
            "wrong_key", "The proof was made by another key than the issuer's did:key."
        )
    records = [_evidence_record(i, item) for i, item in enumerate(unverified["evidence"])]
    if unverified["id"] != credential_id(kind, issuer, records):
        raise _mismatch("The credential's id is not the one its type, issuer and evidence give.")
    # Compared as JSON, not as Python values: `true == 1` in Python, not in a claim. The
    # proof's check has already put the whole credential through JCS, so this cannot raise.
    if canonical_bytes(unverified["credentialSubject"]) != canonical_bytes(
        claims(kind, issuer, records)
    ):
        raise _mismatch("The credentialSubject is not what the embedded records say.")
    # SPEC §18.3: a vouch's period is recomputed; the others say what held at the export
    # and end nowhere (a validUntil would claim a future the records do not give).
    period = {k: unverified.get(k) for k in ("validFrom", "validUntil")}
    if kind == VOUCH and period != _validity(kind, records, 0):
        raise _mismatch("The validity period is not the vouch's.")
    if kind != VOUCH and period["validUntil"] is not None:
        raise _mismatch("A membership or contract credential has no validUntil.")
    until = unverified.get("validUntil")
    if until is not None and parse_timestamp(until) < now:
        raise CredentialError(
            "credential_expired", f"The credential stopped being valid at {until}."
        )
    return issuer


_FIELDS = ("@context", "id", "type", "issuer", "validFrom", "credentialSubject", "evidence")
_OPTIONAL = ("validUntil", "proof")


def _shape(unverified: Any) -> tuple[str, str]:
    if not isinstance(unverified, dict):
        raise CredentialError("malformed_credential", "A credential is not a JSON object.")
    missing = [f for f in _FIELDS if f not in unverified]
    if missing:
        raise CredentialError("malformed_credential", f"The credential has no {missing[0]}.")
    extra = sorted(set(unverified) - set(_FIELDS) - set(_OPTIONAL))
    if extra:
        raise CredentialError("malformed_credential", f"The credential has an unknown {extra[0]}.")
    # SPEC §18.3: the VC 2.0 context alone. Not merely first: the proof's own @context
    # replaces the document's when verifying (§18.2), so entries appended after it are not
    # signed, and anyone could add one to a credential without breaking its proof.
    if unverified["@context"] != [VC_CONTEXT]:
        raise CredentialError(
            "malformed_credential", f"The @context is not [{VC_CONTEXT!r}] alone."
        )
    kind = _our_type(unverified)
    if kind is None or _types(unverified["type"]) != ["VerifiableCredential", kind]:
        raise CredentialError(
            "malformed_credential", "The type is not VerifiableCredential and one guildnode type."
        )
    issuer = unverified["issuer"]
    if not isinstance(issuer, str) or not issuer.startswith("did:key:"):
        raise CredentialError("malformed_credential", "The issuer is not a did:key.")
    if not isinstance(unverified["id"], str) or not isinstance(unverified["evidence"], list):
        raise CredentialError("malformed_credential", "The id or the evidence has the wrong form.")
    for name in ("validFrom", "validUntil"):
        if name in unverified:
            try:
                parse_timestamp(unverified[name], name)
            except ProtocolError as exc:
                raise CredentialError("malformed_credential", exc.detail) from None
    return kind, issuer


def _evidence_record(index: int, item: Any) -> VerifiedRecord:
    """The record of one evidence entry, verified as any receiver verifies it (SPEC §3.5)."""
    if (
        not isinstance(item, dict)
        or set(item) != {"id", "type", "record"}
        or item["type"] != [RECORD_EVIDENCE]
        or not isinstance(item["id"], str)
        or not item["id"].startswith("urn:guildnode:record:")
    ):
        raise CredentialError(
            "malformed_credential", f"Evidence {index} is not a {RECORD_EVIDENCE} entry."
        )
    try:
        return verify_record(item["record"], item["id"].removeprefix("urn:guildnode:record:"))
    except ProtocolError as exc:
        if exc.code == "bad_signature":
            raise CredentialError(
                "record_signature_bad",
                f"Evidence {index}: the record's signature does not verify with its author's key.",
            ) from None
        raise CredentialError(
            "invalid_record", f"Evidence {index}: {exc.code}: {exc.detail}"
        ) from None


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _our_type(item: dict[str, Any]) -> str | None:
    return next((t for t in _types(item.get("type")) if t in TYPES), None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
