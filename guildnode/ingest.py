"""Ingest: how a node takes in records it did not sign (SPEC §9.5).

A batch is verified first — the Python checks on the calling thread a chunk at a time, the
signatures of each checked chunk in the verifying process (`guildnode.verifier`, on the
other core) meanwhile, except a share the calling thread keeps and verifies itself while the
process works — and then, under the node's one write lock, admitted by scope and guest quota
(SPEC §9.7), placed in its authors' chains, and committed with any fork proofs it revealed
(SPEC §7.5), all in one transaction. A stream of batches (`Ingest.stream`) verifies the next
batches while these commit, and commits unscoped batches in groups. `Ingest` sits beside
`Node` (`Node.ingest`, `Node.ingest_stream` and `Node.keep_fork_proof` hand over to it) and
owns the verifying process.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .protocol import ChainHead, Placement, ProtocolError, VerifiedRecord, place
from .protocol.kinds import SEALED_KINDS
from .protocol.records import CheckedRecord, check_record
from .scope import Scope, names_owner
from .store import ForkProof
from .verifier import Verifier

if TYPE_CHECKING:
    from .node import Node


# Below this many records a batch is verified on the calling thread; above it, the calling
# thread checks it VERIFY_CHUNK records at a time and sends each checked chunk to a verifying
# process (a process, because a second thread waits for the GIL while this one runs the
# checks), keeping a share of the chunks to verify itself meanwhile: 40 % of a lone batch
# (its checks come first), 10 % in a stream, whose caller also places and commits the
# batches before. The process runs below the node's priority (`guildnode.verifier`), so the
# calling thread comes first. A second process measured no faster on two cores
# (`uv run python -m bench.ingest`).
PARALLEL_VERIFY_THRESHOLD = 32
VERIFY_CHUNK = 25
VERIFY_PROCESSES = 1
KEEP_SHARE = 0.4
STREAM_KEEP_SHARE = 0.1
# `Ingest.stream` commits unscoped batches together, at least this many records at a time.
STREAM_GROUP = 2000
# SPEC §9.7: what an out-of-scope author may place here by naming the owner.
GUEST_RECORDS_PER_AUTHOR = 64
GUEST_AUTHORS = 1000


@dataclass(frozen=True, slots=True)
class _Refused:
    """A verified record refused for where it comes from, not for what it is (scope)."""

    record: VerifiedRecord
    error: ProtocolError


Verdict = VerifiedRecord | ProtocolError | _Refused


class _Chunk:
    """Checked records whose signatures are still to be checked: by the verifying process
    (`guildnode.verifier`) when the chunk was sent there, else — or if the process fails —
    by the caller, once it needs the verdicts."""

    __slots__ = ("_checked", "_ticket", "_verdicts", "_verifier")

    def __init__(
        self, checked: list[CheckedRecord | ProtocolError], verifier: Verifier | None
    ) -> None:
        self._checked = checked
        self._verifier = verifier
        self._verdicts: list[VerifiedRecord | ProtocolError] | None = None
        self._ticket = None
        if verifier is not None:
            signed = [
                (bytes(item.key), item.signature, item.message)
                for item in checked
                if isinstance(item, CheckedRecord)
            ]
            if signed:  # else nothing is left to verify
                self._ticket = verifier.submit(signed)

    @property
    def sent(self) -> bool:
        return self._ticket is not None

    def result(self) -> list[VerifiedRecord | ProtocolError]:
        if self._verdicts is None:
            answer = None
            if self._verifier is not None and self._ticket is not None:
                answer = self._verifier.answer(self._ticket)
            self._verdicts = (
                _finish(self._checked) if answer is None else _judged(self._checked, answer)
            )
        return self._verdicts


@dataclass(frozen=True, slots=True)
class Verifying:
    """A batch being verified, chunk by chunk, in order (`Ingest.begin`); `Ingest.finish`
    places and commits it."""

    parts: list[_Chunk]
    size: int

    def __len__(self) -> int:
        return self.size

    def result(self) -> list[Verdict]:
        """The verdicts in order. The caller first verifies the chunks it kept (the
        verifying process works on the others meanwhile), then collects the process's."""
        for part in self.parts:
            if not part.sent:
                part.result()
        return [verdict for part in self.parts for verdict in part.result()]


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


def _moves_my_contracts(record: VerifiedRecord, owner: str) -> bool:
    """Whether a record may oblige the owner's node to publish a receipt or a reveal:
    a sealed record sent to the owner, or a commitment about the owner (SPEC §12.4)."""
    if record.author == owner:
        return False
    if record.kind == "commit":
        return bool(record.body.get("subject") == owner)
    return record.kind in SEALED_KINDS and any(k["to"] == owner for k in record.body["keys"])


