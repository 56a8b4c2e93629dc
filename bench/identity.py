"""Identity benchmark (SPEC §14): what reading records through `identities` costs the node's
derivations and its replication scope, beside the same work without it, in the same run.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.identity [--authors 200] [--per-author 100]
        [--rotations 100]

Workload (not timed): `--authors` keys each writing `--per-author` vouches (chained, signed
for real) into a fresh SQLite store; then `--rotations` of those keys rotate to a fresh key
that accepts (a `rotate` and a `succeed` each). Measured, median of 5: `derive.identities`;
`derive.vouches` through the resolved identities vs. without them (the limit: the same query
with no mapping); `compute_scope` with links between keys followed vs. with that step off.
Goal: each ratio ≤ 1.5. A correctness failure (a rotated key not one member) exits 1.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from guildnode import derive
from guildnode import scope as scoping
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.store import Store

from .common import BenchFailure, run, verdict

T0 = 1_790_000_000
GOAL = 1.5


def _median(work: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _key(n: int) -> Identity:
    return Identity(n.to_bytes(4, "big") + bytes(28))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", type=int, default=200)
    parser.add_argument("--per-author", type=int, default=100)
    parser.add_argument("--rotations", type=int, default=100)
    args = parser.parse_args()
    keys = [_key(n + 1) for n in range(args.authors * 2)]
    records: list[VerifiedRecord] = []
    heads: dict[str, VerifiedRecord] = {}

    def sign(key: Identity, kind: str, body: dict[str, object]) -> VerifiedRecord:
        head = heads.get(key.did)
        record = sign_record(
            key,
            kind=kind,
            body=body,
            seq=head.seq + 1 if head else 1,
            prev=head.id if head else None,
            created_at=T0 + (head.seq if head else 0),
        )
        heads[key.did] = record
        records.append(record)
        return record

    for a in range(args.authors):
        for j in range(args.per_author):
            sign(keys[a], "vouch", {"subject": keys[(a * 7 + j + 1) % len(keys)].did, "level": 2})
    rotated = []
    for a in range(min(args.rotations, args.authors)):
        new = _key(10_000_000 + a)
        rotation = sign(keys[a], "rotate", {"successor": new.did})
        sign(new, "succeed", {"predecessor": keys[a].did, "via": rotation.id})
        rotated.append((keys[a].did, new.did))

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "node.db")
        try:
            for start in range(0, len(records), 1000):
                store.commit(records[start : start + 1000])
            ids = derive.identities(store)
            if any(ids.member(old) != new for old, new in rotated):
                raise BenchFailure("a rotated key is not one member with its successor")
            now = T0 + 10_000
            owner = keys[0].did
            t_ids = _median(lambda: derive.identities(store))
            t_mapped = _median(lambda: derive.vouches(store, derive.identities(store)))
            t_plain = _median(lambda: derive.vouches(store))
            t_linked = _median(lambda: scoping.compute_scope(store, owner, now))
            real = scoping.linked_keys
            scoping.linked_keys = lambda reader, dids: set(dids)
            try:
                t_unlinked = _median(lambda: scoping.compute_scope(store, owner, now))
            finally:
                scoping.linked_keys = real
        finally:
            store.close()
    vouch_ratio, scope_ratio = t_mapped / t_plain, t_linked / t_unlinked
    print(f"records: {len(records):,} ({len(rotated)} rotations)")
    print(f"derive.identities: {t_ids * 1e3:.1f} ms")
    print(
        f"derive.vouches through identities: {t_mapped * 1e3:.1f} ms vs {t_plain * 1e3:.1f} ms "
        f"without: {vouch_ratio:.2f}x  {verdict(vouch_ratio <= GOAL)}"
    )
    print(
        f"compute_scope with links: {t_linked * 1e3:.1f} ms vs {t_unlinked * 1e3:.1f} ms "
        f"without: {scope_ratio:.2f}x  {verdict(scope_ratio <= GOAL)}"
    )
    return 0


if __name__ == "__main__":
    run(main)
