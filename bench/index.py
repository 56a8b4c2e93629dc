"""Indexer benchmark: ingest from many feeds, and search latency (issue 12).

    uv run python -m bench.index [--records 200000] [--feeds 2000] [--queries 300]
                                 [--database postgresql://…]

Goals: the indexer ingests at least 0.5× the rate at which a member node ingests the same
records directly (`Node.ingest`, measured in the same run), and its search API answers with
a p99 latency at most 3× that of a bare PostgreSQL full-text query on the same table.

The workload — `--feeds` fixed identities, each a chain of `--records / --feeds` signed
public records (a profile, one listed guild charter per 20 authors, then briefs and vouches
in turn; brief titles and descriptions are words drawn from a fixed vocabulary) — is signed
before anything is timed. Measured:

* member direct — a fresh member node's `Node.ingest` of the records in batches of 200
  (fresh dicts, as a peer's page arrives), into its SQLite store;
* indexer — that member node then runs as a real `guildnode run` process on 127.0.0.1, and
  a fresh indexer (in this process, on PostgreSQL) follows it: one round, heads then every
  feed page over HTTP, each record verified by the same `Ingest` and stored; the rate is
  records held at the end over the round's wall time;
* search — `guildnode indexer run` as a real process on the indexed database; `--queries`
  queries (one or two words of the vocabulary; a third with a skill filter), each sent once
  to `GET /search/briefs` over loopback HTTP and once as the bare query
  `SELECT id FROM briefs, websearch_to_tsquery('english', q) … ORDER BY ts_rank … LIMIT 20`
  through psycopg, alternately, so both see the same load; p50 and p99 of each. The
  indexer's own SQL for the query (`indexer.search.sql_for`: its filters, ranking and the
  records' bytes), run directly, is printed between them, to show where the time goes.

`--database` names an empty database to use (its tables are dropped first); without it the
benchmark starts a throwaway PostgreSQL cluster (fsync on, as in production). Every count is
checked (all records accepted, all held); a failed check exits 1. A goal not met is a
measurement (BELOW), exit 0. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import (
    BenchFailure,
    free_port,
    guildnode_command,
    run,
    running_server,
    step_logger,
    verdict,
    wait_until_up,
)
from guildnode.datadir import DataDir
from guildnode.indexer.app import Indexer, IndexerSettings
from guildnode.indexer.cluster import TempCluster
from guildnode.indexer.search import parse_query, sql_for
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, sign_record

BATCH = 200
DAY = 86_400
SKILLS = ["python", "rust", "go", "design", "data", "devops", "react", "embedded", "ml", "sql"]
CURRENCIES = ["EUR", "USD", "GBP"]


def vocabulary(size: int = 3000) -> list[str]:
    """Fixed pseudo-words: consonant-vowel syllables, two to four of them."""
    rng = random.Random(12)
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < size:
        words.add(
            "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        )
    return sorted(words)


class Chain:
    """One author's chain as it is signed, `created` counting up from `clock`."""

    def __init__(self, identity: Identity, clock: int) -> None:
        self.identity = identity
        self.clock = clock
        self.records: list[VerifiedRecord] = []

    def add(self, kind: str, body: dict[str, Any], expires: int | None = None) -> VerifiedRecord:
        head = self.records[-1] if self.records else None
        record = sign_record(
            self.identity,
            kind=kind,
            body=body,
            seq=len(self.records) + 1,
            prev=head.id if head else None,
            created_at=self.clock + len(self.records),
            expires_at=expires,
        )
        self.records.append(record)
        return record


