"""How sync takes each answer of the hub, against a scripted HTTP server: what is retried and how long it
waits (backoff with jitter, Retry-After), what is settled for good, and that the queue order holds.

The scripted hub signs its receipts with a test Ed25519 key that the pusher's checker has pinned."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from houqin_standard import content_sha256, receipt_payload, verify_signature
from school_agent.client import HubClient
from school_agent.outbox import Outbox
from school_agent.sync import Pusher, SyncOptions, backoff_delay, retry_after_seconds
from school_agent.trust import ReceiptChecker
from tests.school_agent.hubproc import SCHOOL, example_report, free_port

SECRET = "k" * 43
HUB_KEY = Ed25519PrivateKey.generate()
HUB_KID = "5c4e1d0a9b8f7e6d"


def public_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


PINS = [{"key_id": HUB_KID, "algorithm": "Ed25519", "public_key": public_b64(HUB_KEY)}]


def signed_receipt(body: bytes, key: Ed25519PrivateKey = HUB_KEY, kid: str = HUB_KID, **changes: Any) -> dict[str, Any]:
    """The receipt a conforming hub gives for ``body``, with ``changes`` applied before signing."""
    report = json.loads(body)
    receipt: dict[str, Any] = {
        "report_id": report["report_id"],
        "school_code": report["school_code"],
        "period": report["period"],
        "revision": 1,
        "received_at": "2026-10-02T09:00:00.000000+08:00",
        "on_time": True,
        "content_sha256": content_sha256(report),
        "chain_hash": "c" * 64,
        "hub_key_id": kid,
    }
    receipt.update(changes)
    receipt["signature"] = key.sign(receipt_payload(receipt)).hex()
    receipt["warnings"] = []
    return receipt


class Scripted:
    """Answers POSTs from a script: (status, headers, body) tuples; dict bodies are JSON; a signed receipt is
    built for ``"receipt"``, and a callable is given the request body and returns the answer's body."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers, payload = outer.script.pop(0) if outer.script else (500, {}, b"")
                if payload == "receipt":
                    payload = signed_receipt(body)
                elif callable(payload):
                    payload = payload(body)
                data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture()
def hub() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


class Run:
    def __init__(self, tmp_path: Path, url: str) -> None:
        self.ob = Outbox(tmp_path / "outbox.sqlite3")
        self.client = HubClient(url, SCHOOL, SECRET, read_timeout=5)
        self.sleeps: list[float] = []
        self.now = 1_800_000_000.0
        self.lines: list[str] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def pusher(self, checker: ReceiptChecker | None = None, **opts: Any) -> Pusher:
        return Pusher(
            self.ob,
            self.client,
            SyncOptions(**opts),
            checker=checker or ReceiptChecker(PINS),
            out=self.lines.append,
            sleep=self.sleep,
            clock=lambda: self.now,
            wall=lambda: self.now,
            rand=lambda: 0.5,
        )


@pytest.fixture()
def run(tmp_path: Path, hub: Scripted) -> Iterator[Run]:
    r = Run(tmp_path, hub.url)
    yield r
    r.ob.close()


def err(code: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"消息 {code}", "details": details or []}}


def test_requests_are_signed_for_the_hub(run: Run, hub: Scripted) -> None:
    item = run.ob.add(example_report("2026-09"))
    hub.script = [(201, {}, "receipt")]
    result = run.pusher().run()
    assert [i.report_id for i in result.sent] == [item.report_id]
    req = hub.requests[0]
    h = req["headers"]
    assert req["path"] == "/api/v1/reports" and req["body"] == item.body
    assert h["X-Houqin-School"] == SCHOOL and h["Content-Type"].startswith("application/json")
    assert verify_signature(
        SECRET, h["X-Houqin-Timestamp"], "POST", "/api/v1/reports", item.body, h["X-Houqin-Signature"]
    )
    sent = run.ob.get(item.report_id)
    assert sent is not None and sent.state == "sent" and sent.receipt is not None and sent.receipt["revision"] == 1


def test_5xx_is_retried_with_growing_jittered_backoff(run: Run, hub: Scripted) -> None:
    run.ob.add(example_report("2026-09"))
    hub.script = [(503, {}, b"down"), (500, {}, err("internal")), (502, {}, b""), (201, {}, "receipt")]
    result = run.pusher(backoff_base=2.0).run()
    assert len(result.sent) == 1 and len(hub.requests) == 4
    assert run.sleeps == [1.5, 3.0, 6.0]  # base·2ⁿ with "equal jitter" at rand=0.5: ¾ of each step
    assert len({r["headers"]["X-Houqin-Timestamp"] for r in hub.requests}) == 4  # never the same signature


def test_backoff_bounds() -> None:
    for attempt in range(10):
        lo, hi = backoff_delay(attempt, 1.0, 60.0, lambda: 0.0), backoff_delay(attempt, 1.0, 60.0, lambda: 1.0)
        step = min(60.0, 2.0**attempt)
        assert lo == max(1.0, step / 2) and hi == max(1.0, step)


