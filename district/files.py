"""Files the hub makes that hold secrets or people's data, made private to the hub's own user.

The instance folder, the SQLite database, the Flask secret, the server key, the hub's receipt-signing keys and
the generated PDFs are created 0600 (files) in folders the hub creates 0700 — from the start, never created
readable and narrowed afterwards. A folder that already exists is left as the operator made it (a mounted
volume, a backup user's group): the hub never loosens or tightens what it did not create. Public material (the
hub's public keys) keeps the process's umask. docs/DECISIONS.md "Hardening (issue 16)".
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: str | Path) -> Path:
    """``mkdir -p``: every folder it creates is 0700; existing ones are left as they are."""
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it first
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode passes through the umask
    return path


def create_private(path: str | Path) -> None:
    """An empty 0600 file at ``path`` unless a file is already there (SQLite then fills it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def write_private_once(path: str | Path, data: bytes) -> bytes:
    """Make ``path`` (0600) holding ``data`` unless it exists; returns the file's content either way.

    Written whole to a temporary name and linked into place, so two processes starting at once (gunicorn
    workers) agree on one content and neither reads a half-written file."""
    path = Path(path)
    private_dir(path.parent)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: theirs
            return path.read_bytes()
        return data
    finally:
        tmp.unlink(missing_ok=True)