def workload(records: int, feeds: int, now: int) -> list[list[VerifiedRecord]]:
    """`feeds` chains of `records / feeds` public records each (see the module's doc)."""
    if records % feeds or records // feeds < 3:
        raise SystemExit("--records must be a multiple of --feeds, at least 3 per feed")
    per_feed = records // feeds
    words = vocabulary()
    rng = random.Random(7)
    identities = [
        Identity(bytes([1 + a % 250, a // 250 % 250, 7]) + bytes(29)) for a in range(feeds)
    ]
    base = now - 4 * DAY
    guild_ids: list[str] = []
    chains: list[list[VerifiedRecord]] = []
    for a, identity in enumerate(identities):
        chain = Chain(identity, base + a * per_feed)
        add = chain.add
        skills = rng.sample(SKILLS, 2)
        add(
            "profile",
            {
                "name": " ".join(rng.sample(words, 2)).title(),
                "kind": "person",
                "skills": skills,
                "bio": " ".join(rng.choices(words, k=20)),
            },
        )
        if a % 20 == 0:
            charter = add(
                "guild",
                {
                    "name": " ".join(rng.sample(words, 2)).title(),
                    "purpose": " ".join(rng.choices(words, k=15)),
                    "founders": [identity.did],
                    "admission": {"vouches_required": 1},
                    "listing": {
                        "description": " ".join(rng.choices(words, k=30)),
                        "skills": skills,
                    },
                },
            )
            guild_ids.append(charter.id)
        while len(chain.records) < per_feed:
            if len(chain.records) % 2 and guild_ids:
                low = rng.randrange(1, 50) * 10_000
                add(
                    "brief",
                    {
                        "guilds": [rng.choice(guild_ids)],
                        "title": " ".join(rng.choices(words, k=rng.randint(3, 6))),
                        "description": " ".join(rng.choices(words, k=rng.randint(20, 60))),
                        "acceptance_criteria": [" ".join(rng.choices(words, k=6))],
                        "budget": {"min": low, "max": low * 2, "currency": rng.choice(CURRENCIES)},
                        "engagement": "fixed",
                        "skills": rng.sample(SKILLS, 2),
                    },
                    chain.clock + len(chain.records) + 30 * DAY - 1,
                )
            else:
                seq = len(chain.records)
                add("vouch", {"subject": identities[(a + seq) % feeds].did, "level": 1 + seq % 3})
        chains.append(chain.records)
    return chains


def member_direct(data: Path, chains: list[list[VerifiedRecord]], total: int) -> float:
    """Records per second of `Node.ingest` into a fresh member node, batches of BATCH
    mixing authors, each author's records in order."""
    order = [r for column in zip(*chains, strict=True) for r in column]
    batches = [[r.to_wire() for r in order[i : i + BATCH]] for i in range(0, total, BATCH)]
    datadir = DataDir(data)
    datadir.create()
    node = Node(datadir)
    try:
        started = time.perf_counter()
        for batch in batches:
            results = node.ingest(batch)
            if any(r.status != "accepted" for r in results):
                raise BenchFailure(f"member ingest refused: {results[0]}")
        elapsed = time.perf_counter() - started
        if node.store.count() != total:
            raise BenchFailure(f"the member holds {node.store.count()} records, not {total}")
    finally:
        node.close()
    return total / elapsed


async def indexer_follow(dsn: str, data: Path, peer: str, total: int) -> float:
    """Records per second of one indexer round that follows the member at `peer`."""
    datadir = DataDir(data)
    datadir.create()
    settings = IndexerSettings(
        database=dsn,
        data_dir=data,
        peers=(peer,),
        interval=0,
        allow_private_peers=True,
        read_timeout=60,
    )
    indexer = Indexer(settings, datadir)
    try:
        started = time.perf_counter()
        reports = await indexer.round()
        elapsed = time.perf_counter() - started
        held = indexer.store.count()
        rejected = [dict(r.rejected) or r.error for r in reports if r.rejected or r.error]
    finally:
        await indexer.close()
    if held != total or rejected:
        raise BenchFailure(f"the indexer holds {held} records, not {total}: {rejected}")
    return total / elapsed


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def search_latency(dsn: str, data: Path, queries: int) -> dict[str, list[float]]:
    """Seconds per query: the indexer's HTTP API, and the bare full-text query."""
    words = vocabulary()
    rng = random.Random(99)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data.with_name("indexer-search.log")
    command = [
        *guildnode_command(),
        "indexer",
        "run",
        "--database",
        dsn,
        "--data",
        str(data),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--interval",
        "86400",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    samples: dict[str, list[float]] = {"api": [], "sql": [], "bare": []}
    bare = (
        "SELECT id FROM briefs, websearch_to_tsquery('english', %s) AS q (query)"
        " WHERE doc @@ query ORDER BY ts_rank(doc, query) DESC LIMIT 20"
    )
    try:
        wait_until_up(process, url, log_path)
        with httpx.Client(base_url=url, timeout=30) as client, psycopg.connect(dsn) as conn:
            for n in range(queries + 10):  # the first 10 warm both up, untimed
                q = " ".join(rng.sample(words, rng.choice((1, 1, 2))))
                params = {"q": q} | ({"skill": rng.choice(SKILLS)} if n % 3 == 0 else {})
                started = time.perf_counter()
                response = client.get("/search/briefs", params=params)
                api = time.perf_counter() - started
                if response.status_code != 200:
                    raise BenchFailure(f"/search/briefs answered {response.status_code}")
                started = time.perf_counter()
                conn.execute(bare, [q]).fetchall()
                plain = time.perf_counter() - started
                own, own_params = sql_for(
                    parse_query("briefs", list(params.items())), int(time.time())
                )
                started = time.perf_counter()
                conn.execute(own.encode(), own_params).fetchall()
                direct = time.perf_counter() - started
                if n >= 10:
                    samples["api"].append(api)
                    samples["sql"].append(direct)
                    samples["bare"].append(plain)
    finally:
        process.terminate()
        process.wait(10)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--feeds", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--database", help="an empty PostgreSQL database (default: a throwaway cluster)"
    )
    args = parser.parse_args()
    step = step_logger(time.perf_counter())
    now = int(time.time())
    step(f"signing {args.records} records of {args.feeds} feeds")
    chains = workload(args.records, args.feeds, now)
    cluster = None
    dsn = args.database
    if dsn is None:
        step("starting a throwaway PostgreSQL cluster")
        cluster = TempCluster(durable=True).start()
        dsn = cluster.dsn()
    else:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "DROP TABLE IF EXISTS migrations, records, heads, forks, briefs,"
                " profiles, guilds, peers CASCADE"
            )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-index-") as root:
            step("member node: direct ingest")
            member = member_direct(Path(root) / "member", chains, args.records)
            step(f"member: {member:,.0f} records/s; serving it as a real process")
            with running_server(Path(root) / "member") as peer:
                step("indexer: one round following the member")
                indexed = asyncio.run(
                    indexer_follow(dsn, Path(root) / "indexer", peer, args.records)
                )
            step(f"indexer: {indexed:,.0f} records/s; search latency")
            samples = search_latency(dsn, Path(root) / "indexer", args.queries)
    finally:
        if cluster is not None:
            cluster.stop()
    ratio = indexed / member
    p = {k: (percentile(v, 0.5) * 1000, percentile(v, 0.99) * 1000) for k, v in samples.items()}
    latency = p["api"][1] / p["bare"][1]
    print(
        f"\nbench.index: {args.records:,} public records from {args.feeds:,} feeds, "
        f"{args.queries} queries (Python {sys.version.split()[0]})"
    )
    print(f"  member node direct ingest   {member:10,.0f} records/s")
    print(
        f"  indexer ingest (HTTP + PG)  {indexed:10,.0f} records/s   "
        f"{ratio:.2f}× member (goal ≥ 0.5×)  {verdict(ratio >= 0.5)}"
    )
    print(f"  bare PostgreSQL FTS query   p50 {p['bare'][0]:7.2f} ms   p99 {p['bare'][1]:7.2f} ms")
    print(
        f"  the indexer's own SQL       p50 {p['sql'][0]:7.2f} ms   p99 {p['sql'][1]:7.2f} ms"
        "   (filters, ranking, the records' bytes; direct)"
    )
    print(
        f"  GET /search/briefs          p50 {p['api'][0]:7.2f} ms   p99 {p['api'][1]:7.2f} ms   "
        f"p99 {latency:.2f}× bare (goal ≤ 3×)  {verdict(latency <= 3)}"
    )
    return 0


if __name__ == "__main__":
    run(main)