def _chunks(unverified: Sequence[Any]) -> int:
    """How many chunks `Ingest.begin` splits a batch into."""
    if len(unverified) < PARALLEL_VERIFY_THRESHOLD:
        return 0
    return -(-len(unverified) // VERIFY_CHUNK)


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


def _judged(
    checked: Sequence[CheckedRecord | ProtocolError], answer: bytes
) -> list[VerifiedRecord | ProtocolError]:
    """`_finish`, with the verifying process's verdicts (a byte per checked record)."""
    done: list[VerifiedRecord | ProtocolError] = []
    verdicts = iter(answer)
    for item in checked:
        if isinstance(item, ProtocolError):
            done.append(item)
            continue
        try:
            done.append(item.judged(next(verdicts) == 1))
        except ProtocolError as exc:
            done.append(exc)
    return done


class _Placing:
    """Records placed in their authors' chains (SPEC §7) one after another, each against the
    chains as the records before it left them, before any of them is committed."""

    def __init__(self, node: Node, authors: Iterable[str]) -> None:
        self._store = node.store
        states = self._store.chain_states(authors)
        self._heads: dict[str, ChainHead | None] = {a: h for a, (h, _) in states.items()}
        self._frozen: dict[str, int | None] = {a: f for a, (_, f) in states.items()}
        self._placed: dict[tuple[str, int], VerifiedRecord] = {}
        self.appends: list[VerifiedRecord] = []
        self.forks: list[ForkProof] = []

    def place(self, verdict: Verdict, now: int) -> IngestResult:
        if isinstance(verdict, ProtocolError):
            return IngestResult(None, "rejected", verdict)
        if isinstance(verdict, _Refused):
            return IngestResult(verdict.record.id, "rejected", verdict.error)
        record = verdict
        author = record.author
        earlier = self._placed.get((author, record.seq))
        head = self._heads[author]
        if earlier is not None:
            held_id: str | None = earlier.id
        elif head is None or record.seq > head.seq:
            held_id = None  # past the head: nothing held there (no query needed)
        else:
            held_id = self._store.id_at(author, record.seq)
        try:
            placement = place(record, head, held_id, now=now, frozen_at=self._frozen[author])
        except ProtocolError as exc:
            return IngestResult(record.id, "rejected", exc)
        if placement is Placement.DUPLICATE:
            return IngestResult(record.id, "duplicate")
        if placement is Placement.FORK:
            current = self._frozen[author]
            if current is None or record.seq - 1 < current:  # lowest fork wins
                first = (
                    earlier.canonical if earlier else self._store.canonical_at(author, record.seq)
                )
                assert first is not None
                self.forks.append(ForkProof(author, record.seq, first, record.canonical))
                self._frozen[author] = record.seq - 1
            return IngestResult(
                record.id,
                "rejected",
                ProtocolError(
                    "fork",
                    f"{author} already signed a different record at seq {record.seq}; "
                    "kept as proof of a fork.",
                ),
            )
        self.appends.append(record)
        self._placed[(author, record.seq)] = record
        self._heads[author] = ChainHead(record.seq, record.id, record.created_at)
        return IngestResult(record.id, "accepted")


class Ingest:
    """The node's ingest pipeline (`Node.ingest`, `Node.keep_fork_proof`). It reads the
    node's store, clock, scope and owner; it shares the node's write lock (publishing takes
    it too) and calls `advance_scope` under it after each commit, as `Node.publish` does."""

    def __init__(
        self,
        node: Node,
        *,
        write_lock: threading.Lock,
        advance_scope: Callable[[Sequence[VerifiedRecord], Sequence[ForkProof]], None],
    ) -> None:
        self._node = node
        self._write_lock = write_lock
        self._advance_scope = advance_scope
        self._verifiers = [Verifier() for _ in range(VERIFY_PROCESSES)]
        self._turn = itertools.count()  # which process the next chunk goes to

    def close(self) -> None:
        for verifier in self._verifiers:
            verifier.close()

    def start_verifying(self, *, wait: bool = False) -> bool:
        """Start the verifying processes now, not at the first large batch
        (`Verifier.start`); True if all are ready."""
        return all([verifier.start(wait=wait) for verifier in self._verifiers])

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
                    guests_held = {a for a in self._node.store.heads() if a not in scope}
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

    def batch(
        self, unverified: Sequence[Any], *, scoped: bool = False, scope: Scope | None = None
    ) -> list[IngestResult]:
        """Judge each record on its own, store the good ones in one transaction, and answer
        record by record, in order (SPEC §9.5). Accepted records are durable on return.

        With `scoped`, records of authors outside the replication scope are refused
        (SPEC §9.7), as they are from peers; `scope` is the one to use (a sync round passes
        the scope it planned with, rather than have it computed again for every page)."""
        return self.finish(self.begin(unverified), scoped=scoped, scope=scope)

    def stream(
        self,
        batches: Iterable[Sequence[Any]],
        *,
        scoped: bool = False,
        scope: Scope | None = None,
    ) -> Iterator[list[IngestResult]]:
        """`batch` for each of `batches` in turn, the results of each yielded once it is
        durable, exactly as consecutive calls of `batch` would answer; but the next batches'
        checks and signatures run while these are placed and committed (SQLite and
        libsodium both release the GIL), so a stream keeps both cores busy.

        Unscoped, consecutive batches are committed together, at least `STREAM_GROUP`
        records a transaction (group commit: one fsync, and each index page written once,
        for several batches), so a batch's results may wait for the batches after it and
        the store may hold later batches of the stream before earlier results are yielded.
        Scoped, every batch is its own transaction: what one batch brings into the scope
        decides what the next may place (SPEC §9.7)."""
        group_size = 1 if scoped else STREAM_GROUP
        committing: list[Verifying] = []
        verifying: list[Verifying] = []
        owed = 0.0  # chunks this thread owes the stream's share (STREAM_KEEP_SHARE)
        for unverified in batches:
            owed += _chunks(unverified) * STREAM_KEEP_SHARE
            kept = int(owed)
            owed -= kept
            verifying.append(self._begin(unverified, kept))
            if sum(len(v) for v in verifying) >= group_size:
                if committing:
                    yield from self._finish(committing, scoped=scoped, scope=scope)
                committing, verifying = verifying, []
        for group in (committing, verifying):
            if group:
                yield from self._finish(group, scoped=scoped, scope=scope)

    def finish(
        self, verifying: Verifying, *, scoped: bool = False, scope: Scope | None = None
    ) -> list[IngestResult]:
        """The second half of `batch`: wait for the batch `begin` started to be verified,
        then place its records in their chains and commit them, under the write lock. A
        caller that holds several batches may `begin` the next before it `finish`es this
        one; it must `finish` them in the order it began them."""
        return self._finish([verifying], scoped=scoped, scope=scope)[0]

    def _finish(
        self, group: Sequence[Verifying], *, scoped: bool, scope: Scope | None
    ) -> list[list[IngestResult]]:
        """`finish` of consecutive batches in one transaction, each placed after the ones
        before it as if they had been committed already, their results batch by batch."""
        node = self._node
        judged: list[list[Verdict]] = [verifying.result() for verifying in group]
        answers: list[list[IngestResult]] = []
        with self._write_lock:
            if scoped:
                judged = [self._admit(verdicts, scope or node.scope()) for verdicts in judged]
            placing = _Placing(
                node,
                (
                    v.author
                    for verdicts in judged
                    for v in verdicts
                    if isinstance(v, VerifiedRecord)
                ),
            )
            for verdicts in judged:
                now = node.now()
                answers.append([placing.place(verdict, now) for verdict in verdicts])
            node.store.commit(placing.appends, placing.forks)
            self._advance_scope(placing.appends, placing.forks)
        appends = placing.appends
        if any(_moves_my_contracts(r, node.did) for r in appends):
            node.market.settle()
        if appends:
            for listener in node.on_ingest:
                listener(appends)
        return answers

    def begin(self, unverified: Sequence[Any]) -> Verifying:
        """The first half of `batch`: start verifying a batch. The Python checks run on this
        thread, a chunk at a time, and each checked chunk goes to the verifying process
        (`guildnode.verifier`) at once, so that its signatures are checked on the other
        core while the next chunk is checked here; but the last half of the chunks stay
        here, for `Verifying.result` to verify while the process works on the others."""
        return self._begin(unverified, round(_chunks(unverified) * KEEP_SHARE))

    def _next_verifier(self) -> Verifier:
        return self._verifiers[next(self._turn) % len(self._verifiers)]

    def _begin(self, unverified: Sequence[Any], kept: int) -> Verifying:
        """`begin`, keeping the last `kept` chunks on this thread."""
        if len(unverified) < PARALLEL_VERIFY_THRESHOLD:
            return Verifying([_Chunk([_check(item) for item in unverified], None)], len(unverified))
        starts = range(0, len(unverified), VERIFY_CHUNK)
        parts = [
            _Chunk(
                [_check(item) for item in unverified[start : start + VERIFY_CHUNK]],
                self._next_verifier() if number < len(starts) - kept else None,
            )
            for number, start in enumerate(starts)
        ]
        return Verifying(parts, len(unverified))

    def keep_fork_proof(self, first: VerifiedRecord, second: VerifiedRecord) -> bool:
        """Keep a fork proof learnt from a peer: two verified records of one author at one
        seq with different ids (SPEC §7.5). Freezes that chain here too. Returns False if
        the pair proves nothing; True if it is (or an earlier proof was) kept."""
        if first.author != second.author or first.seq != second.seq or first.id == second.id:
            return False
        with self._write_lock:
            self._node.store.commit(
                [], [ForkProof(first.author, first.seq, first.canonical, second.canonical)]
            )
        return True
