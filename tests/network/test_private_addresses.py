"""Outgoing requests reach no private address unless the owner allowed it (issue 14).

These go through the real network path (`addresses.GuardedBackend` under `PeerClient`), with
a real HTTP server on 127.0.0.1: the address is checked after DNS, when the connection is
made, so a host name that resolves to loopback is refused as an IP literal is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from guildnode.peers import PeerClient, PeerError
from guildnode.protocol import Identity

pytestmark = pytest.mark.anyio

ME = Identity(bytes([7]) * 32)


async def serve(answer: bytes) -> tuple[asyncio.Server, int, list[bytes]]:
    """A tiny HTTP server on 127.0.0.1 that answers every request with `answer`."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"


@pytest.fixture
async def local() -> AsyncIterator[tuple[int, list[bytes]]]:
    server, port, seen = await serve(OK)
    async with server:
        yield port, seen


def client(allow_private: bool = False) -> PeerClient:
    return PeerClient(ME, time.time, connect_timeout=2, read_timeout=2,
                      allow_private=allow_private)  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/x",  # a name that resolves to 127.0.0.1 (and ::1)
        "http://127.0.0.1:{port}/x",
        "http://[::1]:{port}/x",
        "http://169.254.169.254:{port}/latest/meta-data",  # the cloud metadata address
        "http://10.1.2.3:{port}/x",
    ],
)
async def test_a_private_address_is_refused_at_connect_time(
    local: tuple[int, list[bytes]], url: str
) -> None:
    port, seen = local
    peers = client()
    try:
        with pytest.raises(PeerError) as refused:
            await peers.request("GET", url.format(port=port))
        assert refused.value.code == "private_address"
    finally:
        await peers.aclose()
    assert seen == []  # nothing reached the server


async def test_an_origin_the_owner_allowed_is_reached(local: tuple[int, list[bytes]]) -> None:
    port, seen = local
    peers = client()
    try:
        peers.allow_private_origin(f"http://localhost:{port}")
        answer = await peers.request("GET", f"http://localhost:{port}/x")
        assert answer.status == 200
        assert len(seen) == 1
        # another port on the same host is still refused
        with pytest.raises(PeerError) as refused:
            await peers.request("GET", f"http://localhost:{port + 1 if port < 65535 else 1}/x")
        assert refused.value.code == "private_address"
    finally:
        await peers.aclose()


async def test_the_node_wide_setting_allows_every_private_address(
    local: tuple[int, list[bytes]],
) -> None:
    port, _ = local
    peers = client(allow_private=True)
    try:
        assert (await peers.request("GET", f"http://127.0.0.1:{port}/x")).status == 200
    finally:
        await peers.aclose()


async def test_a_redirect_to_a_private_address_is_never_followed() -> None:
    server, port, seen = await serve(
        b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data\r\n"
        b"content-length: 0\r\nconnection: close\r\n\r\n"
    )
    async with server:
        peers = client()
        peers.allow_private_origin(f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(PeerError) as refused:
                await peers.request("GET", f"http://127.0.0.1:{port}/sync/heads")
            assert refused.value.code == "peer_redirect"
            assert "169.254.169.254" in refused.value.detail
        finally:
            await peers.aclose()
    assert len(seen) == 1  # the one request; the redirect's target was never asked
