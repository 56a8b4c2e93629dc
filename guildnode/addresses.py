"""Which addresses this node's outgoing requests may reach (SPEC §9.9, issue 14).

A peer's URL is checked where it matters, when the connection is made: the host name is
resolved once, every address it resolves to is checked, and the connection goes to an
address that was checked — so a DNS answer that changes between a check and a connect (DNS
rebinding), a peer learnt from a profile, or a name that later points inside the network
cannot make the node call a loopback, private, link-local (169.254.169.254, the cloud
metadata address) or reserved address. Redirects are never followed (`peer_redirect`), so a
redirect cannot lead there either. The owner may allow private addresses for one origin (a
peer added with `--allow-private`) or for all (`--allow-private-peers`, tests and demo).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable

import httpcore
import httpx

Allowed = Callable[[str, int], bool]  # (host, port) → may it be private?


class PrivateAddress(Exception):
    """A connection to a private, loopback, link-local or reserved address was refused."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private or loopback address.")
        self.host = host
        self.address = address


def is_private_address(address: str) -> bool:
    a = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return a.is_private or a.is_loopback or a.is_link_local or a.is_unspecified or a.is_reserved


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local and unspecified addresses, and names that
    resolve to one (a name that does not resolve is treated as private: fail closed)."""
    try:
        return is_private_address(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return True
        return any(is_private_address(str(info[4][0])) for info in infos)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking each host before it connects.

    TLS still names the host (httpcore passes the URL's host as the server name), only
    the TCP connection goes to the checked address."""

    def __init__(self, allowed: Allowed) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allowed = allowed

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._allowed(host, port):
            target = host
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host.strip("[]"), port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
            addresses = [str(info[4][0]) for info in infos]
            for address in addresses:
                if is_private_address(address):
                    raise PrivateAddress(host, address)
            if not addresses:
                raise httpcore.ConnectError(f"{host} resolves to no address.")
            target = addresses[0]
        return await self._inner.connect_tcp(
            target, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options,
        )  # fmt: skip

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Peers are never reached over a Unix socket.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(allowed: Allowed) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every new connection goes through `GuardedBackend`."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx (pinned < 0.29) takes no network backend; its pool is rebuilt with one, with the
    # same TLS defaults.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=GuardedBackend(allowed)
    )
    return transport
