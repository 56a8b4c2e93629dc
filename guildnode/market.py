"""The owner's use cases for work: proposals, offers and contracts.

`Market` sits beside `Node` (it is `node.market`): it opens the sealed records the owner is a
party to, derives contracts from them (`contracts.derive`), and publishes the owner's next
step only when the same derivation says it would take effect — so what the node refuses and
what would have no effect elsewhere can never disagree (SPEC §6.8, §12.3). Every refusal is a
`NodeError` with a stable code.

`Market` stays the entry point for the rest of work too: the owner's receipts and feedback
(`duties.give_feedback`, `settle`, SPEC §12.4) are `duties.Duties`, which shares the market's one
lock; reading everyone's public receipts and feedback, and what of it counts, is
`market.evidence` (`evidence.Evidence`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import contracts as rules
from .briefs import Brief
from .contracts import Contract, Event
from .delegation import ACTION_SCOPES
from .duties import Duties
from .errors import NodeError
from .evidence import Evidence
from .ledger import Ledger
from .mediation import Mediation
from .money import ISO_4217
from .protocol import (
    ProtocolError,
    VerifiedRecord,
    format_timestamp,
    parse_timestamp,
)
from .protocol.kinds import CONTRACT_KINDS
from .protocol.sealed import seal

if TYPE_CHECKING:
    from .node import Node

DAY = 86_400


class Market:
    def __init__(self, node: Node) -> None:
        self.node = node
        # One action at a time, here and in `Duties`: a guard and the publish it allows are
        # one step, and no receipt or commitment is ever published twice by racing requests.
        self.acting = threading.RLock()
        self.ledger = Ledger(node)
        self.evidence = Evidence(node.store, node.now)
        self.duties = Duties(self)
        self.mediation = Mediation(self)

    # -- reading ------------------------------------------------------------------------

    def events(self, kinds: Sequence[str] = CONTRACT_KINDS) -> list[Event]:
        """Every sealed record of `kinds` (the contract kinds unless told) the owner is a
        party to, could open and that has effect, read as members and, where a delegate
        spoke for an organisation, as the organisation's (opened once each, `ledger`)."""
        return self.ledger.events(kinds)

    def unreadable(self) -> dict[str, str]:
        """Sealed records addressed to the owner that do not open, with the reason."""
        return self.ledger.unreadable()

    def briefs(self) -> dict[str, Brief]:
        """The briefs the node holds, by id."""
        return {b.id: b for b in self.node.briefs()}

    def contracts(self, state: str | None = None) -> list[Contract]:
        """The owner's contracts (newest first), each derived again only when its records
        or its time moved it (`ledger`)."""
        found = [
            c
            for c in self.ledger.contracts(self.node.now()).values()
            if state is None or c.state == state
        ]
        return sorted(found, key=lambda c: (-_started(c), c.id))

    def derive_now(self) -> dict[str, Contract]:
        """Every contract of the owner's records, derived afresh from all of them: what the
        ledger keeps must always equal it (tests/contracts/test_ledger.py)."""
        return rules.derive(self.events(), briefs=self.briefs(), now=self.node.now())

    def find(self, contract_id: str) -> Contract | None:
        """The owner's contract `contract_id` now, or None when none has that id (the kept
        one: only its own records are read, `ledger`)."""
        return self.ledger.contract(contract_id, self.node.now())

    def contract(self, contract_id: str) -> Contract:
        found = self.find(contract_id)
        if found is None:
            raise _error("not_found", f"No contract {contract_id} is known here.", 404)
        return found

    def proposals(self, brief_id: str | None = None) -> list[Any]:
        """Proposals the owner sent or received, for one brief if asked."""
        found = rules.proposals(self.events(), now=self.node.now(), briefs=self.briefs())
        return [p for p in found if brief_id is None or p.brief == brief_id]

    def _event(self, record_id: str, kind: str) -> Event:
        event = self.ledger.event(record_id)
        if event is not None and event.kind == kind:
            return event
        raise _error("not_found", f"No {kind} {record_id} addressed to you is held here.", 404)

    # -- publishing -----------------------------------------------------------------------

    def _publish(
        self,
        kind: str,
        inner: dict[str, Any],
        parties: Sequence[str],
        *,
        expires_at: int | None = None,
        guard: bool = True,
        acting_for: str | None = None,
    ) -> VerifiedRecord:
        """Seal `inner` to the parties and publish it, if it would take effect (as the
        organisation `acting_for`'s, for a delegate, SPEC §15.4)."""
        with self.acting:
            return self._publish_now(
                kind, inner, parties, expires_at=expires_at, guard=guard, acting_for=acting_for
            )

    def publish_sealed(
        self, kind: str, inner: dict[str, Any], parties: Sequence[str]
    ) -> VerifiedRecord:
        """Seal `inner` to the parties and publish it, with no contract guard: for the kinds
        whose rules are not the transition table's (a dispute's, SPEC §17.6)."""
        return self._publish(kind, inner, parties, guard=False)

    def _publish_now(
        self,
        kind: str,
        inner: dict[str, Any],
        parties: Sequence[str],
        *,
        expires_at: int | None,
        guard: bool,
        acting_for: str | None = None,
    ) -> VerifiedRecord:
        node = self.node
        if guard:
            problem = self._refusal(kind, inner, expires_at, acting_for)
            if problem is not None and problem[0] == "too_soon":
                time.sleep(1.05)  # the order within this second is uncertain: wait it out
                problem = self._refusal(kind, inner, expires_at, acting_for)
            if problem is not None:
                raise _error(*problem)
        try:
            body = seal(node.identity, kind, inner, parties)
            return node.publish(kind, body, expires_at)
        except ProtocolError as exc:
            if exc.code == "invalid_body" and "longer than" in exc.detail:
                raise _error("too_large", "The text is too long to seal in one record.") from None
            raise _error(exc.code, exc.detail) from None

    def _refusal(
        self, kind: str, inner: dict[str, Any], expires_at: int | None, acting_for: str | None
    ) -> tuple[str, str] | None:
        node = self.node
        now = node.now()
        hypothetical = Event("0" * 64, kind, acting_for or node.did, now, expires_at, inner)
        # Only the contract the record names, and the brief a first offer or proposal names,
        # take part in judging it (`contracts.refusal`).
        brief_id = inner.get("brief") if kind in ("proposal", "offer") else None
        brief = None if brief_id is None else self.ledger.brief(brief_id)
        briefs = {} if brief is None else {brief.id: brief}
        held = self.ledger.thread_of(hypothetical, now)
        return rules.refusal(held, hypothetical, now, briefs=briefs)

    def propose(
        self,
        brief_id: str,
        *,
        pitch: str,
        amount: int,
        currency: str,
        duration_days: int,
        available_in_days: int = 0,
        expires_days: int | None = None,
    ) -> VerifiedRecord:
        """Answer a brief with a proposal sealed to its organisation."""
        node = self.node
        brief = node.brief(brief_id)
        now = node.now()
        if not brief.is_open(now):
            raise _error("brief_closed", "That brief is closed: it expired or has no effect.")
        if node.did in (brief.author, brief.delegate):
            raise _error("own_brief", "You cannot propose on your own brief.")
        _check_currency(currency)
        expires_at = brief.expires_at
        if expires_days is not None:
            expires_at = min(now + expires_days * DAY, expires_at or now + expires_days * DAY)
        inner = {
            "brief": brief_id,
            "pitch": pitch,
            "price": {"amount": amount, "currency": currency},
            "duration_days": duration_days,
            "available_from": format_timestamp(now + available_in_days * DAY),
        }
        # SPEC §6.10, §15.4: a brief a delegate posted reaches its delegate too.
        parties = [brief.author, *([brief.delegate] if brief.delegate else [])]
        return self._publish("proposal", inner, parties, expires_at=expires_at, guard=False)

    def offer(
        self,
        proposal_id: str,
        *,
        scope: str,
        acceptance_criteria: Sequence[str],
        milestones: Sequence[tuple[str, int, int]],
        currency: str | None = None,
        starts_in_days: int = 0,
        days: int = 30,
        respond_days: int = rules.DEFAULT_RESPOND_DAYS,
        organisation: str | None = None,
    ) -> VerifiedRecord:
        """Offer a contract to the author of a proposal. `milestones`: (title, amount, due
        in days after the start); the price is their sum. With `organisation`, as its
        delegate (SPEC §15): refused unless the offer would count as the organisation's."""
        acting_for = self._acting_for(organisation, ACTION_SCOPES["offer"])
        proposal = self._event(proposal_id, "proposal")
        if proposal.author == self.node.did:
            raise _error("not_addressed_to_you", "You cannot offer on your own proposal.")
        currency = currency or proposal.body["price"]["currency"]
        starts = self.node.now() + starts_in_days * DAY
        inner = _terms(
            brief=proposal.body["brief"],
            organisation=acting_for or self.node.did,
            freelancer=proposal.author,
            scope=scope,
            acceptance_criteria=acceptance_criteria,
            milestones=milestones,
            currency=currency,
            starts=starts,
            days=days,
        )
        inner["proposal"] = proposal_id
        return self._publish(
            "offer",
            inner,
            [proposal.author, *([acting_for] if acting_for else [])],
            expires_at=self.node.now() + respond_days * DAY,
            acting_for=acting_for,
        )

    def counter(
        self,
        offer_id: str,
        *,
        scope: str | None = None,
        milestones: Sequence[tuple[str, int, int]] | None = None,
        days: int | None = None,
        respond_days: int = rules.DEFAULT_RESPOND_DAYS,
        organisation: str | None = None,
    ) -> VerifiedRecord:
        """Answer an offer with changed terms; what is not given stays as offered. With
        `organisation`, as its delegate (SPEC §15.2 `offers`)."""
        acting_for = self._acting_for(organisation, ACTION_SCOPES["counter"])
        offer = self._event(offer_id, "offer")
        if acting_for is not None and offer.body["organisation"] != acting_for:
            raise _error("not_a_party", "That offer is not for the organisation.", 403)
        terms = dict(offer.body)
        starts = parse_timestamp(terms["starts"])
        if milestones is not None or days is not None:
            old = [
                (m["title"], m["amount"], (parse_timestamp(m["due"]) - starts) // DAY)
                for m in terms["milestones"]
            ]
            span = days if days is not None else (parse_timestamp(terms["ends"]) - starts) // DAY
            new = _terms(
                brief=terms["brief"],
                organisation=terms["organisation"],
                freelancer=terms["freelancer"],
                scope=scope or terms["scope"],
                acceptance_criteria=terms["acceptance_criteria"],
                milestones=milestones if milestones is not None else old,
                currency=terms["price"]["currency"],
                starts=starts,
                days=span,
            )
            terms.update(new)
        elif scope is not None:
            terms["scope"] = scope
        terms["answers"] = offer_id
        parties = [terms["organisation"], terms["freelancer"]]
        return self._publish(
            "offer",
            terms,
            self._recipients(offer_id, parties),
            expires_at=self.node.now() + respond_days * DAY,
            acting_for=acting_for,
        )

    def accept(self, offer_id: str) -> VerifiedRecord:
        offer = self._event(offer_id, "offer")
        return self._publish(
            "accept", {"offer": offer_id}, self._recipients(offer_id, [offer.author])
        )

    def decline(self, offer_id: str, reason: str | None = None) -> VerifiedRecord:
        offer = self._event(offer_id, "offer")
        inner: dict[str, Any] = {"offer": offer_id}
        if reason:
            inner["reason"] = reason
        return self._publish("decline", inner, self._recipients(offer_id, [offer.author]))

    def _acting_for(self, organisation: str | None, scope: str | None) -> str | None:
        """SPEC §15.6: None for the owner's own record; else the organisation's member,
        refused (`not_delegated`, `outside_scope`) unless the record would count as its.
        `scope` None: a kind no scope covers (§15.2)."""
        if organisation is None:
            return None
        if scope is None:
            self.node.check_did(organisation)
            raise _error(
                "outside_scope",
                "Completing or cancelling a contract is not delegated: the organisation "
                "does it from its own node.",
            )
        return self.node.check_acting_for(organisation, scope)

    def _recipients(self, record_id: str, parties: Sequence[str]) -> list[str]:
        """SPEC §6.10, §15.4: a contract's later records are sealed to the parties named and
        the delegate that wrote its first offer, if any (the author is added by sealing)."""
        delegate = self.ledger.delegate_of(record_id)
        found = dict.fromkeys([*parties, *([delegate] if delegate else [])])
        found.pop(self.node.did, None)
        return list(found)

    def party_of(self, contract_id: str, acting_for: str | None = None) -> tuple[Contract, str]:
        """The contract and the counterpart of the owner (or of the organisation
        `acting_for`, for its delegate) in it."""
        contract = self.contract(contract_id)
        me = acting_for or self.node.did
        if me not in (contract.organisation, contract.freelancer):
            raise _error("not_a_party", "You are not a party to that contract.", 403)
        other = contract.freelancer if me == contract.organisation else contract.organisation
        return contract, other

    def _sealed_to(
        self, contract_id: str, acting_for: str | None = None
    ) -> tuple[Contract, list[str]]:
        """The contract and whom the owner's next record of it is sealed to (SPEC §15.4)."""
        contract, other = self.party_of(contract_id, acting_for)
        return contract, self._recipients(contract_id, [other, *filter(None, [acting_for])])

    def milestone(
        self,
        contract_id: str,
        index: int,
        action: str,
        note: str | None = None,
        organisation: str | None = None,
    ) -> VerifiedRecord:
        """`action`: "submitted" (the freelancer) or "approved" (the organisation, or with
        `organisation` its delegate, SPEC §15.2 `approve`)."""
        acting_for = self._acting_for(organisation, ACTION_SCOPES["approve"])
        _, parties = self._sealed_to(contract_id, acting_for)
        inner: dict[str, Any] = {"contract": contract_id, "index": index, "action": action}
        if note:
            inner["note"] = note
        return self._publish("milestone", inner, parties, acting_for=acting_for)

    def payment(
        self, contract_id: str, index: int, action: str, organisation: str | None = None
    ) -> VerifiedRecord:
        """`action`: "paid" (the organisation, or with `organisation` its delegate, SPEC
        §15.2 `pay`) or "received" (the freelancer); the amount is the milestone's."""
        acting_for = self._acting_for(organisation, ACTION_SCOPES["paid"])
        contract, parties = self._sealed_to(contract_id, acting_for)
        milestones = contract.terms["milestones"] if contract.terms else []
        if not 0 <= index < len(milestones):
            raise _error("unknown_milestone", f"The contract has no milestone {index + 1}.")
        amount = {
            "amount": milestones[index]["amount"],
            "currency": contract.terms["price"]["currency"],
        }
        inner = {"contract": contract_id, "index": index, "amount": amount, "action": action}
        return self._publish("payment", inner, parties, acting_for=acting_for)

    def complete(
        self, contract_id: str, note: str | None = None, organisation: str | None = None
    ) -> VerifiedRecord:
        self._acting_for(organisation, None)
        _, parties = self._sealed_to(contract_id)
        inner: dict[str, Any] = {"contract": contract_id}
        if note:
            inner["note"] = note
        record = self._publish("complete", inner, parties)
        self.settle()
        return record

    def cancel(
        self, contract_id: str, reason: str, organisation: str | None = None
    ) -> VerifiedRecord:
        self._acting_for(organisation, None)
        _, parties = self._sealed_to(contract_id)
        record = self._publish("cancel", {"contract": contract_id, "reason": reason}, parties)
        self.settle()
        return record

    # -- receipts and feedback: the owner's duties (`duties.Duties`) -----------------

    def settle(self) -> list[VerifiedRecord]:
        """Publish the receipts and reveals now due on the owner's behalf; never raises
        (`Duties.settle`)."""
        return self.duties.settle()


def _started(contract: Contract) -> int:
    return contract.timeline[0].at if contract.timeline else 0


def _check_currency(currency: str) -> None:
    if currency not in ISO_4217:
        raise _error("invalid_currency", f"{currency!r} is not an ISO 4217 currency code.")


def _terms(
    *,
    brief: str,
    organisation: str,
    freelancer: str,
    scope: str,
    acceptance_criteria: Sequence[str],
    milestones: Sequence[tuple[str, int, int]],
    currency: str,
    starts: int,
    days: int,
) -> dict[str, Any]:
    """An offer's terms: the price is the sum of the milestones, each due `n` days after
    the start."""
    _check_currency(currency)
    if not milestones:
        raise _error("invalid_terms", "An offer needs at least one milestone.")
    return {
        "brief": brief,
        "organisation": organisation,
        "freelancer": freelancer,
        "scope": scope,
        "acceptance_criteria": list(acceptance_criteria),
        "price": {"amount": sum(amount for _, amount, _ in milestones), "currency": currency},
        "milestones": [
            {"title": title, "amount": amount, "due": format_timestamp(starts + due * DAY)}
            for title, amount, due in milestones
        ],
        "starts": format_timestamp(starts),
        "ends": format_timestamp(starts + days * DAY),
    }


def _error(code: str, detail: str, status: int = 400) -> NodeError:
    return NodeError(code, detail, status)
