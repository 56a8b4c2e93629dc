"""What Guildnode's RFC 9421 profile fixes (SPEC §9.6): its limits, its algorithm, and every
refusal it can give, as `SignatureError` codes with the sentences SPEC.md gives them.
"""

from __future__ import annotations

MAX_LIFETIME = 300  # SPEC §9.6: expires - created, seconds
CLOCK_SKEW = 60  # SPEC §9.6: tolerated either side of the receiver's clock, seconds
DEFAULT_LIFETIME = 60
ALGORITHM = "ed25519"
SIGNATURE_BYTES = 64

# SPEC §9.6: every code verification can produce, with the sentence SPEC.md gives it.
SIGNATURE_CODES: dict[str, str] = {
    "signature_missing": "The request has no Signature or no Signature-Input header.",
    "signature_malformed": (
        "Signature or Signature-Input is not one RFC 8941 dictionary member under the same "
        "label, a covered component or parameter has the wrong form or type, alg is not "
        "ed25519, the signature is not 64 bytes, or a covered header is absent."
    ),
    "signature_incomplete": (
        "The covered components lack @method, @target-uri, or, for a request with a body, "
        "content-digest."
    ),
    "signature_expired": (
        "created or expires is missing, expires is before created or more than 300 s after "
        "it, expires is over 60 s in the past, or created is over 60 s in the future."
    ),
    "digest_mismatch": (
        "Content-Digest is missing or unparseable, has no sha-256 or sha-512 member, or does "
        "not match the body."
    ),
    "signature_invalid": "keyid is not a valid did:key, or the Ed25519 signature does not verify.",
    "signature_replayed": "The same (keyid, signature) was already accepted within its validity.",
    "server_busy": "The replay cache is full; try again shortly.",
}


class SignatureError(Exception):
    """A request's HTTP signature was refused (SPEC §9.6).

    `code` is one of `SIGNATURE_CODES` and travels on the wire; `detail` is a sentence for
    people. Neither holds secret material. No HTTP status lives here.
    """

    code: str
    detail: str

    def __init__(self, code: str, detail: str) -> None:
        if code not in SIGNATURE_CODES:
            raise ValueError(f"unknown signature error code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def as_dict(self) -> dict[str, str]:
        """The wire form of the error: `{"code", "detail"}`."""
        return {"code": self.code, "detail": self.detail}
