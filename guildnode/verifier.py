"""A verifying process: Ed25519 signatures checked on the second core, beside the node.

PyNaCl releases the GIL while libsodium verifies, but every signature begins and ends in
Python, and a thread that wants the GIL back waits for the node's thread to let go of it —
up to the interpreter's switch interval while that thread runs the Python checks. A process
has a GIL of its own. The node (`Verifier`) writes chunks of (public key, signature, message)
to this process's stdin and reads one byte per signature back from its stdout, in order:
1 when libsodium's `crypto_sign_open` — the call `VerifyKey.verify` makes — accepts it, 0
when it does not. Nothing secret crosses the pipe: keys, signatures and messages are public.

The wire between the two, all integers big-endian: a request is a 4-byte length and then
that many bytes of items, each a 32-byte public key, a 4-byte length and that many bytes of
signature followed by message; the answer is one byte per item. The process exits when its
stdin closes, so it never outlives the node that started it.

    python -m guildnode.verifier
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from typing import BinaryIO

import nacl.bindings
import nacl.exceptions
import nacl.signing

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_LENGTH = struct.Struct(">I")
NICENESS = 10
PIPE_BYTES = 1 << 20  # room for every chunk a stream keeps ahead (Linux; else the default)


def encode(items: Sequence[tuple[bytes, bytes, bytes]]) -> bytes:
    """One request: `items` of (public key, signature, message)."""
    parts: list[bytes] = []
    for key, signature, message in items:
        parts += (key, _LENGTH.pack(len(signature) + len(message)), signature, message)
    body = b"".join(parts)
    return _LENGTH.pack(len(body)) + body


def verdicts(body: bytes) -> bytes:
    """The answer to one request's items: a byte per signature, 1 if it verifies."""
    out = bytearray()
    view, position = memoryview(body), 0
    while position < len(body):
        key = bytes(view[position : position + 32])
        (size,) = _LENGTH.unpack_from(view, position + 32)
        start = position + 36
        position = start + size
        try:
            nacl.bindings.crypto_sign_open(bytes(view[start:position]), key)
            out.append(1)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError):
            out.append(0)
    return bytes(out)


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until `requests` ends."""
    while True:
        header = requests.read(4)
        if len(header) < 4:
            return
        (size,) = _LENGTH.unpack(header)
        body = requests.read(size)
        if len(body) < size:
            return
        answers.write(verdicts(body))
        answers.flush()


def main() -> None:
    # Ctrl-C reaches the whole process group; the node decides when this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the node: the thread that checks, places and commits comes first, and this
    # process takes the rest of the cores.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)
    with contextlib.suppress(BrokenPipeError):
        serve(sys.stdin.buffer, sys.stdout.buffer)


class Verifier:
    """The node's side of the verifying process, started on first use. Thread-safe:
    requests may come from several threads; each gets its own answer (`answer(ticket)`).

    If the process cannot be started or stops answering, `submit` returns None and
    `answer` returns None: the caller verifies those signatures itself. Never is a
    signature taken as good without libsodium having said so."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._broken = False
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._sent = 0  # tickets handed out
        self._sizes: deque[int] = deque()  # items of each request not yet answered, in order
        self._read = 0  # tickets answered
        self._answers: dict[int, bytes] = {}

    def _start(self) -> subprocess.Popen[bytes] | None:
        if self._process is None and not self._broken:
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "guildnode.verifier"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            except OSError:
                self._broken = True
                return None
            if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
                for pipe in (self._process.stdin, self._process.stdout):
                    assert pipe is not None
                    with contextlib.suppress(OSError):
                        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return self._process

    def start(self, *, wait: bool = False) -> bool:
        """Start the process now rather than at the first `submit` (it takes a tenth of a
        second to import libsodium's bindings). With `wait`, also have it verify one fresh
        signature and return only once it has answered. True if the process is ready to
        take requests (with `wait`: it answered as libsodium does)."""
        with self._write_lock:
            if self._start() is None or self._broken:
                return False
        if not wait:
            return True
        key = nacl.signing.SigningKey.generate()
        signed = key.sign(b"guildnode: is the verifying process up?")
        ticket = self.submit([(bytes(key.verify_key), signed.signature, signed.message)])
        return ticket is not None and self.answer(ticket) == b"\x01"

    def submit(self, items: Sequence[tuple[bytes, bytes, bytes]]) -> int | None:
        """Send signatures to be verified; returns the ticket to `answer`, or None."""
        request = encode(items)
        with self._write_lock:
            process = self._start()
            if process is None or self._broken:
                return None
            assert process.stdin is not None
            try:
                process.stdin.write(request)
                process.stdin.flush()
            except (OSError, ValueError):
                self._broken = True
                return None
            ticket = self._sent
            self._sent += 1
            self._sizes.append(len(items))
            return ticket

    def answer(self, ticket: int) -> bytes | None:
        """The verdicts of a request, one byte per item (1: verified); None if the process
        failed before it answered."""
        with self._read_lock:
            while ticket not in self._answers:
                if self._broken or self._process is None or ticket < self._read:
                    return None
                assert self._process.stdout is not None
                with self._write_lock:
                    size = self._sizes.popleft()
                try:
                    got = self._process.stdout.read(size)
                except (OSError, ValueError):  # closed under us (`close`)
                    got = b""
                if len(got) < size:
                    self._broken = True
                    return None
                self._answers[self._read] = got
                self._read += 1
            return self._answers.pop(ticket)

    def close(self) -> None:
        with self._write_lock:
            process, self._process, self._broken = self._process, None, True
        if process is None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - it exits at end of input
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    main()
