"""Receipt trust without a hub: pinning, endorsed rotation, forged receipts in the pusher, and the outbox's
migration to the receipt_invalid state (version 1 → 2)."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from houqin_standard import endorsement_payload
from school_agent.outbox import SCHEMA_VERSION, Outbox
from school_agent.trust import (
    KeysUnavailable,
    ReceiptChecker,
    ReceiptInvalid,
    extend_pins,
    first_pins,
    published_keys,
)
from tests.school_agent.hubproc import example_report
from tests.school_agent.test_agent_sync_unit import HUB_KEY, HUB_KID, PINS, Run, Scripted, public_b64, signed_receipt


@pytest.fixture()
def hub() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


@pytest.fixture()
def run(tmp_path: Path, hub: Scripted) -> Iterator[Run]:
    r = Run(tmp_path, hub.url)
    yield r
    r.ob.close()


def published(key: Ed25519PrivateKey, kid: str, voucher: tuple[Ed25519PrivateKey, str] | None = None) -> dict[str, Any]:
    """A key record as GET /api/v1/hub-keys gives it, endorsed by ``voucher`` (its private key and id)."""
    rec: dict[str, Any] = {
        "key_id": kid,
        "algorithm": "Ed25519",
        "public_key": public_b64(key),
        "created_at": "2026-01-01T00:00:00+00:00",
        "current": True,
    }
    if voucher is not None:
        raw = base64.b64decode(rec["public_key"])
        rec["endorsed_by"] = voucher[1]
        rec["endorsement"] = voucher[0].sign(endorsement_payload(kid, raw)).hex()
    return rec


def body_for(period: str = "2026-09") -> bytes:
    return json.dumps(example_report(period)).encode()


def check(checker: ReceiptChecker, receipt: dict[str, Any], body: bytes) -> str:
    report = json.loads(body)
    return checker.check(
        receipt, report_id=report["report_id"], school_code=report["school_code"], period=report["period"], body=body
    )


# ----------------------------------------------------------------------------------------------- checker


def test_a_receipt_signed_by_a_pinned_key_for_what_was_sent_is_accepted() -> None:
    body = body_for()
    assert check(ReceiptChecker(PINS), signed_receipt(body), body) == HUB_KID


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (lambda r: r.update(period="2026-08"), "bad_signature"),
        (lambda r: r.update(content_sha256="0" * 64), "bad_signature"),
        (lambda r: r.update(revision=2), "bad_signature"),
        (lambda r: r.pop("chain_hash"), "missing_field"),
        (lambda r: r.update(signature="zz"), "bad_signature"),
    ],
    ids=["period", "content_sha256", "revision", "no_chain_hash", "not_hex"],
)
def test_an_altered_receipt_is_refused(forge: Callable[[dict[str, Any]], Any], code: str) -> None:
    body = body_for()
    receipt = signed_receipt(body)
    forge(receipt)
    with pytest.raises(ReceiptInvalid) as exc:
        check(ReceiptChecker(PINS), receipt, body)
    assert exc.value.code == code


def test_a_validly_signed_receipt_for_other_content_is_refused() -> None:
    """The hub's own key, but not what was sent (a compromised hub, or a receipt replayed from another report)."""
    body = body_for()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"content_sha256": "0" * 64}, "content_mismatch"),
        ({"period": "2026-08"}, "period_mismatch"),
        ({"school_code": "6105280002"}, "school_mismatch"),
    ]
    for changes, code in cases:
        with pytest.raises(ReceiptInvalid) as exc:
            check(ReceiptChecker(PINS), signed_receipt(body, **changes), body)
        assert exc.value.code == code and "应为" in str(exc.value)
    other = body_for()
    with pytest.raises(ReceiptInvalid) as exc:
        check(ReceiptChecker(PINS), signed_receipt(other), body)
    assert exc.value.code == "report_mismatch"


def test_a_rogue_key_is_refused_under_its_own_id_and_under_the_real_one() -> None:
    body = body_for()
    rogue = Ed25519PrivateKey.generate()
    fetched: list[int] = []

    def fetch() -> list[dict[str, Any]]:  # the man in the middle publishes his key, "endorsed" by himself
        fetched.append(1)
        return [published(HUB_KEY, HUB_KID), published(rogue, "0badc0de0badc0de", (rogue, HUB_KID))]

    saved: list[Any] = []
    checker = ReceiptChecker(PINS, fetch, saved.append)
    with pytest.raises(ReceiptInvalid) as exc:
        check(checker, signed_receipt(body, key=rogue, kid="0badc0de0badc0de"), body)
    assert exc.value.code == "unknown_key" and fetched == [1] and saved == [] and checker.pins == PINS
    with pytest.raises(ReceiptInvalid) as exc:
        check(checker, signed_receipt(body, key=rogue), body)
    assert exc.value.code == "bad_signature" and fetched == [1]  # no fetch for a bad signature


