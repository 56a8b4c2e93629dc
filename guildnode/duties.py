"""What the node publishes for its owner once a contract has ended: receipts and feedback.

`Duties` belongs to one `Market` (`market.duties`; `market.settle` reaches it too). The
owner commits to blind feedback on the other party (`give_feedback`); the rest the protocol
promises on the owner's behalf, so the node publishes it on its own (`settle`): a `receipt`
once a contract the owner is party to has ended, and the `feedback` the owner committed to, as
soon as it may be revealed (SPEC §12.4). Every step holds the market's one lock (`acting`), so
no receipt or commitment is ever published twice by racing requests. Reading everyone's public
receipts and feedback, and what of it counts, is `market.evidence` (`evidence.Evidence`).
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import contracts as rules
from . import feedback
from .contracts import Contract
from .errors import NodeError
from .protocol import ProtocolError, VerifiedRecord, canonical_bytes, validate_body

if TYPE_CHECKING:
    from .market import Market

log = logging.getLogger(__name__)


class Duties:
    """The owner's receipts and feedback, published through `market.node`."""

    def __init__(self, market: Market) -> None:
        self.market = market
        # Contracts whose receipt by the owner is held, for one owner key and one ledger
        # generation (a fork or an identity change can undo a receipt's effect).
        self._receipted: set[str] = set()
        self._receipted_for: tuple[str, int] | None = None

    def give_feedback(
        self,
        contract_id: str,
        *,
        rating: int,
        dimensions: Mapping[str, int] | None = None,
        statement: str | None = None,
        skills: Sequence[str] | None = None,
    ) -> VerifiedRecord:
        """Commit to feedback on the other party (blind); it is revealed by `settle` once
        they have committed too, or 14 days after this commitment."""
        market, node = self.market, self.market.node
        contract, other = market.party_of(contract_id)
        if skills is None:  # a freelancer in the brief's skills; an organisation in general
            brief = market.briefs().get(contract.brief)
            hired = other == contract.freelancer
            skills = brief.skills if brief and hired else []
        body: dict[str, Any] = {
            "contract": contract_id,
            "subject": other,
            "rating": rating,
            "salt": base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode(),
        }
        if dimensions:
            body["dimensions"] = dict(dimensions)
        if statement:
            body["statement"] = statement
        if skills:
            body["skills"] = list(dict.fromkeys(skills))[:10]
        try:  # what will be revealed must be publishable, or the commitment is a dead end
            validate_body("feedback", body)
            canonical_bytes(body)
        except ProtocolError as exc:
            raise NodeError("invalid_argument", exc.detail) from None
        with market.acting:
            problem = feedback.commit_problem(
                contract.ended_at, market.evidence.commits(contract_id), author=node.did
            )
            if problem is not None:
                raise NodeError(*problem)
            commit = {
                "contract": contract_id,
                "subject": other,
                "commitment": feedback.commitment(body),
            }
            try:
                record = node.publish("commit", commit)
            except ProtocolError as exc:
                raise NodeError(exc.code, exc.detail) from None
            node.store.save_draft(record.id, body)
            self.settle()
        return record

    def settle(self) -> list[VerifiedRecord]:
        """Publish what the protocol promises on the owner's behalf: receipts of ended
        contracts, and committed feedback that may now be revealed. Never raises: what
        cannot be published is logged and tried again at the next settle."""
        with self.market.acting:
            try:
                return self._settle()
            except (NodeError, ProtocolError, ValueError) as exc:
                log.warning("settling the owner's contracts failed: %s", exc)
                return []

    def _settle(self) -> list[VerifiedRecord]:
        market, node = self.market, self.market.node
        published: list[VerifiedRecord] = []
        me = node.did
        now = node.now()
        # Only a contract that ended is owed a receipt: the ledger knows which can have.
        ended_now = market.ledger.ended(now)
        if self._receipted_for != (me, market.ledger.generation):
            self._receipted, self._receipted_for = set(), (me, market.ledger.generation)
        ended = [
            c
            for c in ended_now.values()
            if me in (c.organisation, c.freelancer) and c.id not in self._receipted
        ]
        if ended:
            held = {(r.body["contract"], r.author) for r in market.evidence.receipts()}
            for contract in ended:
                receipt = self._ensure_receipt(contract, held)
                if receipt is not None:
                    published.append(receipt)
                    held.add((contract.id, me))
                if (contract.id, me) in held:
                    self._receipted.add(contract.id)
        drafts = node.store.drafts()
        # Only the contracts the owner's drafts are on: a settle runs on every ingest.
        for contract_id in dict.fromkeys(body["contract"] for body in drafts.values()):
            commits = market.evidence.commits(contract_id)
            reveals = market.evidence.reveals(contract_id)
            for commit in commits:
                body = drafts.get(commit.id)
                if body is None or commit.author != me:
                    continue
                if feedback.reveal_problem(commit, body, commits, reveals, now=now) is None:
                    published.append(node.publish("feedback", body))
                    node.store.drop_draft(commit.id)
        return published

    def _ensure_receipt(
        self, contract: Contract, held: set[tuple[str, str]]
    ) -> VerifiedRecord | None:
        """Publish the owner's receipt of an ended contract, once (`held`: the (contract,
        author) pairs of receipts held). Its payment is what the owner attests — the
        organisation its `paid`, the freelancer its `received` (SPEC §12.4) — and waits
        while an approved milestone may still be paid on time."""
        node = self.market.node
        me = node.did
        if contract.ended_at is None or (contract.id, me) in held:
            return None
        side = "organisation" if me == contract.organisation else "freelancer"
        payment = rules.payment_status(contract.milestones, side=side)
        if payment == "unpaid" and node.now() <= rules.pay_by(contract.milestones):
            return None
        body = {
            "contract": contract.id,
            "organisation": contract.organisation,
            "freelancer": contract.freelancer,
            "outcome": contract.state,
            "payment": payment,
        }
        decided = self.market.evidence.decided().get(contract.id)
        if decided is not None:  # SPEC §17.5: the receipt cites the outcome that counts
            body["decision"] = decided.id
        return node.publish("receipt", body)
