"""Canonical JSON and content hashes: equal reports give equal bytes, whatever the key order or spacing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(report: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 with Chinese kept as is (``ensure_ascii=False``)."""
    return json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_sha256(report: Mapping[str, Any]) -> str:
    """Hex SHA-256 of :func:`canonical_json` — the revision's content hash (idempotency check)."""
    return hashlib.sha256(canonical_json(report)).hexdigest()


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of the raw request body, as it goes into the string to sign."""
    return hashlib.sha256(body).hexdigest()
