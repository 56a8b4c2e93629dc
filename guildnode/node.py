"""The node: its owner's identity and store, and the use cases on top of them.

Everything the HTTP API and the CLI do goes through here: publish (sign with the owner's
key and append to the owner's chain), ingest (verify fully, place in the chain, then store
a batch at once), and queries. One write lock serialises every change to the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import derive
from .briefs import Brief
from .datadir import DataDir
from .errors import NodeError
from .guilds import Charter, Membership, membership
from .market import Market
from .money import ISO_4217
from .protocol import (
    ChainHead,
    Identity,
    Placement,
    ProtocolError,
    VerifiedRecord,
    format_timestamp,
    parse_json,
    parse_timestamp,
    place,
    public_key_from_did,
    sign_record,
    verify_record,
)
from .protocol.kinds import SEALED_KINDS, references
from .protocol.records import CheckedRecord, check_record
from .scope import Scope, compute_scope, names_owner
from .store import ForkProof, Store
from .trust import TrustView, Vouch, VouchTable, trust

Clock = Callable[[], float]

# Below this many records a batch is verified on the calling thread; above it, libsodium
# (which releases the GIL) verifies half of it on a second thread.
PARALLEL_VERIFY_THRESHOLD = 32
MAX_VOUCH_DAYS = 365
# SPEC §9.7: what an out-of-scope author may place here by naming the owner.
GUEST_RECORDS_PER_AUTHOR = 64
GUEST_AUTHORS = 1000


@dataclass(frozen=True, slots=True)
class _Derived:
    vouches: list[Vouch]
    revoked: set[str]
    table: VouchTable
    charters: dict[str, Charter]


@dataclass(frozen=True, slots=True)
class _Refused:
    """A verified record refused for where it comes from, not for what it is (scope)."""

    record: VerifiedRecord
    error: ProtocolError


Verdict = VerifiedRecord | ProtocolError | _Refused


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of one record of a batch (SPEC §9.5)."""

    id: str | None
    status: str  # "accepted" | "duplicate" | "rejected"
    error: ProtocolError | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "error": self.error.as_dict() if self.error else None,
        }


@dataclass
class CheckReport:
    records: int = 0
    authors: int = 0
    forks: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "authors": self.authors,
            "forks": self.forks,
            "problems": self.problems,
        }


def _moves_my_contracts(record: VerifiedRecord, owner: str) -> bool:
    """Whether a record may oblige the owner's node to publish a receipt or a reveal:
    a sealed record sent to the owner, or a commitment about the owner (SPEC §12.4)."""
    if record.author == owner:
        return False
    if record.kind == "commit":
        return bool(record.body.get("subject") == owner)
    return record.kind in SEALED_KINDS and any(k["to"] == owner for k in record.body["keys"])


def _check(item: Any) -> CheckedRecord | ProtocolError:
    try:
        return check_record(item)
    except ProtocolError as exc:
        return exc


def _finish(
    checked: Sequence[CheckedRecord | ProtocolError],
) -> list[VerifiedRecord | ProtocolError]:
    """Check the signatures of records that passed every other check."""
    done: list[VerifiedRecord | ProtocolError] = []
    for item in checked:
        if isinstance(item, ProtocolError):
            done.append(item)
            continue
        try:
            done.append(item.verify())
        except ProtocolError as exc:
            done.append(exc)
    return done


