"""The outbox (发件箱): every report the agent accepted, durable before any network call.

SQLite in WAL mode with ``synchronous=FULL``: when :meth:`Outbox.add` returns, the row is on disk (the WAL is
fsynced at commit) and survives a power cut or ``kill -9``. The body stored is the exact canonical JSON that
is POSTed, and its ``report_id`` is fixed here, so every re-send is byte-identical and the hub answers it with
the original receipt (200) instead of a second revision.

State machine of one row (nothing is ever deleted)::

    pending ──200/201 + receipt──▶ sent
       │  ╲──422 / 403 / 413 / 415──▶ rejected   (the hub's reasons kept; not retried)
       │   ╲──409──────────────────▶ conflict   (report_id reused, or period locked; not retried)
       └─ network error, 5xx, 429, 401 … stays pending (retried by the next sync)
    rejected / conflict ──``houqin-agent retry``──▶ pending   (e.g. after the bureau unlocked the period)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from houqin_standard import canonical_json, content_sha256

from . import crash

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- queue order: oldest first
    report_id       TEXT    NOT NULL UNIQUE,            -- fixed at outbox time: the idempotency key
    school_code     TEXT    NOT NULL,
    period          TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('report', 'correction')),
    body            BLOB    NOT NULL,                   -- canonical JSON, exactly what is POSTed
    content_sha256  TEXT    NOT NULL,
    source          TEXT,                               -- the file it was read from
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'rejected', 'conflict')),
    created_at      TEXT    NOT NULL,                   -- ISO 8601, UTC
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_signed_ts  INTEGER,                            -- unix seconds signed into the last attempt
    next_attempt_at INTEGER,                            -- unix seconds; from the hub's Retry-After
    last_error      TEXT,
    http_status     INTEGER,
    finished_at     TEXT,                               -- when it became sent / rejected / conflict
    receipt         TEXT,                               -- the hub's receipt (JSON) once sent
    revision        INTEGER,                            -- receipt.revision
    hub_error       TEXT                                -- the hub's error body (JSON) when refused
);
CREATE INDEX IF NOT EXISTS ix_outbox_state_seq ON outbox (state, seq);
CREATE INDEX IF NOT EXISTS ix_outbox_school_period ON outbox (school_code, period);
CREATE TABLE IF NOT EXISTS events (                     -- append-only log of what happened to each row
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    report_id   TEXT    NOT NULL,
    event       TEXT    NOT NULL,                       -- queued attempt sent rejected conflict failed requeued
    http_status INTEGER,
    detail      TEXT
);
"""

STATES = ("pending", "sent", "rejected", "conflict")


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    report_id: str
    school_code: str
    period: str
    kind: str
    body: bytes
    content_sha256: str
    source: str | None
    state: str
    created_at: str
    attempts: int
    last_attempt_at: str | None
    last_signed_ts: int | None
    next_attempt_at: int | None
    last_error: str | None
    http_status: int | None
    finished_at: str | None
    receipt: dict[str, Any] | None
    revision: int | None
    hub_error: dict[str, Any] | None

    @property
    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.body.decode("utf-8"))
        return report

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxItem:
        d = dict(row)
        d["body"] = bytes(d["body"])
        d["receipt"] = json.loads(d["receipt"]) if d["receipt"] else None
        d["hub_error"] = json.loads(d["hub_error"]) if d["hub_error"] else None
        return cls(**d)


