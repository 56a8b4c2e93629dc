"""Ingest: how a node takes in records it did not sign (SPEC §9.5).

A batch is verified first — the Python checks on the calling thread a chunk at a time, the
signatures of each checked chunk on a verifying thread meanwhile (libsodium releases the GIL),
and those it has not reached on the calling thread once the checks are done — and then, under
the node's one write lock, admitted by scope and guest quota (SPEC §9.7), placed in its
authors' chains, and committed with any fork proofs it revealed (SPEC §7.5), all in one
transaction. A stream of batches (`Ingest.stream`) verifies the next batch while this one
commits. `Ingest` sits beside `Node` (`Node.ingest`, `Node.ingest_stream` and
`Node.keep_fork_proof` hand over to it) and owns the verifying thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .protocol import ChainHead, Placement, ProtocolError, VerifiedRecord, place
from .protocol.kinds import SEALED_KINDS
from .protocol.records import CheckedRecord, check_record
from .scope import Scope, names_owner
from .store import ForkProof

if TYPE_CHECKING:
    from .node import Node


# Below this many records a batch is verified on the calling thread; above it, the calling
# thread checks it VERIFY_CHUNK records at a time and a verifying thread checks the
# signatures of each chunk (libsodium releases the GIL) while the next one is checked; the
# caller verifies the chunks left when it needs the verdicts. One verifying thread and the
# caller make two: a second verifying thread measured slower (it starves the commit of a
# stream, `Ingest.stream`, of its core).
PARALLEL_VERIFY_THRESHOLD = 32
VERIFY_CHUNK = 50
VERIFY_THREADS = 1
# SPEC §9.7: what an out-of-scope author may place here by naming the owner.
GUEST_RECORDS_PER_AUTHOR = 64
GUEST_AUTHORS = 1000


@dataclass(frozen=True, slots=True)
class _Refused:
    """A verified record refused for where it comes from, not for what it is (scope)."""

    record: VerifiedRecord
    error: ProtocolError


Verdict = VerifiedRecord | ProtocolError | _Refused


@dataclass(frozen=True, slots=True)
class _Done:
    """A chunk verified on the calling thread."""

    verdicts: list[VerifiedRecord | ProtocolError]

    def run(self) -> None:
        pass

    def result(self) -> list[VerifiedRecord | ProtocolError]:
        return self.verdicts


class _Chunk:
    """Checked records whose signatures are still to be checked, by whichever thread claims
    them first: the verifying thread, or the caller once it needs the verdicts (so neither
    core idles while the other has signatures left)."""

    __slots__ = ("_checked", "_claim", "_done", "_error", "_verdicts")

    def __init__(self, checked: list[CheckedRecord | ProtocolError]) -> None:
        self._checked = checked
        self._claim = threading.Lock()
        self._done = threading.Event()
        self._verdicts: list[VerifiedRecord | ProtocolError] = []
        self._error: BaseException | None = None

    def run(self) -> None:
        """Verify the chunk here, unless another thread has begun it."""
        if not self._claim.acquire(blocking=False):
            return
        try:
            self._verdicts = _finish(self._checked)
        except BaseException as exc:  # pragma: no cover - _finish turns bad input into verdicts
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> list[VerifiedRecord | ProtocolError]:
        self.run()
        self._done.wait()
        if self._error is not None:  # pragma: no cover
            raise self._error
        return self._verdicts


@dataclass(frozen=True, slots=True)
class Verifying:
    """A batch being verified, chunk by chunk, in order (`Ingest.begin`); `Ingest.finish`
    places and commits it."""

    parts: list[_Done | _Chunk]

    def result(self) -> list[Verdict]:
        """The verdicts in order. The caller first verifies, from the last chunk back, those
        the verifying thread has not begun (it takes them from the first on), then waits for
        the rest."""
        for part in reversed(self.parts):
            part.run()
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
        self._pool = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="verify")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

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
        durable, exactly as consecutive calls of `batch` would answer; but the next batch's
        checks and signatures run while this one is placed and committed (SQLite and
        libsodium both release the GIL), so a stream keeps both cores busy."""
        ahead: Verifying | None = None
        for unverified in batches:
            started = self.begin(unverified)
            if ahead is not None:
                yield self.finish(ahead, scoped=scoped, scope=scope)
            ahead = started
        if ahead is not None:
            yield self.finish(ahead, scoped=scoped, scope=scope)

    def finish(
        self, verifying: Verifying, *, scoped: bool = False, scope: Scope | None = None
    ) -> list[IngestResult]:
        """The second half of `batch`: wait for the batch `begin` started to be verified,
        then place its records in their chains and commit them, under the write lock. A
        caller that holds several batches may `begin` the next before it `finish`es this
        one; it must `finish` them in the order it began them."""
        node = self._node
        verdicts: list[Verdict] = verifying.result()
        results: list[IngestResult] = []
        with self._write_lock:
            if scoped:
                verdicts = self._admit(verdicts, scope or node.scope())
            now = node.now()
            appends: list[VerifiedRecord] = []
            forks: list[ForkProof] = []
            states = node.store.chain_states(
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
                    held_id = node.store.id_at(author, record.seq)
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
                            else node.store.canonical_at(author, record.seq)
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
            node.store.commit(appends, forks)
            self._advance_scope(appends, forks)
        if any(_moves_my_contracts(r, node.did) for r in appends):
            node.market.settle()
        if appends:
            for listener in node.on_ingest:
                listener(appends)
        return results

    def begin(self, unverified: Sequence[Any]) -> Verifying:
        """The first half of `batch`: start verifying a batch. The Python checks run on this
        thread, a chunk at a time, each chunk's signatures handed to the verifying thread as
        soon as it is checked, so that libsodium (which releases the GIL) works while the
        next chunk is checked; the signatures may still be under way on return, and
        `Verifying.result` has the caller verify what is left."""
        if len(unverified) < PARALLEL_VERIFY_THRESHOLD:
            return Verifying([_Done(_finish([_check(item) for item in unverified]))])
        parts: list[_Done | _Chunk] = []
        for start in range(0, len(unverified), VERIFY_CHUNK):
            chunk = _Chunk([_check(item) for item in unverified[start : start + VERIFY_CHUNK]])
            self._pool.submit(chunk.run)
            parts.append(chunk)
        return Verifying(parts)

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
