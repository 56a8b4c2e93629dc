"""The public evidence of work: receipts, feedback commitments and reveals, and what counts.

`Evidence` reads the public `receipt`, `commit`, `feedback` and `offer` records a node holds and
hands them, as values, to the pure rules of `feedback` (SPEC §12.4). Nothing here is opened or
published, so any node — party to a contract or not — derives the same answer from the same
records: whose feedback counts, the vouches it makes, which contracts are completed (the
evidence bonus of trust, §12.2) and how each organisation paid. The owner's side of it (its
receipts, commitments and reveals) is published by `duties.Duties`, which reads this evidence too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import derive, disputes, feedback
from .delegation import Delegations
from .governance import Governance
from .guilds import Charter
from .identities import Identities
from .protocol import parse_json
from .trust import Vouch

if TYPE_CHECKING:
    from .store import Store

# SPEC §14.6: the DIDs of each kind read as members' current keys. A feedback body is never
# rewritten: its commitment hashes it, and it is compared as written.
_MEMBER_FIELDS = {"receipt": ("organisation", "freelancer"), "commit": ("subject",)}


@dataclass(frozen=True, slots=True)
class Held:
    """What every derivation over a store's records starts from: which keys form one member
    (SPEC §14), the vouches and their revocations, the guild charters and the delegations
    (SPEC §15), as values. `Node` keeps one per store version and hands it to `Evidence`;
    each guild's governance at a second is derived once from them, and shared."""

    store: Store
    identities: Identities
    vouches: list[Vouch]
    revoked: set[str]
    charters: dict[str, Charter]
    delegations: Delegations
    # guild id → (now, its governance at now): the latest second asked for, per guild
    _governed: dict[str, tuple[int, Governance]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, store: Store) -> Held:
        ids = derive.identities(store)
        vouches = derive.vouches(store, ids)
        return cls(
            store,
            ids,
            vouches,
            derive.revoked(store, vouches, ids),
            derive.charters(store, ids),
            derive.delegations(store, ids),
        )

    def governance(self, charter: Charter, now: int) -> Governance:
        """The guild of `charter` at `now` with its governance applied (SPEC §12.5). Shared
        by every caller: not to be changed."""
        kept = self._governed.get(charter.id)
        if kept is None or kept[0] != now:
            kept = (
                now,
                derive.governance(
                    self.store, charter, self.identities, self.vouches, self.revoked, now
                ),
            )
            self._governed[charter.id] = kept
        return kept[1]


