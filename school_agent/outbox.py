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
    pending ──200/201 + a receipt that fails the check──▶ receipt_invalid   (not retried; see below)
    rejected / conflict / receipt_invalid ──``houqin-agent retry``──▶ pending   (e.g. after the bureau unlocked
                                                                                  the period, or checked the hub)

A receipt counts only when the hub's Ed25519 signature verifies against the keys pinned in the configuration
and it names what was sent (report_id, school_code, period, content SHA-256) — ``school_agent.trust``. One that
does not is kept (``receipt``, and in full in the ``receipt_invalid`` event) as evidence, never as proof.
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

SCHEMA_VERSION = 2


def _outbox_table(name: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {name} (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- queue order: oldest first
    report_id       TEXT    NOT NULL UNIQUE,            -- fixed at outbox time: the idempotency key
    school_code     TEXT    NOT NULL,
    period          TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('report', 'correction')),
    body            BLOB    NOT NULL,                   -- canonical JSON, exactly what is POSTed
    content_sha256  TEXT    NOT NULL,
    source          TEXT,                               -- the file it was read from
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'rejected', 'conflict', 'receipt_invalid')),
    created_at      TEXT    NOT NULL,                   -- ISO 8601, UTC
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_signed_ts  INTEGER,                            -- unix seconds signed into the last attempt
    next_attempt_at INTEGER,                            -- unix seconds; from the hub's Retry-After
    last_error      TEXT,
    http_status     INTEGER,
    finished_at     TEXT,                               -- when it became sent / rejected / conflict / receipt_invalid
    receipt         TEXT,                               -- the hub's receipt (JSON, whole: signature, chain_hash …)
    revision        INTEGER,                            -- receipt.revision (verified receipts only)
    hub_error       TEXT,                               -- the hub's error body (JSON) when refused
    receipt_verified_at TEXT,                           -- when the receipt's signature and contents were verified
    receipt_key_id  TEXT,                               -- the pinned hub key that verified it
    receipt_error   TEXT                                -- receipt_invalid: {"code", "message"} (JSON)
)"""


_INDEXES_AND_EVENTS = """
CREATE INDEX IF NOT EXISTS ix_outbox_state_seq ON outbox (state, seq);
CREATE INDEX IF NOT EXISTS ix_outbox_school_period ON outbox (school_code, period);
CREATE TABLE IF NOT EXISTS events (                     -- append-only log of what happened to each row
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    report_id   TEXT    NOT NULL,
    event       TEXT    NOT NULL,  -- queued attempt sent rejected conflict failed requeued receipt_invalid …
    http_status INTEGER,
    detail      TEXT
);
"""

SCHEMA = _outbox_table("outbox") + ";" + _INDEXES_AND_EVENTS

# Version 1 → 2: the state receipt_invalid (a CHECK constraint SQLite cannot alter: the table is rebuilt, rows and
# their seq kept) and the receipt-check columns. Receipts kept by version 1 were not signed: receipt_verified_at
# stays NULL, and status / receipts export fetch their signed copies from the hub.
MIGRATE_1_TO_2 = (
    _outbox_table("outbox_v2")  # noqa: S608 - our own schema text, no values
    + """;
INSERT INTO outbox_v2 (seq, report_id, school_code, period, kind, body, content_sha256, source, state, created_at,
                       attempts, last_attempt_at, last_signed_ts, next_attempt_at, last_error, http_status,
                       finished_at, receipt, revision, hub_error)
    SELECT seq, report_id, school_code, period, kind, body, content_sha256, source, state, created_at,
           attempts, last_attempt_at, last_signed_ts, next_attempt_at, last_error, http_status,
           finished_at, receipt, revision, hub_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
"""
    + _INDEXES_AND_EVENTS
)

STATES = ("pending", "sent", "rejected", "conflict", "receipt_invalid")


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
    receipt_verified_at: str | None = None
    receipt_key_id: str | None = None
    receipt_error: dict[str, Any] | None = None

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
        d["receipt_error"] = json.loads(d["receipt_error"]) if d["receipt_error"] else None
        return cls(**d)


def _journal_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """``PRAGMA journal_mode=WAL``, retried: two agent processes opening a new outbox at once race for the change
    of journal mode, and SQLite answers that race "database is locked" at once rather than through busy_timeout."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


