"""Backup and restore: the identity (key sealed by a passphrase) and every record held.

An archive is one JSON document:
`{"format": "guildnode-archive/1", "did", "key": {kdf, opslimit, memlimit, salt, nonce,
ciphertext}, "records": [...], "forks": [...], "peers": [...], "blocked": [...], "drafts":
{nonce, ciphertext}, "previous": {nonce, ciphertext}}`. The key is the Ed25519 seed
encrypted with NaCl's secretbox under a key stretched from the passphrase by Argon2id, and so
is the owner's feedback committed but not yet revealed (`drafts`, private until then), and so
are the seeds of the node's earlier keys after a rotation (`previous`, SPEC §14.6: they open
what was sealed to them); records travel as their canonical JSON and are verified again on
import, so a damaged or altered archive is refused rather than half-restored.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from .datadir import DataDir, DataDirError
from .node import Node
from .protocol import Identity, ProtocolError, parse_json, verify_record

FORMAT = "guildnode-archive/1"
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
# An archive may ask for at most this much work to open (it could come from anyone).
MAX_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE
MAX_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
MIN_PASSPHRASE = 8


class ArchiveError(Exception):
    """The archive cannot be written or restored; `code` is stable, the message human."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stretch(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode("utf-8"),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def export_archive(node: Node, passphrase: str) -> dict[str, Any]:
    """Everything needed to restore this node elsewhere, the key sealed by `passphrase`."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise ArchiveError(
            "weak_passphrase", f"Use a passphrase of at least {MIN_PASSPHRASE} characters."
        )
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_stretch(passphrase, salt, OPSLIMIT, MEMLIMIT))
    sealed = box.encrypt(node.identity.secret_seed())
    # Feedback committed but not yet revealed is private until then: it travels sealed too.
    drafts = box.encrypt(json.dumps(node.store.drafts(), sort_keys=True).encode("utf-8"))
    earlier = [_b64(k.secret_seed()) for k in node.datadir.previous_identities()]
    previous = box.encrypt(json.dumps(earlier).encode("ascii"))
    return {
        "format": FORMAT,
        "did": node.did,
        "key": {
            "kdf": "argon2id",
            "opslimit": OPSLIMIT,
            "memlimit": MEMLIMIT,
            "salt": _b64(salt),
            "nonce": _b64(sealed.nonce),
            "ciphertext": _b64(sealed.ciphertext),
        },
        "records": [json.loads(canonical) for _, canonical in node.store.records()],
        "forks": [
            [json.loads(proof.first), json.loads(proof.second)] for proof in node.store.forks()
        ],
        "peers": [{"did": p["did"], "url": p["url"]} for p in node.store.peers()],
        "blocked": sorted(node.store.blocked()),
        "drafts": {"nonce": _b64(drafts.nonce), "ciphertext": _b64(drafts.ciphertext)},
        "previous": {"nonce": _b64(previous.nonce), "ciphertext": _b64(previous.ciphertext)},
    }


def open_key(archive: dict[str, Any], passphrase: str) -> tuple[Identity, nacl.secret.SecretBox]:
    """The identity in `archive` and the box that opened it; raises `wrong_passphrase` or
    `damaged_archive`."""
    try:
        key = archive["key"]
        if archive.get("format") != FORMAT or key.get("kdf") != "argon2id":
            raise ArchiveError("damaged_archive", f"This is not a {FORMAT} file.")
        opslimit, memlimit = int(key["opslimit"]), int(key["memlimit"])
        if not (0 < opslimit <= MAX_OPSLIMIT and 0 < memlimit <= MAX_MEMLIMIT):
            raise ArchiveError("damaged_archive", "The archive asks for too much work to open.")
        salt, nonce, ciphertext = (
            base64.b64decode(key[name], validate=True) for name in ("salt", "nonce", "ciphertext")
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArchiveError("damaged_archive", f"The archive's key is malformed ({exc}).") from None
    box = nacl.secret.SecretBox(_stretch(passphrase, salt, opslimit, memlimit))
    try:
        seed = box.decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise ArchiveError(
            "wrong_passphrase", "The passphrase does not open this archive's key."
        ) from None
    identity = Identity(seed)
    if identity.did != archive.get("did"):
        raise ArchiveError("damaged_archive", "The archive's key does not match its DID.")
    return identity, box


def _open_drafts(archive: dict[str, Any], box: nacl.secret.SecretBox) -> dict[str, Any]:
    sealed = archive.get("drafts")
    if sealed is None:
        return {}
    try:
        nonce, ciphertext = (
            base64.b64decode(sealed[name], validate=True) for name in ("nonce", "ciphertext")
        )
        drafts = json.loads(box.decrypt(ciphertext, nonce))
        if not isinstance(drafts, dict) or not all(isinstance(v, dict) for v in drafts.values()):
            raise ValueError("not an object of objects")
    except (KeyError, TypeError, ValueError, nacl.exceptions.CryptoError) as exc:
        raise ArchiveError(
            "damaged_archive", f"The unrevealed feedback is damaged ({exc})."
        ) from None
    return drafts


def _open_previous(archive: dict[str, Any], box: nacl.secret.SecretBox) -> list[Identity]:
    sealed = archive.get("previous")
    if sealed is None:
        return []
    try:
        nonce, ciphertext = (
            base64.b64decode(sealed[name], validate=True) for name in ("nonce", "ciphertext")
        )
        seeds = json.loads(box.decrypt(ciphertext, nonce))
        return [Identity(base64.b64decode(seed, validate=True)) for seed in seeds]
    except (KeyError, TypeError, ValueError, nacl.exceptions.CryptoError) as exc:
        raise ArchiveError("damaged_archive", f"The earlier keys are damaged ({exc}).") from None


def import_archive(path: Path, archive: dict[str, Any], passphrase: str) -> Node:
    """Restore `archive` into the empty data directory `path`; returns the open node.

    Verifies the passphrase and every record before anything is written; on any failure
    the data directory is left as it was."""
    identity, box = open_key(archive, passphrase)
    drafts = _open_drafts(archive, box)
    earlier = _open_previous(archive, box)
    datadir = DataDir(path)
    if datadir.has_identity():
        raise ArchiveError("not_empty", f"{path} already holds an identity; restore elsewhere.")
    records = archive.get("records")
    if not isinstance(records, list):
        raise ArchiveError("damaged_archive", "The archive holds no record list.")
    try:
        verified = [verify_record(parse_json(json.dumps(r))) for r in records]
        proofs = [
            (verify_record(parse_json(json.dumps(a))), verify_record(parse_json(json.dumps(b))))
            for a, b in archive.get("forks", [])
        ]
    except ProtocolError as exc:
        raise ArchiveError("damaged_archive", f"A record does not verify: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ArchiveError("damaged_archive", f"The fork proofs are malformed ({exc}).") from None
    datadir.acquire()
    try:
        datadir.create(identity)
    except DataDirError as exc:
        datadir.release()
        raise ArchiveError("not_empty", str(exc)) from None
    if earlier:
        datadir.keep_previous(earlier)
    node = Node(datadir)
    wires = [record.to_wire() for record in verified]
    batches = (wires[start : start + 200] for start in range(0, len(wires), 200))
    for results in node.ingest_stream(batches):
        for result in results:
            if result.status == "rejected":
                assert result.error is not None
                raise ArchiveError(
                    "damaged_archive", f"Record {result.id} was refused: {result.error.code}."
                )
    for first, second in proofs:
        node.keep_fork_proof(first, second)
    for peer in archive.get("peers", []):
        node.store.add_peer(peer["did"], peer["url"], "manual", node.now())
    for did in archive.get("blocked", []):
        node.store.block(did, node.now())
    for commit_id, body in drafts.items():
        node.store.save_draft(commit_id, body)
    return node
