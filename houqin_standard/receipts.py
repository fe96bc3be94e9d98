"""Hub-signed receipts: the exact bytes the hub signs, and their verification (shared by hub and agent).

The signature is Ed25519 over the canonical JSON (sorted keys, no spaces, UTF-8) of the receipt's
``SIGNED_FIELDS``; ``warnings`` are left out because their text follows ``Accept-Language``. Verification needs
the ``cryptography`` package, imported only when a receipt is verified.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

SIGNED_FIELDS = (
    "report_id",
    "school_code",
    "period",
    "revision",
    "received_at",
    "on_time",
    "content_sha256",
    "chain_hash",
    "hub_key_id",
)


class ReceiptError(Exception):
    """The receipt is not what the hub signed: ``code`` is stable (missing_field, unknown_key, bad_signature)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def receipt_payload(receipt: Mapping[str, Any]) -> bytes:
    missing = [k for k in SIGNED_FIELDS if k not in receipt]
    if missing:
        raise ReceiptError("missing_field", f"receipt lacks {', '.join(missing)}")
    return json.dumps(
        {k: receipt[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _raw_key(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else base64.b64decode(value)


def verify_receipt(receipt: Mapping[str, Any], public_keys: Mapping[str, bytes | str]) -> None:
    """Raise :class:`ReceiptError` unless ``receipt`` carries a valid signature by one of ``public_keys``
    (key id → raw Ed25519 public key, bytes or base64)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    payload = receipt_payload(receipt)
    kid = receipt.get("hub_key_id")
    if not isinstance(kid, str) or kid not in public_keys:
        raise ReceiptError("unknown_key", f"receipt signed with key {kid!r}, which is not a pinned hub key")
    sig = receipt.get("signature")
    try:
        Ed25519PublicKey.from_public_bytes(_raw_key(public_keys[kid])).verify(bytes.fromhex(str(sig)), payload)
    except (InvalidSignature, ValueError):
        raise ReceiptError("bad_signature", "the hub's signature does not match this receipt") from None


def endorsement_payload(kid: str, public_raw: bytes) -> bytes:
    """What an outgoing hub key signs to vouch for its successor."""
    return f"houqin/hub-key-endorsement@1\n{kid}\n{base64.b64encode(public_raw).decode()}".encode()


def extend_pinned_keys(pinned: Mapping[str, bytes | str], published: list[Mapping[str, Any]]) -> dict[str, bytes]:
    """Keys from the hub's ``GET /api/v1/hub-keys`` that a pinned key vouches for, directly or through a chain
    of rotations, added to ``pinned``. A published key nobody pinned vouches for is ignored (never trusted)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    trusted = {k: _raw_key(v) for k, v in pinned.items()}
    changed = True
    while changed:
        changed = False
        for key in published:
            kid, voucher = key.get("key_id"), key.get("endorsed_by")
            if not isinstance(kid, str) or kid in trusted or voucher not in trusted:
                continue
            raw = base64.b64decode(str(key.get("public_key", "")))
            try:
                Ed25519PublicKey.from_public_bytes(trusted[str(voucher)]).verify(
                    bytes.fromhex(str(key.get("endorsement", ""))), endorsement_payload(kid, raw)
                )
            except (InvalidSignature, ValueError):
                continue
            trusted[kid] = raw
            changed = True
    return trusted
