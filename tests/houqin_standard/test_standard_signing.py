"""Request signing: a vector computed by hand with hmac/hashlib, and the verify helpers."""

from __future__ import annotations

import hashlib
import hmac

from houqin_standard import (
    SIGNATURE_WINDOW_SECONDS,
    body_sha256,
    normalize_signature,
    parse_timestamp,
    sign_request,
    signed_headers,
    string_to_sign,
    timestamp_fresh,
    verify_signature,
)

SECRET = "k3Y-例-secret-0123456789abcdefghijklmnopqrstuvwxyz"
BODY = '{"period":"2026-09","prepared_by":"李总务"}'.encode()
TS = 1790000000
PATH = "/api/v1/reports?dry_run=1"


def _by_hand() -> str:
    body_hash = hashlib.sha256(BODY).hexdigest()
    message = f"{TS}\nPOST\n{PATH}\n{body_hash}".encode()
    return hmac.new(SECRET.encode("utf-8"), message, hashlib.sha256).hexdigest()


def test_string_to_sign_layout() -> None:
    expected = f"1790000000\nPOST\n{PATH}\n{hashlib.sha256(BODY).hexdigest()}".encode()
    assert string_to_sign(TS, "post", PATH, BODY) == expected
    assert string_to_sign(str(TS), "POST", PATH, BODY) == expected


def test_known_vector_by_hand() -> None:
    assert sign_request(SECRET, TS, "POST", PATH, BODY) == _by_hand()
    assert sign_request(SECRET, str(TS), "post", PATH, BODY) == _by_hand()


def test_fixed_vector_literal() -> None:
    # Frozen so that agent and hub stay byte-compatible across refactors.
    body = b""
    assert body_sha256(body) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    expected = hmac.new(
        b"secret",
        b"0\nGET\n/api/v1/feedback?period=2026-09\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        hashlib.sha256,
    ).hexdigest()
    assert sign_request("secret", 0, "GET", "/api/v1/feedback?period=2026-09", body) == expected


def test_verify_signature() -> None:
    good = _by_hand()
    assert verify_signature(SECRET, TS, "POST", PATH, BODY, good)
    assert verify_signature(SECRET, TS, "POST", PATH, BODY, good.upper())
    assert not verify_signature(SECRET, TS, "POST", PATH, BODY + b" ", good)
    assert not verify_signature(SECRET, TS + 1, "POST", PATH, BODY, good)
    assert not verify_signature(SECRET, TS, "PUT", PATH, BODY, good)
    assert not verify_signature(SECRET, TS, "POST", "/api/v1/reports", BODY, good)
    assert not verify_signature(SECRET + "x", TS, "POST", PATH, BODY, good)
    assert not verify_signature(SECRET, TS, "POST", PATH, BODY, "")
    assert not verify_signature(SECRET, TS, "POST", PATH, BODY, "签名")
    assert not verify_signature(SECRET, TS, "POST", PATH, BODY, None)  # type: ignore[arg-type]


def test_signed_headers() -> None:
    headers = signed_headers("6105260012", SECRET, "POST", PATH, BODY, now=TS)
    assert headers == {
        "X-Houqin-School": "6105260012",
        "X-Houqin-Timestamp": str(TS),
        "X-Houqin-Signature": _by_hand(),
    }


def test_timestamp_window() -> None:
    assert SIGNATURE_WINDOW_SECONDS == 300
    assert timestamp_fresh(TS, now=TS + 300)
    assert timestamp_fresh(str(TS), now=TS - 300)
    assert not timestamp_fresh(TS, now=TS + 301)
    assert not timestamp_fresh("abc", now=TS)
    assert not timestamp_fresh("-5", now=TS)
    assert not timestamp_fresh(True, now=1)


def test_a_signature_has_one_spelling() -> None:
    """Exactly 64 hex digits, lower-cased; white space of any kind around it (the replay check's key must be
    the verifier's) or any other character makes it no signature at all."""
    good = sign_request(SECRET, TS, "POST", PATH, BODY)
    assert normalize_signature(good.upper()) == good
    spaces = [chr(c) for c in range(0x10000) if chr(c).isspace()]
    assert "\x1c" in spaces and "\x85" in spaces and "\xa0" in spaces and "\u3000" in spaces
    for ws in spaces:
        assert normalize_signature(good + ws) is None and normalize_signature(ws + good) is None
        assert not verify_signature(SECRET, TS, "POST", PATH, BODY, good + ws)
    for bad in ("", good[:-1], good + "0", "０" + good[1:], good[:-1] + "g", None, 7):
        assert normalize_signature(bad) is None


def test_a_timestamp_is_ascii_digits_only() -> None:
    assert parse_timestamp("1796604584") == 1796604584 and parse_timestamp(12) == 12
    for bad in (
        "+1796604584",
        "1796_604584",
        " 1796604584",
        "1796604584\n",
        "１７９６６０４５８４",
        "-1",
        "",
        "1" * 13,
        "1e9",
        True,
        None,
        1.5,
    ):
        assert parse_timestamp(bad) is None, bad
        assert not timestamp_fresh(bad, now=1796604584)
