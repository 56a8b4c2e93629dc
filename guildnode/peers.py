"""The peer client: signed, bounded HTTP requests from this node to another (SPEC §9).

Every request carries an RFC 9421 signature by the owner's key. Every call has connect and
read timeouts; a response body over its limit is cut off and reported; redirects are never
followed; only http and https URLs are contacted. Failures become `PeerError`s with stable
codes, so an unreachable peer, a slow one and one that breaks the protocol never look alike.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .addresses import PrivateAddress, guarded_transport
from .protocol import Identity, ProtocolError, VerifiedRecord, parse_json, verify_record
from .protocol.httpsig import sign_request

MAX_PAGE_BYTES = 1_048_576 + 4096
# Records per inbox batch stop here, so that `{"records":[...]}` stays within the receiver's
# 1 MiB body limit (SPEC §8).
BATCH_BYTES = 1_048_576 - 64
MAX_HEADS_BYTES = 8 * 1_048_576
MAX_SMALL_BYTES = 65_536
_DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECTS = frozenset({301, 302, 303, 307, 308})

PEER_CODES: dict[str, str] = {
    "peer_unreachable": "The peer could not be connected to.",
    "peer_timeout": "The peer did not answer within the timeout.",
    "peer_redirect": "The peer answered with a redirect, which is never followed.",
    "response_too_large": "The peer's answer exceeded its size limit and was cut off.",
    "bad_response": "The peer's answer is not the JSON shape the protocol defines.",
    "peer_refused": "The peer answered with an error status.",
    "invalid_url": "The URL is not an absolute http or https URL.",
    "private_address": "The URL points at a private or loopback address, which is not allowed.",
    "identity_mismatch": "The peer's /.well-known/guildnode names another identity.",
    # Counted among a peer's rejections rather than raised:
    "short_feed": "The peer's heads promised records its feed did not serve.",
    "wrong_author": "A feed page held a record of another author.",
    "bad_fork_proof": "The peer showed a fork but served no valid proof of it.",
}


class PeerError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class Traffic:
    """What a conversation with a peer cost: round trips and bytes each way."""

    round_trips: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def add(self, other: Traffic) -> None:
        self.round_trips += other.round_trips
        self.bytes_sent += other.bytes_sent
        self.bytes_received += other.bytes_received


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    traffic: Traffic = field(default_factory=Traffic)

    def json(self) -> Any:
        try:
            return parse_json(self.body)
        except ProtocolError as exc:
            raise PeerError("bad_response", f"The answer is not JSON: {exc.detail}") from None


def normalise_url(url: str) -> str:
    """`scheme://host[:port][/path]` without a trailing slash, in the form httpx sends;
    raises `invalid_url` for anything else, however malformed."""
    try:
        parts = urlsplit(url.strip())
        if parts.hostname:
            parsed = httpx.URL(url.strip())
            parsed.host  # noqa: B018 - decoding the host is what raises for a bad IDNA label
            url = str(parsed)
            parts = urlsplit(url)
    except (ValueError, UnicodeError, IndexError, httpx.InvalidURL) as exc:
        # (the standard library's punycode decoder raises IndexError on some labels)
        raise PeerError("invalid_url", f"{url[:200]!r} is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerError("invalid_url", f"{url!r} is not an absolute http or https URL.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise PeerError(
            "invalid_url", f"{url!r} must not carry credentials, a query or a fragment."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def batches(records: list[bytes], most: int = 200) -> list[list[bytes]]:
    """Split canonical records into inbox batches of at most `most` records and
    `BATCH_BYTES` bytes (each record counted with its separating comma)."""
    found: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for record in records:
        if current and (len(current) == most or size + len(record) + 1 > BATCH_BYTES):
            found.append(current)
            current, size = [], 0
        current.append(record)
        size += len(record) + 1
    if current:
        found.append(current)
    return found


def _header_size(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw)


class PeerClient:
    """One node's outgoing HTTP, signed with the owner's key."""

    def __init__(
        self,
        identity: Identity,
        clock: Callable[[], float],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        allow_private: bool = False,
    ) -> None:
        """`transport` replaces the network (tests route requests to in-process apps);
        without it every connection is made through `addresses.GuardedBackend`, which
        refuses private addresses except where `allow_private` or `allow_private_origin`
        allows them."""
        self.identity = identity
        self._clock = clock
        self._deadline = max(1.0, 6 * read_timeout)
        self._allow_all_private = allow_private
        self._private_origins: set[tuple[str, int]] = set()
        self._client = httpx.AsyncClient(
            transport=transport or guarded_transport(self._may_be_private),
            trust_env=False,  # an environment's proxy would bypass the address checks
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            headers={"user-agent": "guildnode", "accept-encoding": "identity"},
        )
        # Every byte of an idle round counts (SPEC §9.9): drop the defaults nobody needs.
        for name in ("accept", "connection"):
            del self._client.headers[name]

    def allow_private_origin(self, url: str) -> None:
        """Let requests to `url`'s host and port reach a private address (a peer the owner
        added with `--allow-private`)."""
        parsed = httpx.URL(url)
        self._private_origins.add((parsed.host, parsed.port or _DEFAULT_PORTS[parsed.scheme]))

    def _may_be_private(self, host: str, port: int) -> bool:
        return self._allow_all_private or (host.strip("[]"), port) in self._private_origins

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        payload: Any = None,
        raw_records: list[bytes] | None = None,
        headers: dict[str, str] | None = None,
        limit: int = MAX_SMALL_BYTES,
    ) -> Answer:
        """Send one signed request and read at most `limit` bytes of the answer.

        The body is `payload` as JSON, or `{"records": [...]}` spliced from `raw_records`.

        Raises `PeerError` for a transport failure, a timeout, a redirect or an answer over
        `limit`. HTTP error statuses are returned, not raised: callers decide.
        """
        if urlsplit(url).scheme not in ("http", "https"):
            raise PeerError("invalid_url", f"{url!r} is not an http or https URL.")
        if raw_records is not None:  # canonical record bytes, sent as they are
            body = b'{"records":[' + b",".join(raw_records) + b"]}"
        elif payload is not None:
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            body = b""
        all_headers = dict(headers or {})
        if body:
            all_headers["content-type"] = "application/json"
        all_headers.update(
            sign_request(
                self.identity,
                method=method,
                url=str(httpx.URL(url)),  # the form httpx puts on the wire
                headers=all_headers,
                body=body,
                now=int(self._clock()),
                # Ed25519 is deterministic: a nonce keeps a repeated request from being a replay.
                nonce=secrets.token_urlsafe(12),
            )
        )
        request = self._client.build_request(method, url, content=body, headers=all_headers)
        traffic = Traffic(round_trips=1, bytes_sent=len(body) + _header_size(request.headers))
        try:
            # A peer that trickles its answer never trips the read timeout: bound the whole.
            async with asyncio.timeout(self._deadline):
                return await self._exchange(request, url, limit, traffic)
        except TimeoutError as exc:
            raise PeerError(
                "peer_timeout", f"{url} took longer than {self._deadline:g} s."
            ) from exc

    async def _exchange(
        self, request: httpx.Request, url: str, limit: int, traffic: Traffic
    ) -> Answer:
        try:
            response = await self._client.send(request, stream=True)
        except PrivateAddress as exc:
            raise PeerError("private_address", f"{url}: {exc}") from None
        except httpx.TimeoutException as exc:
            raise PeerError("peer_timeout", f"{url} did not answer in time.") from exc
        except httpx.TransportError as exc:
            raise PeerError("peer_unreachable", f"{url}: {exc.__class__.__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise PeerError("bad_response", f"{url}: {exc.__class__.__name__}: {exc}") from exc
        try:
            if response.status_code in REDIRECTS:
                target = response.headers.get("location", "?")
                raise PeerError("peer_redirect", f"{url} redirected to {target}; not followed.")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise PeerError(
                    "response_too_large", f"{url} announced {declared} bytes; the limit is {limit}."
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise PeerError(
                        "response_too_large", f"{url} sent more than {limit} bytes; cut off."
                    )
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise PeerError("peer_timeout", f"{url} stalled while answering.") from exc
        except httpx.TransportError as exc:
            raise PeerError("peer_unreachable", f"{url}: {exc.__class__.__name__}: {exc}") from exc
        except httpx.HTTPError as exc:  # e.g. a body in an encoding that does not decode
            raise PeerError("bad_response", f"{url}: {exc.__class__.__name__}: {exc}") from exc
        finally:
            await response.aclose()
        traffic.bytes_received = size + _header_size(response.headers) + 12
        return Answer(response.status_code, response.headers, b"".join(chunks), traffic)

    async def well_known(self, base_url: str) -> dict[str, Any]:
        """The peer's self-description; raises `PeerError` if it is not the right shape."""
        answer = await self.request("GET", f"{base_url}/.well-known/guildnode")
        if answer.status != 200:
            raise PeerError("peer_refused", f"{base_url} answered {answer.status} to /.well-known.")
        info = answer.json()
        if not isinstance(info, dict) or not isinstance(info.get("did"), str):
            raise PeerError("bad_response", f"{base_url}/.well-known/guildnode names no DID.")
        return info

    async def fork_proof(
        self, base_url: str, author: str
    ) -> tuple[Traffic, tuple[VerifiedRecord, VerifiedRecord] | str]:
        """`GET /sync/forks/{author}` (SPEC §9.10): the two verified records of the proof, or
        why there is none to keep: `bad_fork_proof`, or the code of a record that fails
        verification. Whether the two make a fork is the store's to judge."""
        answer = await self.request(
            "GET", f"{base_url}/sync/forks/{author}", limit=2 * 16_384 + 1024
        )
        data = answer.json() if answer.status == 200 else None
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or len(records) != 2:
            return answer.traffic, "bad_fork_proof"
        try:
            first, second = (verify_record(r) for r in records)
        except ProtocolError as exc:
            return answer.traffic, exc.code
        if first.author != author:
            return answer.traffic, "bad_fork_proof"
        return answer.traffic, (first, second)