def test_an_endorsed_rotation_is_followed_and_pinned_once() -> None:
    body = body_for()
    k2, k3 = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = [
        published(HUB_KEY, HUB_KID),
        published(k2, "2222222222222222", (HUB_KEY, HUB_KID)),
        published(k3, "3333333333333333", (k2, "2222222222222222")),
    ]
    saved: list[list[dict[str, Any]]] = []
    checker = ReceiptChecker(PINS, lambda: keys, saved.append)
    assert check(checker, signed_receipt(body, key=k3, kid="3333333333333333"), body) == "3333333333333333"
    assert [p["key_id"] for p in saved[-1]] == [HUB_KID, "2222222222222222", "3333333333333333"]
    assert saved[-1][2]["pinned_by"] == "endorsement" and saved[-1][2]["endorsed_by"] == "2222222222222222"
    assert "current" not in saved[-1][2]  # a moving fact, not pinned
    assert len(saved) == 1


def test_an_unendorsed_new_key_is_not_trusted() -> None:
    body = body_for()
    k2 = Ed25519PrivateKey.generate()
    checker = ReceiptChecker(PINS, lambda: [published(k2, "2222222222222222")], lambda _p: None)
    with pytest.raises(ReceiptInvalid) as exc:
        check(checker, signed_receipt(body, key=k2, kid="2222222222222222"), body)
    assert exc.value.code == "unknown_key" and checker.pins == PINS


def test_trust_on_first_use_and_keys_unavailable() -> None:
    body = body_for()
    saved: list[list[dict[str, Any]]] = []
    lines: list[str] = []
    checker = ReceiptChecker([], lambda: [published(HUB_KEY, HUB_KID)], saved.append, out=lines.append)
    assert check(checker, signed_receipt(body), body) == HUB_KID
    assert [p["key_id"] for p in saved[0]] == [HUB_KID] and saved[0][0]["pinned_by"] == "first_use"
    assert "首次使用" in lines[0]
    with pytest.raises(KeysUnavailable):
        ReceiptChecker([]).check(signed_receipt(body), report_id="x", school_code="x", period="x", body=body)

    def down() -> list[dict[str, Any]]:
        raise KeysUnavailable("无法获取")

    with pytest.raises(KeysUnavailable):
        check(ReceiptChecker([], down), signed_receipt(body), body)


def test_published_keys_keeps_only_usable_ed25519_keys() -> None:
    good = published(HUB_KEY, HUB_KID)
    data = {
        "algorithm": "Ed25519",
        "keys": [good, {"key_id": "x", "public_key": "AAAA"}, {"key_id": "y", "algorithm": "RSA", "public_key": ""}],
    }
    assert published_keys(data) == [good]
    bad: Any
    for bad in (None, {"keys": "no"}, {"keys": []}, [good]):
        with pytest.raises(KeysUnavailable):
            published_keys(bad)
    assert extend_pins(first_pins([good], "setup"), [good])[0]["key_id"] == HUB_KID


# ----------------------------------------------------------------------------------------------- pusher


def test_a_forged_receipt_leaves_the_report_receipt_invalid_stops_the_run_and_is_not_retried(
    run: Run, hub: Scripted
) -> None:
    first = run.ob.add(example_report("2026-08"))
    later = run.ob.add(example_report("2026-09"))

    def forged(body: bytes) -> dict[str, Any]:
        r = signed_receipt(body)
        r["period"] = "2026-07"
        return r

    hub.script = [(201, {}, forged)]
    result = run.pusher().run()
    assert [i.report_id for i in result.receipt_invalid] == [first.report_id] and result.sent == []
    assert result.pending_left == 1 and "回执未通过校验" in (result.stopped or "")
    bad = run.ob.get(first.report_id)
    assert bad is not None and bad.state == "receipt_invalid" and bad.http_status == 201
    assert bad.receipt is not None and bad.receipt["period"] == "2026-07" and "signature" in bad.receipt
    assert bad.receipt_error is not None and bad.receipt_error["code"] == "bad_signature"
    assert bad.receipt_verified_at is None and bad.revision is None
    (event,) = [e for e in run.ob.events(first.report_id) if e["event"] == "receipt_invalid"]
    assert event["detail"].startswith("bad_signature") and '"period": "2026-07"' in event["detail"]
    # the next run sends the later report and never the forged one again
    hub.script = [(201, {}, "receipt")]
    result = run.pusher().run()
    assert [i.report_id for i in result.sent] == [later.report_id] and len(hub.requests) == 2
    ok = run.ob.get(later.report_id)
    assert ok is not None and ok.receipt_key_id == HUB_KID and ok.receipt_verified_at is not None
    # the operator's decision after the bureau checked: retry, and a true receipt settles it
    assert run.ob.requeue(first.report_id)
    hub.script = [(200, {}, "receipt")]
    result = run.pusher().run()
    assert [i.report_id for i in result.sent] == [first.report_id]
    assert [e["event"] for e in run.ob.events(first.report_id)][-3:] == ["requeued", "attempt", "sent"]


