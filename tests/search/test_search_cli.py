"""`guildnode indexer add|list|remove` and `guildnode search …` on a data directory (no
node running: the CLI opens it itself), against the tampering indexer's real process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakes import (
    INDEXER,
    Fake,
    altered,
    answer,
    brief,
    running_fake,
)

from guildnode.cli import main


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    yield from running_fake(tmp_path_factory)


def cli(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data", str(data), *args])
    return result.exit_code, result.output


def ok(data: Path, *args: str) -> Any:
    code, out = cli(data, *args, "--json")
    assert code == 0, (args, out)
    return json.loads(out)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    code, out = cli(tmp_path / "ada", "init", "--name", "Ada")
    assert code == 0, out
    return tmp_path / "ada"


def test_name_an_indexer_search_through_it_and_forget_it(data, fake) -> None:
    url = fake.url("/a")
    fake.serve({"/a/search/guilds": answer()})
    code, out = cli(data, "indexer", "add", url)  # loopback, without --allow-private
    assert code == 1 and "private_address" in out
    assert ok(data, "indexer", "add", url, "--allow-private")["did"] == INDEXER.did
    assert [i["url"] for i in ok(data, "indexer", "list")["indexers"]] == [url]

    good = brief()
    fake.serve({"/a/search/briefs": answer(altered(brief(title="x"), lambda w: w.update(seq=2)),
                                           good)})  # fmt: skip
    found = ok(data, "search", "briefs", "streaming", "parser", "--currency", "EUR",
               "--skill", "rust", "--min-budget", "200000")  # fmt: skip
    assert [r["id"] for r in found["results"]] == [good.id]
    assert [d["code"] for d in found["dropped"]] == ["invalid_field"]
    assert fake.asked()[-1] == (
        "/a/search/briefs?q=streaming+parser&skill=rust&currency=EUR&min_budget=200000&limit=20"
    )
    code, text = cli(data, "search", "briefs", "parser")
    assert code == 0
    assert "Port our parser to Rust — 1,000.00 EUR to 3,000.00 EUR [rust]" in text
    assert f"verified, from {url}" in text and "dropped from" in text and "invalid_field" in text

    code, out = cli(data, "search", "people", "--limit", "101")
    assert code == 2 and "--limit" in out
    code, out = cli(data, "indexer", "remove", url)
    assert code == 0 and ok(data, "indexer", "list") == {"indexers": []}
    code, out = cli(data, "search", "guilds")
    assert code == 1 and "no_indexers" in out


def test_a_founder_lists_a_guild_and_a_bad_listing_is_refused(data) -> None:
    guild = ok(data, "guild", "found", "Rustaceans", "--purpose", "Rust work",
               "--vouches-required", "1", "--skill", "systems", "--listed", "We ship Rust.",
               "--listed-skill", "rust", "--how-to-apply", "Send your code.")["id"]  # fmt: skip
    [record] = [r for r in ok(data, "log", "--kind", "guild")["records"] if r["id"] == guild]
    assert record["record"]["body"]["listing"] == {
        "description": "We ship Rust.", "skills": ["rust"], "apply": "Send your code."
    }  # fmt: skip
    unlisted = ok(data, "guild", "found", "Quiet", "--purpose", "p", "--vouches-required", "1")
    [record] = [
        r for r in ok(data, "log", "--kind", "guild")["records"] if r["id"] == unlisted["id"]
    ]
    assert "listing" not in record["record"]["body"]
    before = len(ok(data, "log")["records"])
    code, out = cli(data, "guild", "found", "G", "--purpose", "p", "--vouches-required", "1",
                    "--listed", "x" * 2001)  # fmt: skip
    assert code == 1 and "invalid_body" in out and "listing.description" in out
    assert len(ok(data, "log")["records"]) == before
