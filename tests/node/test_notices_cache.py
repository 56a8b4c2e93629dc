"""What waits on the owner is derived once per change (`notices.waiting`), and never served
stale: through the real routes, on a clock that stands still unless the test moves it, the
list and the header's badges change at once after a write, after a thread is read, and at
the very second a deadline passes (an offer's respond-by, within the same minute)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_threads import published
from test_ui import sign_in
from test_work import brief_and_proposal, network, offered, sync, work

from guildnode import notices

pytestmark = pytest.mark.anyio

DAY = 86_400


class Frozen:
    """A clock that stands still until the test moves it, half-way through a minute (so a
    deadline days away falls half-way through its minute too)."""

    def __init__(self) -> None:
        self.at = 1_800_000_030.0

    def __call__(self) -> float:
        return self.at

    def tick(self, seconds: float = 1) -> None:
        self.at += seconds


async def keys(served: Any) -> list[str]:
    """The notices' keys as `GET /api/notifications` gives them, checked against a fresh
    derivation at the same moment."""
    response = await served.client.get("/api/notifications", headers=served.owner)
    assert response.status_code == 200, response.text
    found = [n["key"] for n in response.json()["notices"]]
    assert found == [n.key for n in notices.notices(served.node)]
    return found


async def badges(served: Any) -> tuple[int, int]:
    """The header's two badges on a signed-in page: notices waiting, messages unread."""
    page = (await served.client.get("/briefs")).text
    count = re.search(r"data-notice-count>(\d+)<", page)
    unread = re.search(r'id="unread-badge" aria-label="(\d+) unread"', page)
    assert count, page[:500]
    return int(count.group(1)), int(unread.group(1)) if unread else 0


async def test_the_list_is_derived_once_and_moves_on_with_writes_reads_and_time(
    make_node: Any,
) -> None:
    clock = Frozen()
    nodes = await network(make_node, clock)
    org, fay = nodes["org"], nodes["fay"]
    brief, proposal = await brief_and_proposal(nodes)
    clock.tick()
    first = await offered(nodes, proposal)
    clock.tick()
    second = await offered(nodes, proposal, respond_days=2)
    respond_by = fay.node.now() + 2 * DAY
    clock.tick()
    await sign_in(fay)
    await sign_in(org)

    # Nothing changed: every caller is handed the one derivation.
    assert sorted(await keys(fay)) == sorted([f"offer:{first}", f"offer:{second}"])
    assert notices.waiting(fay.node) is notices.waiting(fay.node)
    assert await badges(fay) == (2, 0)

    # After a write, in the same second: the accepted offer waits no more.
    assert (await work(fay, "accept", offer=first)).status_code == 200
    assert await keys(fay) == [f"offer:{second}"]
    assert await badges(fay) == (1, 0)

    # After a thread is read (no record: only the owner's read state moves), same second.
    clock.tick()
    question = await published(fay, "ask", on=brief, text="Is the CLI in scope?")
    await sync(*nodes.values())
    assert f"message:{question}" in await keys(org)
    counted = await badges(org)
    assert counted[1] == 1
    read = await org.client.post("/api/thread/read", json={"thread": question}, headers=org.owner)
    assert read.status_code == 200, read.text
    assert f"message:{question}" not in await keys(org)
    assert await badges(org) == (counted[0] - 1, 0)

    # After a deadline: the second offer waits until the second before its respond-by, and
    # not at it, though both seconds are in one minute.
    clock.at = respond_by - 1
    assert (respond_by - 1) // 60 == respond_by // 60
    await sign_in(fay)  # the session of two days ago has ended
    assert await keys(fay) == [f"offer:{second}"]
    assert await badges(fay) == (1, 0)
    clock.tick()
    assert await keys(fay) == []
    assert await badges(fay) == (0, 0)
