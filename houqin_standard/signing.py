"""Agent request signing (API.md, "School agents: signed requests").

``X-Houqin-Signature``: hex HMAC-SHA256 over
``f"{timestamp}\\n{METHOD}\\n{path_with_query}\\n{hex sha256(body)}"``,
with the key being the secret string as the bureau issued it, UTF-8 encoded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from .canonical import body_sha256

SIGNATURE_WINDOW_SECONDS = 300

HEADER_SCHOOL = "X-Houqin-School"
HEADER_TIMESTAMP = "X-Houqin-Timestamp"
HEADER_SIGNATURE = "X-Houqin-Signature"


def string_to_sign(timestamp: int | str, method: str, path_with_query: str, body: bytes) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{path_with_query}\n{body_sha256(body)}".encode()


def sign_request(secret: str, timestamp: int | str, method: str, path_with_query: str, body: bytes) -> str:
    """Hex HMAC-SHA256 signature of one request."""
    msg = string_to_sign(timestamp, method, path_with_query, body)
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


_HEX64 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)


def normalize_signature(signature: object) -> str | None:
    """The one spelling of a signature header: exactly 64 hex digits, lower-cased; None for anything else
    (surrounding white space of any kind included). The hub verifies and remembers (replay) this value, so
    two spellings of one signature are one signature."""
    if not isinstance(signature, str) or _HEX64.fullmatch(signature) is None:
        return None
    return signature.lower()


def parse_timestamp(timestamp: object) -> int | None:
    """Unix seconds as the agent writes them: 1 to 12 ASCII digits and nothing else (no sign, no ``_``, no
    white space, no other script's digits); None otherwise."""
    if isinstance(timestamp, bool):
        return None
    if isinstance(timestamp, int):
        return timestamp if timestamp >= 0 else None
    if not isinstance(timestamp, str) or _DIGITS.fullmatch(timestamp) is None:
        return None
    return int(timestamp)


def verify_signature(
    secret: str, timestamp: int | str, method: str, path_with_query: str, body: bytes, signature: str
) -> bool:
    """Constant-time check of ``signature`` (64 hex digits, any case; see :func:`normalize_signature`).
    Never raises on a malformed signature."""
    normalized = normalize_signature(signature)
    if normalized is None:
        return False
    expected = sign_request(secret, timestamp, method, path_with_query, body)
    return hmac.compare_digest(expected.encode("ascii"), normalized.encode("ascii"))


def signed_headers(
    school_code: str, secret: str, method: str, path_with_query: str, body: bytes, *, now: int | None = None
) -> dict[str, str]:
    """The three headers an agent sends (timestamp = ``now`` or the current unix time)."""
    ts = str(int(time.time()) if now is None else int(now))
    return {
        HEADER_SCHOOL: school_code,
        HEADER_TIMESTAMP: ts,
        HEADER_SIGNATURE: sign_request(secret, ts, method, path_with_query, body),
    }


def timestamp_fresh(timestamp: int | str, *, now: float | None = None, window: int = SIGNATURE_WINDOW_SECONDS) -> bool:
    """True when ``timestamp`` (unix seconds, digits only) is within ``window`` seconds of ``now``."""
    ts = parse_timestamp(timestamp)
    if ts is None:
        return False
    current = time.time() if now is None else now
    return abs(current - ts) <= window
