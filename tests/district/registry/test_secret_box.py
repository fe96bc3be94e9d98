"""Credential secrets at rest: sealed with the server key; opened ones remembered by their sealed form only."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import InvalidToken

from district.registry.crypto import SecretBox


def test_opened_secrets_are_remembered_by_token_and_a_forged_token_still_fails(tmp_path: Path) -> None:
    box = SecretBox(str(tmp_path / "server.key"))
    token = box.seal("s3cret")
    assert box.open(token) == box.open(token) == "s3cret"
    rotated = box.seal("new-secret")
    assert rotated != token and box.open(rotated) == "new-secret"
    forged = token[:-4] + (b"AAAA" if token[-4:] != b"AAAA" else b"BBBB")
    with pytest.raises(InvalidToken):
        box.open(forged)
    other = SecretBox(str(tmp_path / "other.key"))  # another server key opens nothing of this one
    with pytest.raises(InvalidToken):
        other.open(token)


def test_the_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SecretBox, "CACHE", 3)
    box = SecretBox(str(tmp_path / "server.key"))
    tokens = [box.seal(f"secret-{i}") for i in range(10)]
    assert [box.open(t) for t in tokens] == [f"secret-{i}" for i in range(10)]
    assert len(box._opened) <= 3
