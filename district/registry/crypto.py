"""Credential secrets at rest: encrypted with the server key (Fernet), which lives outside the database."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet


def _key_path(key_file: str) -> Path:
    return Path(key_file)


def load_or_create_server_key(key_file: str) -> bytes:
    path = _key_path(key_file)
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


class SecretBox:
    def __init__(self, key_file: str) -> None:
        self._fernet = Fernet(load_or_create_server_key(key_file))

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        return self._fernet.decrypt(sealed).decode("utf-8")