class Node:
    """One member's node. Open with `Node.open(datadir)`; `close()` when done."""

    def __init__(self, datadir: DataDir, *, public_url: str = "", clock: Clock = time.time):
        self.datadir = datadir
        self.identity: Identity = datadir.load_identity()
        self.store = Store(datadir.db_path)
        self.public_url = public_url
        self._clock = clock
        self._write_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify")
        self._scope: tuple[tuple[int, int], Scope] | None = None
        self._derived_cache: tuple[int, _Derived] | None = None
        self._trust_cache: dict[tuple[int, str | None, int], TrustView] = {}
        self.on_publish: list[Callable[[VerifiedRecord], None]] = []
        self.market = Market(self)

    @property
    def did(self) -> str:
        return self.identity.did

    def __repr__(self) -> str:
        return f"Node({self.did!r})"

    def now(self) -> int:
        return int(self._clock())

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.store.close()

    # -- writing ----------------------------------------------------------------------

    def publish(
        self, kind: str, body: dict[str, Any], expires_at: int | None = None
    ) -> VerifiedRecord:
        """Sign a record with the owner's key and append it to the owner's chain.

        `created` is the clock, or the previous record's `created` if the clock went back
        (SPEC §7.3). Raises `ProtocolError` if the record would be invalid.
        """
        with self._write_lock:
            head = self.store.head(self.did)
            now = self.now()
            record = sign_record(
                self.identity,
                kind=kind,
                body=body,
                seq=head.seq + 1 if head else 1,
                prev=head.id if head else None,
                created_at=max(now, head.created_at) if head else now,
                expires_at=expires_at,
            )
            self.store.commit([record])
            self._advance_scope([record], [])
        for listener in self.on_publish:
            listener(record)
        return record

    def scope(self) -> Scope:
        """The owner's replication scope, recomputed when records arrive (and each minute,
        as vouches expire)."""
        key = (self.store.refs_version, self.now() // 60)
        if self._scope is None or self._scope[0] != key:
            self._scope = (key, compute_scope(self.store, self.did, self.now()))
        return self._scope[1]

    def _advance_scope(self, appends: Sequence[VerifiedRecord], forks: Sequence[ForkProof]) -> None:
        """Keep the cached scope current after a commit of vouches alone, instead of
        computing it again from every vouch held (a catch-up commits many such batches).
        Anything else — revokes, guild records, fork proofs — leaves the cache stale, and
        the next `scope()` computes it afresh."""
        cached = self._scope
        if cached is None or forks:
            return
        (_, minute), scope = cached
        now = self.now()
        if minute != now // 60:
            return
        relevant = [r for r in appends if references(r.kind, r.body)]
        if any(r.kind != "vouch" for r in relevant):
            return
        self._scope = (
            (self.store.refs_version, minute),
            scope.after_vouches(relevant, self.store, now),
        )

    def _admit(self, verdicts: Sequence[Verdict], scope: Scope) -> list[Verdict]:
        """SPEC §9.7: refuse records whose author is out of scope, except an author's records
        up to one that names the owner, within the guest quotas."""
        last_naming: dict[str, int] = {}
        for index, verdict in enumerate(verdicts):
            if (
                isinstance(verdict, VerifiedRecord)
                and verdict.author not in scope
                and names_owner(verdict, scope)
            ):
                last_naming[verdict.author] = index
        guests_held = None
        admitted: list[Verdict] = []
        for index, verdict in enumerate(verdicts):
            if not isinstance(verdict, VerifiedRecord) or verdict.author in scope:
                admitted.append(verdict)
            elif index > last_naming.get(verdict.author, -1):
                refusal = ProtocolError(
                    "out_of_scope", f"{verdict.author} is outside this node's scope."
                )
                admitted.append(_Refused(verdict, refusal))
            else:
                if guests_held is None:
                    guests_held = {a for a in self.store.heads() if a not in scope}
                new_guest = verdict.author not in guests_held
                if verdict.seq > GUEST_RECORDS_PER_AUTHOR or (
                    new_guest and len(guests_held) >= GUEST_AUTHORS
                ):
                    refusal = ProtocolError(
                        "quota_exceeded",
                        f"{verdict.author} is outside this node's scope and over the "
                        f"quota for records that name the owner.",
                    )
                    admitted.append(_Refused(verdict, refusal))
                else:
                    guests_held.add(verdict.author)
                    admitted.append(verdict)
        return admitted

    def ingest(
        self, unverified: Sequence[Any], *, scoped: bool = False, scope: Scope | None = None
    ) -> list[IngestResult]:
        """Judge each record on its own, store the good ones in one transaction, and answer
        record by record, in order (SPEC §9.5). Accepted records are durable on return.

        With `scoped`, records of authors outside the replication scope are refused
        (SPEC §9.7), as they are from peers; `scope` is the one to use (a sync round passes
        the scope it planned with, rather than have it computed again for every page)."""
        verdicts: list[Verdict] = list(self._verify_all(unverified))
        results: list[IngestResult] = []
        with self._write_lock:
            if scoped:
                verdicts = self._admit(verdicts, scope or self.scope())
            now = self.now()
            appends: list[VerifiedRecord] = []
            forks: list[ForkProof] = []
            states = self.store.chain_states(
                v.author for v in verdicts if isinstance(v, VerifiedRecord)
            )
            pending_heads: dict[str, ChainHead | None] = {a: h for a, (h, _) in states.items()}
            frozen: dict[str, int | None] = {a: f for a, (_, f) in states.items()}
            pending_ids: dict[tuple[str, int], VerifiedRecord] = {}
            for verdict in verdicts:
                if isinstance(verdict, ProtocolError):
                    results.append(IngestResult(None, "rejected", verdict))
                    continue
                if isinstance(verdict, _Refused):
                    results.append(IngestResult(verdict.record.id, "rejected", verdict.error))
                    continue
                record = verdict
                author = record.author
                in_batch = pending_ids.get((author, record.seq))
                head = pending_heads[author]
                if in_batch is not None:
                    held_id: str | None = in_batch.id
                elif head is None or record.seq > head.seq:
                    held_id = None  # past the head: nothing held there (no query needed)
                else:
                    held_id = self.store.id_at(author, record.seq)
                try:
                    placement = place(
                        record,
                        pending_heads[author],
                        held_id,
                        now=now,
                        frozen_at=frozen[author],
                    )
                except ProtocolError as exc:
                    results.append(IngestResult(record.id, "rejected", exc))
                    continue
                if placement is Placement.DUPLICATE:
                    results.append(IngestResult(record.id, "duplicate"))
                elif placement is Placement.FORK:
                    current = frozen[author]
                    if current is None or record.seq - 1 < current:  # lowest fork wins
                        first = (
                            in_batch.canonical
                            if in_batch
                            else self.store.canonical_at(author, record.seq)
                        )
                        assert first is not None
                        forks.append(ForkProof(author, record.seq, first, record.canonical))
                        frozen[author] = record.seq - 1
                    results.append(
                        IngestResult(
                            record.id,
                            "rejected",
                            ProtocolError(
                                "fork",
                                f"{author} already signed a different record at seq "
                                f"{record.seq}; kept as proof of a fork.",
                            ),
                        )
                    )
                else:
                    appends.append(record)
                    pending_ids[(author, record.seq)] = record
                    pending_heads[author] = ChainHead(record.seq, record.id, record.created_at)
                    results.append(IngestResult(record.id, "accepted"))
            self.store.commit(appends, forks)
            self._advance_scope(appends, forks)
        if any(_moves_my_contracts(r, self.did) for r in appends):
            self.market.settle()
        return results

    def _verify_all(self, unverified: Sequence[Any]) -> list[VerifiedRecord | ProtocolError]:
        """Verify a batch: the Python checks on this thread, then the signatures (libsodium
        releases the GIL) split between this thread and one more. (Overlapping the checks
        with the signatures measured slower: both halves then want the GIL.)"""
        checked = [_check(item) for item in unverified]
        if len(checked) < PARALLEL_VERIFY_THRESHOLD:
            return _finish(checked)
        half = len(checked) // 2
        second = self._pool.submit(_finish, checked[half:])
        return _finish(checked[:half]) + second.result()

    def keep_fork_proof(self, first: VerifiedRecord, second: VerifiedRecord) -> bool:
        """Keep a fork proof learnt from a peer: two verified records of one author at one
        seq with different ids (SPEC §7.5). Freezes that chain here too. Returns False if
        the pair proves nothing; True if it is (or an earlier proof was) kept."""
        if first.author != second.author or first.seq != second.seq or first.id == second.id:
            return False
        with self._write_lock:
            self.store.commit(
                [], [ForkProof(first.author, first.seq, first.canonical, second.canonical)]
            )
        return True

    # -- the owner's use cases ------------------------------------------------------

    def profile(self, did: str | None = None) -> dict[str, Any] | None:
        """The body of the latest `profile` record of `did` (default: the owner)."""
        latest = self.store.latest(did or self.did, "profile")
        if latest is None:
            return None
        body: dict[str, Any] = parse_json(latest)["body"]
        return body

    @property
    def name(self) -> str:
        profile = self.profile()
        return str(profile["name"]) if profile else ""

    def set_profile(
        self,
        *,
        name: str | None = None,
        organisation: bool | None = None,
        skills: Sequence[str] | None = None,
        bio: str | None = None,
        endpoints: Sequence[str] | None = None,
    ) -> VerifiedRecord:
        """Publish a new profile: the fields given replace those of the current one."""
        body = dict(self.profile() or {})
        if name is not None:
            body["name"] = name
        if organisation is not None:
            body["kind"] = "organisation" if organisation else "person"
        body.setdefault("kind", "person")
        for key, value in (("skills", skills), ("endpoints", endpoints)):
            if value is not None:
                body[key] = list(dict.fromkeys(value))
        if bio is not None:
            body["bio"] = bio
        if "name" not in body:
            raise NodeError("missing_name", "A profile needs a name: pass --name.")
        return self.publish("profile", body)

    def vouch(
        self,
        subject: str,
        *,
        level: int,
        context: str | None = None,
        statement: str | None = None,
        expires_days: int | None = None,
        evidence: str | None = None,
    ) -> VerifiedRecord:
        """Vouch for `subject`, optionally in a context, for at most 365 days."""
        try:
            public_key_from_did(subject)
        except ProtocolError as exc:
            raise NodeError(exc.code, exc.detail) from None
        if subject == self.did:
            raise NodeError("self_vouch", "You cannot vouch for yourself.")
        body: dict[str, Any] = {"subject": subject, "level": level}
        if context:
            body["context"] = context
        if statement:
            body["statement"] = statement
        if evidence:
            body["evidence"] = evidence
        expires_at = None
        if expires_days is not None:
            if not 1 <= expires_days <= MAX_VOUCH_DAYS:
                raise NodeError(
                    "invalid_argument", f"--expires-days must be between 1 and {MAX_VOUCH_DAYS}."
                )
            expires_at = self.now() + expires_days * 86_400
        return self.publish("vouch", body, expires_at)

    def revoke(self, target: str, *, reason: str | None = None) -> VerifiedRecord:
        """Revoke one of the owner's own records, by id."""
        canonical = self.store.get(target)
        if canonical is None:
            raise NodeError("not_found", f"No record {target} is held here.", 404)
        if parse_json(canonical)["author"] != self.did:
            raise NodeError("not_own_record", "You can revoke only your own records.")
        body: dict[str, Any] = {"target": target}
        if reason:
            body["reason"] = reason
        return self.publish("revoke", body)

    # -- trust and guilds -------------------------------------------------------------

    def _derived(self) -> _Derived:
        """Vouches, revocations and charters as values, rebuilt when records arrive."""
        version = self.store.refs_version
        if self._derived_cache is None or self._derived_cache[0] != version:
            vouches = derive.vouches(self.store)
            revoked = derive.revoked(self.store, vouches)
            evidence = self.market.evidence
            earned = evidence.feedback_vouches()
            self._derived_cache = (
                version,
                _Derived(
                    vouches=vouches,
                    revoked=revoked,
                    table=VouchTable.build(
                        vouches + earned, revoked=revoked, completed=evidence.completed()
                    ),
                    charters=derive.charters(self.store),
                ),
            )
        return self._derived_cache[1]

    def trust_view(self, context: str | None = None) -> TrustView:
        """The owner's view of everyone's trust in `context`, cached until records arrive
        (or the block list changes, or an hour passes, as vouches fade)."""
        key = (self.store.refs_version, context, self.now() // 3600)
        cached = self._trust_cache.get(key)
        if cached is None:
            if len(self._trust_cache) > 32:
                self._trust_cache.clear()
            cached = trust(
                self._derived().table,
                self.did,
                now=self.now(),
                context=context or None,
                blocked=self.store.blocked(),
            )
            self._trust_cache[key] = cached
        return cached

    def block(self, did: str) -> None:
        """Zero `did`'s trust for the owner alone; nothing is published."""
        self.check_did(did)
        if did == self.did:
            raise NodeError("self_block", "You cannot block yourself.")
        self.store.block(did, self.now())

    def unblock(self, did: str) -> None:
        if not self.store.unblock(did):
            raise NodeError("not_found", f"{did} is not blocked.", 404)

    @staticmethod
    def check_did(did: str) -> None:
        """Raise `NodeError` (`invalid_did`) unless `did` is a valid did:key."""
        try:
            public_key_from_did(did)
        except ProtocolError as exc:
            raise NodeError(exc.code, exc.detail) from None

    def charters(self) -> dict[str, Charter]:
        """Every guild charter held, by id."""
        return self._derived().charters

    def charter(self, guild_id: str) -> Charter:
        charter = self._derived().charters.get(guild_id)
        if charter is None:
            raise NodeError("not_found", f"No guild charter {guild_id} is held here.", 404)
        return charter

    def guild(self, guild_id: str) -> Membership:
        """The guild's members and applicants, derived from the records held."""
        derived = self._derived()
        return membership(
            self.charter(guild_id),
            derive.applications(self.store, guild_id),
            derived.vouches,
            now=self.now(),
            revoked=derived.revoked,
        )

    def guilds(self) -> list[Membership]:
        return [self.guild(gid) for gid in sorted(self._derived().charters)]

    def found_guild(
        self,
        name: str,
        purpose: str,
        *,
        vouches_required: int = 2,
        cofounders: Sequence[str] = (),
        skills: Sequence[str] = (),
        cooling_days: int = 7,
    ) -> VerifiedRecord:
        """Publish a charter with the owner and `cofounders` as founders. Cofounders count
        once they apply to it."""
        for did in cofounders:
            self.check_did(did)
        founders = list(dict.fromkeys([self.did, *cofounders]))
        if vouches_required > len(founders):
            raise NodeError(
                "invalid_argument",
                f"--vouches-required {vouches_required} is more than the {len(founders)} "
                "founders could ever give.",
            )
        admission: dict[str, Any] = {
            "vouches_required": vouches_required,
            "cooling_days": cooling_days,
        }
        if skills:
            admission["skills"] = list(dict.fromkeys(skills))
        body = {"name": name, "purpose": purpose, "founders": founders, "admission": admission}
        return self.publish("guild", body)

    def apply_guild(self, guild_id: str, note: str | None = None) -> VerifiedRecord:
        self.charter(guild_id)
        body: dict[str, Any] = {"guild": guild_id}
        if note:
            body["note"] = note
        return self.publish("apply", body)

    def leave_guild(self, guild_id: str, reason: str | None = None) -> VerifiedRecord:
        self.charter(guild_id)
        body: dict[str, Any] = {"guild": guild_id}
        if reason:
            body["reason"] = reason
        return self.publish("leave", body)

    # -- briefs -----------------------------------------------------------------------

    def briefs(self) -> list[Brief]:
        """Every brief held in a served chain."""
        found = []
        for rid, canonical in self.store.records(kind="brief"):
            record = parse_json(canonical)
            if self.store.refs("brief", record_ids=[rid]):  # not beyond a fork's freeze
                found.append(
                    Brief(
                        id=rid,
                        author=record["author"],
                        created_at=parse_timestamp(record["created"]),
                        expires_at=parse_timestamp(record["expires"])
                        if "expires" in record
                        else None,
                        body=record["body"],
                    )
                )
        return found

    def brief(self, brief_id: str) -> Brief:
        for brief in self.briefs():
            if brief.id == brief_id:
                return brief
        raise NodeError("not_found", f"No brief {brief_id} is held here.", 404)

    def post_brief(
        self,
        *,
        guilds: Sequence[str],
        title: str,
        description: str,
        acceptance_criteria: Sequence[str],
        budget_min: int,
        budget_max: int,
        currency: str,
        engagement: str = "fixed",
        skills: Sequence[str] = (),
        deadline_days: int | None = None,
        expires_days: int = 30,
    ) -> VerifiedRecord:
        """Publish a brief to guilds. Refuses what would have no effect (SPEC §6.8)."""
        if not 1 <= expires_days <= 30:
            raise NodeError("invalid_argument", "A brief expires 1 to 30 days after it is posted.")
        if budget_min > budget_max:
            raise NodeError("invalid_budget", "The budget's minimum is above its maximum.")
        if currency not in ISO_4217:
            raise NodeError("invalid_currency", f"{currency!r} is not an ISO 4217 currency code.")
        now = self.now()
        body: dict[str, Any] = {
            "guilds": list(dict.fromkeys(guilds)),
            "title": title,
            "description": description,
            "acceptance_criteria": list(acceptance_criteria),
            "budget": {"min": budget_min, "max": budget_max, "currency": currency},
            "engagement": engagement,
        }
        if skills:
            body["skills"] = list(dict.fromkeys(skills))
        if deadline_days is not None:
            body["deadline"] = format_timestamp(now + deadline_days * 86_400)
        return self.publish("brief", body, now + expires_days * 86_400)

    # -- reading ------------------------------------------------------------------------

    def records(self, author: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Held records as wire objects, each with its id, by author then seq."""
        return [
            {"id": rid, "record": parse_json(canonical)}
            for rid, canonical in self.store.records(author=author, kind=kind)
        ]

    def check(self) -> CheckReport:
        """Re-verify every stored record, every chain link, every head and every fork proof."""
        report = CheckReport()
        last: dict[str, VerifiedRecord] = {}
        for rid, canonical in self.store.records():
            report.records += 1
            try:
                record = verify_record(parse_json(canonical), expected_id=rid)
            except ProtocolError as exc:
                report.problems.append(f"record {rid}: {exc.code}: {exc.detail}")
                continue
            if record.canonical != canonical:
                report.problems.append(f"record {rid}: stored bytes are not canonical")
            previous = last.get(record.author)
            head = ChainHead(previous.seq, previous.id, previous.created_at) if previous else None
            try:
                place(record, head, None, now=record.created_at)
            except ProtocolError as exc:
                report.problems.append(f"record {rid}: {exc.code}: {exc.detail}")
            last[record.author] = record
        report.authors = len(last)
        heads = {author: (seq, rid) for author, seq, rid, _ in self.store.heads_rows()}
        for author, record in last.items():
            if heads.get(author) != (record.seq, record.id):
                report.problems.append(f"head of {author} does not match its last record")
        for author in set(heads) - set(last):
            report.problems.append(f"head of {author} names no stored record")
        for proof in self.store.forks():
            report.forks += 1
            try:
                first = verify_record(parse_json(proof.first))
                second = verify_record(parse_json(proof.second))
            except ProtocolError as exc:
                report.problems.append(f"fork proof of {proof.author}: {exc.code}: {exc.detail}")
                continue
            if not (
                first.author == second.author == proof.author
                and first.seq == second.seq == proof.seq
                and first.id != second.id
            ):
                report.problems.append(f"fork proof of {proof.author} proves nothing")
        return report
