"""HTTP Message Signatures between nodes: Guildnode's profile of RFC 9421 (SPEC §9.6).

A node signs every request it sends to another node, and the receiver learns from the
signature which key speaks, so it can rate-limit and refuse per key. The profile:

- exactly one signature per request, under any label;
- covered components at least `"@method"` and `"@target-uri"`, and `"content-digest"`
  (RFC 9530, sha-256 or sha-512) whenever the request has a body;
- parameters `created` and `expires` (integers, `expires - created` ≤ 300 s), `keyid` (the
  sender's did:key) and, optionally, `alg="ed25519"`; 60 s of clock skew are tolerated;
- a (keyid, signature) seen before within its validity is a replay.

Sans-IO like the rest of `guildnode.protocol`: bytes, strings and `now` (Unix seconds) in;
header values, a did or a `SignatureError` out. The one piece of state, `ReplayCache`, is
owned by the caller.

The package, one purpose a module: `profile` (limits, codes, `SignatureError`), `fields`
(structured-field parsing and the signature base), `signing`, `verification` and `replay`.
"""

# The underscored names are re-exported for tests/protocol/test_httpsig.py, which checks the
# signature base against RFC 9421 Appendix B.2.6.
from .fields import _component_values as _component_values
from .fields import _lower_headers as _lower_headers
from .fields import _parse_signature as _parse_signature
from .fields import _signature_base as _signature_base
from .profile import ALGORITHM as ALGORITHM
from .profile import CLOCK_SKEW as CLOCK_SKEW
from .profile import DEFAULT_LIFETIME as DEFAULT_LIFETIME
from .profile import MAX_LIFETIME as MAX_LIFETIME
from .profile import SIGNATURE_BYTES as SIGNATURE_BYTES
from .profile import SIGNATURE_CODES as SIGNATURE_CODES
from .profile import SignatureError as SignatureError
from .replay import ReplayCache as ReplayCache
from .signing import content_digest as content_digest
from .signing import sign_request as sign_request
from .verification import verify_request as verify_request
