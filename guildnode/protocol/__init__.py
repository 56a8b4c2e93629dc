"""The Guildnode protocol, sans-IO: values and bytes in, values or `ProtocolError` out.

Nothing here reads a clock, a file, the environment or a socket; time is an argument.
"""

from .canonical import canonical_bytes, canonicalize, check_profile, loads_canonical, parse_json
from .chain import MAX_CLOCK_AHEAD, ChainHead, Placement, place
from .errors import CODES, ProtocolError
from .keys import (
    Identity,
    did_from_public_key,
    public_key_from_did,
    verify_key,
    x25519_public_key,
)
from .kinds import BODY_SCHEMAS, KNOWN_KINDS, schema_document, validate_body
from .records import (
    MAX_RECORD_BYTES,
    PROTOCOL_VERSION,
    VerifiedRecord,
    decode_sig,
    encode_sig,
    record_id,
    sign_record,
    verify_record,
)
from .sealed import content_key, open_sealed, open_with_key, recipients, seal
from .timestamps import format_timestamp, parse_timestamp

__all__ = [
    "BODY_SCHEMAS",
    "CODES",
    "KNOWN_KINDS",
    "MAX_CLOCK_AHEAD",
    "MAX_RECORD_BYTES",
    "PROTOCOL_VERSION",
    "ChainHead",
    "Identity",
    "Placement",
    "ProtocolError",
    "VerifiedRecord",
    "canonical_bytes",
    "canonicalize",
    "check_profile",
    "content_key",
    "decode_sig",
    "did_from_public_key",
    "encode_sig",
    "format_timestamp",
    "loads_canonical",
    "open_sealed",
    "open_with_key",
    "parse_json",
    "parse_timestamp",
    "place",
    "public_key_from_did",
    "recipients",
    "record_id",
    "schema_document",
    "seal",
    "sign_record",
    "validate_body",
    "verify_key",
    "verify_record",
    "x25519_public_key",
]
