"""Agent request signing (API.md, "School agents: signed requests").

``X-Houqin-Signature``: hex HMAC-SHA256 over
``f"{timestamp}\\n{METHOD}\\n{path_with_query}\\n{hex sha256(body)}"``,
with the key being the secret string as the bureau issued it, UTF-8 encoded.
"""

from __future__ import annotations

import hashlib
import hmac
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


def verify_signature(
    secret: str, timestamp: int | str, method: str, path_with_query: str, body: bytes, signature: str
) -> bool:
    """Constant-time check of ``signature`` (hex, any case). Never raises on a malformed signature."""
    if not isinstance(signature, str):
        return False
    expected = sign_request(secret, timestamp, method, path_with_query, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8"))


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


def timestamp_fresh(
    timestamp: int | str, *, now: float | None = None, window: int = SIGNATURE_WINDOW_SECONDS
) -> bool:
    """True when ``timestamp`` (unix seconds, digits only) is within ``window`` seconds of ``now``."""
    if isinstance(timestamp, bool):
        return False
    if isinstance(timestamp, str):
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return False
        ts = int(timestamp)
    elif isinstance(timestamp, int):
        ts = timestamp
    else:
        return False
    current = time.time() if now is None else now
    return abs(current - ts) <= window