class Outbox:
    """One open outbox database. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        try:
            self.conn.row_factory = sqlite3.Row
            _journal_wal(self.conn)
            # FULL: the WAL is fsynced at every commit, so a committed row survives a power cut.
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=30000")
            if self.pragma("user_version") < SCHEMA_VERSION:
                with self._tx():
                    # again inside the write lock: another process may have just created or migrated it.
                    # executescript() would COMMIT on its own; one statement at a time stays in our transaction
                    version = self.pragma("user_version")
                    if version < SCHEMA_VERSION:
                        script = MIGRATE_1_TO_2 if version == 1 else SCHEMA
                        for stmt in _statements(script):
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

    def mark_sent(self, report_id: str, status: int, receipt: dict[str, Any], key_id: str | None = None) -> None:
        """pending → sent with the hub's receipt, kept whole. ``key_id``: the pinned key that verified it."""
        now = _now_iso()
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET state = 'sent', http_status = ?, receipt = ?, revision = ?, finished_at = ?,"
                " last_error = NULL, next_attempt_at = NULL, receipt_verified_at = ?, receipt_key_id = ?,"
                " receipt_error = NULL WHERE report_id = ? AND state = 'pending'",
                (
                    status,
                    json.dumps(receipt, ensure_ascii=False),
                    receipt.get("revision"),
                    now,
                    now if key_id else None,
                    key_id,
                    report_id,
                ),
            )
            if cur.rowcount:
                self._event(report_id, "sent", status, f"revision {receipt.get('revision')}")

    def mark_receipt_invalid(
        self, report_id: str, status: int, receipt: dict[str, Any], code: str, message: str
    ) -> None:
        """pending → receipt_invalid: the hub answered 2xx, but its receipt is not one the hub signed for what was
        sent (forged, altered, unknown key, or for other content). Kept as evidence; never retried by itself."""
        forged = json.dumps(receipt, ensure_ascii=False)
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET state = 'receipt_invalid', http_status = ?, receipt = ?, finished_at = ?,"
                " last_error = ?, next_attempt_at = NULL, receipt_verified_at = NULL, receipt_key_id = NULL,"
                " receipt_error = ? WHERE report_id = ? AND state = 'pending'",
                (
                    status,
                    forged,
                    _now_iso(),
                    message,
                    json.dumps({"code": code, "message": message}, ensure_ascii=False),
                    report_id,
                ),
            )
            if cur.rowcount:
                self._event(report_id, "receipt_invalid", status, f"{code}: {message}\n{forged}")

    def store_verified_receipt(self, report_id: str, receipt: dict[str, Any], key_id: str) -> bool:
        """A sent row whose receipt was never verified (kept by an older agent, unsigned) gets the hub's signed copy,
        fetched with ``GET /api/v1/reports/<id>`` and verified. Only that: a verified receipt is never replaced."""
        now = _now_iso()
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET receipt = ?, revision = ?, receipt_verified_at = ?, receipt_key_id = ?"
                " WHERE report_id = ? AND state = 'sent' AND receipt_verified_at IS NULL",
                (json.dumps(receipt, ensure_ascii=False), receipt.get("revision"), now, key_id, report_id),
            )
            if cur.rowcount:
                self._event(report_id, "receipt_fetched", 200, f"revision {receipt.get('revision')} key {key_id}")
        return cur.rowcount > 0

    def note_event(self, report_id: str, event: str, detail: str, status: int | None = None) -> None:
        """Log something that does not change the row (e.g. a fetched receipt for a sent report that fails)."""
        with self._tx():
            self._event(report_id, event, status, detail)

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
        """rejected / conflict / receipt_invalid → pending (the operator's decision, e.g. after the period was
        unlocked, or after the bureau checked its hub and the network). The forged receipt stays in the events."""
        with self._tx():
            cur = self.conn.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = NULL, finished_at = NULL"
                " WHERE report_id = ? AND state IN ('rejected', 'conflict', 'receipt_invalid')",
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
        self, school_code: str, period: str, states: tuple[str, ...] = ("pending", "sent", "receipt_invalid")
    ) -> list[OutboxItem]:
        marks = ",".join("?" * len(states))  # placeholders only; the values are bound
        rows = self.conn.execute(
            f"SELECT * FROM outbox WHERE school_code = ? AND period = ? AND state IN ({marks}) ORDER BY seq",  # noqa: S608
            (school_code, period, *states),
        ).fetchall()
        return [OutboxItem.from_row(r) for r in rows]

    def accepted_reports(self, school_code: str, before_period: str | None = None) -> list[OutboxItem]:
        """Pending and sent reports of the school (and those sent whose receipt failed the check), by period then
        queue order (the latest revision last)."""
        sql = "SELECT * FROM outbox WHERE school_code = ? AND state IN ('pending', 'sent', 'receipt_invalid')"
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
