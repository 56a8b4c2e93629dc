"""The owner's part in disputes: opening one, disclosing records, deciding as a mediator.

`Mediation` belongs to one `Market` (`market.mediation`) and holds its one lock while it
checks and publishes, so a guard and the record it allows are one step. Every refusal is a
`NodeError` with a stable code (SPEC §17.6), and what the node refuses is what would not count
elsewhere: an outcome is checked by the very rules of `disputes` that every node applies
(SPEC §17.4). Reading what a dispute shows — its statement, the records disclosed, the
outcomes on its contract — is `dispute` and `disputes` here, as values for `views`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import disputes
from .contracts import Event
from .errors import NodeError
from .protocol import ProtocolError, VerifiedRecord, format_timestamp, parse_json
from .protocol.sealed import content_key, open_with_key

if TYPE_CHECKING:
    from .market import Market

NOT_STARTED = ("offered", "countered", "declined", "expired")  # SPEC §17.6


@dataclass(frozen=True, slots=True)
class Disclosed:
    """One record of a disclosure, as the mediator opens it with the key given."""

    record: str
    kind: str | None
    author: str | None
    body: dict[str, Any] | None  # the inner body, when the key opens it
    problem: str | None  # why not, or why it is no evidence of the dispute's contract


@dataclass(frozen=True, slots=True)
class Dispute:
    """A dispute the owner can open, as a party or a mediator."""

    event: Event
    role: str  # "party" or "mediator"
    disclosures: tuple[tuple[Event, tuple[Disclosed, ...]], ...]
    outcomes: tuple[tuple[disputes.Outcome, disputes.Problem | None], ...]

    @property
    def contract(self) -> str:
        return str(self.event.body["contract"])


class Mediation:
    def __init__(self, market: Market) -> None:
        self.market = market

    # -- publishing -------------------------------------------------------------------

    def open(
        self, contract_id: str, *, guild: str, mediators: Sequence[str], statement: str
    ) -> VerifiedRecord:
        """Open a dispute on a contract the owner is party to (SPEC §17.2), sealed to the
        other party and the mediators."""
        market, node = self.market, self.market.node
        public = market.evidence.parties().get(contract_id)
        if public is not None and node.did not in public:
            raise NodeError("not_a_party", "You are not a party to that contract.", 403)
        contract, other = market.party_of(contract_id)
        if contract.state in NOT_STARTED:
            raise NodeError("not_started", f"The contract is {contract.state}: it never started.")
        node.charter(guild)  # 404 when the guild is not held
        for did in mediators:
            node.check_did(did)
        with market.acting:
            since = market.evidence.member_since()
            now = node.now()
            for did in (node.did, other):
                if since(guild, did) is None:
                    who = "You are" if did == node.did else "The other party is"
                    raise NodeError("not_a_member", f"{who} not a member of that guild.")
            for did in mediators:
                problem = disputes.qualifies(did, contract.parties, guild, now, since)
                if problem is not None:
                    raise NodeError(*problem)
            inner = {
                "contract": contract_id,
                "guild": guild,
                "mediators": list(dict.fromkeys(mediators)),
                "statement": statement,
            }
            return market.publish_sealed("dispute", inner, [other, *inner["mediators"]])

    def disclose(self, dispute_id: str, record_ids: Sequence[str]) -> VerifiedRecord:
        """Show the dispute's mediators chosen records of its contract, by their content
        keys (SPEC §17.3)."""
        market, node = self.market, self.market.node
        dispute = self._opened(dispute_id)
        contract_id = dispute.body["contract"]
        if node.did not in market.evidence.parties().get(contract_id, frozenset()):
            raise NodeError("not_a_party", "Only a party to the contract discloses it.", 403)
        contract, _ = market.party_of(contract_id)
        held = {e.id for e in contract.events}
        shown = []
        for rid in dict.fromkeys(record_ids):
            if rid not in held:
                raise NodeError(
                    "unknown_record", f"{rid} is not a record of that contract you can open."
                )
            shown.append({"record": rid, "key": _b64(self._key(rid))})
        return market.publish_sealed(
            "disclosure", {"dispute": dispute_id, "records": shown}, dispute.body["mediators"]
        )

    def decide(
        self,
        dispute_id: str,
        *,
        finding: str,
        payment: str | None = None,
        void_feedback: Sequence[str] | None = None,
    ) -> VerifiedRecord:
        """Publish the owner's outcome of a dispute it mediates (SPEC §17.4), if it would
        count."""
        market, node = self.market, self.market.node
        if dispute_id not in market.evidence.openings():
            raise NodeError("not_found", f"No dispute {dispute_id} is held here.", 404)
        dispute = next(
            (e for e in market.events() if e.id == dispute_id and e.kind == "dispute"), None
        )
        if dispute is None or node.did not in dispute.body["mediators"]:
            raise NodeError("not_a_mediator", "You are not a mediator of that dispute.", 403)
        body: dict[str, Any] = {
            "dispute": dispute_id,
            "contract": dispute.body["contract"],
            "guild": dispute.body["guild"],
            "finding": finding,
        }
        if payment is not None:
            body["payment"] = payment
        if void_feedback:
            body["void_feedback"] = list(dict.fromkeys(void_feedback))
        with market.acting:
            problem = self._refusal(body)
            if problem is not None:
                code, detail = problem
                raise NodeError("invalid_argument" if code == "invalid_outcome" else code, detail)
            try:
                return node.publish("outcome", body)
            except ProtocolError as exc:
                raise NodeError("invalid_argument", exc.detail) from None

    def _refusal(self, body: dict[str, Any]) -> disputes.Problem | None:
        """Why an outcome published now would not count (SPEC §17.4), by the rules every
        node applies; `already_decided` when one counts on the contract already."""
        evidence, node = self.market.evidence, self.market.node
        hypothetical = disputes.Outcome.from_record(
            "0" * 64, {"author": node.did, "created": format_timestamp(node.now()), "body": body}
        )
        if body["contract"] in evidence.decided():
            return ("already_decided", "An outcome on this contract already counts.")
        return disputes.outcome_problem(
            hypothetical, evidence.openings(), evidence.parties(), evidence.member_since()
        )

    # -- reading ----------------------------------------------------------------------

    def disputes(self) -> list[Dispute]:
        """The disputes the owner can open, newest first."""
        events = self.market.events()
        found = [self._dispute(e, events) for e in events if e.kind == "dispute"]
        return sorted(found, key=lambda d: (-d.event.created_at, d.event.id))

    def dispute(self, dispute_id: str) -> Dispute:
        events = self.market.events()
        return self._dispute(self._opened(dispute_id, events), events)

    def _dispute(self, event: Event, events: Sequence[Event]) -> Dispute:
        evidence = self.market.evidence
        me = self.market.node.did
        role = "mediator" if me in event.body["mediators"] else "party"
        shown = sorted(
            (e for e in events if e.kind == "disclosure" and e.body["dispute"] == event.id),
            key=lambda e: (e.created_at, e.id),
        )
        shown_ids = {
            item["record"]
            for e in shown
            for item in e.body["records"]
            if self.market.node.store.get(item["record"]) is not None
        }
        parties = evidence.parties().get(event.body["contract"], frozenset())
        disclosures = tuple(
            (
                e,
                tuple(
                    self._open_disclosed(item, event, shown_ids, parties)
                    for item in e.body["records"]
                ),
            )
            for e in shown
        )
        outcomes = evidence.outcomes(event.body["contract"])
        if outcomes:
            openings, everyone = evidence.openings(), evidence.parties()
            since, decided = evidence.member_since(), evidence.decided()
            judged = tuple(
                (o, disputes.why_not(o, decided, openings, everyone, since))
                for o in sorted(outcomes, key=lambda o: (o.created_at, o.id))
            )
        else:
            judged = ()
        return Dispute(event, role, disclosures, judged)

    def _opened(self, dispute_id: str, events: Sequence[Event] | None = None) -> Event:
        for event in self.market.events() if events is None else events:
            if event.id == dispute_id and event.kind == "dispute":
                return event
        raise NodeError("not_found", f"No dispute {dispute_id} you can open is held here.", 404)

    def _key(self, record_id: str) -> bytes:
        node = self.market.node
        canonical = node.store.get(record_id)
        if canonical is None:
            raise NodeError("unknown_record", f"{record_id} is not held here.")
        record = parse_json(canonical)
        return content_key(node.identity, record["author"], record["kind"], record["body"])

    def _open_disclosed(
        self, item: dict[str, Any], dispute: Event, shown_ids: set[str], parties: frozenset[str]
    ) -> Disclosed:
        """A disclosed record opened with its key (SPEC §17.3), checked against the
        dispute's contract."""
        canonical = self.market.node.store.get(item["record"])
        if canonical is None:
            return Disclosed(item["record"], None, None, None, "not held here yet")
        record = parse_json(canonical)
        kind, author = record["kind"], record["author"]
        try:
            key = base64.urlsafe_b64decode(item["key"] + "=")
            inner = open_with_key(key, author, kind, record["body"])
        except (ProtocolError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ProtocolError) else str(exc)
            return Disclosed(item["record"], kind, author, None, detail)
        # Of the contract: the first offer itself, a record naming the contract, or one
        # answering, accepting or declining an offer shown (SPEC §17.3).
        known = {dispute.body["contract"], *shown_ids}
        named = (inner.get("contract"), inner.get("answers"), inner.get("offer"))
        ours = item["record"] == dispute.body["contract"] or any(n in known for n in named)
        if ours and author not in parties:
            ours = False
        problem = None if ours else "not a record of this dispute's contract"
        return Disclosed(item["record"], kind, author, inner, problem)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