def test_a_receipt_that_cannot_be_checked_yet_stays_pending(run: Run, hub: Scripted) -> None:
    item = run.ob.add(example_report("2026-09"))

    def down() -> list[dict[str, Any]]:
        raise KeysUnavailable("无法获取教育局服务器的回执签名密钥：连接超时")

    hub.script = [(201, {}, "receipt")] * 2
    result = run.pusher(ReceiptChecker([], down), max_attempts=2).run()
    assert result.pending_left == 1 and "回执签名密钥" in (result.stopped or "")
    pending = run.ob.get(item.report_id)
    assert pending is not None and pending.state == "pending" and "回执签名密钥" in (pending.last_error or "")


# ----------------------------------------------------------------------------------------------- outbox v1 → v2

V1_SCHEMA = """
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, report_id TEXT NOT NULL UNIQUE, school_code TEXT NOT NULL,
    period TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('report', 'correction')), body BLOB NOT NULL,
    content_sha256 TEXT NOT NULL, source TEXT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'rejected', 'conflict')),
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_attempt_at TEXT, last_signed_ts INTEGER,
    next_attempt_at INTEGER, last_error TEXT, http_status INTEGER, finished_at TEXT, receipt TEXT, revision INTEGER,
    hub_error TEXT
);
CREATE INDEX ix_outbox_state_seq ON outbox (state, seq);
CREATE INDEX ix_outbox_school_period ON outbox (school_code, period);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, report_id TEXT NOT NULL,
    event TEXT NOT NULL, http_status INTEGER, detail TEXT);
PRAGMA user_version=1;
"""


def make_v1_outbox(path: Path, rows: list[tuple[str, str, str, bytes]]) -> None:
    """An outbox as version 1 of the agent left it: rows (report_id, period, state, body), seq 5, 9, …"""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(V1_SCHEMA)
        for n, (rid, period, state, body) in enumerate(rows):
            receipt = json.dumps({"report_id": rid, "revision": 1}) if state == "sent" else None
            conn.execute(
                "INSERT INTO outbox (seq, report_id, school_code, period, kind, body, content_sha256, state,"
                " created_at, receipt, revision) VALUES (?, ?, '6105280001', ?, 'report', ?, 'h', ?, 't', ?, ?)",
                (5 + 4 * n, rid, period, body, state, receipt, 1 if receipt else None),
            )
            conn.execute("INSERT INTO events (at, report_id, event) VALUES ('t', ?, 'queued')", (rid,))
        conn.commit()
    finally:
        conn.close()


def test_a_version_1_outbox_is_migrated_keeping_every_row_and_the_queue_order(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    make_v1_outbox(path, [("a" * 8, "2026-07", "sent", b"{}"), ("b" * 8, "2026-08", "pending", b"{}")])
    with Outbox(path) as ob:
        assert ob.pragma("user_version") == SCHEMA_VERSION == 2
        a, b = ob.items()
        assert (a.seq, a.state, a.receipt_verified_at) == (5, "sent", None)
        assert a.receipt == {"report_id": "a" * 8, "revision": 1}
        assert (b.seq, b.state) == (9, "pending")
        assert [e["event"] for e in ob.events("a" * 8)] == ["queued"]
        c = ob.add(example_report("2026-09"))
        assert c.seq == 10  # AUTOINCREMENT carries on after the rebuild
        ob.mark_receipt_invalid(b.report_id, 201, {"report_id": b.report_id}, "bad_signature", "签名不符")
        assert ob.counts()["receipt_invalid"] == 1
        names = {r[0] for r in ob.conn.execute("SELECT name FROM sqlite_master")}
        assert {"ix_outbox_state_seq", "ix_outbox_school_period", "outbox", "events"} <= names
        assert "outbox_v2" not in names
    with Outbox(path) as ob:  # opening again changes nothing
        assert ob.count() == 3 and ob.pragma("user_version") == 2


def test_a_failed_key_fetch_decides_nothing_and_the_next_try_follows_the_rotation() -> None:
    body = body_for()
    k2 = Ed25519PrivateKey.generate()
    answers: list[Any] = [KeysUnavailable("连接超时"), [published(k2, "2222222222222222", (HUB_KEY, HUB_KID))]]

    def fetch() -> list[dict[str, Any]]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    checker = ReceiptChecker(PINS, fetch, lambda _p: None)
    receipt = signed_receipt(body, key=k2, kid="2222222222222222")
    with pytest.raises(KeysUnavailable):
        check(checker, receipt, body)
    assert check(checker, receipt, body) == "2222222222222222"
