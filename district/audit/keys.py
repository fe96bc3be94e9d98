"""The hub's Ed25519 signing keys for receipts. Private keys live in files outside the database
(``HOUQIN_SIGNING_KEY_DIR``, default ``<instance>/keys``); rotation adds a key and keeps the old public keys.

Layout: ``<kid>.key`` (PKCS#8 PEM, 0600), ``<kid>.pub`` (raw public key, base64), ``current`` (the active kid).
The key id is the first 16 hex digits of SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district import clock
from district.files import private_dir
from houqin_standard.receipts import SIGNED_FIELDS, endorsement_payload, receipt_payload

__all__ = ["SIGNED_FIELDS", "HubKeys", "init_keys", "key_id", "receipt_payload"]


def _raw_public(priv: Ed25519PrivateKey) -> bytes:
    return priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def init_keys(directory: Path) -> str:
    """Create a new key pair and make it current; earlier keys stay for verification. Returns the key id.
    The private key is 0600 in a folder made 0700 (district/files.py); the public ones are public."""
    private_dir(directory)
    previous = HubKeys.load(directory, create=False) if (directory / "current").exists() else None
    priv = Ed25519PrivateKey.generate()
    raw = _raw_public(priv)
    kid = key_id(raw)
    pem = priv.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(directory / f"{kid}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    info: dict[str, Any] = {
        "key_id": kid,
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(raw).decode(),
        "created_at": clock.now().isoformat(),
    }
    if previous is not None:
        # the outgoing key vouches for its successor, so an agent that pinned the old key can accept the new one
        info["endorsed_by"] = previous.current_id
        info["endorsement"] = previous.sign(endorsement_payload(kid, raw))
    (directory / f"{kid}.pub").write_text(json.dumps(info) + "\n")
    tmp = directory / f"current.{os.getpid()}.tmp"
    tmp.write_text(kid + "\n")
    tmp.replace(directory / "current")
    return kid


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An advisory lock between processes on one machine (the hub's workers)."""
    with open(path, "a") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: no concurrent workers to guard against there
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class HubKeys:
    directory: Path
    current_id: str
    _private: Ed25519PrivateKey

    @classmethod
    def load(cls, directory: Path, *, create: bool = True) -> HubKeys:
        current = directory / "current"
        if not current.exists():
            if not create:
                raise FileNotFoundError(f"no hub keys in {directory}: run `houqin keys init`")
            # the first request of each gunicorn worker may get here at once: one of them makes the key
            private_dir(directory)
            with _exclusive(directory / ".init.lock"):
                if not current.exists():
                    init_keys(directory)
        kid = current.read_text().strip()
        priv = serialization.load_pem_private_key((directory / f"{kid}.key").read_bytes(), password=None)
        assert isinstance(priv, Ed25519PrivateKey)
        return cls(directory, kid, priv)

    def sign(self, payload: bytes) -> str:
        return self._private.sign(payload).hex()

    def public_keys(self) -> list[dict[str, Any]]:
        keys = []
        for pub in sorted(self.directory.glob("*.pub")):
            info = json.loads(pub.read_text())
            info["current"] = info["key_id"] == self.current_id
            keys.append(info)
        return keys

    def public_key_map(self) -> dict[str, bytes]:
        return {k["key_id"]: base64.b64decode(k["public_key"]) for k in self.public_keys()}
