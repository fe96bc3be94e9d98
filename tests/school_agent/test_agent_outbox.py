"""The outbox: durable settings, the exact body that will be POSTed, queue order and the state machine."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from houqin_standard import canonical_json, content_sha256
from school_agent.outbox import Outbox
from tests.school_agent.hubproc import example_report


def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as ob:
        assert ob.pragma("journal_mode") == "wal"
        assert ob.pragma("synchronous") == 2  # FULL: the WAL is fsynced at every commit
        assert ob.pragma("user_version") == 2


def test_add_stores_the_canonical_body_and_fixes_the_report_id(tmp_path: Path) -> None:
    report = example_report("2026-09")
    report["report_id"] = report["report_id"].upper()
    with Outbox(tmp_path / "o.sqlite3") as ob:
        item = ob.add(report, source="a.xlsx")
    assert item.report_id == report["report_id"].lower()
    assert item.body == canonical_json(report)
    assert item.content_sha256 == content_sha256(report)
    assert (item.state, item.attempts, item.kind, item.source) == ("pending", 0, "report", "a.xlsx")


def test_a_committed_row_is_seen_by_another_connection_at_once(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as ob:
        item = ob.add(example_report("2026-09"))
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT state FROM outbox WHERE report_id = ?", (item.report_id,)).fetchone() == (
                "pending",
            )
        finally:
            other.close()


def test_the_same_report_id_cannot_be_queued_twice(tmp_path: Path) -> None:
    report = example_report("2026-09")
    with Outbox(tmp_path / "o.sqlite3") as ob:
        ob.add(report)
        with pytest.raises(sqlite3.IntegrityError):
            ob.add(report)
        assert ob.count() == 1


def test_queue_order_and_state_machine(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as ob:
        a = ob.add(example_report("2026-07"))
        b = ob.add(example_report("2026-08"))
        c = ob.add(example_report("2026-09"))
        first = ob.next_pending()
        assert first is not None and first.report_id == a.report_id
        ob.record_attempt(a.report_id, 1_800_000_000)
        ob.note_failure(a.report_id, "无法连接", status=None)
        again = ob.get(a.report_id)
        assert again is not None and (again.state, again.attempts, again.last_signed_ts) == (
            "pending",
            1,
            1_800_000_000,
        )
        receipt = {"report_id": a.report_id, "revision": 1, "received_at": "2026-10-01T10:00:00+08:00"}
        ob.mark_sent(a.report_id, 201, receipt)
        ob.mark_refused(
            b.report_id,
            "rejected",
            422,
            {
                "code": "validation_failed",
                "message": "报表有 1 处错误",
                "details": [{"path": "/x", "code": "c", "message": "m"}],
            },
        )
        ob.mark_refused(c.report_id, "conflict", 409, {"code": "period_locked", "message": "已锁定"})
        assert ob.next_pending() is None
        assert ob.counts() == {"pending": 0, "sent": 1, "rejected": 1, "conflict": 1, "receipt_invalid": 0}
        sent = ob.get(a.report_id)
        assert sent is not None and sent.receipt == receipt and sent.revision == 1 and sent.http_status == 201
        # a settled row is never changed by a late answer
        ob.mark_refused(a.report_id, "rejected", 422, {"code": "late"})
        assert ob.get(a.report_id).state == "sent"  # type: ignore[union-attr]
        rejected = ob.get(b.report_id)
        assert rejected is not None and rejected.hub_error is not None
        assert rejected.hub_error["details"][0]["path"] == "/x"
        assert ob.requeue(c.report_id) and not ob.requeue(a.report_id)
        nxt = ob.next_pending()
        assert nxt is not None and nxt.report_id == c.report_id
        assert [e["event"] for e in ob.events(c.report_id)] == ["queued", "conflict", "requeued"]
        assert [e["event"] for e in ob.events(a.report_id)] == ["queued", "attempt", "failed", "sent"]


def test_rows_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    report = example_report("2026-09")
    with Outbox(path) as ob:
        ob.add(report)
    with Outbox(path) as ob:
        item = ob.get(report["report_id"])
        assert item is not None and item.report == report
        assert json.loads(item.body) == report


def test_reports_of_a_school_in_period_order(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as ob:
        ob.add(example_report("2026-09"))
        ob.add(example_report("2026-07"))
        late = ob.add(example_report("2026-07"), kind="correction")
        ob.add(example_report("2026-08", school="6105280002"))
        items = ob.accepted_reports("6105280001", before_period="2026-09")
        assert [(i.period, i.kind) for i in items] == [("2026-07", "report"), ("2026-07", "correction")]
        assert items[-1].report_id == late.report_id
        assert len(ob.for_period("6105280001", "2026-07")) == 2
