"""Chain rules: where a verified record may go in its author's log (SPEC §7).

Pure: the caller passes the author's current head (or the record already held at that seq)
and the receiver's clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import ProtocolError
from .records import VerifiedRecord

MAX_CLOCK_AHEAD = 300  # SPEC §7.4: seconds `created` may lead the receiver's clock


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The latest record of an author's chain that a node holds."""

    seq: int
    id: str
    created_at: int


class Placement(enum.Enum):
    APPEND = "append"
    DUPLICATE = "duplicate"
    FORK = "fork"


def place(
    record: VerifiedRecord,
    head: ChainHead | None,
    held_id_at_seq: str | None,
    *,
    now: int,
    frozen_at: int | None = None,
) -> Placement:
    """Decide what `record` is to its author's chain as held (SPEC §7).

    `held_id_at_seq` is the id of the record already held at `record.seq`, if any;
    `frozen_at` is the seq a proven fork froze the chain at. Returns `DUPLICATE` for a record
    already held, `FORK` for a different record at a held seq, `APPEND` for the next link.
    Raises `created_in_future`, `chain_frozen`, `seq_gap`, `wrong_prev` or
    `created_before_prev`.
    """
    if held_id_at_seq is not None:
        return Placement.DUPLICATE if held_id_at_seq == record.id else Placement.FORK
    if record.created_at > now + MAX_CLOCK_AHEAD:
        raise ProtocolError(
            "created_in_future",
            f"`created` is {record.created_at - now} s ahead of this node's clock "
            f"(at most {MAX_CLOCK_AHEAD} s allowed).",
        )
    if frozen_at is not None and record.seq > frozen_at:
        raise ProtocolError(
            "chain_frozen",
            f"{record.author}'s chain is frozen at seq {frozen_at} by a proven fork.",
        )
    expected = 1 if head is None else head.seq + 1
    if record.seq != expected:
        # A seq at or below the head always has a held record, so this is a gap.
        raise ProtocolError(
            "seq_gap", f"seq {record.seq} does not follow: the next seq is {expected}."
        )
    if head is not None:
        if record.prev != head.id:  # SPEC §7.2
            raise ProtocolError(
                "wrong_prev", f"`prev` is not {head.id}, the id of the record at seq {head.seq}."
            )
        if record.created_at < head.created_at:  # SPEC §7.3
            raise ProtocolError(
                "created_before_prev", "`created` is earlier than the previous record's."
            )
    return Placement.APPEND