class Outbox:
    """One open outbox database. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        try:
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so a committed row survives a power cut.
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=30000")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                with self._tx():
                    # executescript() would COMMIT on its own; one statement at a time stays in our transaction
                    for stmt in _statements(SCHEMA):
                        self.conn.execute(stmt)
                    self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            self.conn.close()
            raise
        if new:
            _fsync_dir(path.parent)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _event(self, report_id: str, event: str, status: int | None = None, detail: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO events (at, report_id, event, http_status, detail) VALUES (?, ?, ?, ?, ?)",
            (_now_iso(), report_id, event, status, detail),
        )

    def pragma(self, name: str) -> Any:
        return self.conn.execute(f"PRAGMA {name}").fetchone()[0]

    # ------------------------------------------------------------------ writing

    def add(self, report: dict[str, Any], *, kind: str = "report", source: str | None = None) -> OutboxItem:
        """Queue a validated report; durable (fsynced) when this returns. ``report_id`` must be set."""
        return self.queue(report, kind=kind, source=source)[0]

    def queue(
        self,
        report: dict[str, Any],
        *,
        kind: str = "report",
        source: str | None = None,
        check: Callable[[Outbox], OutboxItem | None] | None = None,
    ) -> tuple[OutboxItem, bool]:
        """:meth:`add`, after ``check``; returns ``(item, added)``.

        ``check`` runs inside the same write transaction, before the insert, so no other process can queue a
        competing report between the check and the insert: it may raise (nothing is written) or return an
        existing item to use instead (nothing is written either). Returns ``(item, added)``.
        """
        body = canonical_json(report)
        rid = str(report["report_id"]).lower()
        with self._tx():
            if check is not None:
                existing = check(self)
                if existing is not None:
                    return existing, False
            self.conn.execute(
                "INSERT INTO outbox (report_id, school_code, period, kind, body, content_sha256, source, state,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (rid, report["school_code"], report["period"], kind, body, content_sha256(report), source, _now_iso()),
            )
            self._event(rid, "queued", detail=source)
            crash.point("before_outbox_commit")
        crash.point("after_outbox_commit")
        item = self.get(rid)
        assert item is not None
        return item, True

    def record_attempt(self, report_id: str, signed_ts: int) -> None:
        """Committed BEFORE the request goes out: the attempt count and the timestamp about to be signed.

        Committed without its own fsync (``synchronous=NORMAL`` for this one transaction): losing it to a power
        cut loses a counter, never a report — the report row itself was fsynced by :meth:`add`, and a re-used
        timestamp only makes the hub answer "replay", which sync retries a second later. The next FULL commit
        (the answer's) fsyncs it along. This halves the fsyncs per report sent.
        """
        self.conn.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._tx():
                self.conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, last_signed_ts = ?"
                    " WHERE report_id = ?",
                    (_now_iso(), signed_ts, report_id),
                )
                self._event(report_id, "attempt")
        finally:
            self.conn.execute("PRAGMA synchronous=FULL")

    def mark_sent(self, report_id: str, status: int, receipt: dict[str, Any]) -> None:
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET state = 'sent', http_status = ?, receipt = ?, revision = ?, finished_at = ?,"
                " last_error = NULL, next_attempt_at = NULL WHERE report_id = ? AND state = 'pending'",
                (status, json.dumps(receipt, ensure_ascii=False), receipt.get("revision"), _now_iso(), report_id),
            )
            if cur.rowcount:
                self._event(report_id, "sent", status, f"revision {receipt.get('revision')}")

    def mark_refused(self, report_id: str, state: str, status: int, error: dict[str, Any]) -> None:
        """The hub refused it for good: ``rejected`` (422, 403, 413, 415) or ``conflict`` (409)."""
        assert state in ("rejected", "conflict")
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET state = ?, http_status = ?, hub_error = ?, finished_at = ?, last_error = ?,"
                " next_attempt_at = NULL WHERE report_id = ? AND state = 'pending'",
                (
                    state,
                    status,
                    json.dumps(error, ensure_ascii=False),
                    _now_iso(),
                    str(error.get("message") or error.get("code") or status),
                    report_id,
                ),
            )
            if cur.rowcount:
                self._event(report_id, state, status, str(error.get("code") or ""))

    def note_failure(
        self, report_id: str, message: str, *, status: int | None = None, next_attempt_at: int | None = None
    ) -> None:
        """A try that did not settle it (network, 5xx, 429, 401): stays pending."""
        with self._tx():
            self.conn.execute(
                "UPDATE outbox SET last_error = ?, http_status = ?, next_attempt_at = ? WHERE report_id = ?",
                (message, status, next_attempt_at, report_id),
            )
            self._event(report_id, "failed", status, message[:500])

    def requeue(self, report_id: str) -> bool:
        """rejected / conflict → pending (the operator's decision, e.g. after the period was unlocked)."""
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = NULL, finished_at = NULL"
                " WHERE report_id = ? AND state IN ('rejected', 'conflict')",
                (report_id,),
            )
            if cur.rowcount:
                self._event(report_id, "requeued")
        return cur.rowcount > 0

    # ------------------------------------------------------------------ reading

    def get(self, report_id: str) -> OutboxItem | None:
        row = self.conn.execute("SELECT * FROM outbox WHERE report_id = ?", (report_id.lower(),)).fetchone()
        return OutboxItem.from_row(row) if row else None

    def find(self, prefix: str) -> list[OutboxItem]:
        rows = self.conn.execute(
            "SELECT * FROM outbox WHERE report_id LIKE ? ORDER BY seq", (prefix.lower().replace("%", "") + "%",)
        ).fetchall()
        return [OutboxItem.from_row(r) for r in rows]

    def next_pending(self, after_seq: int = 0) -> OutboxItem | None:
        row = self.conn.execute(
            "SELECT * FROM outbox WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT 1", (after_seq,)
        ).fetchone()
        return OutboxItem.from_row(row) if row else None

    def count(self, state: str | None = None) -> int:
        if state is None:
            return int(self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM outbox WHERE state = ?", (state,)).fetchone()[0])

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self.conn.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
            out[state] = int(n)
        return out

    def items(
        self, states: tuple[str, ...] | None = None, *, newest_first: bool = False, limit: int | None = None
    ) -> list[OutboxItem]:
        sql = "SELECT * FROM outbox"
        params: list[Any] = []
        if states:
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            params.extend(states)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [OutboxItem.from_row(r) for r in self.conn.execute(sql, params)]

    def for_period(
        self, school_code: str, period: str, states: tuple[str, ...] = ("pending", "sent")
    ) -> list[OutboxItem]:
        marks = ",".join("?" * len(states))  # placeholders only; the values are bound
        rows = self.conn.execute(
            f"SELECT * FROM outbox WHERE school_code = ? AND period = ? AND state IN ({marks}) ORDER BY seq",  # noqa: S608
            (school_code, period, *states),
        ).fetchall()
        return [OutboxItem.from_row(r) for r in rows]

    def accepted_reports(self, school_code: str, before_period: str | None = None) -> list[OutboxItem]:
        """Pending and sent reports of the school, by period then queue order (the latest revision last)."""
        sql = "SELECT * FROM outbox WHERE school_code = ? AND state IN ('pending', 'sent')"
        params: list[Any] = [school_code]
        if before_period is not None:
            sql += " AND period < ?"
            params.append(before_period)
        sql += " ORDER BY period, seq"
        return [OutboxItem.from_row(r) for r in self.conn.execute(sql, params)]

    def events(self, report_id: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.conn.execute(
                "SELECT at, event, http_status, detail FROM events WHERE report_id = ? ORDER BY id", (report_id,)
            )
        ]


def _statements(script: str) -> list[str]:
    """Split our own schema script (no semicolons inside strings) into statements for one transaction."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _fsync_dir(directory: Path) -> None:
    """Make the new database file's directory entry durable too (POSIX; Windows has no directory fsync)."""
    if os.name == "nt":  # pragma: no cover
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unix_now() -> int:
    return int(time.time())