def test_429_waits_what_retry_after_says(run: Run, hub: Scripted) -> None:
    run.ob.add(example_report("2026-09"))
    hub.script = [(429, {"Retry-After": "7"}, err("rate_limited")), (201, {}, "receipt")]
    result = run.pusher().run()
    assert len(result.sent) == 1 and run.sleeps == [7.0]


def test_429_beyond_the_runs_time_is_left_for_the_next_run(run: Run, hub: Scripted) -> None:
    item = run.ob.add(example_report("2026-09"))
    hub.script = [(429, {"Retry-After": "120"}, err("rate_limited"))]
    result = run.pusher(max_time=30).run()
    assert result.pending_left == 1 and "120" in (result.stopped or "")
    pending = run.ob.get(item.report_id)
    assert pending is not None and pending.next_attempt_at == int(run.now + 120)
    # the next run first waits until then (here: within its time), then sends
    hub.script = [(201, {}, "receipt")]
    run.now += 100
    result = run.pusher(max_time=60).run()
    assert len(result.sent) == 1 and run.sleeps[-1] == pytest.approx(20.0)


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    value = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(value, now=now.timestamp()) == pytest.approx(30)
    assert retry_after_seconds("5") == 5 and retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_422_is_rejected_with_the_hubs_reasons_and_not_retried(run: Run, hub: Scripted) -> None:
    item = run.ob.add(example_report("2026-09"))
    details = [{"path": "/nutrition/meals_served", "code": "negative", "message": "实际供餐人次必须不小于 0"}]
    hub.script = [(422, {}, err("validation_failed", details))]
    result = run.pusher().run()
    assert [i.report_id for i in result.rejected] == [item.report_id] and len(hub.requests) == 1
    rejected = run.ob.get(item.report_id)
    assert rejected is not None and rejected.state == "rejected" and rejected.http_status == 422
    assert rejected.hub_error is not None and rejected.hub_error["details"] == details
    assert run.pusher().run().sent == [] and len(hub.requests) == 1  # never sent again by itself


@pytest.mark.parametrize("code", ["report_id_conflict", "period_locked"])
def test_409_is_a_conflict_and_not_retried(run: Run, hub: Scripted, code: str) -> None:
    item = run.ob.add(example_report("2026-09"))
    hub.script = [(409, {}, err(code))]
    result = run.pusher().run()
    assert [i.report_id for i in result.conflict] == [item.report_id] and len(hub.requests) == 1
    assert run.ob.get(item.report_id).state == "conflict"  # type: ignore[union-attr]


def test_401_stops_the_run_and_keeps_everything_pending(run: Run, hub: Scripted) -> None:
    run.ob.add(example_report("2026-08"))
    run.ob.add(example_report("2026-09"))
    hub.script = [(401, {}, err("bad_signature"))]
    result = run.pusher().run()
    assert result.auth_failed and result.pending_left == 2 and len(hub.requests) == 1
    assert "凭据" in (result.stopped or "")


def test_a_2xx_without_our_receipt_is_not_taken_as_sent(run: Run, hub: Scripted) -> None:
    item = run.ob.add(example_report("2026-09"))
    hub.script = [
        (200, {}, b"<html>captive portal</html>"),
        (200, {}, {"report_id": "someone-else"}),
        (200, {}, "receipt"),
    ]
    result = run.pusher().run()
    assert len(hub.requests) == 3 and [i.report_id for i in result.sent] == [item.report_id]


def test_network_errors_are_retried_then_left_pending(tmp_path: Path) -> None:
    r = Run(tmp_path, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        item = r.ob.add(example_report("2026-09"))
        result = r.pusher(max_attempts=3).run()
        assert result.pending_left == 1 and "连接被拒绝" in (result.stopped or "")
        pending = r.ob.get(item.report_id)
        assert pending is not None and pending.attempts == 3 and "连接被拒绝" in (pending.last_error or "")
        assert len(r.sleeps) == 2
    finally:
        r.ob.close()


def test_a_report_that_cannot_be_sent_holds_back_the_later_ones(run: Run, hub: Scripted) -> None:
    first = run.ob.add(example_report("2026-09"))
    correction = run.ob.add(example_report("2026-09"), kind="correction")
    hub.script = [(503, {}, b"")] * 2
    result = run.pusher(max_attempts=2).run()
    assert result.pending_left == 2
    assert {json.loads(r["body"])["report_id"] for r in hub.requests} == {first.report_id}
    hub.script = [(201, {}, "receipt"), (201, {}, "receipt")]
    result = run.pusher().run()
    assert [i.report_id for i in result.sent] == [first.report_id, correction.report_id]


def test_progress_is_shown_for_more_than_a_few_reports(run: Run, hub: Scripted) -> None:
    for month in range(1, 7):
        run.ob.add(example_report(f"2026-0{month}"))
    hub.script = [(201, {}, "receipt")] * 6
    run.pusher().run()
    assert run.lines[0] == "待发送 6 份报表"
    assert run.lines[-1].startswith("进度 6/6")
    run.lines.clear()
    run.ob.add(example_report("2026-07"))
    hub.script = [(201, {}, "receipt")]
    run.pusher().run()
    assert run.lines == []  # one report: no progress lines
