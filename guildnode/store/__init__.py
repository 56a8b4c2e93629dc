"""The node's database: SQLite through sqlite-utils, the one place that writes it.

The store never decides validity. It accepts only `VerifiedRecord`s, appends each author's
records strictly in chain order, and commits a batch (appends and fork proofs together) in
one transaction, so a crash leaves either all of it or none. Reads give back the exact
canonical bytes that were verified, so serving a feed needs no re-encoding.

`Store` is one class over one connection and one lock, put together from a mixin per area:
`connection` (opening, the lock, the change counters), `schema` (the migrations),
`records` (records, chain heads, fork proofs), `refs` (reference queries), `owner`
(feedback drafts, the block list, peers) and `indexers` (the indexers the owner named).
"""

from .indexers import IndexersMixin
from .owner import OwnerMixin
from .records import ChainOrderError, ForkProof, RecordsMixin
from .refs import Ref, RefsMixin
from .schema import MIGRATIONS


class Store(RecordsMixin, RefsMixin, OwnerMixin, IndexersMixin):
    """One node's SQLite database. Thread-safe: every call holds one lock."""


__all__ = ["MIGRATIONS", "ChainOrderError", "ForkProof", "Ref", "Store"]
