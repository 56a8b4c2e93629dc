"""The replay memory under a flood, through the real `POST /inbox` route (SPEC §9.8)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from guildnode.protocol.httpsig.profile import SignatureError
from tests.conftest import signed_headers

pytestmark = pytest.mark.anyio


async def test_a_replay_through_post_inbox_after_a_flood_is_refused(
    make_node: Any, author: Any
) -> None:
    """A request is taken; 100,000 other keys' signatures then fill the node's replay
    memory; the same request sent again is still a replay, and the node keeps serving."""
    served = await make_node()
    alice = author(1)
    served.welcome(alice.did)
    body = json.dumps({"records": [alice.next().to_wire()]}).encode()
    url = f"{served.url}/inbox"
    headers = signed_headers(url, body)
    first = await served.client.post(url, content=body, headers=headers)
    assert first.status_code == 200, first.text
    cache = served.app.state.inbox_guard.replay
    now = int(time.time())
    refused = 0
    for i in range(100_000):
        try:
            cache.seen(f"did:key:flood{i}", b"s", now + 300, now)
        except SignatureError:
            refused += 1  # full: new signatures refused, live entries kept
    assert refused > 0
    again = await served.client.post(url, content=body, headers=headers)
    assert again.status_code == 401, again.text
    assert again.json()["error"]["code"] == "signature_replayed"
    assert (await served.client.get("/.well-known/guildnode")).status_code == 200
