"""The owner's UI session outlasts a restart of `guildnode run` (issue 14): sessions are kept
hashed in the node's SQLite, not in its memory, and signing out ends them for good."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from test_run import spawn, wait_until_up

pytestmark = pytest.mark.e2e


def cookie_name(port: int) -> str:
    return f"guildnode_session_{port}"


def test_the_owner_stays_signed_in_after_the_node_restarts(tmp_path: Path) -> None:
    data, logs = tmp_path / "node", tmp_path / "logs"
    node = spawn(data, logs)
    try:
        wait_until_up([node])
        with httpx.Client(base_url=node.url, timeout=10) as client:
            link = client.post(
                "/api/ui/login-link", headers={"authorization": f"Bearer {node.token}"}
            )
            assert link.status_code == 200, link.text
            landed = client.get(link.json()["url"])
            assert landed.status_code == 303 and landed.headers["location"] == "/"
            session = client.cookies[cookie_name(node.port)]
            assert client.get("/").status_code == 200
    finally:
        node.stop()

    # Only a digest of the cookie value is on disk.
    db = sqlite3.connect(data / "node.db")
    try:
        assert not db.execute("SELECT 1 FROM ui_sessions WHERE digest = ?", [session]).fetchone()
        assert db.execute("SELECT count(*) FROM ui_sessions").fetchone()[0] == 1
    finally:
        db.close()

    again = spawn(data, logs, port=node.port)
    try:
        wait_until_up([again])
        cookies = {cookie_name(again.port): session}
        with httpx.Client(base_url=again.url, timeout=10, cookies=cookies) as client:
            home = client.get("/")
            assert home.status_code == 200, home.text
            assert 'action="/logout"' in home.text
            token = client.get("/").text.split('name="csrftoken" value="', 1)[1].split('"')[0]
            out = client.post("/logout", data={"csrftoken": token})
            assert out.status_code == 303
        with httpx.Client(base_url=again.url, timeout=10, cookies=cookies) as client:
            # the same cookie, signed out: the session is gone from the database too
            refused = client.get("/")
            assert refused.status_code == 303 and refused.headers["location"] == "/login"
    finally:
        again.stop()