class Evidence:
    """Read-only derivations over the public records in `store`. The contracts' parties are
    derived once per store version, the outcome that counts (which rests on guild membership
    at `now`) once per store version and second; both are shared by every caller."""

    def __init__(self, store: Store, now: Callable[[], int]) -> None:
        self.store = store
        self.now = now
        # The store's values (`Held`), afresh on each call unless a node hands over its own.
        self.held: Callable[[], Held] = lambda: Held.of(store)
        self._parties: tuple[int, dict[str, frozenset[str]]] | None = None
        self._decided: tuple[tuple[int, int], dict[str, disputes.Outcome]] | None = None
        self.derivations = 0  # of `decided`, for tests: once per store version and second

    def members(self) -> Identities:
        """The store's identities (SPEC §14), resolved again when records arrive."""
        return self.held().identities

    def _public(self, kind: str, contract_id: str | None = None) -> list[tuple[str, Any]]:
        """(id, wire record) of the held `kind` records about a contract (or all) that have
        effect, their author (and a receipt's parties, a commit's subject) as members."""
        values = None if contract_id is None else [contract_id]
        ids = self.members()
        found = []
        for ref in self.store.refs(kind, values=values):
            if ref.role != "contract" or not ids.has_effect(ref.author, ref.seq):
                continue
            canonical = self.store.get(ref.record_id)
            if canonical is None:
                continue
            record = parse_json(canonical)
            if not ids.is_trivial():
                body = dict(record["body"])
                for field in _MEMBER_FIELDS.get(kind, ()):
                    body[field] = ids.member(body[field])
                record = {**record, "author": ids.member(record["author"]), "body": body}
            found.append((ref.record_id, record))
        return found

    def receipts(self, contract_id: str | None = None) -> list[feedback.Receipt]:
        """Held `receipt` records on a contract (or all), whether they count or not."""
        return [feedback.Receipt.from_record(*r) for r in self._public("receipt", contract_id)]

    def commits(self, contract_id: str | None = None) -> list[feedback.Commit]:
        """Held `commit` records on a contract (or all), whether they count or not."""
        return [feedback.Commit.from_record(*r) for r in self._public("commit", contract_id)]

    def reveals(self, contract_id: str | None = None) -> list[feedback.Reveal]:
        """Held `feedback` reveals on a contract (or all), whether they count or not."""
        return [feedback.Reveal.from_record(*r) for r in self._public("feedback", contract_id)]

    def parties(self) -> Mapping[str, frozenset[str]]:
        """Every contract id → its two parties, from the public recipients of its first
        offer (anyone holding the organisation's chain can tell who the parties are);
        derived once per store version and shared."""
        version = self.store.refs_version
        if self._parties is None or self._parties[0] != version:
            self._parties = (version, self._derive_parties())
        return self._parties[1]

    def _derive_parties(self) -> dict[str, frozenset[str]]:
        ids = self.members()
        found: dict[str, set[str]] = {}
        made: dict[str, tuple[str, int, int]] = {}
        for ref in self.store.refs("offer"):
            author = ids.member(ref.author)
            found.setdefault(ref.record_id, {author}).add(ids.member(ref.value))
            made[ref.record_id] = (ref.author, ref.seq, ref.created_at)
        grants = self.held().delegations
        parties = {}
        for rid, p in found.items():
            key, seq, created_at = made[rid]
            author = ids.member(key)
            # SPEC §12.4, §15.4: a delegate's offer names its author beside the two parties.
            if len(p) == 3 and any(
                grants.speaks_for(key, seq, created_at, "offers", org) for org in p - {author}
            ):
                p = p - {author}
            if len(p) == 2:
                parties[rid] = frozenset(p)
        return parties

    # -- disputes (SPEC §17) ------------------------------------------------------------

    def outcomes(self, contract_id: str | None = None) -> list[disputes.Outcome]:
        """Held `outcome` records on a contract (or all), whether they count or not."""
        return [disputes.Outcome.from_record(*r) for r in self._public("outcome", contract_id)]

    def openings(self) -> dict[str, disputes.Opening]:
        """Every held `dispute` record → its author and public recipients (never opened)."""
        ids = self.members()
        found: dict[str, tuple[str, set[str]]] = {}
        for ref in self.store.refs("dispute"):
            if ids.has_effect(ref.author, ref.seq):
                entry = found.setdefault(ref.record_id, (ids.member(ref.author), set()))
                entry[1].add(ids.member(ref.value))
        return {
            rid: disputes.Opening(rid, author, frozenset(recipients))
            for rid, (author, recipients) in found.items()
        }

    def member_since(self) -> disputes.MemberSince:
        """(guild, did) → since when `did` is a current member of the guild at `now`, or
        None: the guild's membership as its governance leaves it (SPEC §12.5 — amendments
        and removals adopted by vote applied), as `Node.guild` derives it (`Held.governance`,
        shared)."""
        held, now = self.held(), self.now()

        def since(guild: str, did: str) -> int | None:
            charter = held.charters.get(guild)
            if charter is None:
                return None
            members = held.governance(charter, now).membership.members
            return members.get(held.identities.member(did))

        return since

    def decided(self) -> Mapping[str, disputes.Outcome]:
        """contract → the outcome that counts on it (SPEC §17.4), derived once per store
        version and second."""
        key = (self.store.refs_version, self.now())
        if self._decided is None or self._decided[0] != key:
            outcomes = self.outcomes()
            found = (  # no guild is derived when nothing was decided
                disputes.counting(outcomes, self.openings(), self.parties(), self.member_since())
                if outcomes
                else {}
            )
            self.derivations += 1
            self._decided = (key, found)
        return self._decided[1]

    # -- feedback, receipts and payments (SPEC §12.4) --------------------------------------

    def counted_feedback(self) -> list[feedback.Counted]:
        """Revealed feedback that counts (SPEC §12.4): only on contracts whose two public
        parties have both published their receipt — a stranger who seals an offer to
        someone cannot make feedback on them count."""
        parties = self.parties()
        return feedback.counting(
            self.commits(), self.reveals(), feedback.paired(self.receipts(), parties)
        )

    def feedback_vouches(self) -> list[Vouch]:
        """Revealed feedback that counts, as vouches (SPEC §12.4)."""
        voided = disputes.voided_feedback(self.decided())
        return feedback.as_vouches(self.counted_feedback(), voided)

    def completed(self) -> dict[str, frozenset[str]]:
        """Contracts both parties' receipts call completed (the evidence bonus, SPEC §12.4)."""
        return feedback.completed(self.receipts(), self.parties())

    def payment_record(self, did: str) -> dict[str, int]:
        """How an organisation paid, by the receipts of both parties of its contracts
        (SPEC §12.4); all counts zero for one with none."""
        decided = disputes.decided_payments(self.decided())
        return feedback.payment_record(self.receipts(), self.parties(), decided).get(
            did, dict.fromkeys(feedback.PAYMENT_COUNTS, 0)
        )
