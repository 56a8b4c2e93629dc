"""W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (SPEC §18.2).

Sans-IO: a JSON document and a signing identity in, the document with its `proof` out; a
secured document in, the did:key of the key that signed it out, or a `CredentialError`. The
steps are those of W3C "Data Integrity EdDSA Cryptosuites v1.0", §3.3:

- proof configuration: the proof's options (`type`, `cryptosuite`, `created`,
  `verificationMethod`, `proofPurpose`) plus the document's `@context`;
- hashData = SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document without `proof`));
- proofValue = "z" + base58btc(Ed25519 signature of hashData).

JCS is the canonical form of SPEC §2, which is RFC 8785 for every value within its profile.
"""

from __future__ import annotations

import hashlib
from typing import Any

import base58

from .canonical import canonicalize
from .errors import ProtocolError
from .keys import Identity, public_key_from_did, verify_signature

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"

# SPEC §18.6: what can be wrong with a credentials file, one stable code each.
CREDENTIAL_CODES: dict[str, str] = {
    "malformed_json": "The file is not one JSON value within the profile of §2.2.",
    "malformed_presentation": "The file is not a presentation holding a list of credentials.",
    "malformed_credential": "A credential lacks a field of §18.3 or has one of the wrong form.",
    "missing_proof": "A credential has no single `proof` object.",
    "unknown_cryptosuite": "The proof is not a DataIntegrityProof with cryptosuite eddsa-jcs-2022.",
    "malformed_proof": "A proof field has the wrong form (proofValue, created, purpose, context).",
    "wrong_key": "The proof's verification method is not the issuer's did:key.",
    "bad_proof": "The proof's signature does not verify: the credential was changed.",
    "record_signature_bad": "An embedded record's own Ed25519 signature does not verify.",
    "invalid_record": "An embedded record is not a valid guildnode record.",
    "evidence_mismatch": "The claims are not what the embedded records say about the issuer.",
    "credential_expired": "The credential's validUntil has passed.",
}


class CredentialError(Exception):
    """A credential or its file broke a rule of SPEC §18. `code` is one of
    `CREDENTIAL_CODES`; `detail` is a sentence naming the problem (never a secret)."""

    def __init__(self, code: str, detail: str) -> None:
        if code not in CREDENTIAL_CODES:
            raise ValueError(f"unknown credential error code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def verification_method(did: str) -> str:
    """The verification method of a did:key's one key: `did:key:z…#z…` (did:key method)."""
    return f"{did}#{did.removeprefix('did:key:')}"


def _jcs(value: Any, what: str) -> bytes:
    try:
        return canonicalize(value)
    except ProtocolError as exc:
        raise CredentialError(
            "malformed_json", f"The {what} is outside JCS's profile: {exc.detail}"
        ) from None


def hash_data(document: dict[str, Any], proof_config: dict[str, Any]) -> bytes:
    """SHA-256(JCS(proof_config)) ‖ SHA-256(JCS(document)): the 64 bytes that are signed.

    `document` is the unsecured document (no `proof`). Raises `malformed_json` when either
    value is outside the canonical profile (SPEC §2.2).
    """
    return (
        hashlib.sha256(_jcs(proof_config, "proof configuration")).digest()
        + hashlib.sha256(_jcs(document, "document")).digest()
    )


def proof_config(document: dict[str, Any], did: str, created: str) -> dict[str, Any]:
    """The proof configuration for signing `document` with did:key `did` at `created`."""
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method(did),
        "proofPurpose": PROOF_PURPOSE,
    }
    if "@context" in document:
        config["@context"] = document["@context"]
    return config


def add_proof(document: dict[str, Any], identity: Identity, created: str) -> dict[str, Any]:
    """`document` secured with an eddsa-jcs-2022 proof by `identity`, made at `created`
    (an RFC 3339 timestamp, SPEC §3.3). The input is not changed."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = proof_config(unsecured, identity.did, created)
    signature = identity.sign(hash_data(unsecured, config))
    proof = {**config, "proofValue": "z" + base58.b58encode(signature).decode("ascii")}
    return {**unsecured, "proof": proof}


def verify_proof(secured: dict[str, Any]) -> str:
    """Check the eddsa-jcs-2022 proof of `secured` and return the did:key that made it.

    Raises `missing_proof` (no single proof object), `unknown_cryptosuite` (another proof
    type or suite), `malformed_proof` (a proof field of the wrong form, or a proof
    `@context` the document's does not start with), `wrong_key` (a verification method that
    is not a did:key's key) and `bad_proof` (the signature does not verify).
    """
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("missing_proof", "The credential has no single proof object.")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(
            "unknown_cryptosuite",
            f"The proof is {proof.get('type')!r} with cryptosuite {proof.get('cryptosuite')!r}, "
            f"not {PROOF_TYPE} with {CRYPTOSUITE}.",
        )
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    for field in ("created", "verificationMethod", "proofPurpose"):
        if not isinstance(options.get(field), str):
            raise CredentialError("malformed_proof", f"The proof's {field} is not a string.")
    if options["proofPurpose"] != PROOF_PURPOSE:
        raise CredentialError("malformed_proof", f"The proof's purpose is not {PROOF_PURPOSE}.")
    signature = _proof_value(proof.get("proofValue"))
    did = _key_of(options["verificationMethod"])
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    if "@context" in options:
        context, own = options["@context"], unsecured.get("@context")
        contexts = context if isinstance(context, list) else [context]
        owns = own if isinstance(own, list) else [own]
        if owns[: len(contexts)] != contexts:
            raise CredentialError(
                "malformed_proof", "The document's @context does not start with the proof's."
            )
        unsecured["@context"] = context
    if not verify_signature(did, hash_data(unsecured, options), signature):
        raise CredentialError(
            "bad_proof", "The proof's signature does not verify: the credential was changed."
        )
    return did


def _proof_value(value: Any) -> bytes:
    """The 64 signature bytes of a multibase base58btc `proofValue`."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError(
            "malformed_proof", "The proofValue is not a multibase base58btc string ('z…')."
        )
    try:
        raw = base58.b58decode(value[1:])
    except ValueError:
        raise CredentialError("malformed_proof", "The proofValue is not base58btc.") from None
    if len(raw) != 64 or "z" + base58.b58encode(raw).decode("ascii") != value:
        raise CredentialError("malformed_proof", "The proofValue is not the form of 64 bytes.")
    return raw


def _key_of(method: str) -> str:
    """The did:key of a verification method `did:key:z…#z…` naming the did's own key."""
    did, _, fragment = method.partition("#")
    try:
        public_key_from_did(did)
    except ProtocolError as exc:
        raise CredentialError(
            "wrong_key", f"The verification method is not a did:key's: {exc.detail}"
        ) from None
    if fragment != did.removeprefix("did:key:"):
        raise CredentialError(
            "wrong_key", "The verification method's fragment is not the did:key's own key."
        )
    return did
