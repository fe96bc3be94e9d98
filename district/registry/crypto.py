"""Credential secrets at rest: encrypted with the server key (Fernet), which lives outside the database."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from district.files import write_private_once


def _key_path(key_file: str) -> Path:
    return Path(key_file)


def load_or_create_server_key(key_file: str) -> bytes:
    path = _key_path(key_file)
    if path.exists():
        return path.read_bytes().strip()
    # 0600 in a folder made 0700; another process making it at the same moment: theirs (district/files.py)
    return write_private_once(path, Fernet.generate_key()).strip()


class SecretBox:
    """Seal and open credential secrets. Opened secrets are remembered by their sealed form (a Fernet token is
    unique to one encryption, so a rotated credential is a new entry), at most ``CACHE`` of them: a hub worker
    verifies every signed request and need not decrypt the same school's secret each time. The server key
    is in the same process memory, so remembering what it opens exposes nothing more."""

    CACHE = 4096

    def __init__(self, key_file: str) -> None:
        self._fernet = Fernet(load_or_create_server_key(key_file))
        self._opened: dict[bytes, str] = {}

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        sealed = bytes(sealed)
        secret = self._opened.get(sealed)
        if secret is None:
            secret = self._fernet.decrypt(sealed).decode("utf-8")
            if len(self._opened) >= self.CACHE:
                self._opened.clear()
            self._opened[sealed] = secret
        return secret
